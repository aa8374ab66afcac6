import { test } from 'node:test';
import assert from 'node:assert/strict';
import { more, lastJob, jobsStarted, wiped, okFacts, device, atMenu, type Run } from './ceremony-fixtures.ts';
import type { Effect } from '../../app/ceremony/effects.ts';

function creating(count: number): Run {
  let r = more(atMenu(device({ dkek: { total: count, outstanding: count, kcv: null } })), [{ type: 'choose', value: 'create-shares' }]);
  r = more(r, [{ type: 'text', value: String(count) }]);
  return r;
}

function passphraseShare(r: Run, i: number, refs: [number, number]): Run {
  r = more(r, [{ type: 'choose', value: 'passphrase' }, { type: 'text', value: `dkek-share-${i}.pbe` }]);
  const check = lastJob(r, 'check-new-file');
  assert.deepEqual(check.job, { kind: 'check-new-file', path: `dkek-share-${i}.pbe` });
  return more(r, [
    { type: 'job-done', id: check.id, result: { kind: 'check-new-file', path: `/ceremony/dkek-share-${i}.pbe`, name: `dkek-share-${i}.pbe` } },
    { type: 'secret-entered', ref: refs[0], facts: okFacts('new-passphrase', 20) },
    { type: 'secret-entered', ref: refs[1], facts: okFacts('new-passphrase', 20, true) },
  ]);
}

test('create shares: each derivation starts the moment its passphrase is confirmed; the next custodian does not wait', () => {
  let r = creating(3);
  r = passphraseShare(r, 1, [1, 2]);
  const first = lastJob(r, 'create-share');
  assert.deepEqual(first.job, { kind: 'create-share', path: '/ceremony/dkek-share-1.pbe', secret: { kind: 'passphrase', passphrase: 1 } });
  // the job copies the passphrase when it starts; both entries are wiped right after the start
  const i = r.effects.findIndex((e) => e.type === 'start-job' && e.id === first.id);
  assert.deepEqual(r.effects[i + 1], { type: 'wipe', refs: [2, 1] });
  assert.equal(r.state.screen.prompt.title, 'Create DKEK share files: share 2 of 3');
  r = passphraseShare(r, 2, [3, 4]);
  assert.equal(jobsStarted(r, 'create-share').length, 2, 'two derivations run together');
  // a name already used in this run is refused
  const dup = more(r, [{ type: 'choose', value: 'passphrase' }, { type: 'text', value: 'dkek-share-1.pbe' }]);
  const d = more(dup, [{ type: 'job-done', id: lastJob(dup, 'check-new-file').id, result: { kind: 'check-new-file', path: '/ceremony/dkek-share-1.pbe', name: 'dkek-share-1.pbe' } }]);
  assert.match(d.state.screen.prompt.kind === 'text' ? d.state.screen.prompt.error ?? '' : '', /already used by another share/);
  r = passphraseShare(r, 3, [5, 6]);
  assert.equal(r.state.screen.flow === 'create-shares' && r.state.screen.step, 'finishing');
  const ids = jobsStarted(r, 'create-share');
  for (const [k, id] of ids.entries()) {
    r = more(r, [{ type: 'job-done', id, result: { kind: 'create-share', path: `/ceremony/dkek-share-${k + 1}.pbe`, name: `dkek-share-${k + 1}.pbe`, fingerprint: `000${k} 0000 0000 0000` } }]);
  }
  assert.equal(r.state.screen.flow === 'create-shares' && r.state.screen.step, 'summary');
  assert.equal(r.state.createdShares.length, 3);
  assert.deepEqual(r.state.log.filter((l) => l.tone === 'done').map((l) => l.text), [0, 1, 2].map((k) => `share file dkek-share-${k + 1}.pbe written (fingerprint 000${k} 0000 0000 0000)`));
  const p = r.state.screen.prompt;
  assert.ok(p.kind === 'choose' && p.options.some((o) => o.value === 'import-shares'));
});

test('n-of-m: one custodian at a time, the screen erased after each, the file encrypted only after the last', () => {
  let r = creating(1);
  r = more(r, [{ type: 'choose', value: 'pwd-shares' }, { type: 'text', value: '2/2' }]);
  assert.match(r.state.screen.prompt.kind === 'text' ? r.state.screen.prompt.error ?? '' : '', /3 ≤ m/);
  r = more(r, [{ type: 'text', value: '2 of 3' }, { type: 'text', value: 'x.pbe' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'check-new-file').id, result: { kind: 'check-new-file', path: '/ceremony/x.pbe', name: 'x.pbe' } }]);
  const split = lastJob(r, 'split-password');
  assert.deepEqual(split.job, { kind: 'split-password', threshold: 2, total: 3 });
  r = more(r, [{ type: 'job-done', id: split.id, result: { kind: 'split-password', split: 77, prime: 'c3:72:ff:83:be:5a:1f:df', threshold: 2, total: 3 } }]);
  const clears = (x: Run) => x.effects.filter((e) => e.type === 'clear-screen').length;
  for (let c = 1; c <= 3; c++) {
    assert.equal(r.state.screen.prompt.kind, 'notice', `hand-over screen before custodian ${c}`);
    assert.equal(jobsStarted(r, 'create-share').length, 0);
    r = more(r, [{ type: 'continue' }]);
    const p = r.state.screen.prompt;
    assert.ok(p.kind === 'share-reveal' && p.custodian === c && p.split === 77);
    const before = clears(r);
    r = more(r, [{ type: 'continue' }]);
    assert.equal(clears(r), before + 1);
  }
  const job = lastJob(r, 'create-share');
  assert.deepEqual(job.job.secret, { kind: 'split', split: 77 });
  const startAt = r.effects.findIndex((e) => e.type === 'start-job' && e.id === job.id);
  const wipeAt = r.effects.findIndex((e) => e.type === 'wipe' && e.refs.includes(77));
  assert.ok(startAt >= 0 && wipeAt > startAt, 'the split is wiped after the job took its copy');
});

test('Escape while custodians are shown their shares: no file, the split wiped', () => {
  let r = creating(1);
  r = more(r, [{ type: 'choose', value: 'pwd-shares' }, { type: 'text', value: '2/3' }, { type: 'text', value: 'y.pbe' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'check-new-file').id, result: { kind: 'check-new-file', path: '/ceremony/y.pbe', name: 'y.pbe' } }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'split-password').id, result: { kind: 'split-password', split: 5, prime: 'c3:72:ff:83:be:5a:1f:df', threshold: 2, total: 3 } }]);
  r = more(r, [{ type: 'continue' }, { type: 'back' }]);
  assert.ok(wiped(r).includes(5));
  assert.equal(jobsStarted(r, 'create-share').length, 0);
  assert.equal(r.state.screen.flow === 'create-shares' && r.state.screen.step, 'summary');
});

function importing(files: string[], o: { outstanding?: number; expected?: string } = {}): Run {
  const n = o.outstanding ?? files.length;
  let r = more(atMenu(device({ dkek: { total: n, outstanding: n, kcv: null } })), [{ type: 'choose', value: 'import-shares' }, { type: 'text', value: o.expected ?? '' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'list-files').id, result: { kind: 'list-files', dir: '/ceremony', files } }]);
  for (const f of files) {
    r = more(r, [{ type: 'choose', value: `file:${f}` }]);
    r = more(r, [{ type: 'job-done', id: lastJob(r, 'read-share-file').id, result: { kind: 'read-share-file', path: `/ceremony/${f}`, name: f, sha256: `sha-of-${f}` } }]);
  }
  return r;
}

test('import: files first (duplicates refused before any derivation), then custodians in turn; secrets handed to the job', () => {
  // the same content under two names
  let d = more(atMenu(device({ dkek: { total: 2, outstanding: 2, kcv: null } })), [{ type: 'choose', value: 'import-shares' }, { type: 'text', value: '' }]);
  d = more(d, [{ type: 'job-done', id: lastJob(d, 'list-files').id, result: { kind: 'list-files', dir: '/ceremony', files: ['a.pbe', 'b.pbe'] } }]);
  d = more(d, [{ type: 'choose', value: 'file:a.pbe' }]);
  d = more(d, [{ type: 'job-done', id: lastJob(d, 'read-share-file').id, result: { kind: 'read-share-file', path: '/ceremony/a.pbe', name: 'a.pbe', sha256: 'same' } }]);
  d = more(d, [{ type: 'choose', value: 'file:b.pbe' }]);
  d = more(d, [{ type: 'job-done', id: lastJob(d, 'read-share-file').id, result: { kind: 'read-share-file', path: '/ceremony/b.pbe', name: 'b.pbe', sha256: 'same' } }]);
  assert.match(d.state.screen.prompt.kind === 'choose' ? d.state.screen.prompt.body.join('\n') : '', /b\.pbe is the same share file as a\.pbe/);
  assert.equal(jobsStarted(d, 'import-shares').length, 0);

  let r = importing(['s1.pbe', 's2.pbe'], { expected: '1d10 83e7 8237 e99d' });
  const imp = lastJob(r, 'import-shares');
  assert.deepEqual(imp.job, { kind: 'import-shares', files: [{ path: '/ceremony/s1.pbe', name: 's1.pbe' }, { path: '/ceremony/s2.pbe', name: 's2.pbe' }], alreadyImported: [] });
  r = more(r, [
    { type: 'job-request', id: imp.id, request: { kind: 'share-secret', index: 0, name: 's1.pbe' } },
    { type: 'job-request', id: imp.id, request: { kind: 'share-secret', index: 1, name: 's2.pbe' } },
  ]);
  assert.equal(r.state.screen.prompt.title, 'Custodian 1 of 2: open s1.pbe');
  const typing = r.state.screen.prompt;
  r = more(r, [{ type: 'job-progress', id: imp.id, part: 0, label: 'deriving s1.pbe', done: 5, total: 30 }]);
  assert.equal(r.state.screen.prompt, typing, 'progress never resets what a custodian is typing');
  r = more(r, [{ type: 'choose', value: 'passphrase' }, { type: 'secret-entered', ref: 31, facts: okFacts('passphrase', 14) }]);
  assert.deepEqual(r.effects.at(-1), { type: 'supply-secret', id: imp.id, secret: { kind: 'passphrase', passphrase: 31 } } satisfies Effect);
  assert.equal(r.state.screen.prompt.title, 'Custodian 2 of 2: open s2.pbe', 'the next custodian types while share 1 derives');
  // n-of-m for the second
  r = more(r, [
    { type: 'choose', value: 'pwd-shares' },
    { type: 'text', value: '2' },
    { type: 'text', value: 'c3:72:ff:83:be:5a:1f:df' },
    { type: 'text', value: '1' },
    { type: 'secret-entered', ref: 41, facts: okFacts('pwd-share-value', 23) },
    { type: 'text', value: '1' },
  ]);
  assert.match(r.state.screen.prompt.kind === 'text' ? r.state.screen.prompt.error ?? '' : '', /share ID 1 was already entered/);
  r = more(r, [{ type: 'text', value: '3' }, { type: 'secret-entered', ref: 42, facts: okFacts('pwd-share-value', 23) }]);
  assert.deepEqual(r.effects.at(-1), { type: 'supply-secret', id: imp.id, secret: { kind: 'pwd-shares', prime: 'c3:72:ff:83:be:5a:1f:df', entries: [{ idText: '1', value: 41 }, { idText: '3', value: 42 }] } } satisfies Effect);
  r = more(r, [
    { type: 'job-update', id: imp.id, update: { kind: 'share-imported', index: 0, name: 's1.pbe', fingerprint: 'aaaa bbbb cccc dddd', imported: 1, total: 2, outstanding: 1 } },
    { type: 'job-update', id: imp.id, update: { kind: 'share-imported', index: 1, name: 's2.pbe', fingerprint: 'eeee ffff 0000 1111', imported: 2, total: 2, outstanding: 0 } },
  ]);
  assert.deepEqual(r.state.importedShares.map((x) => x.sha256), ['sha-of-s1.pbe', 'sha-of-s2.pbe']);
  assert.equal(r.state.device?.status.dkek?.outstanding, 0, 'the panel follows what the card answered');
  r = more(r, [{ type: 'job-done', id: imp.id, result: { kind: 'import-shares', imported: [], total: 2, outstanding: 0 } }]);
  assert.equal(r.state.screen.prompt.kind === 'secret' && r.state.screen.prompt.secretKind, 'user-pin');
  r = more(r, [{ type: 'secret-entered', ref: 51, facts: okFacts('user-pin', 6) }]);
  const conf = lastJob(r, 'confirm-dkek');
  assert.deepEqual(conf.job, { kind: 'confirm-dkek', pin: 51, expectKcv: '1D1083E78237E99D' });
  r = more(r, [{ type: 'job-done', id: conf.id, result: { kind: 'confirm-dkek', confirmation: { total: 2, outstanding: 0, kcv: '1D1083E78237E99D', loggedIn: true, expected: '1D1083E78237E99D', matches: true } } }]);
  const v = r.state.screen.prompt;
  assert.ok(v.kind === 'kcv' && v.matches === true && v.kcv === '1D1083E78237E99D');
  assert.ok(wiped(r).includes(51));
  r = more(r, [{ type: 'continue' }]);
  assert.equal(r.state.screen.flow, 'menu');
});

test('import: a share file imported earlier in the session is refused by content; earlier fingerprints go to the job', () => {
  let r = importing(['s1.pbe'], { outstanding: 1 });
  const imp = lastJob(r, 'import-shares');
  r = more(r, [
    { type: 'job-update', id: imp.id, update: { kind: 'share-imported', index: 0, name: 's1.pbe', fingerprint: 'aaaa bbbb cccc dddd', imported: 1, total: 3, outstanding: 2 } },
    { type: 'job-done', id: imp.id, result: { kind: 'import-shares', imported: [], total: 3, outstanding: 2 } },
    { type: 'continue' },
  ]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'read-status').id, result: { kind: 'read-status', device: device({ dkek: { total: 3, outstanding: 2, kcv: null } }) } }]);
  r = more(r, [{ type: 'choose', value: 'import-shares' }, { type: 'text', value: '' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'list-files').id, result: { kind: 'list-files', dir: '/ceremony', files: ['copy.pbe', 's2.pbe'] } }]);
  r = more(r, [{ type: 'choose', value: 'file:copy.pbe' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'read-share-file').id, result: { kind: 'read-share-file', path: '/ceremony/copy.pbe', name: 'copy.pbe', sha256: 'sha-of-s1.pbe' } }]);
  assert.match(r.state.screen.prompt.kind === 'choose' ? r.state.screen.prompt.body.join(' ') : '', /copy\.pbe holds the share already imported in this session from s1\.pbe/);
  r = more(r, [{ type: 'choose', value: 'file:s2.pbe' }]);
  r = more(r, [{ type: 'job-done', id: lastJob(r, 'read-share-file').id, result: { kind: 'read-share-file', path: '/ceremony/s2.pbe', name: 's2.pbe', sha256: 'sha-of-s2' } }, { type: 'choose', value: 'start' }]);
  assert.deepEqual(lastJob(r, 'import-shares').job.alreadyImported, ['aaaa bbbb cccc dddd']);
});
