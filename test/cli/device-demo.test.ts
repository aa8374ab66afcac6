import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { decodeWrapFile } from '../../protocol/dkek/wrap-file.ts';

test('demo runs a whole ceremony on two simulated cards without input, and leaves files the offline commands accept', async () => {
  const dir = join(tempDir(), 'demo');
  const r = await runCli(['demo', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  for (let step = 1; step <= 8; step++) assert.match(r.stdout, new RegExp(`\\[${step}/8\\] `));
  assert.match(r.stdout, /custodian-3\.pbe: imported, 3 of 3, 0 outstanding/);
  const kcv = /DKEK key check value : ([0-9A-F]{16}) \(3 shares, the same on card A and card B\)/.exec(r.stdout)?.[1];
  assert.ok(kcv, 'the summary names the KCV');
  assert.match(r.stdout, /card A: DKEK key check value [0-9A-F]{16}, as expected/);
  assert.match(r.stdout, /card B signed a fresh random challenge \(ECDSA over SHA-256\); verified with the public key from the backup/);
  assert.match(r.stdout, /restored             : card B, key reference 1, signature verified/);
  // the files: three 64-byte share files, a wrap file under the demo DKEK, a rehearsal secrets file
  for (let i = 1; i <= 3; i++) assert.equal(statSync(join(dir, `custodian-${i}.pbe`)).size, 64);
  const wrap = decodeWrapFile(new Uint8Array(readFileSync(join(dir, 'key-1-demo-key.bin'))));
  assert.equal(Buffer.from(wrap.blob.subarray(0, 8)).toString('hex').toUpperCase(), kcv);
  const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'));
  assert.equal(secrets.rehearsal, true);
  assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
  const passphrases = Object.values(secrets.shares).map((s) => (s as { passphrase: string }).passphrase);
  assert.equal(passphrases.length, 3);
  assertNoSecrets([r.stdout, r.stderr], passphrases);
  // the offline commands read what the demo wrote
  const inspect = await runCli(['inspect', join(dir, 'key-1-demo-key.bin'), '--expect-kcv', kcv]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /label "demo-key", ID 01, EC 256 bits/);
  // a second run into the same folder is refused (files are never overwritten)
  const again = await runCli(['demo', '--dir', dir]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /is not an empty folder/);
});
