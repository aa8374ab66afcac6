/**
 * The simulator state file: round trip (a card saved and loaded answers like the original),
 * saving after every state-changing command, atomic replacement (a crash before the rename leaves
 * the old file), validation that names what is wrong, and openSimulatedCard's rules.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toHex } from '../../protocol/bytes.ts';
import { ecCurveByName } from '../../protocol/dkek/ec-curve.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { loadCardState, openSimulatedCard, parseCardState, saveCardStateAtomic, serializeCardState } from '../../app/simulator/persistence.ts';
import { expectSw, importShare, initCard, keygenEcApdu, keygenRsaApdu, login, newCard, SELECT_APPLET, shareOf, signApdu, verifyPin } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'hsm-sim-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A card with PINs, a DKEK, an EC and an RSA key and some files. */
function busyCard(flavor: 'sc-hsm' | 'pico' = 'sc-hsm'): SimulatedCard {
  const card = newCard(flavor, 21);
  initCard(card, { dkekShares: 1 });
  login(card);
  expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
  expectSw(card, keygenEcApdu(1, ecCurveByName('P-384')), 0x9000);
  expectSw(card, keygenRsaApdu(2, 1024), 0x9000);
  expectSw(card, verifyPin(new TextEncoder().encode('999999')), 0x63c2);
  return card;
}

function expectInvalid(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseCardState(text, 'state.json'),
    (e: unknown) => e instanceof CeremonyError && e.code === 'SIM_STATE_INVALID' && e.kind === 'usage' && pattern.test(e.message) && typeof e.hint === 'string',
  );
}

describe('state file round trip', () => {
  it('serialise → parse gives the same state; the reloaded card continues identically', () => {
    for (const flavor of ['sc-hsm', 'pico'] as const) {
      const card = busyCard(flavor);
      const text = serializeCardState(card.snapshot());
      const parsed = parseCardState(text);
      assert.deepEqual(parsed, card.snapshot());
      const twin = SimulatedCard.fromState(parsed);
      card.reset();
      twin.powerOn();
      for (const c of [card, twin]) {
        expectSw(c, SELECT_APPLET, 0x9000);
        expectSw(c, verifyPin(), 0x9000);
      }
      // DRBG continues where it stopped: same challenge, same signature
      assert.deepEqual(expectSw(twin, '0084000010', 0x9000), expectSw(card, '0084000010', 0x9000));
      const msg = new TextEncoder().encode('m');
      assert.deepEqual(expectSw(twin, signApdu(1, 0x73, msg), 0x9000), expectSw(card, signApdu(1, 0x73, msg), 0x9000));
      assert.deepEqual(expectSw(twin, signApdu(2, 0x33, msg), 0x9000), expectSw(card, signApdu(2, 0x33, msg), 0x9000));
    }
  });

  it('the JSON names its format and version and holds hex strings only', () => {
    const json = JSON.parse(serializeCardState(busyCard().snapshot()));
    assert.equal(json.format, 'hsm-ceremony/simulator-state');
    assert.equal(json.version, 1);
    assert.match(json.drbg.seed, /^[0-9a-f]+$/);
    assert.equal(json.keys[0].ref, 0);
    assert.equal(json.keys[0].exportable, false);
    assert.ok(json.files.some((f: { fid: string }) => f.fid === '2F02'));
  });
});

describe('validation names what is wrong', () => {
  const good = (): Record<string, unknown> => JSON.parse(serializeCardState(busyCard().snapshot()));
  const text = (o: unknown): string => JSON.stringify(o);

  it('not JSON, wrong format, missing and extra fields', () => {
    expectInvalid('{', /not JSON/);
    expectInvalid(text({ ...good(), format: 'other' }), /format/);
    const noDrbg = good();
    delete noDrbg.drbg;
    expectInvalid(text(noDrbg), /drbg/);
    expectInvalid(text({ ...good(), extra: 1 }), /extra|unrecognized/i);
  });

  it('bad hex, bad lengths, out-of-range counters, inconsistent PIN and DKEK fields', () => {
    const g = good() as { drbg: { k: string }; userPin: { remaining: number; max: number }; dkek: { imported: number; total: number } };
    expectInvalid(text({ ...g, drbg: { ...g.drbg, k: 'zz' } }), /drbg\.k/);
    expectInvalid(text({ ...g, drbg: { ...g.drbg, k: '00' } }), /drbg\.k: must be 32 bytes/);
    expectInvalid(text({ ...g, userPin: { ...g.userPin, remaining: 16 } }), /userPin\.remaining/);
    expectInvalid(text({ ...g, userPin: { ...g.userPin, remaining: g.userPin.max + 1 } }), /userPin\.remaining exceeds/);
    expectInvalid(text({ ...g, dkek: { ...g.dkek, imported: 2 } }), /dkek\.imported exceeds/);
    expectInvalid(text({ ...g, initialized: false }), /userPin\.value must be set exactly/);
  });

  it('keys: a public point that does not match d, inconsistent RSA, a missing device key, duplicates', () => {
    const g = good() as { keys: Record<string, unknown>[]; files: Record<string, unknown>[] };
    const keys = g.keys.map((k) => ({ ...k }));
    const ec = keys.find((k) => k.kind === 'ec' && k.ref === 1)!;
    ec.d = (ec.d as string).replace(/^../, (b) => (b === '01' ? '02' : '01'));
    expectInvalid(text({ ...g, keys }), /keys\.\d+: q is not the public point of d on P-384/);
    const keys2 = g.keys.map((k) => ({ ...k }));
    const rsa = keys2.find((k) => k.kind === 'rsa')!;
    rsa.n = (rsa.n as string).slice(0, -2) + '01';
    expectInvalid(text({ ...g, keys: keys2 }), /n, p, q and qinv are inconsistent/);
    expectInvalid(text({ ...g, keys: g.keys.filter((k) => k.ref !== 0) }), /device key/);
    expectInvalid(text({ ...g, keys: [...g.keys, g.keys[1]] }), /appears twice/);
    expectInvalid(text({ ...g, files: [...g.files, g.files[0]] }), /files\.\d+\.fid .* appears twice/);
    expectInvalid(text({ ...g, keys: [{ ...g.keys[1], curve: 'P-999' }] }), /keys\.0\.curve/);
  });
});

describe('atomic saving', () => {
  it('writes mode 0600, leaves no temporary file, and loads back', () => {
    const path = join(dir, 'a.json');
    const card = busyCard();
    saveCardStateAtomic(path, card.snapshot());
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
    assert.deepEqual(loadCardState(path), card.snapshot());
    assert.equal(loadCardState(join(dir, 'missing.json')), undefined);
  });

  it('a crash between writing and renaming leaves the old file intact', () => {
    const path = join(dir, 'b.json');
    const card = busyCard();
    saveCardStateAtomic(path, card.snapshot());
    const old = readFileSync(path, 'utf8');
    expectSw(card, '0084000008', 0x9000); // DRBG moved on: the state differs now
    assert.throws(
      () =>
        saveCardStateAtomic(path, card.snapshot(), {
          beforeRename: () => {
            throw new Error('power cut');
          },
        }),
      (e: unknown) => e instanceof CeremonyError && e.code === 'SIM_STATE_WRITE_FAILED' && e.kind === 'device',
    );
    assert.equal(readFileSync(path, 'utf8'), old, 'old content');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.b.json')), [], 'temporary file removed');
  });

  it('an unwritable directory is a device error naming the path', () => {
    assert.throws(
      () => saveCardStateAtomic(join(dir, 'no-such-dir', 'c.json'), busyCard().snapshot()),
      (e: unknown) => e instanceof CeremonyError && e.code === 'SIM_STATE_WRITE_FAILED' && e.message.includes('no-such-dir'),
    );
  });
});

describe('openSimulatedCard', () => {
  it('creates, saves after every state change, and reloads the same card', () => {
    const path = join(dir, 'open.json');
    const { card, created } = openSimulatedCard({ statePath: path, seed: Uint8Array.of(9) });
    assert.equal(created, true);
    const fresh = readFileSync(path, 'utf8');
    initCard(card, { dkekShares: 1 });
    const afterInit = readFileSync(path, 'utf8');
    assert.notEqual(afterInit, fresh, 'INITIALIZE was saved');
    expectSw(card, '00200081', 0x63c3);
    assert.equal(readFileSync(path, 'utf8'), afterInit, 'a status query changes nothing and writes nothing');
    expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
    const again = openSimulatedCard({ statePath: path });
    assert.equal(again.created, false);
    assert.equal(toHex(again.card.dkekKcvForTests()!), toHex(card.dkekKcvForTests()!));
    assert.equal(toHex(again.card.seed), '09');
  });

  it('refuses a flavor or seed that contradicts the file, and reports a damaged file', () => {
    const path = join(dir, 'mismatch.json');
    openSimulatedCard({ statePath: path, flavor: 'pico', seed: Uint8Array.of(1) });
    const mismatch = (o: object) =>
      assert.throws(() => openSimulatedCard({ statePath: path, ...o }), (e: unknown) => e instanceof CeremonyError && e.code === 'SIM_STATE_MISMATCH');
    mismatch({ flavor: 'sc-hsm' });
    mismatch({ seed: Uint8Array.of(2) });
    assert.equal(openSimulatedCard({ statePath: path, flavor: 'pico', seed: Uint8Array.of(1) }).created, false);
    writeFileSync(path, '{"format": 1}');
    assert.throws(() => openSimulatedCard({ statePath: path }), (e: unknown) => e instanceof CeremonyError && e.code === 'SIM_STATE_INVALID' && e.message.includes(path));
  });

  it('pico flavor: a DKEK waiting for its commit is lost when the saved card is started again', () => {
    const path = join(dir, 'pico.json');
    const { card } = openSimulatedCard({ statePath: path, flavor: 'pico', seed: Uint8Array.of(3) });
    initCard(card, { dkekShares: 1 });
    expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
    const restarted = openSimulatedCard({ statePath: path }).card;
    restarted.powerOn();
    expectSw(restarted, SELECT_APPLET, 0x9000);
    expectSw(restarted, verifyPin(), 0x9000);
    assert.notEqual(toHex(restarted.dkekKcvForTests()!).toUpperCase(), '1D1083E78237E99D');
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).dkek.pendingCommit, false, 'the loss was saved');
  });
});
