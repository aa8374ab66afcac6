import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSession, KEY, liveRegion, tempDir, flat } from './harness.tsx';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { encryptShareFile, shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import { utf8 } from '../../protocol/bytes.ts';
import chalk from 'chalk';

const PIN = '271828';
const SO = '7a3c19e05b82d4f6';

async function initializedCard(shares: number): Promise<SimulatedCard> {
  const card = SimulatedCard.create({ seed: Uint8Array.of(21) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8(PIN), soPin: utf8(SO), dkekShares: shares });
  return card;
}

test('status and help fit 80×24; long text scrolls', async () => {
  const s = await startSession({ card: await initializedCard(2) });
  try {
    await s.waitFor('What next?');
    await s.press('s');
    const f = await s.waitFor('Device status');
    assert.match(f, /User PIN: {5}3 tries left/);
    assert.match(f, /DKEK: {9}0 of 2 shares imported, 2 outstanding/);
    assert.ok(liveRegion(s).length <= 24);
    await s.press(KEY.enter);
    await s.press('h');
    await s.waitFor('↑/↓ scroll: lines 1-');
    assert.ok(liveRegion(s).length <= 24, liveRegion(s).join('\n'));
    await s.press(KEY.down, KEY.down);
    await s.waitFor('↑/↓ scroll: lines 3-');
    await s.press(KEY.enter);
    await s.waitFor('What next?');
  } finally {
    await s.close();
  }
});

test('every screen of a flow stays within 80×24, and within 60×20 after a resize', async () => {
  const s = await startSession({ card: await initializedCard(1) });
  try {
    await s.waitFor('What next?');
    const check = (rows: number, cols: number) => {
      const live = liveRegion(s);
      assert.ok(live.length <= rows, `${live.length} rows:\n${live.join('\n')}`);
      for (const l of live) assert.ok([...l].length <= cols, `line wider than ${cols}: ${l}`);
    };
    check(24, 80);
    await s.resize(60, 20);
    await s.waitFor('What next?');
    check(20, 60);
    await s.press('c');
    await s.waitFor('How many share files');
    check(20, 60);
    await s.type('');
    await s.press('n');
    await s.type('');
    await s.type('');
    await s.waitFor('press Enter to see your password share');
    check(20, 60);
    await s.press(KEY.enter);
    await s.waitFor('Share value');
    check(20, 60);
    await s.resize(120, 30);
    await s.waitFor('Share value');
    check(30, 120);
    await s.press(KEY.escape);
  } finally {
    await s.close();
  }
});

test('NO_COLOR: no colour escape codes at all; with colour, the panel is coloured', async () => {
  // chalk decides at load time whether the output stream takes colour; the fake terminal is no TTY
  const level = chalk.level;
  chalk.level = 1;
  for (const color of [false, true]) {
    const s = await startSession({ card: await initializedCard(1), color });
    try {
      await s.waitFor('What next?');
      await s.press('l');
      await s.type('000000');
      await s.waitFor('the user PIN is wrong');
      const raw = s.stdout.frames.join('');
      const colours = raw.match(/\x1b\[(3[0-7]|9[0-7]|38;[0-9;]+|4[0-7]|10[0-7])m/g) ?? [];
      if (color) assert.ok(colours.length > 0, 'colour is used by default');
      else assert.deepEqual(colours, [], 'NO_COLOR: no colour');
    } finally {
      await s.close();
    }
  }
  chalk.level = level;
});

test('log in: a wrong PIN says how many tries are left; the right one shows the real KCV on Pico HSM', async () => {
  const card = SimulatedCard.create({ flavor: 'pico', seed: Uint8Array.of(22) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8(PIN), soPin: utf8(SO), dkekShares: 1 });
  await hsm.importDkekShare(new Uint8Array(32).fill(9));
  await hsm.verifyPin(utf8(PIN)); // commits the DKEK (Pico HSM)
  const s = await startSession({ card });
  try {
    await s.waitFor('What next?');
    assert.match(s.frame(), /KCV hidden until the user PIN is verified \(Log in\)/);
    await s.press('l');
    await s.type('000000');
    await s.waitFor('the user PIN is wrong: 2 tries left before it is blocked');
    await s.type(PIN);
    await s.waitFor(/✓ user PIN verified; DKEK key check value [0-9A-F]{16}/);
    await s.idle();
    assert.match(s.frame(), /DKEK 1 share, complete, KCV [0-9A-F]{16}/);
  } finally {
    await s.close();
  }
});

test('Ctrl-C at the menu ends the session with a summary; nothing was changed', async () => {
  const s = await startSession({ card: await initializedCard(1) });
  try {
    await s.waitFor('What next?');
    await s.press(KEY.ctrlC);
    await s.idle();
    assert.ok(s.exited);
    assert.equal(s.exited.code, 0);
    assert.deepEqual(s.exited.summary.slice(0, 2), ['hsm-ceremony: stopped (Ctrl-C)', 'Nothing was changed in this session.']);
    assert.match(s.exited.summary.join('\n'), /the device still expects 1 DKEK share/);
  } finally {
    await s.close();
  }
});

test('Ctrl-C while share files are being encrypted: derivations stop, no partial file, the summary says so', async () => {
  const s = await startSession({ card: await initializedCard(2), kdfIterations: 5_000_000 });
  try {
    await s.waitFor('What next?');
    await s.press('c');
    await s.type('');
    await s.press('p');
    await s.type('');
    await s.type('custodian one words');
    await s.type('custodian one words');
    await s.waitFor('share 2 of 2');
    await s.press(KEY.ctrlC);
    await s.idle();
    assert.ok(s.exited);
    assert.equal(s.exited.code, 4);
    const text = s.exited.summary.join('\n');
    assert.match(text, /create shares: no share file was written/);
    assert.match(text, /create shares: 2 share files not written \(no partial file is left\)/);
    assert.equal(existsSync(join(s.cwd, 'dkek-share-1.pbe')), false);
  } finally {
    await s.close();
  }
});

test('Ctrl-C during an import waits for the card, then says what was and was not imported', async () => {
  const dir = tempDir();
  const kdf = shareFileKdfSync(1000);
  for (const [i, name] of ['one.pbe', 'two.pbe'].entries()) {
    writeFileSync(join(dir, name), await encryptShareFile(new Uint8Array(32).fill(i + 1), utf8(`passphrase-${i + 1}`), new Uint8Array(8).fill(i + 1), kdf));
  }
  const s = await startSession({ card: await initializedCard(2), cwd: dir });
  try {
    await s.waitFor('What next?');
    await s.press('m');
    await s.type('');
    await s.press('1', '2');
    await s.waitFor('Custodian 1 of 2');
    await s.press('p');
    await s.type('passphrase-1');
    await s.waitFor('Custodian 2 of 2');
    await s.waitFor('Custodian 2 of 2');
    for (let i = 0; i < 200 && !s.everything().includes('✓ DKEK share one.pbe imported'); i++) await new Promise((r) => setTimeout(r, 10));
    await s.press(KEY.ctrlC);
    for (let i = 0; i < 200 && !s.exited; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(s.exited, 'the session ended');
    assert.equal(s.exited.code, 4);
    const text = s.exited.summary.join('\n');
    assert.match(text, /✓ DKEK share one\.pbe imported/);
    assert.match(text, /import shares: imported one\.pbe \(they stay on the device\)/);
    assert.match(text, /import shares: not imported: two\.pbe/);
    assert.match(flat(text), /the device still expects 1 DKEK share/);
  } finally {
    await s.close();
  }
});
