import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSession, KEY, assertNeverShown, tempDir, flat, type Session } from './harness.tsx';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { decryptShareFile, encryptShareFile, shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import { combineShares, formatKcv, kcv } from '../../protocol/dkek/dkek.ts';
import { utf8 } from '../../protocol/bytes.ts';

const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url).pathname;
const PIN = '271828';
const SO = '7a3c19e05b82d4f6';
const PASSPHRASES = ['first custodian words', 'second custodian words', 'third custodian words'];

/** A card initialized for `shares` DKEK shares (no KDF: straight through the card layer). */
async function cardFor(shares: number, flavor: 'sc-hsm' | 'pico' = 'sc-hsm'): Promise<SimulatedCard> {
  const card = SimulatedCard.create({ flavor, seed: Uint8Array.of(9) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8(PIN), soPin: utf8(SO), dkekShares: shares });
  return card;
}

async function toMenu(s: Session): Promise<void> {
  await s.waitFor('What next?');
}

test('create three share files: each derivation runs while the next custodian types; files written whole, mode 0600', async () => {
  const s = await startSession({ card: await cardFor(3), kdfIterations: 400_000 });
  try {
    await toMenu(s);
    await s.press('c');
    await s.waitFor('How many share files: 3');
    await s.type('');
    for (let i = 0; i < 3; i++) {
      await s.waitFor(`share ${i + 1} of 3`);
      await s.press('p');
      await s.waitFor(`File: dkek-share-${i + 1}.pbe`);
      await s.type('');
      await s.waitFor('New passphrase:');
      if (i === 0) {
        await s.type('short');
        await s.waitFor("that is 5 characters; at least 6 are needed (sc-hsm-tool's minimum)");
      }
      await s.type(PASSPHRASES[i]!);
      await s.waitFor('Passphrase again');
      await s.type(PASSPHRASES[i]!);
      if (i < 2) {
        // the next share is set up while this one is still being encrypted
        await s.waitFor(`share ${i + 2} of 3`);
        assert.ok(s.store.getState().jobs.some((j) => j.kind === 'create-share'), 'the derivation runs in the background');
      }
    }
    await s.waitFor('3 share files created', 30_000);
    const f = s.frame();
    for (let i = 1; i <= 3; i++) assert.match(f, new RegExp(`✓ dkek-share-${i}\\.pbe {2}fingerprint [0-9a-f ]{19} {2}\\(passphrase\\)`));
    // That two derivations run at once is the reducer's decision, tested without timing in
    // test/unit/ceremony-shares.test.ts; here the harness waits for each screen to settle, which can
    // outlast a short derivation, so counting overlaps would only measure the machine's load.
    const kdf = shareFileKdfSync(400_000);
    const shares: Uint8Array[] = [];
    for (let i = 1; i <= 3; i++) {
      const p = join(s.cwd, `dkek-share-${i}.pbe`);
      assert.equal(statSync(p).mode & 0o777, 0o600);
      const bytes = new Uint8Array(readFileSync(p));
      assert.equal(bytes.length, 64);
      shares.push(await decryptShareFile(bytes, utf8(PASSPHRASES[i - 1]!), kdf));
    }
    assertNeverShown(s, PASSPHRASES);
    assert.equal(s.vault.size, 0);

    // import them right away, custodian after custodian
    await s.press('m');
    await s.waitFor('Expected KCV (optional)');
    const expected = formatKcv(kcv(combineShares(shares)));
    await s.type(expected.toLowerCase().replace(/(.{4})/g, '$1 '));
    await s.waitFor('Choose share file 1 of 3');
    await s.press('1');
    await s.waitFor('Choose share file 2 of 3');
    assert.match(s.frame(), /1 {2}dkek-share-1\.pbe/, 'a chosen file stays listed, so numbers do not shift');
    await s.press('1');
    assert.match(s.frame(), /Choose share file 2 of 3/, 'a file already chosen cannot be chosen again');
    await s.press('2', '3');
    for (let i = 0; i < 3; i++) {
      await s.waitFor(`Custodian ${i + 1} of 3: open dkek-share-${i + 1}.pbe`);
      await s.press('p');
      await s.waitFor('Passphrase:');
      await s.type(PASSPHRASES[i]!);
    }
    await s.waitFor('User PIN:', 30_000);
    assert.match(flat(s.everything()), /✓ DKEK share dkek-share-3\.pbe imported \(fingerprint [0-9a-f ]+\): 3 of 3, 0 outstanding/);
    await s.type(PIN);
    const v = await s.waitFor('MATCH: the device DKEK');
    assert.match(v, /Device KCV: {4}(\w{4} ){3}\w{4}/);
    assert.match(v, /MATCH: the device DKEK is the expected one\./);
    assert.ok(v.includes('█   █'), 'large type');
    assert.match(flat(v), new RegExp(`DKEK complete: key check value ${expected} \\(matches the expected KCV\\)`));
    await s.press(KEY.enter);
    await toMenu(s);
    await s.idle();
    assert.match(s.frame(), new RegExp(`DKEK 3 shares, complete, KCV ${expected}`));
    assertNeverShown(s, [...PASSPHRASES, PIN]);
    assert.equal(s.vault.size, 0);
  } finally {
    await s.close();
  }
});

test('import refuses a share file given twice, and a share already imported in this session', async () => {
  const dir = tempDir();
  const kdf = shareFileKdfSync(1000);
  const share = new Uint8Array(32).fill(7);
  writeFileSync(join(dir, 'a.pbe'), await encryptShareFile(share, utf8('passphrase-a'), new Uint8Array(8).fill(1), kdf));
  copyFileSync(join(dir, 'a.pbe'), join(dir, 'a-copy.pbe'));
  // the same share under another passphrase and salt: a different file holding the same share
  writeFileSync(join(dir, 'b.pbe'), await encryptShareFile(share, utf8('passphrase-b'), new Uint8Array(8).fill(2), kdf));
  const s = await startSession({ card: await cardFor(3), cwd: dir });
  try {
    await toMenu(s);
    await s.press('m');
    await s.type('');
    await s.waitFor('Choose share file 1 of 3');
    assert.match(s.frame(), /1 {2}a-copy\.pbe[\s\S]*2 {2}a\.pbe[\s\S]*3 {2}b\.pbe/);
    await s.press('1');
    await s.waitFor('Choose share file 2 of 3');
    await s.press('2');
    await s.waitFor('a.pbe is the same share file as a-copy.pbe');
    await s.press('s');
    await s.waitFor('Custodian 1 of 1: open a-copy.pbe');
    await s.press('p');
    await s.type('passphrase-a');
    await s.waitFor('1 share imported', 10_000);
    await s.press(KEY.enter);
    await toMenu(s);
    await s.press('m');
    await s.type('');
    await s.waitFor('Choose share file 1 of 2');
    await s.press('2');
    await s.waitFor('a.pbe holds the share already imported in this session from a-copy.pbe');
    await s.press('3', 's');
    await s.waitFor('Custodian 1 of 1: open b.pbe');
    await s.press('p');
    await s.type('passphrase-b');
    await s.waitFor('Import failed', 10_000);
    assert.match(s.frame(), /b\.pbe holds a DKEK share already imported in this session/);
    await s.idle();
    assert.match(s.frame(), /DKEK 1 of 3 shares imported, 2 outstanding/, 'the duplicate never reached the card');
  } finally {
    await s.close();
  }
});

test('a wrong passphrase stops the import and says how far it got; the rest can be imported after', async () => {
  const dir = tempDir();
  const kdf = shareFileKdfSync(1000);
  writeFileSync(join(dir, 'one.pbe'), await encryptShareFile(new Uint8Array(32).fill(1), utf8('passphrase-1'), new Uint8Array(8).fill(1), kdf));
  writeFileSync(join(dir, 'two.pbe'), await encryptShareFile(new Uint8Array(32).fill(2), utf8('passphrase-2'), new Uint8Array(8).fill(2), kdf));
  const s = await startSession({ card: await cardFor(2), cwd: dir });
  try {
    await toMenu(s);
    await s.press('m');
    await s.type('');
    await s.press('1', '2');
    await s.waitFor('Custodian 1 of 2');
    await s.press('p');
    await s.type('passphrase-1');
    await s.waitFor('Custodian 2 of 2');
    await s.press('p');
    await s.type('not the passphrase');
    await s.waitFor('Import failed', 10_000);
    assert.match(flat(s.frame()), /two\.pbe: wrong passphrase \(the share file did not decrypt\) \(1 of 2 shares imported, 1 outstanding\)/);
    await s.press('r');
    await s.type('');
    await s.waitFor('Choose share file 1 of 1');
    await s.press('2');
    await s.waitFor('Custodian 1 of 1: open two.pbe');
    await s.press('p');
    await s.type('passphrase-2');
    await s.waitFor('User PIN:', 10_000);
    await s.press(KEY.escape);
    await s.waitFor('DKEK key check value');
    assert.equal(s.frame().includes('MATCH'), false, 'no verdict without an expected KCV');
    assertNeverShown(s, ['passphrase-1', 'passphrase-2', 'not the passphrase']);
  } finally {
    await s.close();
  }
});

test('n-of-m share creation shows one custodian at a time, erases the screen between them, and the shares open the file', async () => {
  const s = await startSession({ card: await cardFor(1) });
  try {
    await toMenu(s);
    await s.press('c');
    await s.waitFor('How many share files: 1');
    await s.type('');
    await s.press('n');
    await s.waitFor('Threshold/total, e.g. 2/3: 2/3');
    await s.press(KEY.ctrlU);
    await s.type('1/3');
    await s.waitFor('give n/m with 2 ≤ n ≤ m and 3 ≤ m ≤ 255');
    await s.press(KEY.ctrlU);
    await s.type('2/3');
    await s.type('');
    const printed: { id: string; value: string; prime: string }[] = [];
    for (let c = 1; c <= 3; c++) {
      await s.waitFor(`Custodian ${c}: press Enter to see your password share`);
      assert.equal(s.frame().includes('Share value'), false);
      await s.press(KEY.enter);
      const f = await s.waitFor(`Password share ${c} of 3 for`);
      const value = /Share value : ([0-9a-f:]+)/.exec(f)![1]!;
      const prime = /Prime {7}: ([0-9a-f:]+)/.exec(f)![1]!;
      printed.push({ id: /Share ID {4}: (\d+)/.exec(f)![1]!, value, prime });
      const clearsBefore = s.clears;
      await s.press(KEY.enter);
      await s.waitFor(c < 3 ? `Password share ${c} is hidden and the screen was erased` : '1 share file created');
      assert.equal(s.clears, clearsBefore + 1, 'the terminal was erased, scrollback too');
      assert.equal(s.frame().includes(value), false, 'the share is gone from the screen');
      // the share appears only in frames written before the erase
      const lastClear = s.stdout.frames.lastIndexOf('\x1b[2J\x1b[3J\x1b[H');
      assert.equal(s.stdout.frames.slice(lastClear).join('').includes(value), false);
    }
    await s.waitFor('1 share file created', 10_000);
    assert.match(s.frame(), /dkek-share-1\.pbe {2}fingerprint [0-9a-f ]+ {2}\(2-of-3 password shares\)/);
    assert.equal(new Set(printed.map((p) => p.prime)).size, 1, 'one prime for all');
    assert.deepEqual(printed.map((p) => p.id), ['1', '2', '3']);
    assert.equal(s.vault.size, 0, 'the split is wiped once every custodian saw their share');

    // custodians 1 and 3 open the file offline (verify), values typed hidden
    await s.press('q');
    await toMenu(s);
    await s.press('v');
    await s.waitFor('1  dkek-share-1.pbe');
    await s.press('1');
    await s.press('n');
    await s.type('2');
    await s.type(printed[0]!.prime);
    for (const p of [printed[0]!, printed[2]!]) {
      await s.waitFor('Share ID:');
      await s.type(p.id);
      await s.waitFor('Share value:');
      await s.type(p.value);
    }
    await s.waitFor('dkek-share-1.pbe opens', 10_000);
    assert.match(flat(s.frame()), /Opened with: 2 password shares, threshold 2; no spare share to cross-check\./);
    // the values typed at the hidden prompt never showed after the reveal screens
    const afterReveal = s.stdout.frames.slice(s.stdout.frames.lastIndexOf('\x1b[2J\x1b[3J\x1b[H')).join('');
    for (const p of printed) assert.equal(afterReveal.includes(p.value), false);
  } finally {
    await s.close();
  }
});

test('fixture s1.pbe (made by sc-hsm-tool) imports with the real key derivation and matches its KCV', async () => {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, 's1.pbe'), join(dir, 's1.pbe'));
  const s = await startSession({ card: await cardFor(1, 'pico'), cwd: dir, kdfIterations: 10_000_000 });
  try {
    await toMenu(s);
    await s.press('m');
    await s.type('1D10 83E7 8237 E99D');
    await s.waitFor('1  s1.pbe');
    await s.press('1');
    await s.waitFor('Custodian 1 of 1: open s1.pbe');
    await s.press('p');
    await s.type('pico-test-pw-1');
    await s.waitFor(/deriving s1\.pbe +█*░+ +\d+%/, 10_000);
    await s.waitFor('User PIN:', 30_000);
    // Pico HSM: the KCV is known only after the PIN
    await s.type(PIN);
    await s.waitFor('MATCH: the device DKEK is the expected one.', 10_000);
    assert.match(s.frame(), /Device KCV: {4}1D10 83E7 8237 E99D/);
    assertNeverShown(s, ['pico-test-pw-1', PIN]);
  } finally {
    await s.close();
  }
});

test('a wrong expected KCV gives MISMATCH in large type', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'x.pbe'), await encryptShareFile(new Uint8Array(32).fill(5), utf8('passphrase-x'), new Uint8Array(8).fill(3), shareFileKdfSync(1000)));
  const s = await startSession({ card: await cardFor(1), cwd: dir });
  try {
    await toMenu(s);
    await s.press('m');
    await s.type('12345');
    await s.waitFor('a KCV is 16 hex digits');
    await s.press(KEY.ctrlU);
    await s.type('0000000000000000');
    await s.press('1');
    await s.press('p');
    await s.type('passphrase-x');
    await s.waitFor('User PIN:', 10_000);
    await s.type(PIN);
    const f = await s.waitFor('MISMATCH: this is NOT the expected DKEK.');
    assert.ok(f.includes('█   █ ███  ████'), 'MISMATCH in block letters');
    assert.match(f, /Expected KCV: {2}0000 0000 0000 0000/);
    assert.match(flat(s.everything()), /MISMATCH: 0000000000000000 was expected/);
  } finally {
    await s.close();
  }
});
