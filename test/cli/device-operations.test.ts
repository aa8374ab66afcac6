/**
 * The device operations below the commands, driven directly over a simulated card with a fast
 * test KDF (share files made with 1 iteration per chain), so ordering, concurrency and
 * cancellation can be checked precisely without seconds of derivation per file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { importShares, type ShareToImport } from '../../app/ceremony/operations/import-shares.ts';
import { initializeDevice } from '../../app/ceremony/operations/initialize-device.ts';
import { confirmDkek, mismatchError } from '../../app/ceremony/operations/confirm-dkek.ts';
import { generateKey } from '../../app/ceremony/operations/generate-key.ts';
import { backupKey } from '../../app/ceremony/operations/backup-key.ts';
import { restoreKey } from '../../app/ceremony/operations/restore-key.ts';
import { inspectBackup, firstFailure } from '../../app/ceremony/operations/inspect-backup.ts';
import { decodeCertificate } from '../../app/ceremony/operations/public-key.ts';
import { createShareFile, shareFileKdfSync, type ShareFileKdf } from '../../protocol/dkek/share-file.ts';
import { combineShares, kcv } from '../../protocol/dkek/dkek.ts';
import { encodeOpenscPrkd } from '../../protocol/dkek/prkd.ts';
import { fromHex, utf8 } from '../../protocol/bytes.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import { kdfCancelled } from '../../protocol/dkek/md5-chain.ts';

const FAST = shareFileKdfSync(1);
const PIN = utf8('13572468');
const SO = utf8('00112233aabbccdd');

async function freshCard(shares: number | null): Promise<SmartCardHsm> {
  const hsm = new SmartCardHsm(new SimulatorTransport(SimulatedCard.create({ seed: Uint8Array.of(5) })));
  await hsm.selectApplet();
  await initializeDevice(hsm, { userPin: PIN, soPin: SO, dkekShares: shares }, { confirmDestroy: () => false });
  return hsm;
}

async function shareFiles(n: number) {
  const out: { file: Uint8Array; share: Uint8Array; pass: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const pass = utf8(`passphrase-${i}`);
    const c = await createShareFile(pass, { kdf: FAST });
    out.push({ file: c.file, share: c.share, pass });
  }
  return out;
}

/** A KDF that counts how many derivations run at once and finishes them when told. */
function gatedKdf() {
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const kdf = (name: string): ShareFileKdf => async (pw, salt) => {
    running++;
    peak = Math.max(peak, running);
    order.push(`start ${name}`);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    running--;
    order.push(`end ${name}`);
    return FAST(pw, salt);
  };
  return { kdf, order, peak: () => peak };
}

test('importShares derives at most two files at once and imports strictly in order', async () => {
  const hsm = await freshCard(4);
  const files = await shareFiles(4);
  const gate = gatedKdf();
  const events: string[] = [];
  const secretsAsked: number[] = [];
  const shares: ShareToImport[] = files.map((f, i) => ({
    name: `f${i}`,
    file: f.file,
    secret: async () => {
      secretsAsked.push(i);
      return { kind: 'passphrase', passphrase: f.pass.slice() };
    },
  }));
  const result = await importShares(hsm, shares, {
    kdf: (name) => gate.kdf(name),
    onEvent: (e) => {
      if (e.kind === 'imported') events.push(`${e.name} ${e.imported}/${e.total}`);
    },
  });
  assert.equal(gate.peak(), 2, 'two derivations overlapped, never three');
  assert.deepEqual(secretsAsked, [0, 1, 2, 3], 'secrets asked in file order');
  assert.deepEqual(events, ['f0 1/4', 'f1 2/4', 'f2 3/4', 'f3 4/4']);
  assert.equal(result.status.outstanding, 0);
  const c = await confirmDkek(hsm, { pin: PIN, expectKcv: kcv(combineShares(files.map((f) => f.share))) });
  assert.equal(c.matches, true);
  assert.equal(mismatchError(c), undefined);
});

test('importShares stops at a duplicate share and reports how far it got; the card keeps the first one', async () => {
  const hsm = await freshCard(3);
  const [a, b] = await shareFiles(2);
  // a's share again, under another passphrase and salt
  const again = await createShareFile(utf8('other'), { kdf: FAST, rng: (n) => (n === 32 ? a!.share.slice() : new Uint8Array(n).fill(9)) });
  const list: ShareToImport[] = [
    { name: 'a', file: a!.file, secret: async () => ({ kind: 'passphrase', passphrase: a!.pass.slice() }) },
    { name: 'b', file: b!.file, secret: async () => ({ kind: 'passphrase', passphrase: b!.pass.slice() }) },
    { name: 'a-again', file: again.file, secret: async () => ({ kind: 'passphrase', passphrase: utf8('other') }) },
  ];
  await assert.rejects(importShares(hsm, list, { kdf: () => FAST }), (e) => {
    assert.ok(isCeremonyError(e));
    assert.equal(e.code, 'DUPLICATE_SHARE');
    assert.equal(e.kind, 'check');
    assert.match(e.message, /a-again holds the same DKEK share as a .*\(2 of 3 shares imported, 1 outstanding\)/);
    return true;
  });
  assert.equal((await hsm.dkekStatus()).outstanding, 1);
});

test('importShares: an abort cancels the pending derivations and names the progress', async () => {
  const hsm = await freshCard(2);
  const files = await shareFiles(2);
  const ac = new AbortController();
  const list: ShareToImport[] = files.map((f, i) => ({ name: `f${i}`, file: f.file, secret: async () => ({ kind: 'passphrase', passphrase: f.pass.slice() }) }));
  await assert.rejects(
    importShares(hsm, list, {
      signal: ac.signal,
      kdf: (name, signal) => async (pw, salt) => {
        if (name === 'f1') {
          await new Promise((r) => setImmediate(r));
          await new Promise((r) => setImmediate(r));
          if (signal.aborted) throw kdfCancelled();
        }
        return FAST(pw, salt);
      },
      onEvent: (e) => {
        if (e.kind === 'imported') ac.abort();
      },
    }),
    (e) => {
      assert.ok(isCeremonyError(e));
      assert.equal(e.code, 'CANCELLED');
      assert.match(e.message, /\(1 of 2 shares imported, 1 outstanding\)/);
      assert.match(e.hint!, /import the remaining ones/);
      return true;
    },
  );
});

test('generate, back up, inspect with the DKEK, restore into a second card: the whole key path', async () => {
  const files = await shareFiles(2);
  const dkek = combineShares(files.map((f) => f.share));
  const cards: SmartCardHsm[] = [];
  for (let i = 0; i < 2; i++) {
    const hsm = await freshCard(2);
    for (const f of files) await hsm.importDkekShare(f.share);
    await hsm.verifyPin(PIN);
    cards.push(hsm);
  }
  const [a, b] = cards as [SmartCardHsm, SmartCardHsm];
  const g = await generateKey(a, 7, { type: 'ec', curve: 'P-384' }, { label: 'p384', id: fromHex('0a0b') });
  assert.deepEqual(g.prkd, encodeOpenscPrkd({ keyType: 'ec', label: 'p384', id: fromHex('0a0b'), keyReference: 7, keySize: 384 }));
  assert.equal(g.publicKey?.type, 'ec');
  const backup = await backupKey(a, 7, kcv(dkek));
  assert.equal(backup.label, 'p384');
  assert.equal(backup.id, '0a0b');
  const inspected = inspectBackup(backup.file, { dkek });
  assert.equal(firstFailure(inspected), undefined);
  assert.equal(inspected.decrypted?.key, 'EC P-384');
  const restored = await restoreKey(b, backup.file, 9, { pin: PIN });
  assert.equal(restored.proof?.description, 'ECDSA over SHA-256');
  assert.equal(restored.publicKeySource, 'backup');
  // the restored key's CV request on card B is the backup's, so it holds the generated public key
  const onB = decodeCertificate((await b.tryReadFile(0xce09))!);
  assert.deepEqual(onB?.publicKey, g.publicKey);
  // an RSA key takes the same path
  const r = await generateKey(a, 8, { type: 'rsa', bits: 1024 }, { label: 'rsa', id: fromHex('08') });
  assert.equal(r.publicKey?.type, 'rsa');
  const rb = await backupKey(a, 8, kcv(dkek));
  const rr = await restoreKey(b, rb.file, 10, { pin: PIN });
  assert.equal(rr.proof?.description, 'RSA PKCS#1 v1.5 with SHA-256');
});

test('Pico flavor: a completed DKEK survives a restart once committed — at the import in a logged-in session, else at confirmDkek', async () => {
  // Pico HSM firmware stores the DKEK at the last share when the session holds the user PIN, and
  // otherwise at the next successful VERIFY; a restart before that replaces it (fixtures README).
  const survives = async (o: { loginFirst: boolean; confirm: boolean }) => {
    const card = SimulatedCard.create({ seed: Uint8Array.of(6), flavor: 'pico' });
    const init = new SmartCardHsm(new SimulatorTransport(card));
    await init.selectApplet();
    await initializeDevice(init, { userPin: PIN, soPin: SO, dkekShares: 2 }, { confirmDestroy: () => false });
    card.restart(); // a new session: initialising also presented the PIN
    const hsm = new SmartCardHsm(new SimulatorTransport(card));
    await hsm.selectApplet();
    if (o.loginFirst) await hsm.verifyPin(PIN);
    const files = await shareFiles(2);
    await importShares(
      hsm,
      files.map((f, i) => ({ name: `f${i}`, file: f.file, secret: async () => ({ kind: 'passphrase' as const, passphrase: f.pass.slice() }) })),
      { kdf: () => FAST },
    );
    const expected = kcv(combineShares(files.map((f) => f.share)));
    if (o.confirm) assert.equal((await confirmDkek(hsm, { pin: PIN, expectKcv: expected })).matches, true);
    card.restart();
    const after = new SmartCardHsm(new SimulatorTransport(card));
    await after.selectApplet();
    return (await confirmDkek(after, { pin: PIN, expectKcv: expected })).matches;
  };
  assert.equal(await survives({ loginFirst: false, confirm: true }), true, 'committed by confirmDkek');
  assert.equal(await survives({ loginFirst: true, confirm: false }), true, 'committed at the import (session PIN)');
  assert.equal(await survives({ loginFirst: false, confirm: false }), false, 'never committed: the restart loses it');
});

test('importShares: cancelling while a secret is still being typed ends at once, tells the prompt, and imports nothing', async () => {
  const hsm = await freshCard(2);
  const [a] = await shareFiles(1);
  const ac = new AbortController();
  let promptSignal: AbortSignal | undefined;
  const pending = importShares(
    hsm,
    [{ name: 'a', file: a!.file, secret: (signal) => ((promptSignal = signal), new Promise(() => undefined)) }],
    { kdf: () => FAST, signal: ac.signal },
  );
  await new Promise((r) => setImmediate(r));
  assert.ok(promptSignal && !promptSignal.aborted, 'the prompt is open');
  ac.abort();
  await assert.rejects(pending, (e) => isCeremonyError(e) && e.code === 'CANCELLED' && /0 of 2 shares imported/.test(e.message));
  assert.equal(promptSignal.aborted, true, 'the prompt was told to close');
  const c = await confirmDkek(hsm, {});
  assert.equal(c.outstanding, 2);
});
