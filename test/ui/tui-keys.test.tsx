import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startSession, KEY, assertNeverShown, tempDir, flat } from './harness.tsx';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SmartCardHsm, FID_PREFIX } from '../../app/card/sc-hsm.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { decodeWrapFile } from '../../protocol/dkek/wrap-file.ts';
import { fromHex, utf8 } from '../../protocol/bytes.ts';

const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url).pathname;
const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8')) as { shareFiles: { file: string; share: string }[] };
const share = (f: string) => fromHex(fixtures.shareFiles.find((x) => x.file === f)!.share);
const PIN = '271828';
const SO = '7a3c19e05b82d4f6';

/** A card whose DKEK is the fixture share `dkek` alone, holding the fixture wrap files as keys. */
async function card(o: { dkek?: string; keys?: { wrap: string; ref: number }[]; seed?: number; flavor?: 'sc-hsm' | 'pico' } = {}): Promise<SimulatedCard> {
  const c = SimulatedCard.create({ flavor: o.flavor ?? 'sc-hsm', seed: Uint8Array.of(o.seed ?? 3) });
  const hsm = new SmartCardHsm(new SimulatorTransport(c));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8(PIN), soPin: utf8(SO), dkekShares: 1 });
  await hsm.importDkekShare(share(o.dkek ?? 's1.pbe'));
  await hsm.verifyPin(utf8(PIN));
  for (const k of o.keys ?? []) {
    const w = decodeWrapFile(new Uint8Array(readFileSync(join(FIXTURES, k.wrap))));
    await hsm.unwrapKey(k.ref, w.blob);
    if (w.prkd) await hsm.updateBinary((FID_PREFIX.PRKD << 8) | k.ref, w.prkd, { replace: true });
    if (w.certificate) await hsm.updateBinary((FID_PREFIX.EE_CERT << 8) | k.ref, w.certificate, { replace: true });
  }
  return c;
}

test('keys: the list shows reference, ID, label, type, size and certificate holder', async () => {
  const s = await startSession({ card: await card({ keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }, { wrap: 'wrap-rsa2048.bin', ref: 2 }] }) });
  try {
    await s.waitFor('What next?');
    await s.press('k');
    const f = await s.waitFor('Keys (2)');
    assert.match(f, /Ref +ID +Label +Type +Size +Certificate \/ holder/);
    assert.match(f, /^1 +01 +k1 +EC +256 +CV request \S+/m);
    assert.match(f, /^2 +02 +\S+ +RSA +2048/m);
    await s.press(KEY.enter);
    await s.waitFor('What next?');
  } finally {
    await s.close();
  }
});

test('back up all keys: each file checked, its SHA-256 shown; existing files are never overwritten', async () => {
  const dir = tempDir();
  const s = await startSession({ card: await card({ keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }, { wrap: 'wrap-rsa2048.bin', ref: 2 }] }), cwd: dir });
  try {
    await s.waitFor('What next?');
    await s.press('b');
    await s.waitFor('2 of 2 selected');
    assert.match(s.frame(), /\[x\] key 1 "k1": EC 256, ID 01/);
    await s.press(KEY.space);
    await s.waitFor('1 of 2 selected');
    await s.press('a');
    await s.waitFor('2 of 2 selected');
    await s.press('a');
    await s.waitFor('0 of 2 selected');
    await s.press(KEY.enter);
    await s.waitFor('select at least one key (Space)');
    await s.press('a', KEY.enter);
    await s.waitFor('Folder: .');
    await s.type('');
    await s.waitFor('User PIN:');
    await s.type(PIN);
    const f = await s.waitFor('2 backups written');
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['key-1-k1.bin', 'key-2-r1.bin']);
    for (const name of files) {
      const sum = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
      assert.ok(flat(f).includes(`SHA-256 ${sum}`), `${name}'s SHA-256 is shown`);
      assert.match(flat(s.everything()), new RegExp(`backed up to ${name.replace('.', '\\.')} \\(DKEK KCV 1D1083E78237E99D, SHA-256 ${sum}\\)`));
    }
    assert.match(flat(f), /All under DKEK 1D1083E78237E99D/);
    await s.press(KEY.enter);
    // again into the same folder: refused before any WRAP, nothing overwritten
    const before = readFileSync(join(dir, 'key-1-k1.bin'));
    await s.press('b');
    await s.waitFor('2 of 2 selected');
    await s.press(KEY.enter);
    await s.type('');
    await s.waitFor('Back up stopped');
    assert.match(flat(s.frame()), /key-1-k1\.bin already exists and will not be overwritten/);
    assert.deepEqual(readFileSync(join(dir, 'key-1-k1.bin')), before);
    assertNeverShown(s, [PIN]);
  } finally {
    await s.close();
  }
});

test('restore into another device: KCV checked, the key proven to sign; an occupied reference needs the typed phrase', async () => {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, 'wrap-ec-p256.bin'), join(dir, 'backup.bin'));
  const s = await startSession({ card: await card({ seed: 11 }), cwd: dir });
  try {
    await s.waitFor('What next?');
    await s.press('r');
    await s.waitFor('1  backup.bin');
    await s.press('1');
    const f = await s.waitFor('Restore into key reference: 1');
    assert.match(flat(f), /Key: EC 256 bits, label "k1", ID 01, was key reference 1/);
    assert.match(flat(f), /DKEK KCV: 1D1083E78237E99D/);
    await s.type('');
    await s.waitFor('User PIN:');
    await s.type(PIN);
    const done = await s.waitFor('Key 1 restored', 10_000);
    assert.match(flat(done), /Proof: the device signed a fresh challenge \(ECDSA over SHA-256\), verified with the public key from the backup\./);
    assert.match(flat(s.everything()), /restore: the backup and the device share DKEK 1D1083E78237E99D: safe to unwrap/);
    await s.press(KEY.enter);
    await s.idle();
    assert.match(s.frame(), /1 key \(ref 1\)/);

    // the same backup into the now occupied reference 1
    await s.press('r');
    await s.press('1');
    await s.waitFor('Restore into key reference: 2');
    await s.press(KEY.ctrlU);
    await s.type('1');
    await s.waitFor('Replace what is at key reference 1?');
    assert.match(flat(s.frame()), /Key reference 1 holds a key, a key description, a certificate \(label "k1"\)/);
    await s.type('replace key 2');
    await s.waitFor('type exactly: replace key 1');
    await s.press(KEY.ctrlU);
    await s.type('replace key 1');
    await s.waitFor('Key 1 restored', 10_000);
    assert.match(flat(s.everything()), /the card accepted the backup in a trial at key reference 255/);
    assert.match(flat(s.everything()), /key 1 restored from backup\.bin \(replacing the old one\)/);
  } finally {
    await s.close();
  }
});

test('restore refuses a backup made under another DKEK before sending anything; Escape at the phrase keeps the old key', async () => {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, 'wrap-ec-p256.bin'), join(dir, 'backup.bin'));
  const s = await startSession({ card: await card({ dkek: 's2.pbe', seed: 12 }), cwd: dir });
  try {
    await s.waitFor('What next?');
    await s.press('r', '1');
    const f = await s.waitFor('This backup belongs to another DKEK');
    assert.match(flat(f), /backup\.bin was made under DKEK 1D1083E78237E99D; this device's DKEK is C5C879826FF70C8F\. Nothing was sent to the device\./);
    assert.equal(s.steps.some((x) => x.effects.some((e) => e.type === 'start-job' && e.job.kind === 'restore')), false);
  } finally {
    await s.close();
  }
  const s2 = await startSession({ card: await card({ keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }], seed: 13 }), cwd: dir });
  try {
    await s2.waitFor('What next?');
    await s2.press('r', '1');
    await s2.waitFor('Restore into key reference: 2');
    await s2.press(KEY.ctrlU);
    await s2.type('1');
    await s2.waitFor('User PIN:');
    await s2.type(PIN);
    await s2.waitFor('Replace what is at key reference 1?');
    await s2.press(KEY.escape);
    await s2.waitFor('Not restored', 10_000);
    assert.match(flat(s2.frame()), /not confirmed: key 1 was not replaced/);
  } finally {
    await s2.close();
  }
});

test('inspect a backup offline: key, DKEK KCV, parts, SHA-256', async () => {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, 'wrap-ec-p256-3share.bin'), join(dir, 'three.bin'));
  const s = await startSession({ cwd: dir, noDevice: true });
  try {
    await s.waitFor('No device');
    await s.press(KEY.enter);
    await s.waitFor('What next?');
    assert.match(s.frame(), /No device: no reader holds a card/);
    await s.press('k');
    assert.match(s.frame(), /not now: no device/);
    await s.press('n');
    await s.waitFor('1  three.bin');
    await s.press('1');
    const f = await s.waitFor('Backup file three.bin');
    assert.match(flat(f), /Key: EC 256 bits, label "k1", ID 01, was key reference 1/);
    assert.match(flat(f), /DKEK KCV: 0767001241A0CB44/);
    assert.match(flat(f), /Contains: key blob, key description \(PRKD\), CV request of \w+/);
    const sum = createHash('sha256').update(readFileSync(join(dir, 'three.bin'))).digest('hex');
    assert.match(flat(f), new RegExp(`SHA-256: ${sum}`));
    await s.press(KEY.enter);
    await s.press('n', 't');
    await s.type('missing.bin');
    await s.waitFor(/cannot read the backup file .*missing\.bin: no such file/);
    writeFileSync(join(dir, 'junk.bin'), 'not a wrap file');
    await s.press('t');
    await s.type('junk.bin');
    await s.waitFor('✗ wrap file');
  } finally {
    await s.close();
  }
});

test('PINs: change the user PIN (a wrong one says the tries left), unblock with the SO-PIN, change the SO-PIN', async () => {
  const s = await startSession({ card: await card({ seed: 14 }) });
  try {
    await s.waitFor('What next?');
    await s.press('p');
    await s.waitFor('User PIN: 3 tries left.');
    await s.press('c');
    await s.type('999999');
    await s.type('314159');
    await s.type('314159');
    await s.waitFor('the user PIN is wrong: 2 tries left before it is blocked; nothing was changed');
    await s.type(PIN);
    await s.type('314159');
    await s.type('314158');
    await s.waitFor('the two entries differ');
    await s.type('314159');
    await s.type('314159');
    await s.waitFor('Done: user PIN changed.');
    await s.press(KEY.enter);
    await s.press('p', 'u');
    await s.type(SO);
    await s.type('161803');
    await s.type('161803');
    await s.waitFor('Done: user PIN unblocked and set anew.');
    await s.press(KEY.enter);
    await s.press('p', 's');
    await s.type(SO);
    await s.type('0011223344556677');
    await s.type('0011223344556677');
    await s.waitFor('Done: SO-PIN changed.');
    await s.press(KEY.enter);
    await s.idle();
    for (const line of ['✓ user PIN changed', '✓ user PIN unblocked and set anew', '✓ SO-PIN changed']) assert.ok(s.frame().includes(line), line);
    assertNeverShown(s, [PIN, SO, '999999', '314159', '314158', '161803', '0011223344556677']);
    assert.equal(s.vault.size, 0);
  } finally {
    await s.close();
  }
});

test('generate a key: type, free reference, label; needs the PIN once', async () => {
  const s = await startSession({ card: await card({ seed: 15 }) });
  try {
    await s.waitFor('What next?');
    await s.press('g');
    await s.press('3');
    await s.waitFor('Key reference (1-255): 1');
    await s.type('');
    await s.waitFor('Label: key-1');
    await s.type('');
    await s.type(PIN);
    await s.waitFor('Key 1 generated', 20_000);
    assert.match(flat(s.frame()), /RSA 2048/);
  } finally {
    await s.close();
  }
});
