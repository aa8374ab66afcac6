import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir, secretFile, assertNoSecrets } from '../helpers/cli.ts';
import { PIN, PLANTED, SO_PIN, makeCard, rehearsalSecrets, sim } from './device-setup.ts';

const NEW_PIN = '90817263';
const NEW_SO_PIN = '0f1e2d3c4b5a6978';

async function pinState(state: string, secrets?: string) {
  const r = await runCli(['status', ...sim(state), '--json', ...(secrets ? ['--secrets-file', secrets] : [])]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('pin change: a wrong current PIN costs a try and says so; the right one sets the new PIN', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'] });
  const newPin = secretFile(dir, 'new-pin', NEW_PIN + '\n');
  const wrong = await runCli(['pin', 'change', ...sim(state), '--secrets-file', rehearsalSecrets(dir, { pin: '000000' }, 'w.json'), '--new-pin-file', newPin]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /the user PIN is wrong: 2 tries left before it is blocked; nothing was changed/);
  const ok = await runCli(['pin', 'change', ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--new-pin-file', newPin]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /user PIN changed/);
  // the new PIN logs in, the old one no longer does
  const s = await pinState(state, rehearsalSecrets(dir, { pin: NEW_PIN }, 'n.json'));
  assert.equal(s.loggedIn, true);
  const old = await runCli(['status', ...sim(state), '--secrets-file', rehearsalSecrets(dir)]);
  assert.equal(old.code, 1);
  const tooShort = secretFile(dir, 'short', '12345\n');
  const short = await runCli(['pin', 'change', ...sim(state), '--secrets-file', rehearsalSecrets(dir, { pin: NEW_PIN }, 'n2.json'), '--new-pin-file', tooShort]);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /the new user PIN must be 6 to 16 characters, got 5/);
  assertNoSecrets([wrong.stderr, ok.stdout, ok.stderr, old.stderr, short.stderr], [NEW_PIN, '000000', '12345', ...PLANTED]);
});

test('pin unblock: a blocked PIN is unblocked with the SO-PIN and a new PIN; a wrong SO-PIN says its tries', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], retries: 3 });
  const wrong = rehearsalSecrets(dir, { pin: '000000' }, 'w.json');
  for (let i = 0; i < 3; i++) await runCli(['status', ...sim(state), '--secrets-file', wrong]);
  assert.equal((await pinState(state)).userPin.state, 'blocked');
  const blocked = await runCli(['status', ...sim(state)]);
  assert.match(blocked.stdout, /User PIN tries left  : 0 \(blocked: unblock it with hsm-ceremony pin unblock\)/);
  const newPin = secretFile(dir, 'new-pin', NEW_PIN);
  const badSo = await runCli(['pin', 'unblock', ...sim(state), '--secrets-file', rehearsalSecrets(dir, { soPin: 'ffffffffffffffff' }, 'so.json'), '--new-pin-file', newPin]);
  assert.equal(badSo.code, 1);
  assert.match(badSo.stderr, /the SO-PIN is wrong: 14 tries left before it is blocked; nothing was changed/);
  const r = await runCli(['pin', 'unblock', ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--new-pin-file', newPin, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { changed: 'user PIN', unblocked: true, state: 'not-verified', triesLeft: 3 });
  assert.equal((await pinState(state, rehearsalSecrets(dir, { pin: NEW_PIN }, 'n.json'))).loggedIn, true);
  assertNoSecrets([blocked.stdout, badSo.stderr, r.stdout, r.stderr], [NEW_PIN, 'ffffffffffffffff', ...PLANTED]);
});

test('pin change-so changes the SO-PIN; without a terminal and without files it asks for them instead of waiting', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'] });
  const newSo = secretFile(dir, 'new-so', NEW_SO_PIN + '\n');
  const r = await runCli(['pin', 'change-so', ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--new-so-pin-file', newSo]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SO-PIN changed/);
  // the new SO-PIN now unblocks, the old one is wrong
  const newPin = secretFile(dir, 'new-pin', NEW_PIN);
  const old = await runCli(['pin', 'unblock', ...sim(state), '--secrets-file', rehearsalSecrets(dir), '--new-pin-file', newPin]);
  assert.equal(old.code, 1);
  const ok = await runCli(['pin', 'unblock', ...sim(state), '--secrets-file', rehearsalSecrets(dir, { soPin: NEW_SO_PIN }, 'so.json'), '--new-pin-file', newPin]);
  assert.equal(ok.code, 0, ok.stderr);
  const none = await runCli(['pin', 'change', ...sim(state)]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /the user PIN is needed but there is no terminal to type it on/);
  assert.match(none.stderr, /--pin-file/);
  assertNoSecrets([r.stdout, r.stderr, old.stderr, ok.stdout, ok.stderr], [NEW_PIN, NEW_SO_PIN, PIN, SO_PIN, ...PLANTED]);
});

test('a PIN file readable by others is refused', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'] });
  const p = secretFile(dir, 'pin', PIN);
  (await import('node:fs')).chmodSync(p, 0o644);
  const r = await runCli(['status', ...sim(state), '--pin-file', p]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /can be read by others \(mode 644\)/);
});
