import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { encryptShareFile } from '../../protocol/dkek/share-file.ts';
import { deriveShareFileKey } from '../../protocol/dkek/derive.ts';
import { utf8 } from '../../protocol/bytes.ts';
import { ApduLog, INS, PLANTED, fixturePath, fixtureShare, makeCard, rehearsalSecrets, sim } from './device-setup.ts';

/** IMPORT DKEK SHARE commands that carried a share (the status query has no data). */
const imports = (log: ApduLog) => log.withIns(INS.IMPORT_DKEK).filter((c) => c.length > 5);

test('refusals that need no key derivation: too many files, the same file twice, a malformed file, nothing outstanding', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { dkekShares: 1 });
  const secrets = rehearsalSecrets(dir);
  const log = new ApduLog().install(t);
  const many = await runCli(['share', 'import', fixturePath('s1.pbe'), fixturePath('s2.pbe'), ...sim(state), '--secrets-file', secrets]);
  assert.equal(many.code, 2);
  assert.match(many.stderr, /2 share files given, but the device expects only 1 more \(0 of 1 share imported, 1 outstanding\)/);
  const twice = await runCli(['share', 'import', fixturePath('s1.pbe'), fixturePath('s1.pbe'), ...sim(state), '--secrets-file', secrets]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /s1\.pbe and s1\.pbe are the same share file/);
  const bad = join(dir, 'bad.pbe');
  writeFileSync(bad, readFileSync(fixturePath('s1.pbe')).subarray(0, 60));
  const malformed = await runCli(['share', 'import', bad, ...sim(state), '--secrets-file', secrets]);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /not a DKEK share file: 60 bytes instead of 64/);
  assert.equal(imports(log).length, 0, 'nothing imported');
  const full = await makeCard(dir, { shares: ['s1.pbe'] }, 'full.json');
  const done = await runCli(['share', 'import', fixturePath('s2.pbe'), ...sim(full), '--secrets-file', secrets]);
  assert.equal(done.code, 2);
  assert.match(done.stderr, /all 1 DKEK shares are already imported/);
  const noDkek = await makeCard(dir, {}, 'nodkek.json');
  const nd = await runCli(['share', 'import', fixturePath('s1.pbe'), ...sim(noDkek), '--secrets-file', secrets]);
  assert.notEqual(nd.code, 0);
  assert.equal(imports(log).length, 0, 'still nothing imported');
});

test('a share already imported in this run is refused, even from a different file', async () => {
  const dir = tempDir();
  // the s1 share again, under another salt: different bytes, same share
  const copy = await encryptShareFile(fixtureShare('s1.pbe'), utf8('another passphrase'), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), (pw, salt) => deriveShareFileKey(pw, salt));
  const copyPath = join(dir, 's1-copy.pbe');
  writeFileSync(copyPath, copy);
  const state = await makeCard(dir, { dkekShares: 2 });
  const secrets = rehearsalSecrets(dir, { shares: { 's1-copy.pbe': { passphrase: 'another passphrase' } } });
  const r = await runCli(['share', 'import', fixturePath('s1.pbe'), copyPath, ...sim(state), '--secrets-file', secrets]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /s1\.pbe: imported; 1 of 2 shares imported, 1 outstanding/);
  assert.match(r.stderr, /s1-copy\.pbe holds the same DKEK share as s1\.pbe \(fingerprint [0-9a-f ]{19}\); it was not imported \(1 of 2 shares imported, 1 outstanding\)/);
  assert.match(r.stderr, /XORs shares/);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).dkek.imported, 1);
  assertNoSecrets([r.stdout, r.stderr], ['another passphrase', ...PLANTED]);
});

test('Pico HSM, 3 shares over two runs: Ctrl-C after the first import, then the rest with PIN, KCV and --expect-kcv', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { flavor: 'pico', dkekShares: 3 });
  const secrets = rehearsalSecrets(dir);
  const log = new ApduLog().install(t);
  log.onAnswered = (c) => {
    if (c[1] === INS.IMPORT_DKEK && c.length > 5) process.emit('SIGINT', 'SIGINT');
  };
  const first = await runCli(['share', 'import', fixturePath('s2.pbe'), fixturePath('s3.pbe'), ...sim(state), '--secrets-file', secrets]);
  assert.equal(first.code, 4, first.stderr);
  assert.match(first.stdout, /s2\.pbe: imported; 1 of 3 shares imported, 2 outstanding/);
  assert.match(first.stderr, /cancelled .*s3\.pbe \(1 of 3 shares imported, 2 outstanding\)/);
  assert.match(first.stderr, /import the remaining ones/);
  log.onAnswered = undefined;
  const second = await runCli(['share', 'import', fixturePath('s3.pbe'), fixturePath('s4.pbe'), ...sim(state), '--secrets-file', secrets, '--expect-kcv', '0767 0012 41A0 CB44']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /s3\.pbe: opened \(3 password shares, threshold 2; every share cross-checked\)/);
  assert.match(second.stdout, /s4\.pbe: imported; 3 of 3 shares imported, 0 outstanding/);
  assert.match(second.stdout, /DKEK complete \(user PIN verified\): key check value 0767001241A0CB44\n  matches the expected KCV 0767001241A0CB44/);
  // the PIN VERIFY came after the last import, in the same session: the firmware has committed the DKEK
  const saved = JSON.parse(readFileSync(state, 'utf8'));
  assert.equal(saved.dkek.pendingCommit, false);
  assertNoSecrets([first.stdout, first.stderr, second.stdout, second.stderr], PLANTED);
});

test('--expect-kcv that differs from the device KCV exits 1 and says both, in words', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { dkekShares: 1 });
  const r = await runCli(['share', 'import', fixturePath('s2.pbe'), ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--expect-kcv', '1D1083E78237E99D', '--json']);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout);
  assert.equal(out.kcv, 'C5C879826FF70C8F');
  assert.equal(out.kcvMatches, false);
  assert.match(r.stderr, /the device DKEK has key check value C5C879826FF70C8F, but 1D1083E78237E99D was expected/);
  assertNoSecrets([r.stdout, r.stderr], PLANTED);
});

test('a wrong passphrase names the file and imports nothing', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { dkekShares: 2 });
  const secrets = rehearsalSecrets(dir, { shares: { 's1.pbe': { passphrase: 'not the passphrase' } } });
  const r = await runCli(['share', 'import', fixturePath('s1.pbe'), ...sim(state), '--secrets-file', secrets]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /s1\.pbe: wrong passphrase .*\(0 of 2 shares imported, 2 outstanding\)/);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).dkek.imported, 0);
  assertNoSecrets([r.stdout, r.stderr], ['not the passphrase', ...PLANTED]);
});
