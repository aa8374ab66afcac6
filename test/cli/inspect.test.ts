import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { PLANTED, fixturePath, rehearsalSecrets } from './device-setup.ts';

const EC = fixturePath('wrap-ec-p256.bin');
const RSA = fixturePath('wrap-rsa2048.bin');
const EC3 = fixturePath('wrap-ec-p256-3share.bin');

test('inspect without shares shows KCV, key type, label, ID, holder and public key (exit 0)', async () => {
  const r = await runCli(['inspect', EC]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /DKEK KCV         : 1D1083E78237E99D/);
  assert.match(r.stdout, /key blob         : EC, 331 bytes/);
  assert.match(r.stdout, /key description  : label "k1", ID 01, EC 256 bits, key reference 1 when backed up/);
  assert.match(r.stdout, /certificate      : CV request, holder ESPICOHSMTR00001/);
  assert.match(r.stdout, /public key       : EC P-256\n    point          : 04[0-9a-f]{128}\n/);
  const j = await runCli(['inspect', RSA, '--json']);
  assert.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  assert.equal(out.kcv, '1D1083E78237E99D');
  assert.equal(out.keyType, 'RSA');
  assert.equal(out.prkd.label, 'r1');
  assert.equal(out.prkd.id, '02');
  assert.equal(out.certificate.publicKey.type, 'RSA');
  assert.equal(out.certificate.publicKey.bits, 2048);
  assert.equal(out.ok, true);
  assert.deepEqual(out.checks, []);
});

test('inspect --expect-kcv: a match is exit 0, a mismatch exit 1 naming KCV_MISMATCH', async () => {
  const ok = await runCli(['inspect', EC, '--expect-kcv', '1d10 83e7 8237 e99d']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /yes  KCV is the expected one/);
  const bad = await runCli(['inspect', EC, '--expect-kcv', '0767001241A0CB44', '--json']);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stdout).ok, false);
  assert.match(bad.stderr, /KCV is the expected one: no \(backup 1D1083E78237E99D, expected 0767001241A0CB44\)/);
  const malformed = await runCli(['inspect', EC, '--expect-kcv', 'xyz']);
  assert.equal(malformed.code, 2);
});

test('inspect with the fixture share s1 verifies both one-share backups: KCV, MAC, key size, public key', async () => {
  const dir = tempDir();
  const secrets = rehearsalSecrets(dir);
  for (const [file, key, size] of [
    [EC, 'EC P-256', 256],
    [RSA, 'RSA 2048', 2048],
  ] as const) {
    const r = await runCli(['inspect', file, '--share', fixturePath('s1.pbe'), '--secrets-file', secrets, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.decrypted.key.startsWith(key), true, out.decrypted.key);
    assert.equal(out.decrypted.keySize, size);
    const codes = Object.fromEntries(out.checks.map((c: { code: string; ok: boolean }) => [c.code, c.ok]));
    assert.deepEqual(codes, { KCV_MISMATCH: true, MAC_MISMATCH: true, KEY_INCONSISTENT: true, PUBLIC_KEY_MISMATCH: true });
    assert.equal(out.shares[0].file, 's1.pbe');
    assertNoSecrets([r.stdout, r.stderr], PLANTED);
  }
});

test('inspect with the three shares s2 + s3 (password shares) + s4 verifies the 3-share backup', async () => {
  const dir = tempDir();
  const r = await runCli(['inspect', EC3, '--share', fixturePath('s2.pbe'), '--share', fixturePath('s3.pbe'), '--share', fixturePath('s4.pbe'), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /yes  the DKEK shares give the backup's DKEK \(shares give 0767001241A0CB44, backup needs 0767001241A0CB44\)/);
  assert.match(r.stdout, /yes  blob authentic \(CMAC verified\)/);
  assert.match(r.stdout, /decrypted key    : EC P-256, key size field 256/);
  assert.match(r.stdout, /yes  certificate holds this key's public key/);
  assertNoSecrets([r.stdout, r.stderr], PLANTED);
});

test('inspect with a wrong share exits 1 with KCV_MISMATCH and does not pretend to check the MAC', async () => {
  const dir = tempDir();
  const r = await runCli(['inspect', EC, '--share', fixturePath('s2.pbe'), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /NO   the DKEK shares give the backup's DKEK \(shares give C5C879826FF70C8F, backup needs 1D1083E78237E99D\)/);
  assert.match(r.stdout, / -   blob authentic \(CMAC verified\) \(not checked: the DKEK is not the backup's\)/);
  assert.match(r.stderr, /error: the DKEK shares give the backup's DKEK: no/);
  assertNoSecrets([r.stdout, r.stderr], PLANTED);
});

test('inspect of a tampered blob with the right share exits 1 with MAC_MISMATCH', async () => {
  const dir = tempDir();
  const bytes = new Uint8Array(readFileSync(EC));
  bytes[4 + 4 + 100]! ^= 0x80; // inside the encrypted part of the blob
  const tampered = join(dir, 'tampered.bin');
  writeFileSync(tampered, bytes);
  const r = await runCli(['inspect', tampered, '--share', fixturePath('s1.pbe'), '--secrets-file', rehearsalSecrets(dir), '--json']);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout);
  assert.equal(out.checks.find((c: { code: string }) => c.code === 'MAC_MISMATCH').ok, false);
  assert.equal(out.decrypted, null, 'nothing decrypted from an unauthenticated blob');
  assert.match(r.stderr, /blob authentic \(CMAC verified\): no \(the CMAC does not match/);
});

test('inspect of something that is not a wrap file is a usage error before any derivation', async () => {
  const r = await runCli(['inspect', fixturePath('s1.pbe'), '--share', fixturePath('s1.pbe')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wrap file does not start with a SEQUENCE/);
  const none = await runCli(['inspect', join(tempDir(), 'missing.bin')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no such file/);
});
