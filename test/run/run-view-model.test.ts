/**
 * The run view's reducer (app/ui/run/run-view-model.ts) as event lists: what each operator key
 * does in each phase, the effects sent to the runner, skip and abort only with typed reasons and
 * a typed confirmation, keys set aside while a prompt has the keyboard, a failure offering retry,
 * and the helpers that fit the screen (step window, end record lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  endLines,
  initialRunView,
  operatorKeysLive,
  runViewStep,
  skipTarget,
  stepWindow,
  type RunViewEffect,
  type RunViewEvent,
  type RunViewState,
} from '../../app/ui/run/run-view-model.ts';
import type { StepKind } from '../../app/plan/plan-schema.ts';
import type { RunState, StepState } from '../../app/run/run-machine.ts';
import type { TranscriptEvent } from '../../app/transcript/event.ts';

const KINDS: StepKind[] = ['initialize', 'create-share', 'import-share', 'expect-kcv', 'sign-off'];
const HEADER = { name: 'Test plan', planSha256: 'ab'.repeat(32), device: 'simulator', rehearsal: true, fingerprint: '0123 4567 89ab cdef 0123 4567 89ab cdef', transcript: '/t/transcript.jsonl', resumed: false };

function run(events: RunViewEvent[], from: RunViewState = initialRunView(HEADER, KINDS)): { state: RunViewState; effects: RunViewEffect[] } {
  let state = from;
  const effects: RunViewEffect[] = [];
  for (const e of events) {
    const t = runViewStep(state, e);
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}

function rs(steps: StepState[], current: number | null, phase: RunState['phase']): RunViewEvent {
  return { type: 'run-state', state: { kinds: KINDS, steps, current, phase, operator: { role: 'operator', name: 'oscar' }, reason: null } };
}

let seq = 0;
function ev(kind: TranscriptEvent['kind'], step: number | null, data: Record<string, unknown>, role: TranscriptEvent['actor']['role'] = 'operator'): RunViewEvent {
  return { type: 'transcript', event: { seq: seq++, time: '2026-01-02T03:04:05.000Z', kind, actor: { role, name: 'oscar' }, step, data, prev: '00' } as unknown as TranscriptEvent };
}

const running3 = rs(['finished', 'finished', 'running', 'pending', 'pending'], 2, 'running');

test('run states and transcript events become the script, the log, the KCV and the outputs', () => {
  const { state } = run([
    running3,
    ev('step-started', 3, { kind: 'import-share' }),
    ev('file-written', 2, { path: 'alice.pbe', sha256: 'cd'.repeat(32), bytes: 64 }),
    ev('kcv-read', 4, { kcv: '9E71CFF8B24E89DC' }),
    { type: 'progress', text: 'alice: opening alice.pbe' },
  ]);
  assert.deepEqual(state.steps, ['finished', 'finished', 'running', 'pending', 'pending']);
  assert.equal(state.current, 2);
  assert.equal(state.kcv, '9E71CFF8B24E89DC');
  assert.deepEqual(state.outputs, [{ path: 'alice.pbe', sha256: 'cd'.repeat(32) }]);
  assert.equal(state.log.length, 4);
  assert.match(state.log[0]!, /\[3\/5\] import-share started/);
  assert.match(state.log[3]!, /^ +alice: opening alice\.pbe$/);
});

test('p asks for a pause once; the run pauses before the next step; c continues', () => {
  const a = run([running3, { type: 'key', key: 'p' }, { type: 'key', key: 'p' }]);
  assert.deepEqual(a.effects, [{ type: 'control', input: { type: 'pause' } }]);
  assert.equal(a.state.pauseRequested, true);
  assert.match(a.state.notice!, /step 3 finishes first/);
  // c while still running does nothing
  const b = run([{ type: 'key', key: 'c' }], a.state);
  assert.deepEqual(b.effects, []);
  const paused = run([rs(['finished', 'finished', 'finished', 'pending', 'pending'], null, 'paused'), { type: 'key', key: 'enter' }], a.state);
  assert.equal(paused.state.pauseRequested, false);
  assert.deepEqual(paused.effects, [{ type: 'control', input: { type: 'continue' } }]);
});

test('n arms a note: letters are ignored until Enter, an empty note is refused, the note goes to the runner', () => {
  const a = run([running3, { type: 'key', key: 'n' }]);
  assert.deepEqual(a.state.dialog, { kind: 'armed', what: 'note' });
  assert.equal(operatorKeysLive(a.state), false);
  // a custodian typing early: p, s, a, c do nothing while armed
  const b = run([{ type: 'key', key: 'p' }, { type: 'key', key: 's' }, { type: 'key', key: 'a' }, { type: 'key', key: 'c' }], a.state);
  assert.deepEqual(b.effects, []);
  assert.deepEqual(b.state.dialog, { kind: 'armed', what: 'note' });
  const c = run([{ type: 'key', key: 'enter' }, { type: 'dialog-text', value: '   ' }], b.state);
  assert.equal(c.state.dialog?.kind, 'note');
  assert.match((c.state.dialog as { error?: string }).error!, /type the note/);
  const d = run([{ type: 'dialog-text', value: ' camera moved ' }], c.state);
  assert.deepEqual(d.effects, [{ type: 'control', input: { type: 'note', text: 'camera moved' } }]);
  assert.equal(d.state.dialog, null);
  // Esc while armed records nothing
  const e = run([{ type: 'key', key: 'n' }, { type: 'key', key: 'escape' }], d.state);
  assert.deepEqual(e.effects, []);
  assert.equal(e.state.dialog, null);
});

test('s skips the next step (not the running one) only with a reason and the word skip', () => {
  const base = run([running3]).state;
  assert.equal(skipTarget(base), 4);
  const a = run([{ type: 'key', key: 's' }, { type: 'key', key: 'enter' }, { type: 'dialog-text', value: '' }], base);
  assert.deepEqual(a.state.dialog, { kind: 'skip-reason', step: 4, error: 'a skip needs a reason' });
  const b = run([{ type: 'dialog-text', value: 'KCV is read in step 5 instead' }, { type: 'dialog-text', value: 'yes' }], a.state);
  assert.equal(b.state.dialog?.kind, 'skip-confirm');
  assert.deepEqual(b.effects, []);
  const c = run([{ type: 'dialog-text', value: 'SKIP' }], b.state);
  assert.deepEqual(c.effects, [{ type: 'control', input: { type: 'skip', step: 4, reason: 'KCV is read in step 5 instead' } }]);
  // when the step moved on in the meantime, nothing is skipped
  const d = run([{ type: 'key', key: 's' }, { type: 'key', key: 'enter' }, { type: 'dialog-text', value: 'why' }, rs(['finished', 'finished', 'finished', 'running', 'pending'], 3, 'running'), { type: 'dialog-text', value: 'skip' }], base);
  assert.deepEqual(d.effects, []);
  assert.match(d.state.notice!, /no longer the next step/);
  // nothing left to skip
  const last = run([rs(['finished', 'finished', 'finished', 'finished', 'running'], 4, 'running'), { type: 'key', key: 's' }]);
  assert.equal(last.state.dialog, null);
  assert.match(last.state.notice!, /no step left/);
});

test('a aborts only with a reason and the word abort; a prompt the step waits on is released', () => {
  const asking = run([running3, { type: 'ask', ask: { kind: 'secret', id: 7, who: 'bob (custodian)', title: 't', body: [], label: 'Passphrase', secretKind: 'passphrase' } }]).state;
  // the prompt has the keyboard: a does nothing until Esc sets it aside
  assert.deepEqual(run([{ type: 'key', key: 'a' }], asking).state.dialog, null);
  const aside = run([{ type: 'key', key: 'escape' }], asking).state;
  assert.equal(aside.aside, true);
  assert.equal(operatorKeysLive(aside), true);
  const a = run([{ type: 'key', key: 'a' }, { type: 'key', key: 'enter' }, { type: 'dialog-text', value: 'bob is not here' }, { type: 'dialog-text', value: 'no' }], aside);
  assert.equal(a.state.dialog?.kind, 'abort-confirm');
  assert.match((a.state.dialog as { error?: string }).error!, /type abort/);
  const b = run([{ type: 'dialog-text', value: 'abort' }], a.state);
  assert.deepEqual(b.effects, [
    { type: 'control', input: { type: 'abort', reason: 'bob is not here' } },
    { type: 'cancel-ask', reason: 'bob is not here' },
  ]);
  assert.equal(b.state.abortRequested, 'bob is not here');
  // Enter brings a set-aside prompt back
  assert.equal(run([{ type: 'key', key: 'enter' }], aside).state.aside, false);
});

test('a failed step pauses the run with its error; c retries it, s skips it', () => {
  const { state } = run([
    rs(['finished', 'finished', 'failed', 'pending', 'pending'], null, 'paused'),
    { type: 'failure', failure: { step: 3, code: 'RUN_INPUT_MISSING', message: 'cannot read alice.pbe', hint: 'bring the file' } },
  ]);
  assert.equal(skipTarget(state), 3);
  const retry = run([{ type: 'key', key: 'c' }], state);
  assert.deepEqual(retry.effects, [{ type: 'control', input: { type: 'continue' } }]);
  assert.match(retry.state.notice!, /retrying step 3/);
  assert.equal(run([running3], retry.state).state.failure, null);
  const skip = run([{ type: 'key', key: 's' }, { type: 'key', key: 'enter' }, { type: 'dialog-text', value: 'file lost' }, { type: 'dialog-text', value: 'skip' }], state);
  assert.deepEqual(skip.effects, [{ type: 'control', input: { type: 'skip', step: 3, reason: 'file lost' } }]);
  assert.equal(skip.state.failure, null);
});

test('Ctrl-C interrupts; after the end neither keys nor Ctrl-C do anything', () => {
  const a = run([running3, { type: 'interrupt' }]);
  assert.deepEqual(a.effects, [{ type: 'interrupt' }]);
  const end = { outcome: 'completed' as const, reason: null, transcript: '/t', head: 'ff'.repeat(32), fingerprint: HEADER.fingerprint, outputs: [], kcv: null, verifyCommand: 'hsm-ceremony verify /t', exitCode: 0 };
  const b = run([{ type: 'ended', end }, { type: 'key', key: 'p' }, { type: 'key', key: 'n' }, { type: 'interrupt' }], a.state);
  assert.deepEqual(b.effects, []);
  assert.equal(b.state.dialog, null);
});

test('the step window keeps the focus in view; the end record fits 80 columns', () => {
  assert.deepEqual(stepWindow(13, 0, 5), { from: 0, to: 5 });
  assert.deepEqual(stepWindow(13, 6, 5), { from: 4, to: 9 });
  assert.deepEqual(stepWindow(13, 12, 5), { from: 8, to: 13 });
  assert.deepEqual(stepWindow(4, 3, 5), { from: 0, to: 4 });
  const lines = endLines({
    outcome: 'completed',
    reason: null,
    transcript: 'ceremony-20260102-030405/transcript.jsonl',
    head: 'ab'.repeat(32),
    fingerprint: HEADER.fingerprint,
    outputs: [{ path: 'backup/key-1.bin', sha256: 'cd'.repeat(32) }],
    kcv: '9E71CFF8B24E89DC',
    verifyCommand: 'hsm-ceremony verify t.jsonl --plan p.yaml',
    exitCode: 0,
  });
  for (const l of lines) assert.ok(l.length <= 80, l);
  assert.ok(lines.includes(`chain head   ${'ab'.repeat(32)}`));
  assert.ok(lines.includes(`    SHA-256 ${'cd'.repeat(32)}`));
  assert.ok(lines.includes(`ceremony key fingerprint: ${HEADER.fingerprint}`));
});
