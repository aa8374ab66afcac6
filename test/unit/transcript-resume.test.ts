/**
 * A crash mid-ceremony (a child process writing events, killed with SIGKILL) leaves a transcript
 * that verifies up to the crash; resume verifies it, makes a new key, links a signed `resumed`
 * event to the old head, and the finished transcript verifies with both keys pinned. A torn last
 * line is cut and accounted for. Resume refuses what it must not continue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity } from '../../app/transcript/event.ts';
import { verifyTranscript } from '../../app/transcript/verifier.ts';
import { parsePinnedKey } from '../../app/transcript/ceremony-key.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import { tempDir } from '../helpers/cli.ts';
import { examplePlan, exampleEvents, seededRng, steppingClock, writeExampleTranscript } from './transcript-ceremony.ts';

const CHILD = new URL('./transcript-crash-writer.ts', import.meta.url).pathname;

/** Runs the child writer until it has written at least `min` events, then kills it with SIGKILL. */
function crashAfter(path: string, min: number): Promise<{ key: string; lastSeen: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let key = '';
    let lastSeen = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (line.startsWith('key ')) key = line.slice(4);
        if (line.startsWith('seq ')) lastSeen = Math.max(lastSeen, Number(line.slice(4)));
      }
      if (lastSeen >= min && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve({ key, lastSeen }) : reject(new Error(`child exited without being killed (${signal})`))));
    child.on('error', reject);
  });
}

test('a killed writer leaves a transcript that verifies up to the crash; resume continues it to a verified end', async () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  const { key: oldKey, lastSeen } = await crashAfter(path, 20);

  // after the crash: incomplete, everything reported written is there and verifies
  const before = verifyTranscript(new Uint8Array(readFileSync(path)));
  assert.equal(before.status, 'incomplete', before.failure?.reason);
  assert.ok(before.checkedLines >= lastSeen, `${before.checkedLines} lines verify, ${lastSeen} were reported fsynced`);
  assert.equal(before.currentKey, oldKey);

  // resume: a new key, a signed resumed event linked to the old head
  const w = TranscriptWriter.resume(path, { plan: planIdentity(examplePlan), rng: seededRng('after-crash'), clock: steppingClock('2026-11-28T10:00:00.000Z'), reason: 'coordinator laptop lost power' });
  assert.notEqual(w.publicKeyHex, oldKey);
  const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
  const resumed = JSON.parse(lines[lines.length - 1]!);
  assert.equal(resumed.kind, 'resumed');
  assert.equal(resumed.seq, before.checkedLines + 1);
  assert.equal(resumed.prev, before.head);
  assert.equal(resumed.data.previousKey, oldKey);
  assert.equal(resumed.data.afterSeq, before.checkedLines);
  assert.equal(resumed.data.reason, 'coordinator laptop lost power');

  // the rest of the ceremony: restart the step that was running, then carry on
  const events = exampleEvents();
  const done = before.checkedLines - 1; // events appended before the crash (line 1 is ceremony-started)
  const running = before.summary.steps.find((s) => s.status === 'running');
  let rest = events.slice(done);
  if (running) rest = [...events.filter((e) => e.kind === 'step-started' && e.step === running.step), ...rest.filter((e) => !(e.kind === 'step-started' && e.step === running.step))];
  for (const e of rest) w.append(e);
  w.finish();

  const r = verifyTranscript(new Uint8Array(readFileSync(path)), { plan: { sha256: examplePlan.sha256, plan: examplePlan.plan }, pinnedKeys: [parsePinnedKey(oldKey), parsePinnedKey(w.publicKeyHex)] });
  assert.equal(r.status, 'verified', r.failure?.reason);
  assert.equal(r.authenticity, 'pinned');
  assert.deepEqual(r.keys.map((k) => k.introducedBy), ['ceremony-started', 'resumed']);
  assert.ok(r.summary.deviations.some((d) => d.kind === 'resumed'));
  // pinning only the first key catches the key change at the resumed line
  const onlyOld = verifyTranscript(new Uint8Array(readFileSync(path)), { pinnedKeys: [parsePinnedKey(oldKey)] });
  assert.equal(onlyOld.failure?.code, 'KEY_NOT_PINNED');
  assert.equal(onlyOld.failure?.line, resumed.seq);
});

test('a torn last line (an event in flight) is cut on resume, its length and hash recorded', () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  writeExampleTranscript(path, { stopAfter: 12 });
  const torn = '{"actor":{"name":"oscar","role":"operator"},"data":{"kind":"initi';
  appendFileSync(path, torn);
  const cut = verifyTranscript(new Uint8Array(readFileSync(path)));
  assert.equal(cut.status, 'incomplete');
  assert.equal(cut.tailBytes, torn.length);
  const w = TranscriptWriter.resume(path, { rng: seededRng('r') });
  w.close();
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes(torn));
  const resumed = JSON.parse(text.split('\n').slice(0, -1).pop()!);
  assert.deepEqual(resumed.data.discardedTail, { bytes: torn.length, sha256: createHash('sha256').update(torn).digest('hex') });
  const after = verifyTranscript(new Uint8Array(readFileSync(path)));
  assert.equal(after.status, 'incomplete');
  assert.equal(after.failure, null);
  assert.equal(after.tailBytes, 0);
  assert.ok(after.summary.deviations.some((d) => /an unfinished line of \d+ bytes was discarded/.test(d.text)));
});

test('resume refuses a finished transcript, a tampered one, another plan, and an empty file', () => {
  const dir = tempDir();
  const code = (f: () => unknown) => {
    try {
      f();
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof CeremonyError);
      return e.code;
    }
  };
  const done = join(dir, 'done.jsonl');
  writeExampleTranscript(done);
  const doneBytes = readFileSync(done);
  assert.equal(code(() => TranscriptWriter.resume(done)), 'TRANSCRIPT_FINISHED');
  assert.deepEqual(readFileSync(done), doneBytes, 'untouched');

  const tampered = join(dir, 'tampered.jsonl');
  writeExampleTranscript(tampered, { stopAfter: 10 });
  writeFileSync(tampered, readFileSync(tampered, 'utf8').replace('"slot":"alice"', '"slot":"alicf"'));
  const t = readFileSync(tampered);
  assert.equal(code(() => TranscriptWriter.resume(tampered)), 'TRANSCRIPT_INVALID');
  assert.deepEqual(readFileSync(tampered), t, 'untouched');

  const partial = join(dir, 'partial.jsonl');
  writeExampleTranscript(partial, { stopAfter: 10 });
  const other = { ...planIdentity(examplePlan), sha256: 'ab'.repeat(32) };
  assert.equal(code(() => TranscriptWriter.resume(partial, { plan: other })), 'PLAN_MISMATCH');

  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '{"actor":');
  assert.equal(code(() => TranscriptWriter.resume(empty)), 'TRANSCRIPT_EMPTY');
  assert.equal(code(() => TranscriptWriter.resume(join(dir, 'missing.jsonl'))), 'TRANSCRIPT_UNREADABLE');
});
