import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli, tempDir, secretFile, assertNoSecrets } from '../helpers/cli.ts';
import { testOnlyDeviceHooks } from '../../app/cli/device-options.ts';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { deviceError } from '../../protocol/errors.ts';
import { ApduLog, INS, PIN, PLANTED, SO_PIN, makeCard, rehearsalSecrets, sim } from './device-setup.ts';

async function status(state: string, extra: string[] = []) {
  const r = await runCli(['status', ...sim(state), '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('init refuses without a DKEK choice, explains why, and sends nothing', async (t) => {
  const dir = tempDir();
  const log = new ApduLog().install(t);
  const r = await runCli(['init', '--sim', '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /say how the device gets its DKEK: --dkek-shares N, --dkek-random or --no-dkek/);
  assert.match(r.stderr, /without a DKEK no key on this device can ever be backed up or restored/);
  assert.equal(log.commands.length, 0);
});

test('init checks the SO-PIN format, the PIN length and the retry rules before the first APDU', async (t) => {
  const dir = tempDir();
  const log = new ApduLog().install(t);
  const cases: [Record<string, string>, string[], RegExp][] = [
    [{ soPin: '12345' }, [], /the SO-PIN must be exactly 16 hexadecimal digits/],
    [{ soPin: '353736323138383G' }, [], /the SO-PIN must be exactly 16 hexadecimal digits/],
    [{ pin: '12345' }, [], /the user PIN must be 6 to 16 characters, got 5/],
    [{ pin: '12345678901234567' }, [], /the user PIN must be 6 to 16 characters, got 17/],
    [{}, ['--pin-retry', '5'], /retry counter must be 1 to 3 for a 6-character PIN, got 5/],
    [{ pin: '1234567' }, ['--pin-retry', '6'], /1 to 5 for a 7-character PIN/],
    [{}, ['--label', 'x'.repeat(128)], /token label must be 1 to 127 bytes/],
  ];
  for (const [i, [override, flags, message]] of cases.entries()) {
    const secrets = rehearsalSecrets(dir, override, `s${i}.json`);
    const r = await runCli(['init', '--sim', '--dkek-shares', '3', '--secrets-file', secrets, ...flags]);
    assert.equal(r.code, 2, `case ${i}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assertNoSecrets([r.stderr], [...Object.values(override).filter((v) => v.length >= 6), ...PLANTED]);
  }
  const bad = await runCli(['init', '--sim', '--dkek-shares', '200', '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(bad.code, 2);
  assert.equal(log.commands.length, 0, 'no APDU for any of them');
});

test('init --dkek-shares with a label; status shows it all', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { init: false });
  const r = await runCli(['init', ...sim(state), '--dkek-shares', '3', '--label', 'ceremony 2026', '--pin-retry', '3', '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /DKEK shares        : 3 expected; import them with: hsm-ceremony share import/);
  const s = await status(state);
  assert.equal(s.initialized, true);
  assert.deepEqual(s.dkek, { total: 3, outstanding: 3, kcv: null });
  assert.equal(s.label, 'ceremony 2026');
  assert.equal(s.userPin.triesLeft, 3);
  assert.equal(s.userPinResetWithSoPin, true);
  assert.equal(s.device.simulated, true);
  const text = await runCli(['status', ...sim(state)]);
  assert.match(text.stdout, /Version              : 4\.1/);
  assert.match(text.stdout, /SO-PIN tries left    : 15/);
  assert.match(text.stdout, /DKEK import pending, 3 share\(s\) still missing/);
  assert.match(text.stdout, /a simulated device: nothing here touches real hardware/);
  assertNoSecrets([r.stdout, r.stderr, text.stdout, text.stderr], PLANTED);
});

test('init --dkek-random and --no-dkek', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { init: false });
  const r = await runCli(['init', ...sim(state), '--dkek-random', '--secrets-file', rehearsalSecrets(dir), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).dkekMode, 'random');
  assert.equal(JSON.parse(r.stdout).dkek.total, 0);
  assert.match((await status(state)).dkek.kcv, /^[0-9A-F]{16}$/);
  const none = await makeCard(dir, { init: false }, 'none.json');
  const n = await runCli(['init', ...sim(none), '--no-dkek', '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(n.code, 0, n.stderr);
  assert.match(n.stdout, /DKEK               : none \(keys on this device can never be backed up\)/);
  // the device answers "0 shares, no KCV" (Pico HSM does the same; a real card may answer 6D00)
  assert.deepEqual((await status(none)).dkek, { total: 0, outstanding: 0, kcv: null });
  const text = await runCli(['status', ...sim(none)]);
  assert.match(text.stdout, /DKEK shares          : 0 \(no DKEK, or a random one whose KCV is not shown\)/);
});

test('re-initialising a device with keys needs --yes-destroy-keys equal to the key count', async (t) => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }, { wrap: 'wrap-rsa2048.bin', ref: 2 }] });
  const secrets = rehearsalSecrets(dir);
  const log = new ApduLog().install(t);
  const r1 = await runCli(['init', ...sim(state), '--dkek-shares', '2', '--secrets-file', secrets]);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /the device holds 2 keys that initialising would destroy; nothing was changed/);
  assert.match(r1.stderr, /--yes-destroy-keys 2/);
  const r2 = await runCli(['init', ...sim(state), '--dkek-shares', '2', '--secrets-file', secrets, '--yes-destroy-keys', '1']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--yes-destroy-keys 1 does not match the 2 keys on the device \(key references 1, 2\)/);
  assert.equal(log.withIns(INS.INITIALIZE).length, 0, 'no INITIALIZE so far');
  assert.equal((await status(state)).keys, 2);
  const r3 = await runCli(['init', ...sim(state), '--dkek-shares', '2', '--secrets-file', secrets, '--yes-destroy-keys', '2']);
  assert.equal(r3.code, 0, r3.stderr);
  assert.match(r3.stdout, /keys erased        : 2/);
  const s = await status(state);
  assert.equal(s.keys, 0);
  assert.deepEqual(s.dkek, { total: 2, outstanding: 2, kcv: null });
});

test('re-initialising with a wrong SO-PIN says how many SO-PIN tries are left (exit 1)', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'] });
  const wrongSo = 'aaaaaaaaaaaaaaaa';
  const r = await runCli(['init', ...sim(state), '--dkek-shares', '1', '--secrets-file', rehearsalSecrets(dir, { soPin: wrongSo })]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the SO-PIN is wrong: 14 tries left before it is blocked/);
  assert.match(r.stderr, /needs its current SO-PIN; nothing was changed/);
  assert.equal((await status(state)).dkek.kcv, '1D1083E78237E99D', 'the old DKEK is still there');
  assertNoSecrets([r.stdout, r.stderr], [wrongSo, ...PLANTED]);
});

test('commands that change a card refuse the silent simulator fallback (exit 3); read-only ones use it and say so', async (t) => {
  const dir = tempDir();
  testOnlyDeviceHooks.deps = {
    openPcsc: async () => {
      throw deviceError('PCSC_UNAVAILABLE', 'the PC/SC binding is not installed');
    },
  };
  t.after(() => (testOnlyDeviceHooks.deps = undefined));
  const r = await runCli(['init', '--dkek-shares', '1', '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /no device found \(PC\/SC support is not installed\); this command changes a card and will not run on a simulator by accident/);
  assert.match(r.stderr, /pass --sim to rehearse/);
  const s = await runCli(['status']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /Device               : PC\/SC support is not installed: using the built-in simulator/);
});

test('several readers with cards are listed; rehearsal secrets are refused for a real device before any APDU', async (t) => {
  const dir = tempDir();
  const card = SimulatedCard.create({ seed: Uint8Array.of(3) });
  let connected = 0;
  const readers = [
    { name: 'Nitrokey HSM 00 00', cardPresent: true, virtual: false },
    { name: 'Pico HSM 01 00', cardPresent: true, virtual: false },
  ];
  testOnlyDeviceHooks.deps = {
    openPcsc: async () => ({
      listReaders: () => readers as never,
      connect: async () => {
        connected++;
        return new SimulatorTransport(card);
      },
      close: () => undefined,
    }),
  };
  t.after(() => (testOnlyDeviceHooks.deps = undefined));
  const many = await runCli(['status']);
  assert.equal(many.code, 2);
  assert.match(many.stderr, /2 readers hold a card: "Nitrokey HSM 00 00" \(card\), "Pico HSM 01 00" \(card\)/);
  assert.match(many.stderr, /--reader NAME/);
  const log = new ApduLog().install(t);
  const r = await runCli(['init', '--reader', 'Nitrokey', '--dkek-shares', '1', '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /holds rehearsal secrets, but the card is a real device \(reader "Nitrokey HSM 00 00"\)/);
  assert.equal(connected, 1);
  assert.equal(log.commands.length, 0, 'not a single APDU');
  // a real (owner-only) secrets file is accepted for the real device
  const real = secretFile(dir, 'real.json', JSON.stringify({ pin: PIN, soPin: SO_PIN }));
  const ok = await runCli(['init', '--reader', 'Nitrokey', '--dkek-shares', '1', '--secrets-file', real]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Device initialised \(reader "Nitrokey HSM 00 00"\)/);
});

test('status logs in with the PIN so a Pico HSM shows its real KCV', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { flavor: 'pico', shares: ['s2.pbe', 's3.pbe', 's4.pbe'] });
  const anonymous = await status(state);
  assert.equal(anonymous.dkek.kcv, null, 'Pico hides the KCV before PIN verification');
  assert.equal(anonymous.loggedIn, false);
  const text = await runCli(['status', ...sim(state)]);
  assert.match(text.stdout, /DKEK key check value : not shown until the user PIN is verified/);
  const withPin = await status(state, ['--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(withPin.dkek.kcv, '0767001241A0CB44');
  assert.equal(withPin.loggedIn, true);
  assert.equal(withPin.device.description.includes('state in'), true);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).flavor, 'pico');
});
