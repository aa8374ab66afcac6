import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession, KEY, liveRegion, assertNeverShown } from './harness.tsx';

const SO = '7a3c19e05b82d4f6';
const PIN = '271828';

test('the menu shows the device panel and the actions a fresh device allows', async () => {
  const s = await startSession();
  try {
    const f = await s.waitFor('What next?');
    assert.match(f, /SIMULATOR/);
    assert.match(f, /Firmware 4\.1 · NOT initialized/);
    assert.match(f, /i {2}Initialize the device/);
    assert.ok(liveRegion(s).length <= 24, liveRegion(s).join('\n'));
    // a disabled action says why when the cursor reaches it
    await s.press('l');
    await s.waitFor('not now: the device is not initialized yet');
    assert.match(s.frame(), /What next\?/, 'a disabled action is not taken');
  } finally {
    await s.close();
  }
});

test('initialize with 3 DKEK shares: PINs hidden and typed twice, mismatches and rule breaks re-asked', async () => {
  const s = await startSession();
  try {
    await s.waitFor('What next?');
    await s.press('i');
    await s.waitFor('How should the device get its DKEK');
    await s.press('s');
    await s.waitFor('Number of DKEK shares (1-127): 3');
    await s.press(KEY.ctrlU);
    await s.type('200');
    await s.waitFor('type a number from 1 to 127');
    assert.match(s.frame(), /Number of DKEK shares \(1-127\): 200/, 'the typed text stays to be corrected');
    await s.press(KEY.ctrlU);
    await s.type('3');
    await s.waitFor('New SO-PIN:');
    await s.type('123');
    await s.waitFor('the SO-PIN must be exactly 16 hexadecimal digits');
    await s.type(SO);
    await s.waitFor('New SO-PIN again');
    await s.type('0000000000000000');
    await s.waitFor('the two entries differ');
    await s.type(SO);
    await s.type(SO);
    await s.waitFor('New user PIN:');
    await s.type('12345');
    await s.waitFor('the user PIN must be 6 to 16 characters, got 5');
    await s.type(PIN);
    await s.type(PIN);
    await s.waitFor('Initialize the device?');
    assert.match(s.frame(), /DKEK: 3 DKEK shares to import after initialization\./);
    await s.press('y');
    await s.waitFor('Device initialized');
    await s.idle();
    const f = s.frame();
    assert.match(f, /✓ device initialized: 3 DKEK shares to import after initialization/);
    assert.match(f, /DKEK 0 of 3 shares imported, 3 outstanding/);
    assert.match(f, /c {2}Create 3 share files now/);
    assert.equal(s.vault.size, 0, 'every typed secret was wiped');
    assertNeverShown(s, [SO, PIN, '0000000000000000', '12345']);
    // the state and every event are free of the secrets too
    const all = JSON.stringify(s.steps) + JSON.stringify(s.store.getState());
    for (const x of [SO, PIN]) assert.ok(!all.includes(x));
  } finally {
    await s.close();
  }
});

test('re-initializing a device with keys names how many are erased and needs the exact phrase', async () => {
  const s = await startSession();
  try {
    await s.waitFor('What next?');
    // set up: initialize (random DKEK), generate two keys
    await s.press('i');
    await s.press('r');
    await s.press('y');
    await s.type(SO);
    await s.type(SO);
    await s.type(PIN);
    await s.type(PIN);
    await s.press('y');
    await s.waitFor('Device initialized');
    await s.press(KEY.enter);
    await s.idle();
    for (const label of ['first', 'second']) {
      await s.waitFor('What next?');
      await s.press('g');
      await s.press('1');
      await s.type('');
      await s.press(KEY.ctrlU);
      await s.type(label);
      if (label === 'first') await s.type(PIN);
      await s.waitFor('generated');
      await s.press(KEY.enter);
      await s.idle();
    }
    await s.waitFor('2 keys (ref 1, 2)');
    await s.press('i');
    await s.waitFor('holds 2 keys (reference 1, 2), which initializing ERASES');
    await s.press('r');
    await s.press('y');
    await s.waitFor("Type the device's current SO-PIN");
    await s.type(SO);
    await s.type(PIN);
    await s.type(PIN);
    await s.waitFor('Erase every key on the device?');
    assert.match(s.frame(), /Type erase 2 keys to confirm/);
    await s.type('erase 2 key');
    await s.waitFor('type exactly: erase 2 keys');
    assert.match(s.frame(), /Confirm: erase 2 key/);
    await s.press(KEY.escape);
    await s.waitFor('What next?');
    assert.match(s.frame(), /initialize: cancelled, the device was not changed/);
    assert.match(s.frame(), /2 keys \(ref 1, 2\)/);
    assert.equal(s.vault.size, 0);
  } finally {
    await s.close();
  }
});

test('no DKEK: the consequence is spelled out and a typed phrase is required', async () => {
  const s = await startSession();
  try {
    await s.waitFor('What next?');
    await s.press('i', 'n');
    await s.waitFor('Initialize without a DKEK?');
    assert.match(s.frame(), /no key on this device can ever be exported/);
    await s.type('yes');
    await s.waitFor('type exactly: no backups');
    await s.press(KEY.ctrlU);
    await s.type('no backups');
    await s.waitFor('New SO-PIN:');
    await s.type(SO);
    await s.type(SO);
    await s.type(PIN);
    await s.type(PIN);
    await s.press('y');
    await s.waitFor('Device initialized');
    await s.idle();
    assert.match(s.frame(), /✓ device initialized: no DKEK \(no backups possible\)/);
    // the device reports a DKEK without shares: the panel does not claim more than it knows
    assert.match(s.frame(), /DKEK no shares: made by the device \(random, or none\)/);
  } finally {
    await s.close();
  }
});

test('a wrong current SO-PIN on re-initialization says the tries left and asks again', async () => {
  const s = await startSession();
  try {
    await s.waitFor('What next?');
    await s.press('i', 'r', 'y');
    await s.type(SO);
    await s.type(SO);
    await s.type(PIN);
    await s.type(PIN);
    await s.press('y');
    await s.waitFor('Device initialized');
    await s.press(KEY.enter);
    await s.idle();
    await s.press('i', 'r', 'y');
    await s.type('ffffffffffffffff');
    await s.type(PIN);
    await s.type(PIN);
    await s.press('y');
    await s.waitFor(/the SO-PIN is wrong: \d+ tries left/);
    assert.match(s.frame(), /SO-PIN:/);
    await s.press(KEY.escape);
    await s.waitFor('What next?');
    assert.equal(s.vault.size, 0);
  } finally {
    await s.close();
  }
});
