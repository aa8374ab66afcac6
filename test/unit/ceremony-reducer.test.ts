import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, more, lastJob, jobsStarted, wiped, okFacts, device, atMenu } from './ceremony-fixtures.ts';
import { menuOptions } from '../../app/ceremony/menu.ts';
import { erasePhrase, NO_DKEK_PHRASE } from '../../app/ceremony/initialize-flow.ts';

test('start reads the device; the menu then offers what the device allows, and says why not the rest', () => {
  const r = run([{ type: 'start' }]);
  assert.equal(r.state.screen.flow, 'boot');
  assert.deepEqual(r.effects, [{ type: 'start-job', id: 1, job: { kind: 'read-status' } }]);
  const m = more(r, [{ type: 'job-done', id: 1, result: { kind: 'read-status', device: device({ initialized: false }) } }]);
  assert.equal(m.state.screen.flow, 'menu');
  assert.deepEqual(m.state.jobs, []);
  const opts = new Map(menuOptions(m.state).map((o) => [o.value, o.disabled]));
  assert.equal(opts.get('initialize'), undefined);
  assert.equal(opts.get('import-shares'), 'the device is not initialized yet');
  assert.equal(opts.get('backup'), 'the device is not initialized yet');
  assert.equal(opts.get('inspect'), undefined, 'offline actions need no device');
  // a disabled choice does nothing
  const same = more(m, [{ type: 'choose', value: 'backup' }]);
  assert.equal(same.state.screen.flow, 'menu');
  assert.equal(same.effects.length, m.effects.length);
});

test('a device that cannot be opened leaves the offline actions usable', () => {
  const r = run([{ type: 'start' }, { type: 'job-failed', id: 1, error: { code: 'NO_CARD', kind: 'device', message: 'no reader holds a card', hint: 'insert it' } }]);
  assert.equal(r.state.screen.prompt.kind, 'notice');
  assert.deepEqual(r.state.deviceError?.code, 'NO_CARD');
  const m = more(r, [{ type: 'continue' }]);
  const opts = new Map(menuOptions(m.state).map((o) => [o.value, o.disabled]));
  assert.match(opts.get('keys')!, /no device/);
  assert.equal(opts.get('verify-share'), undefined);
});

test('initialize with N shares: the job carries vault references only, confirmations are wiped at once', () => {
  let r = more(atMenu(device({ initialized: false })), [{ type: 'choose', value: 'initialize' }]);
  const survey = lastJob(r, 'survey-initialize');
  r = more(r, [
    { type: 'job-done', id: survey.id, result: { kind: 'survey-initialize', survey: { initialized: false, keyRefs: [], soTriesLeft: null } } },
    { type: 'choose', value: 'shares' },
    { type: 'text', value: '0' },
  ]);
  assert.equal(r.state.screen.prompt.kind === 'text' && r.state.screen.prompt.error, 'type a number from 1 to 127');
  r = more(r, [
    { type: 'text', value: '3' },
    { type: 'secret-entered', ref: 101, facts: okFacts('so-pin', 16) },
    { type: 'secret-entered', ref: 102, facts: okFacts('so-pin', 16, true) },
    { type: 'secret-entered', ref: 103, facts: okFacts('new-user-pin', 6) },
    { type: 'secret-entered', ref: 104, facts: okFacts('new-user-pin', 6, true) },
  ]);
  assert.deepEqual(wiped(r), [102, 104], 'the confirming entries are wiped right away');
  assert.equal(r.state.screen.prompt.kind, 'choose');
  r = more(r, [{ type: 'choose', value: 'go' }]);
  const init = lastJob(r, 'initialize');
  assert.deepEqual(init.job, { kind: 'initialize', soPin: 101, pin: 103, dkekShares: 3, keyCount: 0 });
  r = more(r, [{ type: 'job-done', id: init.id, result: { kind: 'initialize', dkek: { total: 3, outstanding: 3, kcv: null } } }]);
  assert.deepEqual(wiped(r).slice(2), [101, 103], 'the PINs are wiped once the device has them');
  assert.equal(r.state.log.at(-1)?.text, 'device initialized: 3 DKEK shares to import after initialization');
  assert.ok(jobsStarted(r, 'read-status').length >= 2, 'the device is read again');
  // follow-up: create the 3 shares
  r = more(r, [{ type: 'choose', value: 'create-shares' }]);
  assert.equal(r.state.screen.flow, 'create-shares');
  assert.equal(r.state.screen.flow === 'create-shares' && r.state.screen.count, 3);
});

test('mismatching confirmations wipe both entries and ask again; rule breaks are reported without the secret', () => {
  let r = more(atMenu(device({ initialized: false })), [{ type: 'choose', value: 'initialize' }]);
  r = more(r, [
    { type: 'job-done', id: lastJob(r, 'survey-initialize').id, result: { kind: 'survey-initialize', survey: { initialized: false, keyRefs: [], soTriesLeft: null } } },
    { type: 'choose', value: 'random' },
    { type: 'choose', value: 'go' },
    { type: 'secret-entered', ref: 1, facts: { kind: 'so-pin', bytes: 3, chars: 3, ok: false, problem: 'the SO-PIN must be exactly 16 hexadecimal digits', advice: [] } },
  ]);
  assert.deepEqual(wiped(r), [1]);
  assert.equal(r.state.screen.prompt.kind === 'secret' && r.state.screen.prompt.error, 'the SO-PIN must be exactly 16 hexadecimal digits');
  r = more(r, [
    { type: 'secret-entered', ref: 2, facts: okFacts('so-pin', 16) },
    { type: 'secret-entered', ref: 3, facts: okFacts('so-pin', 16, false) },
  ]);
  assert.deepEqual(wiped(r), [1, 3, 2]);
  const p = r.state.screen.prompt;
  assert.ok(p.kind === 'secret' && p.label === 'New SO-PIN' && p.error?.includes('differ'));
  assert.ok(!('confirmOf' in p) || p.confirmOf === undefined);
});

test('re-initializing a device with keys: the phrase names the count; Escape wipes and changes nothing', () => {
  let r = more(atMenu(device({ keyRefs: [1, 4] })), [{ type: 'choose', value: 'initialize' }]);
  r = more(r, [
    { type: 'job-done', id: lastJob(r, 'survey-initialize').id, result: { kind: 'survey-initialize', survey: { initialized: true, keyRefs: [1, 4], soTriesLeft: 15 } } },
    { type: 'choose', value: 'shares' },
    { type: 'text', value: '2' },
    { type: 'secret-entered', ref: 11, facts: okFacts('so-pin', 16) }, // current SO-PIN: once
    { type: 'secret-entered', ref: 12, facts: okFacts('new-user-pin', 6) },
    { type: 'secret-entered', ref: 13, facts: okFacts('new-user-pin', 6, true) },
  ]);
  const p = r.state.screen.prompt;
  assert.ok(p.kind === 'phrase');
  assert.equal(p.phrase, erasePhrase(2));
  assert.equal(p.phrase, 'erase 2 keys');
  assert.match(p.body.join(' '), /destroys the 2 keys on this device \(reference 1, 4\)/);
  const wrong = more(r, [{ type: 'text', value: 'erase 2 key' }]);
  assert.equal(jobsStarted(wrong, 'initialize').length, 0);
  const ok = more(r, [{ type: 'text', value: ' erase 2 keys ' }]);
  assert.equal(lastJob(ok, 'initialize').job.keyCount, 2);
  const esc = more(r, [{ type: 'back' }]);
  assert.equal(esc.state.screen.flow, 'menu');
  assert.deepEqual(wiped(esc).sort(), [11, 12, 13]);
  assert.equal(esc.state.log.at(-1)?.text, 'initialize: cancelled, the device was not changed');
});

test('no DKEK needs the typed phrase; a wrong SO-PIN returns to the SO-PIN with the tries left', () => {
  let r = more(atMenu(device({ keyRefs: [] })), [{ type: 'choose', value: 'initialize' }]);
  r = more(r, [
    { type: 'job-done', id: lastJob(r, 'survey-initialize').id, result: { kind: 'survey-initialize', survey: { initialized: true, keyRefs: [], soTriesLeft: 15 } } },
    { type: 'choose', value: 'none' },
    { type: 'text', value: 'yes' },
  ]);
  assert.equal(r.state.screen.prompt.kind === 'phrase' && r.state.screen.prompt.error, `type exactly: ${NO_DKEK_PHRASE}`);
  r = more(r, [
    { type: 'text', value: NO_DKEK_PHRASE },
    { type: 'secret-entered', ref: 21, facts: okFacts('so-pin', 16) },
    { type: 'secret-entered', ref: 22, facts: okFacts('new-user-pin', 8) },
    { type: 'secret-entered', ref: 23, facts: okFacts('new-user-pin', 8, true) },
    { type: 'choose', value: 'go' },
  ]);
  const init = lastJob(r, 'initialize');
  assert.equal(init.job.dkekShares, null);
  r = more(r, [{ type: 'job-failed', id: init.id, error: { code: 'WRONG_SO_PIN', kind: 'check', message: 'the SO-PIN is wrong: 14 tries left before it is blocked', detail: { triesLeft: 14 } } }]);
  const p = r.state.screen.prompt;
  assert.ok(p.kind === 'secret' && p.secretKind === 'so-pin');
  assert.match(p.body[0]!, /14 tries left/);
  assert.ok(wiped(r).includes(21), 'the wrong SO-PIN is wiped');
  assert.ok(!wiped(r).includes(22), 'the new user PIN is kept for the retry');
  r = more(r, [{ type: 'secret-entered', ref: 24, facts: okFacts('so-pin', 16) }]);
  assert.equal(r.state.screen.prompt.kind, 'choose', 'straight back to the confirmation');
  r = more(r, [{ type: 'choose', value: 'go' }]);
  assert.deepEqual(lastJob(r, 'initialize').job, { kind: 'initialize', soPin: 24, pin: 22, dkekShares: null, keyCount: 0 });
});
