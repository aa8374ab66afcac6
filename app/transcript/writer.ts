/**
 * Writes a transcript as the ceremony happens (docs/transcript-format.md): one canonical JSON line
 * per event, appended and fsync'd before `append` returns, so a crash loses at most the event in
 * flight. The ceremony key is made here, lives only in this object, and signs `ceremony-started`,
 * every `step-finished`, `resumed` and `ceremony-finished`.
 *
 * `create` refuses an existing file. `resume` continues a transcript after a crash: it verifies
 * what is there (with the verifier auditors use), cuts off an unfinished last line (recording its
 * length and hash), makes a NEW key — the old one died with the crashed process — and appends a
 * signed `resumed` event chained to the old head.
 *
 * Everything is synchronous on purpose: an event is on disk, or the call threw. One process writes
 * a transcript at a time.
 */
import { closeSync, fsyncSync, openSync, readFileSync, ftruncateSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../protocol/bytes.ts';
import { CeremonyError, checkFailed, usageError } from '../../protocol/errors.ts';
import { canonicalJson, type JsonValue } from './canonical-json.ts';
import { GENESIS_PREV, lineHash } from './chain.ts';
import { CeremonyKey, signingInput, type Rng } from './ceremony-key.ts';
import { eventProblem, SIGNED_KINDS, TRANSCRIPT_FORMAT, WRITER_KINDS, type Actor, type DeviceInfo, type EventKind, type PlanIdentity, type TranscriptEvent } from './event.ts';
import { assertPublicData } from './public-data-guard.ts';
import { verifyTranscript } from './verifier.ts';

export type Clock = () => Date;

export interface CreateOptions {
  /** the plan being run (planIdentity(parsedPlan)) */
  plan: PlanIdentity;
  /** hsm-ceremony's version (app/version.ts) */
  version: string;
  /** randomness for the ceremony key; default crypto.getRandomValues */
  rng?: Rng;
  /** time source; default `() => new Date()` */
  clock?: Clock;
  /** the device, when known at the start */
  device?: DeviceInfo | null;
  /** true for `--rehearse` runs */
  rehearsal?: boolean;
  /** the simulator's seed in a rehearsal (hex), so the run can be replayed */
  simulatorSeed?: string;
}

export interface ResumeOptions {
  /** when given, the transcript's plan hash must be this plan's */
  plan?: PlanIdentity;
  rng?: Rng;
  clock?: Clock;
  /** why the ceremony was restarted, as the operator tells it (public text) */
  reason?: string;
}

/** What `append` takes; seq, time and prev are the writer's. */
export interface AppendEvent {
  kind: EventKind;
  /** default: the tool */
  actor?: Actor;
  /** 1-based plan step, or null (default) */
  step?: number | null;
  data?: Record<string, unknown>;
}

const defaultClock: Clock = () => new Date();
const TOOL: Actor = { role: 'tool', name: null };

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

function fsyncDir(path: string): void {
  try {
    const d = openSync(dirname(path), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // best effort: not every file system can sync a directory
  }
}

export class TranscriptWriter {
  readonly path: string;
  #fd: number | null;
  #key: CeremonyKey;
  #seq: number;
  #head: string;
  #steps: number;
  #clock: Clock;
  #broken = false;

  private constructor(path: string, fd: number, key: CeremonyKey, seq: number, head: string, steps: number, clock: Clock) {
    this.path = path;
    this.#fd = fd;
    this.#key = key;
    this.#seq = seq;
    this.#head = head;
    this.#steps = steps;
    this.#clock = clock;
  }

  /**
   * Starts a new transcript at `path` and writes its signed `ceremony-started` event.
   *
   * @throws CeremonyError usage OUTPUT_EXISTS if the file exists (a transcript is never overwritten)
   * @throws CeremonyError usage TRANSCRIPT_UNWRITABLE if it cannot be created
   */
  static create(path: string, o: CreateOptions): TranscriptWriter {
    let fd: number;
    try {
      fd = openSync(path, 'ax', 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw usageError('OUTPUT_EXISTS', `${path} already exists and will not be overwritten`, {
          hint: 'choose another transcript name, or continue that ceremony with resume',
        });
      }
      throw usageError('TRANSCRIPT_UNWRITABLE', `cannot create the transcript ${path}: ${code ?? 'error'}`, { hint: 'check that the folder exists and is writable' });
    }
    fsyncDir(path);
    const key = CeremonyKey.generate(o.rng);
    const w = new TranscriptWriter(path, fd, key, 0, GENESIS_PREV, o.plan.steps.length, o.clock ?? defaultClock);
    const data: Record<string, unknown> = {
      format: TRANSCRIPT_FORMAT,
      tool: { name: 'hsm-ceremony', version: o.version },
      plan: o.plan,
      rehearsal: o.rehearsal ?? false,
      device: o.device ?? null,
      publicKey: key.publicKeyHex,
    };
    if (o.simulatorSeed !== undefined) data.simulatorSeed = o.simulatorSeed;
    try {
      w.#write({ kind: 'ceremony-started', actor: TOOL, step: null, data });
    } catch (e) {
      w.close();
      throw e;
    }
    return w;
  }

  /**
   * Continues a transcript after a crash: verifies it, cuts an unfinished last line, makes a new
   * ceremony key and appends a signed `resumed` event linked to the old chain head.
   *
   * @throws CeremonyError usage TRANSCRIPT_UNREADABLE, TRANSCRIPT_EMPTY, TRANSCRIPT_FINISHED, PLAN_MISMATCH
   * @throws CeremonyError check TRANSCRIPT_INVALID if what is there does not verify (line and why)
   */
  static resume(path: string, o: ResumeOptions = {}): TranscriptWriter {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw usageError('TRANSCRIPT_UNREADABLE', `cannot read the transcript ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check the path' });
    }
    const report = verifyTranscript(bytes);
    if (report.failure) {
      throw checkFailed('TRANSCRIPT_INVALID', `${path}: line ${report.failure.line}: ${report.failure.reason}`, {
        hint: 'a transcript that does not verify cannot be continued; keep it as evidence and start a new one',
        detail: { failure: report.failure },
      });
    }
    if (report.checkedLines === 0 || report.currentKey === null || report.summary.plan === null) {
      throw usageError('TRANSCRIPT_EMPTY', `${path} holds no complete event, so there is nothing to continue`, { hint: 'move it away and start the ceremony again' });
    }
    if (report.status !== 'incomplete') {
      throw usageError('TRANSCRIPT_FINISHED', `${path} already ends with ceremony-finished; nothing to resume`, { hint: 'a finished transcript is closed for good; start a new one' });
    }
    if (o.plan && o.plan.sha256 !== report.summary.plan.sha256) {
      throw usageError('PLAN_MISMATCH', `${path} records plan SHA-256 ${report.summary.plan.sha256}, not the plan given (${o.plan.sha256})`, {
        hint: 'resume with the same plan file the ceremony started with',
      });
    }
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (e) {
      throw usageError('TRANSCRIPT_UNWRITABLE', `cannot open the transcript ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check its permissions' });
    }
    let discardedTail: { bytes: number; sha256: string } | null = null;
    try {
      if (report.tailBytes > 0) {
        discardedTail = { bytes: report.tailBytes, sha256: toHex(sha256(bytes.subarray(report.completeLength))) };
        ftruncateSync(fd, report.completeLength);
        fsyncSync(fd);
      }
      closeSync(fd);
      fd = openSync(path, 'a');
    } catch (e) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      throw usageError('TRANSCRIPT_UNWRITABLE', `cannot continue the transcript ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const key = CeremonyKey.generate(o.rng);
    const w = new TranscriptWriter(path, fd, key, report.checkedLines, report.head, report.summary.plan.steps.length, o.clock ?? defaultClock);
    const data: Record<string, unknown> = {
      publicKey: key.publicKeyHex,
      previousKey: report.currentKey,
      afterSeq: report.checkedLines,
      discardedTail,
    };
    if (o.reason !== undefined) data.reason = o.reason;
    try {
      w.#write({ kind: 'resumed', actor: TOOL, step: null, data });
    } catch (e) {
      w.close();
      throw e;
    }
    return w;
  }

  /** The current ceremony public key (a copy). */
  get publicKey(): Uint8Array {
    return this.#key.publicKey.slice();
  }

  get publicKeyHex(): string {
    return this.#key.publicKeyHex;
  }

  /** The fingerprint to show on every screen and print on the record. */
  get fingerprint(): string {
    return this.#key.fingerprint;
  }

  /** seq of the last event written (= its line number). */
  get seq(): number {
    return this.#seq;
  }

  /** SHA-256 of the last line written: the chain head. */
  get head(): string {
    return this.#head;
  }

  /** True once finish() or close() ran, or a write failed. */
  get closed(): boolean {
    return this.#fd === null;
  }

  /**
   * Appends one event and fsyncs it. `step-finished` events are signed here (give no signature).
   *
   * @returns the event as written
   * @throws {TypeError} for a kind only the writer makes (ceremony-started, resumed,
   *   ceremony-finished) or after the transcript was closed
   * @throws CeremonyError bug TRANSCRIPT_REFUSED for data that is not public (bytes, secret-named
   *   fields) or does not fit the kind's schema; nothing is written
   * @throws CeremonyError incomplete TRANSCRIPT_WRITE_FAILED if the disk refuses the write
   */
  append(event: AppendEvent): TranscriptEvent {
    if (event === null || typeof event !== 'object') throw new TypeError('event must be an object');
    if (WRITER_KINDS.has(event.kind)) throw new TypeError(`${event.kind} events are written by the writer itself (create, resume, finish)`);
    const data = event.data ?? {};
    if (SIGNED_KINDS.has(event.kind) && 'signature' in data) throw new TypeError('the writer signs step-finished itself; give no signature');
    return this.#write({ kind: event.kind, actor: event.actor ?? TOOL, step: event.step ?? null, data });
  }

  /**
   * Writes the signed `ceremony-finished` event, closes the file and destroys the key.
   *
   * @param o `outcome` (default completed) and, for an abort, the reason
   */
  finish(o: { outcome?: 'completed' | 'aborted'; reason?: string } = {}): TranscriptEvent {
    const data: Record<string, unknown> = { outcome: o.outcome ?? 'completed' };
    if (o.reason !== undefined) data.reason = o.reason;
    const e = this.#write({ kind: 'ceremony-finished', actor: TOOL, step: null, data });
    this.close();
    return e;
  }

  /** Closes without finishing (the transcript stays incomplete) and destroys the key. */
  close(): void {
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        // nothing more to do
      }
      this.#fd = null;
    }
    this.#key.destroy();
  }

  #write(e: { kind: EventKind; actor: Actor; step: number | null; data: Record<string, unknown> }): TranscriptEvent {
    if (this.#fd === null || this.#broken) throw new TypeError('the transcript is closed');
    assertPublicData(e.data);
    assertPublicData(e.actor, 'actor');
    if (e.step !== null && (!Number.isInteger(e.step) || e.step < 1 || e.step > this.#steps)) {
      throw new CeremonyError('bug', 'TRANSCRIPT_REFUSED', `the transcript refused step ${String(e.step)}: the plan has steps 1 to ${this.#steps}`);
    }
    const time = this.#clock().toISOString();
    const event: TranscriptEvent = {
      seq: this.#seq + 1,
      time,
      actor: { role: e.actor.role, name: e.actor.name },
      step: e.step,
      kind: e.kind,
      data: { ...(e.data as Record<string, JsonValue>) },
      prev: this.#head,
    };
    if (SIGNED_KINDS.has(e.kind)) {
      event.data.signature = toHex(this.#key.sign(signingInput(event)));
    }
    const problem = eventProblem(event);
    if (problem) {
      throw new CeremonyError('bug', 'TRANSCRIPT_REFUSED', `the transcript refused a ${e.kind} event: ${problem}`, {
        hint: 'this is a bug in the caller; nothing was written',
      });
    }
    const line = canonicalJson(event);
    const lineBytes = utf8(line);
    try {
      writeAll(this.#fd, utf8(`${line}\n`));
      fsyncSync(this.#fd);
    } catch (err) {
      this.#broken = true;
      throw new CeremonyError('incomplete', 'TRANSCRIPT_WRITE_FAILED', `cannot write to the transcript ${this.path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
        hint: 'free space or fix the disk, then continue the ceremony with resume (the transcript keeps every event before this one)',
      });
    }
    this.#seq = event.seq;
    this.#head = lineHash(lineBytes);
    return event;
  }
}

/** True if a transcript file exists at `path` (for callers choosing create or resume). */
export function transcriptExists(path: string): boolean {
  return existsSync(path);
}
