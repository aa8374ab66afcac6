import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { ApduLog, INS, PLANTED, fixturePath, makeCard, rehearsalSecrets, sim } from './device-setup.ts';

const EC = fixturePath('wrap-ec-p256.bin');
const RSA = fixturePath('wrap-rsa2048.bin');

async function keysOf(state: string) {
  const r = await runCli(['keys', ...sim(state), '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).keys as { keyRef: number; label: string | null; id: string | null; type: string; bits: number | null; publicKey: { fingerprint: string } | null }[];
}

test('restore puts the fixture EC key into a free reference, replaces the firmware PRKD, and proves it signs', async (t) => {
  for (const flavor of ['sc-hsm', 'pico'] as const) {
    await t.test(flavor, async () => {
      const dir = tempDir();
      const state = await makeCard(dir, { flavor, shares: ['s1.pbe'] });
      const secrets = rehearsalSecrets(dir);
      const r = await runCli(['restore', EC, '--key-ref', '1', ...sim(state), '--secrets-file', secrets]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /backup and device share DKEK 1D1083E78237E99D/);
      assert.match(r.stdout, /signed a fresh challenge \(ECDSA over SHA-256\); the signature verifies/);
      assert.match(r.stdout, /Key restored into key reference 1 \(label "k1", ID 01, EC\)/);
      const keys = await keysOf(state);
      const k1 = keys.find((k) => k.keyRef === 1)!;
      assert.equal(k1.label, 'k1', 'the PRKD from the backup, not the firmware one');
      assert.equal(k1.id, '01');
      assertNoSecrets([r.stdout, r.stderr], PLANTED);
    });
  }
});

test('restore of an RSA backup proves the key with an RSA PKCS#1 v1.5 signature', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'] });
  const log = new ApduLog().install(t);
  const r = await runCli(['restore', RSA, '--key-ref', '2', ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.keyType, 'RSA');
  assert.equal(out.proof.algorithm, 'RSA PKCS#1 v1.5 with SHA-256');
  assert.equal(out.publicKeySource, 'backup');
  assert.equal(out.trialRef, null, 'no trial needed for a free reference');
  assert.equal(log.withIns(INS.SIGN, 2).length, 1);
});

test('restore refuses a backup made under another DKEK without ever sending UNWRAP', async (t) => {
  for (const flavor of ['sc-hsm', 'pico'] as const) await t.test(flavor, (tt) => foreignKcv(tt, flavor));
});

async function foreignKcv(t: import('node:test').TestContext, flavor: 'sc-hsm' | 'pico') {
  const dir = tempDir();
  const state = await makeCard(dir, { flavor, shares: ['s2.pbe'] });
  const before = readFileSync(state, 'utf8');
  const log = new ApduLog().install(t);
  const r = await runCli(['restore', EC, '--key-ref', '1', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /made under DKEK 1D1083E78237E99D, but the device DKEK is C5C879826FF70C8F; nothing was sent to the card/);
  assert.equal(log.withIns(INS.UNWRAP).length, 0, 'no UNWRAP');
  assert.equal(log.withIns(INS.UPDATE).length, 0, 'nothing written');
  assert.equal(log.withIns(INS.DELETE).length, 0, 'nothing deleted');
  const after = JSON.parse(readFileSync(state, 'utf8'));
  assert.deepEqual(after.keys, JSON.parse(before).keys, 'keys unchanged');
  assert.deepEqual(after.files, JSON.parse(before).files, 'files unchanged');
}

test('restore into an occupied reference is refused without --replace, and the card stays as it was', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-rsa2048.bin', ref: 1 }] });
  const before = JSON.parse(readFileSync(state, 'utf8'));
  const log = new ApduLog().install(t);
  const r = await runCli(['restore', EC, '--key-ref', '1', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /key reference 1 holds a key, a key description, a certificate \(label "r1"\); nothing was changed/);
  assert.match(r.stderr, /--replace/);
  assert.equal(log.withIns(INS.UNWRAP).length, 0);
  assert.equal(log.withIns(INS.DELETE).length, 0);
  const after = JSON.parse(readFileSync(state, 'utf8'));
  assert.deepEqual(after.keys, before.keys);
  assert.deepEqual(after.files, before.files);
});

test('restore --replace proves the blob in a trial reference before it deletes the old key', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-rsa2048.bin', ref: 1 }] });
  const log = new ApduLog().install(t);
  const r = await runCli(['restore', EC, '--key-ref', '1', '--replace', ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.replaced, true);
  assert.equal(out.trialRef, 255);
  // the order of the destructive steps
  const steps = log.commands
    .map((c) => (c[1] === INS.UNWRAP ? `unwrap ${c[2]}` : c[1] === INS.DELETE ? `delete ${c[5]!.toString(16)}${c[6]!.toString(16).padStart(2, '0')}` : null))
    .filter(Boolean);
  assert.deepEqual(steps.slice(0, 5), ['unwrap 255', 'delete ccff', 'delete c4ff', 'delete ceff', 'delete cc01']);
  assert.ok(steps.indexOf('unwrap 1') > steps.indexOf('delete cc01'));
  const keys = await keysOf(state);
  assert.deepEqual(keys.map((k) => k.keyRef).sort(), [0, 1], 'the trial key is gone');
  assert.equal(keys.find((k) => k.keyRef === 1)!.type, 'EC');
  assert.equal(keys.find((k) => k.keyRef === 1)!.label, 'k1');
});

test('restore --replace changes nothing at the target when the card refuses the blob in the trial', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-rsa2048.bin', ref: 1 }] });
  const before = JSON.parse(readFileSync(state, 'utf8'));
  const log = new ApduLog().install(t);
  // a backup whose KCV matches but whose MAC is broken: the card refuses it at UNWRAP
  const file = new Uint8Array(readFileSync(EC));
  const blobEnd = 4 + 4 + 331; // outer header, OCTET STRING header, blob
  file[blobEnd - 1]! ^= 0x01;
  const damaged = join(dir, 'damaged.bin');
  (await import('node:fs')).writeFileSync(damaged, file);
  const r = await runCli(['restore', damaged, '--key-ref', '1', '--replace', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /the card refused the backup in a trial at key reference 255; key 1 was not changed/);
  assert.equal(log.withIns(INS.UNWRAP, 1).length, 0, 'never unwrapped into the target');
  assert.equal(log.commands.filter((c) => c[1] === INS.DELETE && c[6] === 0x01).length, 0, 'the old key was never deleted');
  const after = JSON.parse(readFileSync(state, 'utf8'));
  assert.deepEqual(after.keys, before.keys);
});

test('restore warns when another key has the same ID and label', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }] });
  const r = await runCli(['restore', EC, '--key-ref', '3', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: key 1 on the device has the same ID 01/);
  assert.match(r.stderr, /warning: key 1 on the device has the same label "k1"/);
});

test('Ctrl-C after the trial leaves the old key in place and says so', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-rsa2048.bin', ref: 1 }] });
  const before = JSON.parse(readFileSync(state, 'utf8'));
  const log = new ApduLog().install(t);
  log.onAnswered = (c) => {
    if (c[1] === INS.UNWRAP) process.emit('SIGINT', 'SIGINT');
  };
  const r = await runCli(['restore', EC, '--key-ref', '1', '--replace', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /cancelled: the card accepted the backup in a trial, which was removed again; key 1 was not changed/);
  const after = JSON.parse(readFileSync(state, 'utf8'));
  assert.deepEqual(after.keys, before.keys);
});

test('a card removed during UNWRAP is a device error (exit 3) that says the reference is still free', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'] });
  const { testOnlyDeviceHooks } = await import('../../app/cli/device-options.ts');
  testOnlyDeviceHooks.wrapTransport = (inner) => ({
    info: inner.info,
    transmit: async (c) => {
      if (c[1] === INS.UNWRAP) {
        const { deviceError } = await import('../../protocol/errors.ts');
        throw deviceError('CARD_REMOVED', 'the card was removed', { hint: 'insert the card again' });
      }
      return inner.transmit(c);
    },
    close: () => inner.close(),
  });
  t.after(() => (testOnlyDeviceHooks.wrapTransport = undefined));
  const r = await runCli(['restore', EC, '--key-ref', '4', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /the card was removed \(nothing was restored; key reference 4 is still free\)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('backup writes an sc-hsm-tool wrap file that never overwrites, checks its KCV, and restores elsewhere', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }] });
  const secrets = rehearsalSecrets(dir);
  const out = join(dir, 'k1.bin');
  const b = await runCli(['backup', '--key-ref', '1', '--out', out, ...sim(state), '--secrets-file', secrets, '--json']);
  assert.equal(b.code, 0, b.stderr);
  const res = JSON.parse(b.stdout);
  assert.equal(res.kcv, '1D1083E78237E99D');
  assert.equal(res.files[0].label, 'k1');
  assert.match(res.files[0].sha256, /^[0-9a-f]{64}$/);
  const written = readFileSync(out);
  assert.equal((await import('node:crypto')).createHash('sha256').update(written).digest('hex'), res.files[0].sha256);
  // the same PRKD and certificate as the fixture (the blob differs: new random bytes)
  const { decodeWrapFile } = await import('../../protocol/dkek/wrap-file.ts');
  const mine = decodeWrapFile(new Uint8Array(written));
  const theirs = decodeWrapFile(new Uint8Array(readFileSync(EC)));
  assert.deepEqual(mine.prkd, theirs.prkd);
  assert.deepEqual(mine.certificate, theirs.certificate);
  assert.deepEqual(mine.blob.subarray(0, 8), theirs.blob.subarray(0, 8));
  // never overwritten
  const again = await runCli(['backup', '--key-ref', '1', '--out', out, ...sim(state), '--secrets-file', secrets]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists and will not be overwritten/);
  assert.deepEqual(readFileSync(out), written);
  // and it restores into a second card with the same DKEK
  const other = await makeCard(dir, { shares: ['s1.pbe'], seed: 9 }, 'other.json');
  const r = await runCli(['restore', out, '--key-ref', '5', ...sim(other), '--secrets-file', secrets]);
  assert.equal(r.code, 0, r.stderr);
  assertNoSecrets([b.stdout, b.stderr, r.stdout, r.stderr], PLANTED);
});

test('backup --all writes one file per key, named after the label, and skips the device key', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }, { wrap: 'wrap-rsa2048.bin', ref: 2 }] });
  const outDir = tempDir();
  const r = await runCli(['backup', '--all', '--out', outDir, ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(outDir, 'key-1-k1.bin')));
  assert.ok(existsSync(join(outDir, 'key-2-r1.bin')));
  assert.match(r.stdout, /key 2 \(label "r1", ID 02, RSA(-CRT)?\) backed up to .*key-2-r1\.bin\n  DKEK KCV : 1D1083E78237E99D\n  SHA-256  : [0-9a-f]{64}/);
  assert.doesNotMatch(r.stdout, /key 0/);
  // a second run refuses before any WRAP: both names exist
  const again = await runCli(['backup', '--all', '--out', outDir, ...sim(state), '--secrets-file', rehearsalSecrets(dir, {}, 'secrets2.json')]);
  assert.equal(again.code, 2);
});

test('keys lists the device key and restored keys like pkcs15-tool -D', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }, { wrap: 'wrap-rsa2048.bin', ref: 2 }] });
  const r = await runCli(['keys', ...sim(state)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(device authentication key\)/);
  assert.match(r.stdout, /Private EC Key \[k1\]\n\tKey ref        : 1 \(0x01\)\n\tID             : 01\n\tFieldLength    : 256\n\tCertificate    : CV request, holder ESPICOHSMTR00001/);
  assert.match(r.stdout, /Private RSA Key \[r1\]\n\tKey ref        : 2 \(0x02\)\n\tID             : 02\n\tModLength      : 2048/);
  const j = await keysOf(state);
  assert.equal(j.filter((k) => k.keyRef === 0).length, 1, 'the device key is listed');
  assert.match(j.find((k) => k.keyRef === 1)!.publicKey!.fingerprint, /^[0-9a-f]{32}$/);
});

test('wrong PIN says how many tries are left (exit 1); a blocked PIN says how to unblock (exit 3)', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }] });
  const wrong = rehearsalSecrets(dir, { pin: '111111' }, 'wrong.json');
  const out = join(dir, 'x.bin');
  const r1 = await runCli(['backup', '--key-ref', '1', '--out', out, ...sim(state), '--secrets-file', wrong]);
  assert.equal(r1.code, 1, r1.stderr);
  assert.match(r1.stderr, /the user PIN is wrong: 2 tries left before it is blocked/);
  const r2 = await runCli(['backup', '--key-ref', '1', '--out', out, ...sim(state), '--secrets-file', wrong]);
  assert.match(r2.stderr, /1 try left/);
  const r3 = await runCli(['backup', '--key-ref', '1', '--out', out, ...sim(state), '--secrets-file', wrong]);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /that was the last try: the PIN is now blocked/);
  const r4 = await runCli(['backup', '--key-ref', '1', '--out', out, ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r4.code, 3);
  assert.match(r4.stderr, /the user PIN is blocked/);
  assert.match(r4.stderr, /hsm-ceremony pin unblock/);
  assert.ok(!existsSync(out));
  assertNoSecrets([r1.stderr, r2.stderr, r3.stderr, r4.stderr], ['111111', ...PLANTED]);
});
