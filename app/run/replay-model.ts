/**
 * What the coordinator's screen showed at each moment of a recorded ceremony, rebuilt from its
 * transcript (docs/transcript-format.md §7) for `hsm-ceremony replay`: the run view's header (plan
 * name and SHA-256, device, REHEARSAL, RESUMED after a restart, the ceremony key fingerprint in
 * force, the KCV), the script with each step's state, the step that was running, the lines the run
 * printed (the live run view prints the same `eventLine`s) and the files written. Pure: the view
 * (app/ui/plan/ReplayView.tsx) and the text output only read it.
 *
 * Also the comparison behind `replay --against simulator`: the public results of a re-execution
 * (status words, counts, KCVs, share fingerprints) must equal the recorded ones, event by event.
 */
import type { StepKind } from '../plan/plan-schema.ts';
import { keyFingerprint } from '../transcript/ceremony-key.ts';
import { fromHex } from '../../protocol/bytes.ts';
import { canonicalJson } from '../transcript/canonical-json.ts';
import { lineHash } from '../transcript/chain.ts';
import type { TranscriptEvent } from '../transcript/event.ts';
import type { StepState } from './run-machine.ts';

/** The screen after one event. */
export interface ReplayFrame {
  /** index into the events */
  index: number;
  event: TranscriptEvent;
  steps: StepState[];
  /** 0-based index of the running step, or null */
  current: number | null;
  /** the ceremony key fingerprint in force */
  fingerprint: string | null;
  /** the DKEK's key check value last read or recorded with a backup, as the run view's header showed it */
  kcv: string | null;
  /** a `resumed` event came before: the run view showed RESUMED with the new key */
  resumed: boolean;
  /** the files written so far (a path written again keeps its last hash) */
  outputs: { path: string; sha256: string }[];
  /** the line this event adds to the log */
  line: string;
}

export interface ReplayModel {
  name: string;
  /** the plan file's SHA-256 (hex) as recorded */
  planSha256: string;
  /** the device as the run view's header named it: reader, and serial when known */
  device: string;
  kinds: StepKind[];
  rehearsal: boolean;
  frames: ReplayFrame[];
}

function who(e: TranscriptEvent): string {
  return e.actor.name ?? (e.actor.role === 'tool' ? 'hsm-ceremony' : e.actor.role);
}

/** One line of text describing an event, as the run printed it. */
export function eventLine(e: TranscriptEvent, kinds: readonly StepKind[]): string {
  const d = e.data as Record<string, unknown>;
  const t = e.time.slice(11, 19);
  const s = e.step !== null ? `[${e.step}/${kinds.length}] ` : '';
  switch (e.kind) {
    case 'ceremony-started':
      return `${t} ceremony started${d.rehearsal ? ' (REHEARSAL)' : ''}; plan SHA-256 ${(d.plan as { sha256: string }).sha256}`;
    case 'resumed':
      return `${t} RESUMED after a restart: a new ceremony key`;
    case 'step-started':
      return `${t} ${s}${String(d.kind)} started`;
    case 'step-finished':
      return `${t} ${s}${String(d.kind)} finished (signed)`;
    case 'step-skipped':
      return `${t} ${s}${String(d.kind)} SKIPPED: ${String(d.reason)}`;
    case 'step-failed':
      return `${t} ${s}${String(d.kind)} FAILED: ${String(d.code)}: ${String(d.message)}`;
    case 'card-status':
      return `${t} ${s}card: ${d.command ? `${String(d.command)} ` : ''}${String(d.sw)} ${String(d.swName)}${d.dkekOutstanding !== undefined ? `, ${String(d.dkekOutstanding)} share(s) outstanding` : ''}${d.kcv ? `, KCV ${String(d.kcv)}` : ''}`;
    case 'share-imported':
      return `${t} ${s}${who(e)}: ${String(d.file)} imported (${String(d.fingerprint)}), ${String(d.imported)} of ${String(d.total)}`;
    case 'kcv-read':
      return `${t} ${s}KCV ${String(d.kcv)}${d.expected ? (d.match ? ' = expected' : ` ≠ expected ${String(d.expected)}`) : ' (recorded)'}`;
    case 'file-written':
      return `${t} ${s}wrote ${String(d.path)} (${String(d.bytes)} bytes, SHA-256 ${String(d.sha256).slice(0, 16)}…)`;
    case 'custodian-joined':
      return `${t} ${who(e)} (${e.actor.role}) joined`;
    case 'custodian-left':
      return `${t} ${who(e)} (${e.actor.role}) left`;
    case 'sas-compared':
      return `${t} ${who(e)} compared the SAS: ${d.match ? 'match' : 'MISMATCH'}`;
    case 'join-code-issued':
      return `${t} ${who(e)}: join code ${String(d.generation)} shown for slot ${String(d.slot)}`;
    case 'participant-request':
      return `${t} ${s}${who(e)}: ${String(d.what)} request ${String(d.state)}${d.code ? ` (${String(d.code)})` : ''}`;
    case 'note':
      return `${t} ${s}NOTE by ${who(e)}: ${String(d.text)}`;
    case 'sign-off':
      return `${t} ${s}${who(e)} ${d.accepted ? 'SIGNS OFF' : 'DECLINES'}: "${String(d.statement)}"`;
    case 'ceremony-finished':
      return `${t} ceremony ${String(d.outcome).toUpperCase()}${d.reason ? `: ${String(d.reason)}` : ''}`;
  }
}

/** Builds the frames of a transcript whose events already verified (or verified up to a cut). */
export function buildReplay(events: readonly TranscriptEvent[]): ReplayModel {
  const first = events[0];
  if (!first || first.kind !== 'ceremony-started') throw new RangeError('events must start with ceremony-started');
  const plan = first.data.plan as { name: string; sha256: string; steps: StepKind[] };
  const dev = first.data.device as { reader: string; serial: string | null } | null;
  const kinds = plan.steps;
  let steps: StepState[] = kinds.map(() => 'pending');
  let current: number | null = null;
  let fingerprint: string | null = null;
  let kcv: string | null = null;
  let resumed = false;
  let outputs: { path: string; sha256: string }[] = [];
  const frames: ReplayFrame[] = [];
  events.forEach((e, index) => {
    const d = e.data as Record<string, unknown>;
    const i = e.step !== null ? e.step - 1 : -1;
    steps = steps.slice();
    if (e.kind === 'ceremony-started' || e.kind === 'resumed') fingerprint = keyFingerprint(fromHex(String(d.publicKey)));
    if (e.kind === 'resumed') resumed = true;
    if (e.kind === 'step-started') {
      steps[i] = 'running';
      current = i;
    } else if (e.kind === 'step-finished' || e.kind === 'step-skipped' || e.kind === 'step-failed') {
      steps[i] = e.kind === 'step-finished' ? 'finished' : e.kind === 'step-skipped' ? 'skipped' : 'failed';
      if (current === i) current = null;
    } else if (e.kind === 'kcv-read') kcv = String(d.kcv);
    else if (e.kind === 'file-written') {
      // as the run view: the output list, and a backup's KCV
      outputs = [...outputs.filter((o) => o.path !== d.path), { path: String(d.path), sha256: String(d.sha256) }];
      if (typeof d.kcv === 'string') kcv = d.kcv;
    }
    frames.push({ index, event: e, steps, current, fingerprint, kcv, resumed, outputs, line: eventLine(e, kinds) });
  });
  return {
    name: plan.name,
    planSha256: plan.sha256,
    device: dev ? `${dev.reader}${dev.serial ? `, serial ${dev.serial}` : ''}` : 'unknown',
    kinds,
    rehearsal: first.data.rehearsal === true,
    frames,
  };
}

/**
 * The chain head after a frame: the SHA-256 of its event's line (docs/transcript-format.md §4). A
 * verified transcript's lines are canonical JSON, so the event's canonical encoding is that line.
 */
export function frameHead(f: ReplayFrame): string {
  return lineHash(new TextEncoder().encode(canonicalJson(f.event)));
}

/** Index of the frame where the next (dir 1) or previous (dir -1) step starts, from `at`. */
export function stepJump(m: ReplayModel, at: number, dir: 1 | -1): number {
  const isStart = (f: ReplayFrame) => f.event.kind === 'step-started' || f.event.kind === 'ceremony-finished' || f.event.kind === 'resumed';
  for (let i = at + dir; i >= 0 && i < m.frames.length; i += dir) if (isStart(m.frames[i]!)) return i;
  return dir === 1 ? m.frames.length - 1 : 0;
}

/** The public results a re-execution must reproduce: per kind, the fields compared. */
const COMPARED: Partial<Record<TranscriptEvent['kind'], readonly string[]>> = {
  'card-status': ['sw', 'swName', 'command', 'dkekShares', 'dkekOutstanding', 'kcv', 'keys'],
  'share-imported': ['file', 'fingerprint', 'imported', 'total', 'outstanding'],
  'kcv-read': ['kcv', 'expected', 'match'],
  'file-written': ['path', 'kcv', 'keyRef'],
  'sign-off': ['accepted'],
};

export interface PublicResult {
  step: number | null;
  kind: TranscriptEvent['kind'];
  fields: Record<string, unknown>;
  /** transcript line, for recorded results */
  line?: number;
}

/** The comparable results of a list of events (a transcript, or a re-execution's records). */
export function publicResults(events: readonly { kind: TranscriptEvent['kind']; step?: number | null; data?: Record<string, unknown>; seq?: number }[]): PublicResult[] {
  const out: PublicResult[] = [];
  for (const e of events) {
    const fields = COMPARED[e.kind];
    if (!fields) continue;
    const d = e.data ?? {};
    const picked: Record<string, unknown> = {};
    for (const f of fields) if (d[f] !== undefined) picked[f] = d[f];
    out.push({ step: e.step ?? null, kind: e.kind, fields: picked, ...(e.seq !== undefined ? { line: e.seq } : {}) });
  }
  return out;
}

/** The first difference between recorded and replayed results, as a sentence, or null. */
export function firstDifference(recorded: readonly PublicResult[], replayed: readonly PublicResult[]): string | null {
  const n = Math.max(recorded.length, replayed.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i];
    const b = replayed[i];
    if (!a) return `the replay produced an extra ${b!.kind} at step ${String(b!.step)} that the transcript does not record`;
    if (!b) return `line ${String(a.line)}: the transcript records a ${a.kind} at step ${String(a.step)} that the replay did not produce`;
    if (a.kind !== b.kind || a.step !== b.step) return `line ${String(a.line)}: the transcript records ${a.kind} at step ${String(a.step)}, the replay produced ${b.kind} at step ${String(b.step)}`;
    const keys = new Set([...Object.keys(a.fields), ...Object.keys(b.fields)]);
    for (const k of keys) {
      if (JSON.stringify(a.fields[k]) !== JSON.stringify(b.fields[k])) {
        return `line ${String(a.line)}: step ${String(a.step)} ${a.kind} ${k}: recorded ${JSON.stringify(a.fields[k])}, replayed ${JSON.stringify(b.fields[k])}`;
      }
    }
  }
  return null;
}
