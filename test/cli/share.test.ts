import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, secretFile, assertNoSecrets, FIXTURES } from '../helpers/cli.ts';

const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8'));
const s1 = fixtures.shareFiles.find((f: { file: string }) => f.file === 's1.pbe');

test('share verify opens a real sc-hsm-tool share file and prints its KCV', async () => {
  const dir = tempDir();
  const pw = secretFile(dir, 'pw', s1.passphrase + '\n');
  const r = await runCli(['share', 'verify', join(FIXTURES, 's1.pbe'), '--passphrase-file', pw, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.kcvAlone, s1.kcvAlone);
  assert.match(out.fingerprint, /^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
  assertNoSecrets([r.stdout, r.stderr], [s1.passphrase, Buffer.from(s1.share, 'hex')]);
});

test('share verify with a wrong passphrase exits 1 and says so', async () => {
  const dir = tempDir();
  const pw = secretFile(dir, 'pw', 'not-the-passphrase');
  const r = await runCli(['share', 'verify', join(FIXTURES, 's1.pbe'), '--passphrase-file', pw]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /wrong passphrase/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assertNoSecrets([r.stdout, r.stderr], ['not-the-passphrase']);
});

test('share verify reads n-of-m shares from the secrets file (2 of the 3 printed shares)', async () => {
  const dir = tempDir();
  const lines = readFileSync(join(FIXTURES, 's3-shares.txt'), 'utf8').split('\n');
  secretFile(dir, 'two.txt', [lines[0], lines[3], lines[4], lines[5], lines[6]].join('\n'));
  const secrets = secretFile(dir, 'secrets.json', JSON.stringify({ shares: { 's3.pbe': { pwdShares: 'two.txt' } } }));
  const r = await runCli(['share', 'verify', join(FIXTURES, 's3.pbe'), '--secrets-file', secrets, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.kcvAlone, 'BC2F5BF870DFEC76');
  assert.equal(out.openedWith.threshold, 2);
});

test('share create writes a file that share verify opens, and never overwrites it', async () => {
  const dir = tempDir();
  const pw = secretFile(dir, 'pw', 'a long enough passphrase\n');
  const target = join(dir, 'alice.pbe');
  const c = await runCli(['share', 'create', target, '--passphrase-file', pw, '--json']);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(statSync(target).size, 64);
  assert.equal(statSync(target).mode & 0o777, 0o600);
  const v = await runCli(['share', 'verify', target, '--passphrase-file', pw, '--json']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).fingerprint, JSON.parse(c.stdout).fingerprint);
  const before = readFileSync(target);
  const again = await runCli(['share', 'create', target, '--passphrase-file', pw]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists/);
  assert.deepEqual(readFileSync(target), before);
  assertNoSecrets([c.stdout, c.stderr, v.stdout, v.stderr], ['a long enough passphrase']);
});

test('share create --pwd-shares 2/3 writes one printout per custodian; any two open the file', async () => {
  const dir = tempDir();
  const out = join(dir, 'shares');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out, { mode: 0o700 });
  const target = join(dir, 'nofm.pbe');
  const c = await runCli(['share', 'create', target, '--pwd-shares', '2/3', '--pwd-shares-out', out, '--json']);
  assert.equal(c.code, 0, c.stderr);
  const files = readdirSync(out).sort();
  assert.deepEqual(files, ['nofm.pbe.share-1-of-3.txt', 'nofm.pbe.share-2-of-3.txt', 'nofm.pbe.share-3-of-3.txt']);
  for (const f of files) assert.equal(statSync(join(out, f)).mode & 0o777, 0o600);
  const printouts = files.map((f) => readFileSync(join(out, f), 'utf8'));
  assert.match(printouts[0]!, /^Prime {7}: [0-9a-f]{2}(:[0-9a-f]{2}){7}\nShare ID {4}: 1\nShare value : [0-9a-f:]+\n$/);
  // The coordinator's own output carries the public prime but no share value.
  for (const p of printouts) assertNoSecrets([c.stdout, c.stderr], [p.split('Share value : ')[1]!.trim()]);
  secretFile(dir, 'pair.txt', printouts[2]! + printouts[0]!);
  const v = await runCli(['share', 'verify', target, '--pwd-shares-file', join(dir, 'pair.txt'), '--json']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).fingerprint, JSON.parse(c.stdout).fingerprint);
});

test('secrets are refused from files others can read, and missing secrets without a TTY exit 2', async () => {
  const dir = tempDir();
  const loose = join(dir, 'loose.json');
  writeFileSync(loose, JSON.stringify({ shares: { 's1.pbe': { passphrase: s1.passphrase } } }), { mode: 0o644 });
  const r = await runCli(['share', 'verify', join(FIXTURES, 's1.pbe'), '--secrets-file', loose]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /chmod 600/);
  const n = await runCli(['share', 'verify', join(FIXTURES, 's1.pbe')]);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /no terminal/);
});

test('malformed share files are named before any key derivation', async () => {
  const dir = tempDir();
  const pw = secretFile(dir, 'pw', 'whatever');
  const short = join(dir, 'short.pbe');
  writeFileSync(short, new Uint8Array(10));
  const bad = join(dir, 'bad.pbe');
  copyFileSync(join(FIXTURES, 's1.pbe'), bad);
  const b = readFileSync(bad);
  b[0] = 0x41;
  writeFileSync(bad, b);
  for (const f of [short, bad]) {
    const r = await runCli(['share', 'verify', f, '--passphrase-file', pw]);
    assert.equal(r.code, 2, f);
    assert.match(r.stderr, /share file/);
  }
  const missing = await runCli(['share', 'verify', join(dir, 'nope.pbe'), '--passphrase-file', pw]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file/);
});

test('unknown flags and commands are usage errors', async () => {
  assert.equal((await runCli(['share', 'verify', 'x', '--password', 'oops'])).code, 2);
  assert.equal((await runCli(['frobnicate'])).code, 2);
  assert.equal((await runCli(['--version'])).code, 0);
});
