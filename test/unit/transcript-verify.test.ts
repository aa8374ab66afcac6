/**
 * The verifier: a real ceremony's transcript verifies; every single-byte change, deleted line,
 * reordered line, duplicated line and truncation is caught (fast-check over random positions); a
 * re-signed forgery passes integrity but fails against the pinned key; and each check has a case
 * that trips it, with its line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { verifyTranscript, type TranscriptReport } from '../../app/transcript/verifier.ts';
import { CeremonyKey, parsePinnedKey, keyFingerprint } from '../../app/transcript/ceremony-key.ts';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity, type TranscriptEvent } from '../../app/transcript/event.ts';
import { parsePlan } from '../../app/plan/plan-parse.ts';
import { fromHex } from '../../protocol/bytes.ts';
import { tempDir } from '../helpers/cli.ts';
import { EXAMPLE_KCV, exampleEvents, examplePlan, reseal, seededRng, steppingClock, writeExampleTranscript } from './transcript-ceremony.ts';

const dir = tempDir();
const examplePath = join(dir, 'example.jsonl');
const key = writeExampleTranscript(examplePath);
const GOOD = new Uint8Array(readFileSync(examplePath));
const LINES = new TextDecoder().decode(GOOD).split('\n').slice(0, -1);
const withLines = (ls: string[]) => new TextEncoder().encode(ls.map((l) => `${l}\n`).join(''));
const planOpt = { plan: { sha256: examplePlan.sha256, plan: examplePlan.plan } };

function expectFailure(r: TranscriptReport, code: string, line?: number): void {
  assert.equal(r.status, 'failed', `expected ${code}, got ${r.status}`);
  assert.equal(r.failure!.code, code, r.failure!.reason);
  if (line !== undefined) assert.equal(r.failure!.line, line, r.failure!.reason);
  assert.match(r.failure!.reason, /^[^A-Z]/);
}

test('the example ceremony verifies, against its plan and its pinned key', () => {
  const r = verifyTranscript(GOOD, { ...planOpt, pinnedKeys: [parsePinnedKey(key.publicKey)] });
  assert.equal(r.status, 'verified', r.failure?.reason);
  assert.equal(r.lines, 60);
  assert.equal(r.checkedLines, 60);
  assert.equal(r.signedThrough, 60);
  assert.equal(r.signatures, 15); // start, 13 finished steps, finish
  assert.equal(r.authenticity, 'pinned');
  assert.equal(r.planCheck, 'matched');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.summary.steps.map((s) => s.status), Array(13).fill('finished'));
  assert.deepEqual([...new Set(r.summary.kcvs.map((k) => k.kcv))], [EXAMPLE_KCV]);
  assert.equal(r.summary.signOffs.length, 5);
  // a fingerprint pins as well as the full key, in any spacing
  assert.equal(verifyTranscript(GOOD, { pinnedKeys: [parsePinnedKey(key.fingerprint.toUpperCase().replace(/ /g, ''))] }).authenticity, 'pinned');
  // without a key: integrity only
  assert.equal(verifyTranscript(GOOD).authenticity, 'unpinned');
});

// ---- tampering, property-tested over random positions --------------------------------------

test('property: every single-byte change is detected', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: GOOD.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
      const t = GOOD.slice();
      t[pos] = (t[pos]! + delta) & 0xff;
      const r = verifyTranscript(t);
      assert.notEqual(r.status, 'verified', `byte ${pos} changed by ${delta} went unnoticed`);
    }),
    { numRuns: 400 },
  );
});

test('property: a deleted line is detected', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: LINES.length - 1 }), (i) => {
      const r = verifyTranscript(withLines(LINES.filter((_, j) => j !== i)));
      assert.notEqual(r.status, 'verified');
      // a missing last line leaves an intact but unsigned transcript; any other is a broken chain
      if (i === LINES.length - 1) assert.equal(r.status, 'incomplete');
      else assert.equal(r.failure!.line, i + 1);
    }),
  );
});

test('property: two lines swapped are detected at the first of them', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: LINES.length - 1 }), fc.integer({ min: 0, max: LINES.length - 1 }), (a, b) => {
      fc.pre(a !== b);
      const ls = [...LINES];
      [ls[a], ls[b]] = [ls[b]!, ls[a]!];
      const r = verifyTranscript(withLines(ls));
      assert.equal(r.status, 'failed');
      assert.equal(r.failure!.line, Math.min(a, b) + 1);
    }),
  );
});

test('property: a duplicated line is detected', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: LINES.length - 1 }), fc.integer({ min: 0, max: LINES.length }), (i, at) => {
      const ls = [...LINES];
      ls.splice(at, 0, LINES[i]!);
      assert.equal(verifyTranscript(withLines(ls)).status, 'failed');
    }),
  );
});

test('property: a truncated file is never verified; it is incomplete, after verifying what is before the cut', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: GOOD.length - 1 }), (cut) => {
      const r = verifyTranscript(GOOD.subarray(0, cut));
      assert.equal(r.status, 'incomplete');
      const complete = new TextDecoder().decode(GOOD.subarray(0, cut)).split('\n').length - 1;
      assert.equal(r.checkedLines, complete);
      assert.equal(r.tailBytes, cut - r.completeLength);
    }),
  );
});

test('a cut at a line boundary says which lines no signature covers yet', () => {
  const r = verifyTranscript(withLines(LINES.slice(0, 20)));
  assert.equal(r.status, 'incomplete');
  assert.equal(r.signedThrough, 19);
  assert.ok(r.warnings.some((w) => w === 'lines 20–20 follow the last signature: their chain is intact but nothing signs them yet'), r.warnings.join('\n'));
  const mid = verifyTranscript(GOOD.subarray(0, GOOD.length - 10));
  assert.ok(mid.warnings.some((w) => /ends with \d+ bytes of an unfinished line/.test(w)));
});

// ---- forgery -----------------------------------------------------------------------------

test('a re-signed forgery passes integrity without --key and fails with the pinned key', () => {
  const forger = CeremonyKey.generate(seededRng('mallory'));
  const forged = reseal(
    GOOD,
    (events) => {
      const kcv = events.filter((e) => e.kind === 'kcv-read' || (e.kind === 'file-written' && e.data.kcv));
      for (const e of kcv) e.data.kcv = '1D1083E78237E99D';
    },
    forger,
  );
  const open = verifyTranscript(forged, planOpt);
  assert.equal(open.status, 'verified', 'integrity alone cannot tell a re-signed copy');
  assert.equal(open.authenticity, 'unpinned');
  assert.equal(open.keys[0]!.fingerprint, forger.fingerprint);
  assert.notEqual(open.keys[0]!.fingerprint, key.fingerprint, 'but the fingerprint differs from the one on paper');
  const pinned = verifyTranscript(forged, { ...planOpt, pinnedKeys: [parsePinnedKey(key.publicKey)] });
  expectFailure(pinned, 'KEY_NOT_PINNED', 1);
  assert.match(pinned.failure!.reason, /not one of the keys given with --key/);
});

test('changing an event without re-signing breaks a signature or the chain', () => {
  // edit the last line (no successor): only its signature can catch it
  const ls = [...LINES];
  const last = JSON.parse(ls[ls.length - 1]!) as TranscriptEvent;
  last.data.outcome = 'aborted';
  const keys = Object.keys(last).sort();
  ls[ls.length - 1] = JSON.stringify(Object.fromEntries(keys.map((k) => [k, (last as unknown as Record<string, unknown>)[k]])), (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
  expectFailure(verifyTranscript(withLines(ls)), 'BAD_SIGNATURE', 60);
});

// ---- each check, with a transcript that trips it ---------------------------------------

type Append = Parameters<TranscriptWriter['append']>[0];
const op = { role: 'operator' as const, name: 'oscar' };

/** A transcript written by the real writer from the given appends (the writer checks schemas, not order). */
function written(events: Append[], o: { finish?: 'completed' | 'aborted' | false; plan?: ReturnType<typeof planIdentity> } = {}): Uint8Array {
  const path = join(dir, `w-${Math.random().toString(16).slice(2)}.jsonl`);
  const w = TranscriptWriter.create(path, { plan: o.plan ?? planIdentity(examplePlan), version: '0.1.0', rng: seededRng('x'), clock: steppingClock() });
  for (const e of events) w.append(e);
  if (o.finish !== false) w.finish({ outcome: o.finish ?? 'completed' });
  else w.close();
  return new Uint8Array(readFileSync(path));
}
const all = exampleEvents();
const idx = (pred: (e: Append) => boolean) => all.findIndex(pred);
const start = (n: number, kind: string): Append => ({ kind: 'step-started', actor: op, step: n, data: { kind } });
const finish = (n: number, kind: string): Append => ({ kind: 'step-finished', actor: op, step: n, data: { kind } });

test('structure: UTF-8, JSON, canonical form, schema, seq, chain, first event', () => {
  const edit = (i: number, f: (s: string) => string) => withLines(LINES.map((l, j) => (j === i ? f(l) : l)));
  expectFailure(verifyTranscript(new Uint8Array([...withLines(LINES.slice(0, 3)), 0xff, 0x0a])), 'NOT_UTF8', 4);
  expectFailure(verifyTranscript(edit(4, (l) => l.slice(0, -1))), 'NOT_JSON', 5);
  expectFailure(verifyTranscript(edit(4, (l) => l.replace('{"actor"', '{ "actor"'))), 'NOT_CANONICAL', 5);
  expectFailure(verifyTranscript(edit(4, (l) => l.replace('"seq":5', '"seq":5.0'))), 'NOT_CANONICAL', 5);
  expectFailure(verifyTranscript(edit(4, (l) => l.replace('"kind":"', '"kind":"x'))), 'BAD_EVENT', 5);
  expectFailure(verifyTranscript(edit(4, (l) => l.replace('"seq":5', '"seq":6'))), 'BAD_SEQ', 5);
  expectFailure(verifyTranscript(edit(0, (l) => l.replace('"prev":"0', '"prev":"1'))), 'CHAIN_BROKEN', 1);
  expectFailure(verifyTranscript(withLines(LINES.slice(1))), 'BAD_SEQ', 1);
  expectFailure(verifyTranscript(new TextEncoder().encode(`${'x'.repeat(70000)}\n`)), 'LINE_TOO_LONG', 1);
  const noStart = reseal(GOOD, (ev) => ev.splice(0, 0, { ...ev[1]! }), CeremonyKey.generate(seededRng('k')));
  expectFailure(verifyTranscript(noStart), 'NO_START', 1);
  const twice = reseal(GOOD, (ev) => ev.splice(2, 0, JSON.parse(JSON.stringify(ev[0]))), CeremonyKey.generate(seededRng('k')));
  expectFailure(verifyTranscript(twice), 'START_AGAIN', 3);
  const after = reseal(GOOD, (ev) => ev.push({ ...ev[ev.length - 2]! }), CeremonyKey.generate(seededRng('k')));
  expectFailure(verifyTranscript(after), 'EVENT_AFTER_FINISH', 61);
});

test('actors must hold their role in the plan; steps must exist', () => {
  expectFailure(verifyTranscript(written([{ kind: 'sign-off', actor: { role: 'witness', name: 'mallory' }, data: { statement: 's', accepted: true } }])), 'UNKNOWN_ACTOR', 2);
  expectFailure(verifyTranscript(written([{ kind: 'sign-off', actor: { role: 'witness', name: 'alice' }, data: { statement: 's', accepted: true } }])), 'UNKNOWN_ACTOR', 2);
  const k = CeremonyKey.generate(seededRng('k'));
  expectFailure(verifyTranscript(reseal(GOOD, (ev) => (ev[5]!.step = 99), k)), 'BAD_STEP', 6);
  expectFailure(verifyTranscript(reseal(GOOD, (ev) => (ev[ev.findIndex((e) => e.kind === 'step-started')]!.step = null), k)), 'BAD_STEP');
});

test('signatures and resume links', () => {
  const edit = (i: number, f: (s: string) => string) => withLines(LINES.map((l, j) => (j === i ? f(l) : l)));
  const sigLine = LINES.findIndex((l) => l.includes('"kind":"step-finished"'));
  expectFailure(verifyTranscript(edit(sigLine, (l) => l.replace(/"signature":"(.)/, (_m, c) => `"signature":"${c === '0' ? '1' : '0'}`))), 'BAD_SIGNATURE', sigLine + 1);
  // a resumed event inserted by someone holding a key passes integrity (reseal links it) ...
  const k = CeremonyKey.generate(seededRng('k'));
  const resumed: TranscriptEvent = { seq: 0, time: '2026-11-28T09:02:20.000Z', actor: { role: 'tool', name: null }, step: null, kind: 'resumed', data: { publicKey: '', previousKey: '', afterSeq: 0, discardedTail: null }, prev: '' };
  const linked = reseal(GOOD, (ev) => ev.splice(20, 0, resumed), k);
  assert.equal(verifyTranscript(linked).status, 'verified');
  // ... but one that names another previous key, or another place in the chain, does not
  const lines = new TextDecoder().decode(linked).split('\n').slice(0, -1);
  const broken = [...lines];
  broken[20] = broken[20]!.replace(/"previousKey":"[0-9a-f]{64}"/, `"previousKey":"${'ab'.repeat(32)}"`);
  expectFailure(verifyTranscript(withLines(broken)), 'RESUME_LINK', 21);
  const misplaced = [...lines];
  misplaced[20] = misplaced[20]!.replace('"afterSeq":20', '"afterSeq":19');
  expectFailure(verifyTranscript(withLines(misplaced)), 'RESUME_LINK', 21);
});

test('steps: kind, order, overlap, restarts, missing steps, and notes that explain deviations', () => {
  // a step-started that names the wrong kind
  expectFailure(verifyTranscript(written([start(1, 'backup')])), 'STEP_KIND', 2);
  // finishing a step that never started
  expectFailure(verifyTranscript(written([finish(1, 'initialize')])), 'STEP_NOT_STARTED', 2);
  expectFailure(verifyTranscript(written([{ kind: 'step-failed', actor: op, step: 1, data: { kind: 'initialize', code: 'X', message: 'm' } }])), 'STEP_NOT_STARTED', 2);
  // two steps at once
  expectFailure(verifyTranscript(written([start(1, 'initialize'), start(2, 'create-share')])), 'STEP_OVERLAP', 3);
  // a finished step started again
  expectFailure(verifyTranscript(written([start(1, 'initialize'), finish(1, 'initialize'), start(1, 'initialize')])), 'STEP_AGAIN', 4);
  expectFailure(verifyTranscript(written([start(1, 'initialize'), finish(1, 'initialize'), { kind: 'step-skipped', actor: op, step: 1, data: { kind: 'initialize', reason: 'r' } }])), 'STEP_AGAIN', 4);
  // an expect-kcv step that reads no KCV
  const noKcv = all.filter((e) => e.kind !== 'kcv-read');
  expectFailure(verifyTranscript(written(noKcv)), 'KCV_NOT_READ');
  // a step left out of a completed ceremony: the last one is missing at the end ...
  const without13 = all.filter((e) => e.step !== 13);
  const r = verifyTranscript(written(without13));
  expectFailure(r, 'STEP_MISSING', without13.length + 2);
  assert.match(r.failure!.reason, /^step 13 \(sign-off\) never ran, and no skip reason or note explains it$/);
  // ... one in the middle already when the next step starts without it
  const without10 = all.filter((e) => e.step !== 10);
  const r10 = verifyTranscript(written(without10));
  expectFailure(r10, 'STEP_ORDER', idx((e) => e.kind === 'step-started' && e.step === 11) + 2 - 3);
  assert.match(r10.failure!.reason, /^step 11 starts before step 10 finished or was skipped, and no note explains it$/);
  // ... which verifies when skipped with a reason, or explained by a note
  const skipped = [...without10.slice(0, idx((e) => e.step === 11)), { kind: 'step-skipped', actor: op, step: 10, data: { kind: 'backup', reason: 'backup media missing; rescheduled' } } as Append, ...without10.slice(idx((e) => e.step === 11))];
  // restore then needs the backup: a skip is a recorded deviation, not a check of consequences
  const rs = verifyTranscript(written(skipped));
  assert.equal(rs.status, 'verified', rs.failure?.reason);
  assert.ok(rs.summary.deviations.some((d) => d.kind === 'skip' && d.step === 10));
  const noted = [...without10, { kind: 'note', actor: op, step: 10, data: { text: 'backup done with sc-hsm-tool instead, file hash on paper' } } as Append];
  assert.equal(verifyTranscript(written(noted)).status, 'verified');
  // out of order: step 9 before step 8 fails unless a note for step 9 explains it
  const s8 = idx((e) => e.kind === 'step-started' && e.step === 8);
  const s9 = idx((e) => e.kind === 'step-started' && e.step === 9);
  const s10 = idx((e) => e.kind === 'step-started' && e.step === 10);
  const swapped = [...all.slice(0, s8), ...all.slice(s9, s10), ...all.slice(s8, s9), ...all.slice(s10)];
  const rs9 = verifyTranscript(written(swapped));
  expectFailure(rs9, 'STEP_ORDER', s8 + 2);
  assert.match(rs9.failure!.reason, /^step 9 starts before step 8 finished/);
  const swappedNoted = [...swapped, { kind: 'note', actor: op, step: 9, data: { text: 'key generated before the KCV check by mistake' } } as Append];
  assert.equal(verifyTranscript(written(swappedNoted)).status, 'verified');
  // an incomplete transcript only warns about order, since a note may still come
  const partial = verifyTranscript(written(swapped.slice(0, s8 + 6), { finish: false }));
  assert.equal(partial.status, 'incomplete');
  assert.ok(partial.warnings.some((w) => /step 9 starts before step 8 finished; no note explains it yet/.test(w)), partial.warnings.join('\n'));
  // a failed step may be restarted and finished
  const retried = [...all.slice(0, s8), start(8, 'expect-kcv'), { kind: 'step-failed', actor: op, step: 8, data: { kind: 'expect-kcv', code: 'CARD_REMOVED', message: 'card removed' } } as Append, ...all.slice(s8)];
  assert.equal(verifyTranscript(written(retried)).status, 'verified');
});

test('KCVs: zero, inconsistent match flags, mismatches, disagreement, and the plan value', () => {
  const kcvAt = idx((e) => e.kind === 'kcv-read');
  const withKcv = (data: Record<string, unknown>) => written(all.map((e, i) => (i === kcvAt ? { ...e, data } : e)));
  expectFailure(verifyTranscript(withKcv({ kcv: '0000000000000000' })), 'KCV_ZERO', kcvAt + 2);
  expectFailure(verifyTranscript(withKcv({ kcv: EXAMPLE_KCV, expected: '1D1083E78237E99D', match: true })), 'KCV_MATCH_WRONG', kcvAt + 2);
  expectFailure(verifyTranscript(withKcv({ kcv: EXAMPLE_KCV, expected: '1D1083E78237E99D', match: false })), 'KCV_MISMATCH', kcvAt + 2);
  assert.equal(verifyTranscript(withKcv({ kcv: EXAMPLE_KCV, expected: EXAMPLE_KCV, match: true })).status, 'verified');
  // the backup's KCV disagrees with the KCV read
  const fileAt = idx((e) => e.kind === 'file-written' && e.step === 10);
  const other = written(all.map((e, i) => (i === fileAt ? { ...e, data: { ...e.data, kcv: '1D1083E78237E99D' } } : e)));
  const r = verifyTranscript(other);
  expectFailure(r, 'KCV_DISAGREE', fileAt + 2);
  assert.match(r.failure!.reason, /1D1083E78237E99D differs from the KCV 0767001241A0CB44 recorded at line \d+/);
  // a card status with a complete DKEK counts too; a zero KCV there (PIN not verified) does not
  const statusAt = idx((e) => e.kind === 'card-status' && e.step === 9);
  const withStatus = (kcv: string) => written(all.map((e, i) => (i === statusAt ? { ...e, data: { ...e.data, dkekOutstanding: 0, kcv } } : e)));
  expectFailure(verifyTranscript(withStatus('1D1083E78237E99D')), 'KCV_DISAGREE', statusAt + 2);
  assert.equal(verifyTranscript(withStatus('0000000000000000')).status, 'verified');
  // a new initialize starts a new DKEK: different KCVs before and after are fine
  // the plan's expected KCV
  const pinnedPlanText = readFileSync(new URL('../../docs/examples/three-custodians.yaml', import.meta.url), 'utf8').replace('  - step: expect-kcv\n', '  - step: expect-kcv\n    kcv: "1D1083E78237E99D"\n');
  const pinnedPlan = parsePlan(new TextEncoder().encode(pinnedPlanText));
  const t = written(all, { plan: planIdentity(pinnedPlan) });
  expectFailure(verifyTranscript(t, { plan: { sha256: pinnedPlan.sha256, plan: pinnedPlan.plan } }), 'KCV_NOT_PLANNED', kcvAt + 2);
});

test('the plan: a different plan file is named at line 1', () => {
  const other = parsePlan(new TextEncoder().encode(readFileSync(new URL('../../docs/examples/three-custodians.yaml', import.meta.url), 'utf8') + '# changed\n'));
  const r = verifyTranscript(GOOD, { plan: { sha256: other.sha256, plan: other.plan } });
  expectFailure(r, 'PLAN_MISMATCH', 1);
  assert.match(r.failure!.reason, new RegExp(`records plan SHA-256 ${examplePlan.sha256}, but the plan given has ${other.sha256}`));
});

test('an aborted ceremony verifies as aborted, with its unrun steps listed', () => {
  const r = verifyTranscript(written(all.slice(0, 30), { finish: 'aborted' }));
  assert.equal(r.status, 'aborted');
  assert.ok(r.summary.steps.some((s) => s.status === 'not run'));
});

test('fingerprints: 16 bytes in 8 groups; parsePinnedKey refuses anything else', () => {
  assert.equal(keyFingerprint(fromHex(key.publicKey)), key.fingerprint);
  assert.throws(() => parsePinnedKey('abcd'), /neither a 64-digit public key nor a 32-digit fingerprint/);
});

test('the example lines in docs/transcript-format.md are exactly what the writer produces', () => {
  const doc = readFileSync(new URL('../../docs/transcript-format.md', import.meta.url), 'utf8');
  const block = doc.split('```jsonl\n')[1]!.split('```')[0]!.trimEnd().split('\n');
  assert.equal(block.length, 10);
  for (const l of block) assert.ok(LINES.includes(l), `not written by the example: ${l.slice(0, 80)}…`);
  assert.ok(doc.includes(`fingerprint is \`${key.fingerprint}\``));
});
