import { test } from 'node:test';
import assert from 'node:assert/strict';
import { more, lastJob, jobsStarted, wiped, okFacts, device, atMenu } from './ceremony-fixtures.ts';
import type { Effect } from '../../app/ceremony/effects.ts';
import { replacePhrase } from '../../app/ceremony/key-flows.ts';
import { secretFacts } from '../../app/ceremony/secret-facts.ts';
import { SecretVault } from '../../app/ceremony/secret-vault.ts';
import { CeremonyStore } from '../../app/ceremony/ceremony-store.ts';
import { initialState } from '../../app/ceremony/state.ts';
import { utf8 } from '../../protocol/bytes.ts';
import { splitPassword } from '../../protocol/dkek/password-shares.ts';

const exitOf = (effects: Effect[]) => effects.find((e): e is Extract<Effect, { type: 'exit' }> => e.type === 'exit');

test('Ctrl-C at the menu ends at once with exit code 0; in a flow without card work with 4', () => {
  const m = more(atMenu(), [{ type: 'interrupt', signal: 'ctrl-c' }]);
  assert.equal(exitOf(m.effects)?.code, 0);
  assert.deepEqual(exitOf(m.effects)?.summary.slice(0, 2), ['hsm-ceremony: stopped (Ctrl-C)', 'Nothing was changed in this session.']);
  let f = more(atMenu(), [{ type: 'choose', value: 'verify-share' }]);
  const list = lastJob(f, 'list-files');
  f = more(f, [{ type: 'interrupt', signal: 'SIGTERM' }]);
  const x = exitOf(f.effects);
  assert.equal(x?.code, 4);
  assert.equal(x?.summary[0], 'hsm-ceremony: stopped (terminated)');
  assert.ok(f.effects.some((e) => e.type === 'cancel-job' && e.id === list.id));
});

test('Ctrl-C during a card-changing job waits for it, ignores answers meanwhile, then summarises what the card did', () => {
  let r = more(atMenu(device({ dkek: { total: 2, outstanding: 2, kcv: null } })), [{ type: 'choose', value: 'import-shares' }, { type: 'text', value: '' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'list-files').id, result: { kind: 'list-files', dir: '/ceremony', files: ['a.pbe', 'b.pbe'] } }]);
  for (const f of ['a.pbe', 'b.pbe']) {
    r = more(r, [{ type: 'choose', value: `file:${f}` }]);
    r = more(r, [{ type: 'job-done', id: lastJob(r, 'read-share-file').id, result: { kind: 'read-share-file', path: `/ceremony/${f}`, name: f, sha256: f } }]);
  }
  const imp = lastJob(r, 'import-shares');
  r = more(r, [{ type: 'job-update', id: imp.id, update: { kind: 'share-imported', index: 0, name: 'a.pbe', fingerprint: '1111 2222 3333 4444', imported: 1, total: 2, outstanding: 1 } }]);
  r = more(r, [{ type: 'interrupt', signal: 'ctrl-c' }]);
  assert.ok(r.effects.some((e) => e.type === 'cancel-job' && e.id === imp.id));
  assert.equal(exitOf(r.effects), undefined, 'no exit while the card job runs');
  const n = r.effects.length;
  r = more(r, [{ type: 'secret-entered', ref: 9, facts: okFacts('passphrase') }, { type: 'choose', value: 'passphrase' }]);
  assert.deepEqual(r.effects.slice(n), [{ type: 'wipe', refs: [9] }], 'answers are ignored, a secret typed meanwhile is wiped');
  r = more(r, [{ type: 'job-failed', id: imp.id, error: { code: 'CANCELLED', kind: 'incomplete', message: 'cancelled (1 of 2 shares imported, 1 outstanding)' } }]);
  const x = exitOf(r.effects);
  assert.equal(x?.code, 4);
  const text = x!.summary.join('\n');
  assert.match(text, /✓ DKEK share a\.pbe imported/);
  assert.match(text, /import shares: imported a\.pbe \(they stay on the device\)/);
  assert.match(text, /import shares: not imported: b\.pbe/);
  assert.match(text, /the device still expects 1 DKEK share/);
});

test('back up: select, folder, PIN only when not logged in; each file logged with its SHA-256', () => {
  let r = more(atMenu(device({ keyRefs: [1, 2] })), [{ type: 'choose', value: 'backup' }]);
  const keys = [
    { keyRef: 0, deviceKey: true, label: null, id: null, type: 'EC', bits: 256, holder: null, certificate: null },
    { keyRef: 1, deviceKey: false, label: 'k1', id: '01', type: 'EC', bits: 256, holder: 'X', certificate: 'CV request' },
    { keyRef: 2, deviceKey: false, label: null, id: '02', type: 'RSA', bits: 2048, holder: null, certificate: null },
  ];
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'list-keys').id, result: { kind: 'list-keys', keys } }]);
  const p = r.state.screen.prompt;
  assert.ok(p.kind === 'pick' && p.options.length === 2 && p.options.every((o) => o.value !== '0'), 'the device key is never offered');
  r = more(r, [{ type: 'pick', values: ['0', '2'] }, { type: 'text', value: 'backups' }, { type: 'secret-entered', ref: 61, facts: okFacts('user-pin', 6) }]);
  const b = lastJob(r, 'backup');
  assert.deepEqual(b.job, { kind: 'backup', keyRefs: [2], dir: 'backups', pin: 61 });
  assert.ok(wiped(r).includes(61));
  r = more(r, [{ type: 'job-update', id: b.id, update: { kind: 'key-backed-up', file: { keyRef: 2, path: '/ceremony/backups/key-2.bin', name: 'key-2.bin', label: null, keyType: 'RSA', kcv: '1D1083E78237E99D', sha256: 'ab'.repeat(32), warnings: [] } } }]);
  assert.equal(r.state.log.at(-1)?.text, `key 2 backed up to key-2.bin (DKEK KCV 1D1083E78237E99D, SHA-256 ${'ab'.repeat(32)})`);
  // logged in: no PIN asked
  let l = more(atMenu(device({ keyRefs: [1], loggedIn: true })), [{ type: 'choose', value: 'backup' }]);
  l = more(l, [{ type: 'job-done', id: lastJob(l, 'list-keys').id, result: { kind: 'list-keys', keys: keys.slice(0, 2) } }, { type: 'pick', values: ['1'] }, { type: 'text', value: '' }]);
  assert.deepEqual(lastJob(l, 'backup').job, { kind: 'backup', keyRefs: [1], dir: '.' });
});

test('restore: a foreign KCV is refused before any card job; an occupied reference needs the exact phrase', () => {
  const info = { path: '/ceremony/k.bin', name: 'k.bin', sha256: 'cd'.repeat(32), bytes: 900, kcv: 'AAAAAAAAAAAAAAAA', keyType: 'EC', label: 'k1', id: '01', keyReference: 1, bits: 256, hasPrkd: true, hasCertificate: true, certificate: 'CV request', holder: 'X', warnings: [] };
  let f = more(atMenu(device({ keyRefs: [1] })), [{ type: 'choose', value: 'restore' }]);
  f = more(f, [{ type: 'job-done', id: lastJob(f, 'list-files').id, result: { kind: 'list-files', dir: '/ceremony', files: ['k.bin'] } }, { type: 'choose', value: 'file:k.bin' }]);
  f = more(f, [{ type: 'job-done', id: lastJob(f, 'inspect-backup').id, result: { kind: 'inspect-backup', info } }]);
  assert.equal(f.state.screen.prompt.title, 'This backup belongs to another DKEK');
  assert.equal(jobsStarted(f, 'restore').length, 0);

  let r = more(atMenu(device({ keyRefs: [1] })), [{ type: 'choose', value: 'restore' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'list-files').id, result: { kind: 'list-files', dir: '/ceremony', files: ['k.bin'] } }, { type: 'choose', value: 'file:k.bin' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'inspect-backup').id, result: { kind: 'inspect-backup', info: { ...info, kcv: '1D1083E78237E99D' } } }]);
  const refPrompt = r.state.screen.prompt;
  assert.ok(refPrompt.kind === 'text' && refPrompt.initial === '2', 'the reference in the backup is taken, so the first free one is offered');
  r = more(r, [{ type: 'text', value: '1' }, { type: 'secret-entered', ref: 71, facts: okFacts('user-pin', 6) }]);
  const job = lastJob(r, 'restore');
  assert.deepEqual(job.job, { kind: 'restore', path: '/ceremony/k.bin', keyRef: 1, pin: 71 });
  r = more(r, [{ type: 'job-request', id: job.id, request: { kind: 'confirm-replace', keyRef: 1, occupant: { key: true, prkd: true, certificate: false, label: 'old' } } }]);
  const p = r.state.screen.prompt;
  assert.ok(p.kind === 'phrase' && p.phrase === replacePhrase(1) && p.phrase === 'replace key 1');
  r = more(r, [{ type: 'text', value: 'replace key 2' }]);
  assert.ok(!r.effects.some((e) => e.type === 'answer-request'));
  r = more(r, [{ type: 'text', value: 'replace key 1' }]);
  assert.deepEqual(r.effects.at(-1), { type: 'answer-request', id: job.id, ok: true });
});

test('secret facts: sc-hsm-tool rules per kind, confirmation, never the secret itself', () => {
  assert.equal(secretFacts(utf8('12345'), 'new-user-pin').ok, false);
  assert.equal(secretFacts(utf8('123456'), 'new-user-pin').ok, true);
  assert.equal(secretFacts(utf8('12345678901234567'), 'new-user-pin').problem, 'the user PIN must be 6 to 16 characters, got 17');
  assert.equal(secretFacts(utf8('3537363231383830'), 'so-pin').ok, true);
  assert.equal(secretFacts(utf8('35:37:36:32:31:38:38:30'), 'so-pin').ok, true);
  const bad = secretFacts(utf8('353736323138383G'), 'so-pin');
  assert.equal(bad.ok, false);
  assert.ok(!bad.problem!.includes('3537'));
  assert.equal(secretFacts(utf8('short'), 'new-passphrase').ok, false);
  const weak = secretFacts(utf8('abcdefgh'), 'new-passphrase');
  assert.ok(weak.ok && weak.advice.length > 0);
  assert.equal(secretFacts(utf8('pässwört'), 'passphrase').chars, 8);
  assert.equal(secretFacts(utf8('pässwört'), 'passphrase').bytes, 10);
  const garbled = secretFacts(utf8('4f:eb:zz'), 'pwd-share-value');
  assert.equal(garbled.ok, false);
  assert.ok(!garbled.problem!.includes('4f:eb'));
  assert.equal(secretFacts(utf8('4f:eb:ce:c2:cc:5e:bd:84'), 'pwd-share-value').ok, true);
  assert.equal(secretFacts(utf8('same'), 'passphrase', utf8('same')).matches, true);
  assert.equal(secretFacts(utf8('same'), 'passphrase', utf8('other')).matches, false);
  assert.equal(secretFacts(new Uint8Array(0), 'passphrase').ok, false);
  assert.throws(() => secretFacts('x' as unknown as Uint8Array, 'passphrase'), TypeError);
});

test('the vault wipes what it is told to, splits included, and everything at the end', () => {
  const v = new SecretVault();
  const a = utf8('secret-a');
  const ra = v.put(a);
  const copy = v.copy(ra);
  v.wipe(ra);
  assert.deepEqual([...a], new Array(8).fill(0));
  assert.equal(new TextDecoder().decode(copy), 'secret-a', 'a copy is the caller\'s');
  assert.throws(() => v.bytes(ra), RangeError);
  const split = splitPassword(2, 3);
  const rs = v.putSplit(split);
  v.put(utf8('b'));
  assert.equal(v.size, 2);
  v.wipeAll();
  assert.equal(v.size, 0);
  assert.ok(split.password.every((b) => b === 0));
  assert.throws(() => v.split(rs), RangeError);
});

test('the store: a submitted secret goes to the vault with facts for the current prompt, or is wiped when none is asked', () => {
  const vault = new SecretVault();
  const store = new CeremonyStore({ state: initialState({ cwd: '/' }), vault });
  const stray = utf8('typed at the wrong time');
  store.submitSecret(stray);
  assert.ok(stray.every((b) => b === 0));
  assert.equal(vault.size, 0);
  store.dispatch({ type: 'start' });
  store.dispatch({ type: 'job-done', id: 1, result: { kind: 'read-status', device: device() } });
  store.dispatch({ type: 'choose', value: 'login' });
  const pin = utf8('123456');
  store.submitSecret(pin);
  assert.equal(vault.size, 1);
  const s = store.getState();
  assert.equal(s.screen.flow, 'login');
  assert.equal(s.screen.flow === 'login' && s.screen.step, 'verifying');
  assert.ok(!JSON.stringify(s).includes('123456'));
});
