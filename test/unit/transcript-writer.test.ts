/**
 * The transcript writer: one canonical line per event, chained and fsync'd; never an existing
 * file; the public-data guard refuses planted secrets and leaves the file untouched.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../protocol/bytes.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity } from '../../app/transcript/event.ts';
import { verifyTranscript } from '../../app/transcript/verifier.ts';
import { GENESIS_PREV } from '../../app/transcript/chain.ts';
import { tempDir } from '../helpers/cli.ts';
import { examplePlan, seededRng, steppingClock, writeExampleTranscript } from './transcript-ceremony.ts';

const plan = planIdentity(examplePlan);
const newWriter = (path: string) => TranscriptWriter.create(path, { plan, version: '0.1.0', rng: seededRng('w'), clock: steppingClock() });
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1);

test('create writes a signed ceremony-started line 1 with prev = 64 zeros and refuses an existing file', () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  const w = newWriter(path);
  const [first] = lines(path).map((l) => JSON.parse(l));
  assert.equal(first.seq, 1);
  assert.equal(first.kind, 'ceremony-started');
  assert.equal(first.prev, GENESIS_PREV);
  assert.equal(first.time, '2026-11-28T09:00:00.000Z');
  assert.deepEqual(first.actor, { role: 'tool', name: null });
  assert.equal(first.data.publicKey, w.publicKeyHex);
  assert.match(first.data.signature, /^[0-9a-f]{128}$/);
  assert.equal(first.data.plan.sha256, examplePlan.sha256);
  assert.match(w.fingerprint, /^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
  w.close();
  const before = readFileSync(path);
  assert.throws(() => newWriter(path), (e: unknown) => e instanceof CeremonyError && e.code === 'OUTPUT_EXISTS' && e.exitCode === 2);
  assert.deepEqual(readFileSync(path), before);
});

test('each append is one line whose prev is the SHA-256 of the line before, and is fsynced before append returns', () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  const w = newWriter(path);
  const fsync = mock.method(fs, 'fsyncSync');
  syncBuiltinESMExports();
  try {
    for (let i = 0; i < 5; i++) {
      const calls = fsync.mock.callCount();
      const e = w.append({ kind: 'note', actor: { role: 'operator', name: 'oscar' }, step: null, data: { text: `note ${i}` } });
      assert.ok(fsync.mock.callCount() > calls, 'fsync after the write');
      const ls = lines(path);
      assert.equal(ls.length, e.seq);
      assert.equal(e.prev, toHex(sha256(new TextEncoder().encode(ls[ls.length - 2]!))));
      assert.equal(w.head, toHex(sha256(new TextEncoder().encode(ls[ls.length - 1]!))));
    }
  } finally {
    fsync.mock.restore();
    syncBuiltinESMExports();
  }
  w.finish();
  // intact, but a completed ceremony whose plan steps never ran does not verify
  const r = verifyTranscript(new Uint8Array(readFileSync(path)));
  assert.equal(r.failure?.code, 'STEP_MISSING');
  assert.equal(r.failure?.line, 7);
  assert.match(r.failure!.reason, /^step 1 \(initialize\) never ran, and no skip reason or note explains it$/);
});

test('step-finished is signed by the writer; writer-only kinds and caller signatures are refused', () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  const w = newWriter(path);
  w.append({ kind: 'step-started', actor: { role: 'operator', name: 'oscar' }, step: 1, data: { kind: 'initialize' } });
  const f = w.append({ kind: 'step-finished', actor: { role: 'operator', name: 'oscar' }, step: 1, data: { kind: 'initialize' } });
  assert.match(String(f.data.signature), /^[0-9a-f]{128}$/);
  assert.throws(() => w.append({ kind: 'ceremony-finished', data: { outcome: 'completed' } }), TypeError);
  assert.throws(() => w.append({ kind: 'resumed', data: {} }), TypeError);
  assert.throws(() => w.append({ kind: 'step-finished', step: 1, data: { kind: 'initialize', signature: 'ab' } }), TypeError);
  w.finish({ outcome: 'aborted', reason: 'test' });
  assert.throws(() => w.append({ kind: 'note', data: { text: 'late' } }), TypeError);
  assert.equal(verifyTranscript(new Uint8Array(readFileSync(path))).status, 'aborted');
});

test('planted secrets are refused before anything is written, and never appear in the error or the file', () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  const w = newWriter(path);
  const PASS = 'correct-horse-battery-staple';
  const PIN = '918273';
  const SHARE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
  const attempts: { kind: Parameters<TranscriptWriter['append']>[0]['kind']; data: Record<string, unknown>; actor?: { role: 'custodian'; name: string } }[] = [
    { kind: 'note', data: { text: 'x', pin: PIN } },
    { kind: 'note', data: { text: 'x', soPin: PIN } },
    { kind: 'note', data: { text: 'x', passphrase: PASS } },
    { kind: 'note', data: { text: 'x', password: PASS } },
    { kind: 'note', data: { text: 'x', secret: PASS } },
    { kind: 'note', data: { text: 'x', shareValue: toHex(SHARE) } },
    { kind: 'note', data: { text: 'x', dkek: toHex(SHARE) } },
    { kind: 'note', data: { text: 'x', key: toHex(SHARE) } },
    { kind: 'note', data: { text: 'x', privateKey: toHex(SHARE) } },
    { kind: 'note', data: { text: 'x', nested: { deeper: [{ user_pin: PIN }] } } },
    { kind: 'note', data: { text: SHARE } },
    { kind: 'note', data: { text: 'x', share: Buffer.from(SHARE) } },
    { kind: 'note', data: { text: 'x', list: [1, SHARE.buffer] } },
    { kind: 'note', data: { text: 'x', view: new DataView(SHARE.buffer) } },
    { kind: 'note', data: { text: 'x', words: new Uint16Array(4) } },
    { kind: 'share-imported', actor: { role: 'custodian', name: 'alice' }, data: { file: 'a.pbe', fingerprint: '0000 1111 2222 3333', imported: 1, total: 3, outstanding: 2, shareHex: toHex(SHARE) } },
    { kind: 'card-status', data: { sw: '9000', swName: 'OK', apdu: `80500000${toHex(SHARE)}` } },
    { kind: 'note', data: { text: 'x', when: new Date() } },
    { kind: 'note', data: { text: 'x', f: () => PASS } },
  ];
  const before = readFileSync(path);
  for (const a of attempts) {
    let err: unknown;
    try {
      w.append({ kind: a.kind, actor: a.actor ?? { role: 'operator', name: 'oscar' }, data: a.data });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CeremonyError, `refused: ${JSON.stringify(Object.keys(a.data))}`);
    assert.equal(err.code, 'TRANSCRIPT_REFUSED');
    assert.equal(err.kind, 'bug');
    for (const needle of [PASS, PIN, toHex(SHARE)]) assert.ok(!err.message.includes(needle), `error quotes a secret: ${err.message}`);
    assert.deepEqual(readFileSync(path), before, 'nothing written');
  }
  // the writer still works afterwards, and the file never saw a secret
  w.append({ kind: 'note', actor: { role: 'operator', name: 'oscar' }, data: { text: 'after the refusals' } });
  w.finish();
  const text = readFileSync(path, 'utf8');
  for (const needle of [PASS, PIN, toHex(SHARE), toHex(SHARE).toUpperCase()]) assert.ok(!text.includes(needle));
});

test('events that do not fit their kind are refused: unknown fields, bad values, a step outside the plan, an unnamed person', () => {
  const dir = tempDir();
  const path = join(dir, 't.jsonl');
  const w = newWriter(path);
  const op = { role: 'operator' as const, name: 'oscar' };
  const refused = (e: Parameters<TranscriptWriter['append']>[0], re: RegExp) =>
    assert.throws(() => w.append(e), (err: unknown) => err instanceof CeremonyError && err.code === 'TRANSCRIPT_REFUSED' && re.test(err.message));
  refused({ kind: 'note', actor: op, data: { text: 'x', extra: 1 } }, /data\.extra: a field this format does not define/);
  refused({ kind: 'kcv-read', actor: op, data: { kcv: '1d1083e78237e99d' } }, /data\.kcv: must be a KCV/);
  refused({ kind: 'note', actor: op, step: 14, data: { text: 'x' } }, /step 14: the plan has steps 1 to 13/);
  refused({ kind: 'sign-off', data: { statement: 's', accepted: true } }, /actor: a sign-off event is caused by a named person/);
  refused({ kind: 'note', actor: { role: 'custodian', name: null }, data: { text: 'x' } }, /actor/);
  w.close();
});

test('the same inputs give the same bytes: a deterministic rng and clock make a reproducible transcript', () => {
  const dir = tempDir();
  writeExampleTranscript(join(dir, 'a.jsonl'));
  writeExampleTranscript(join(dir, 'b.jsonl'));
  assert.deepEqual(readFileSync(join(dir, 'a.jsonl')), readFileSync(join(dir, 'b.jsonl')));
  writeExampleTranscript(join(dir, 'c.jsonl'), { seed: 'other' });
  assert.notDeepEqual(readFileSync(join(dir, 'a.jsonl')), readFileSync(join(dir, 'c.jsonl')));
});

test('a transcript name that cannot be created is a usage error', () => {
  assert.throws(() => newWriter('/nonexistent-dir/t.jsonl'), (e: unknown) => e instanceof CeremonyError && e.code === 'TRANSCRIPT_UNWRITABLE');
});
