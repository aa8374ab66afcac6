/**
 * The terminal run view of `hsm-ceremony run PLAN` as a pure reducer: `(state, event) → {state,
 * effects}`. It holds only public things — the plan's step states (from the step machine,
 * app/run/run-machine.ts), the transcript events as text lines, the prompt that is waiting for
 * someone (its wording, never what is typed), the operator's open dialog, the last failure, and
 * the end record. Typed secrets go from the input component straight to whoever asked
 * (tty-run-secrets.ts) and never through here.
 *
 * Operator controls (docs/user-guide.md, "Running on a terminal"):
 * - p pause: asks the runner to stop before the next step starts (a running step is never cut);
 * - c or Enter continue a paused run (after a failure: retry the failed step);
 * - n a deviation note: public text for the transcript;
 * - s skip the next step: only with a typed reason, confirmed by typing "skip";
 * - a abort: a typed reason, confirmed by typing "abort";
 * - Esc on a prompt sets it aside so these keys work; Enter brings it back;
 * - Ctrl-C interrupts: the transcript is finished as aborted (reason "interrupted").
 *
 * The effects are operator inputs for the runner (RunControl) and an interrupt.
 */
import type { StepKind } from '../../plan/plan-schema.ts';
import type { RunInput, RunPhase, RunState, StepState } from '../../run/run-machine.ts';
import type { SecretKind } from '../../ceremony/secret-facts.ts';
import type { TranscriptEvent } from '../../transcript/event.ts';
import { eventLine } from '../../run/replay-model.ts';

/** At most this many log lines are kept (the transcript holds them all). */
export const LOG_KEEP = 300;

export interface RunHeader {
  name: string;
  /** the plan file's SHA-256 (hex) */
  planSha256: string;
  /** e.g. "simulator, serial DENK0100001" */
  device: string;
  rehearsal: boolean;
  /** the ceremony key fingerprint (8 groups of 4 hex digits) */
  fingerprint: string;
  transcript: string;
  resumed: boolean;
  /** the header's first word: RUN (default) or HOST (host PLAN) */
  title?: 'RUN' | 'HOST';
}

/** Something a person must answer at the terminal. Only its wording lives here. */
export type Ask =
  | {
      kind: 'secret';
      id: number;
      /** who must type, e.g. "olivia (security officer)" */
      who: string;
      title: string;
      body: string[];
      label: string;
      secretKind: SecretKind;
      error?: string;
    }
  | { kind: 'text'; id: number; who: string; title: string; body: string[]; label: string; error?: string }
  | { kind: 'sign-off'; id: number; who: string; name: string; statement: string; stage: 'name' | 'reason'; error?: string }
  | {
      kind: 'reveal';
      id: number;
      who: string;
      file: string;
      threshold: number;
      total: number;
      /** 1-based: which of the shares handed out now */
      index: number;
      /** 'handover': others still look, the custodian is called; 'show': the share is on screen */
      stage: 'handover' | 'show';
    };

/** The operator's dialog, when one is open. */
export type Dialog =
  /**
   * n, s or a was pressed: nothing is echoed until Enter. A custodian who starts typing a secret
   * before its prompt is up may hit one of those letters; the rest of the secret then goes nowhere
   * instead of into an echoed note or reason.
   */
  | { kind: 'armed'; what: 'note' | 'skip' | 'abort'; step?: number }
  | { kind: 'note'; error?: string }
  | { kind: 'skip-reason'; step: number; error?: string }
  | { kind: 'skip-confirm'; step: number; reason: string; error?: string }
  | { kind: 'abort-reason'; error?: string }
  | { kind: 'abort-confirm'; reason: string; error?: string };

export interface Failure {
  step: number;
  code: string;
  message: string;
  hint?: string;
}

export interface EndRecord {
  outcome: 'completed' | 'aborted' | 'stopped';
  reason: string | null;
  transcript: string;
  /** the transcript's last chain hash (hex) */
  head: string;
  fingerprint: string;
  outputs: { path: string; sha256: string }[];
  kcv: string | null;
  verifyCommand: string;
  exitCode: number;
}

/**
 * A hosted run's people (host PLAN, docs/plan-format.md §9.5): one row per slot, the join code
 * shown until its owner joins (it is theirs to type; the coordinator's screen shows it by design),
 * then whether they are connected and the SAS both screens must show.
 */
export interface PersonRow {
  slot: number;
  name: string;
  /** e.g. "custodian and security officer" */
  roles: string;
  state: 'waiting' | 'joined' | 'left' | 'timed-out';
  /** the current join code (formatted) while not joined */
  code: string | null;
  /** the SAS of the current connection (6 digits) */
  sas: string | null;
}

export interface PeoplePanel {
  /** the URL to join with */
  url: string;
  rows: PersonRow[];
}

export interface RunViewState {
  header: RunHeader;
  /** a hosted run's people; null for run PLAN */
  people: PeoplePanel | null;
  kinds: readonly StepKind[];
  steps: StepState[];
  current: number | null;
  phase: RunPhase;
  log: string[];
  kcv: string | null;
  outputs: { path: string; sha256: string }[];
  ask: Ask | null;
  /** the ask is set aside (Esc) so the operator keys work */
  aside: boolean;
  dialog: Dialog | null;
  /** p was pressed while a step runs: the run pauses before the next step */
  pauseRequested: boolean;
  /** an abort was confirmed while a step runs: it takes effect when the step ends */
  abortRequested: string | null;
  failure: Failure | null;
  end: EndRecord | null;
  /** a line for the operator about the last control (e.g. "note added") */
  notice: string | null;
  /** lines typed into dialogs so far: each answer gets a fresh input line */
  typed: number;
}

export type RunViewEvent =
  | { type: 'run-state'; state: RunState }
  | { type: 'transcript'; event: TranscriptEvent }
  | { type: 'progress'; text: string }
  /** a line that is not a transcript event (a hosted run's public events) */
  | { type: 'line'; text: string }
  | { type: 'people'; people: PeoplePanel }
  | { type: 'ask'; ask: Ask }
  | { type: 'answered'; id: number }
  | { type: 'failure'; failure: Failure }
  | { type: 'ended'; end: EndRecord }
  /** a key the operator pressed while no input line has focus */
  | { type: 'key'; key: 'p' | 'c' | 'n' | 's' | 'a' | 'enter' | 'escape' }
  /** a line typed into the open dialog */
  | { type: 'dialog-text'; value: string }
  | { type: 'dialog-cancel' }
  | { type: 'interrupt' };

export type RunViewEffect =
  /** an operator input for the runner (RunControl) */
  | { type: 'control'; input: RunInput }
  /** stop the run: abort the running step's wait and finish the transcript as aborted */
  | { type: 'interrupt' }
  /** reject the prompt a running step waits on, so an abort takes effect now */
  | { type: 'cancel-ask'; reason: string };

export interface RunViewTransition {
  state: RunViewState;
  effects: RunViewEffect[];
}

export function initialRunView(header: RunHeader, kinds: readonly StepKind[], steps?: readonly StepState[]): RunViewState {
  return {
    header,
    people: null,
    kinds,
    steps: steps ? steps.slice() : kinds.map(() => 'pending'),
    current: null,
    phase: 'ready',
    log: [],
    kcv: null,
    outputs: [],
    ask: null,
    aside: false,
    dialog: null,
    pauseRequested: false,
    abortRequested: null,
    failure: null,
    end: null,
    notice: null,
    typed: 0,
  };
}

const ENDED: readonly RunPhase[] = ['completed', 'aborted', 'stopped'];

/** 1-based number of the step a skip would apply to: the next one to run that is not running now. */
export function skipTarget(s: Pick<RunViewState, 'steps' | 'current'>): number | null {
  for (let i = 0; i < s.steps.length; i++) {
    if (i === s.current) continue;
    const st = s.steps[i];
    if (st === 'pending' || st === 'failed' || (st === 'running' && s.current === null)) return i + 1;
  }
  return null;
}

/** True when the operator keys (p c n s a) are live: no prompt has the keyboard, no dialog is open. */
export function operatorKeysLive(s: RunViewState): boolean {
  return s.end === null && s.dialog === null && (s.ask === null || s.aside);
}

function addLines(s: RunViewState, lines: string[]): RunViewState {
  const log = [...s.log, ...lines];
  return { ...s, log: log.length > LOG_KEEP ? log.slice(log.length - LOG_KEEP) : log };
}

/** The transition function. Events that make no sense now are ignored (the view may lag a frame). */
export function runViewStep(s: RunViewState, ev: RunViewEvent): RunViewTransition {
  const effects: RunViewEffect[] = [];
  const done = (state: RunViewState): RunViewTransition => ({ state, effects });
  switch (ev.type) {
    case 'run-state': {
      const r = ev.state;
      let next: RunViewState = { ...s, steps: r.steps.slice(), current: r.current, phase: r.phase };
      if (r.phase === 'paused') next = { ...next, pauseRequested: false };
      if (r.phase === 'running' && s.phase !== 'running') next = { ...next, failure: null };
      if (ENDED.includes(r.phase)) next = { ...next, pauseRequested: false, abortRequested: null, dialog: null };
      return done(next);
    }
    case 'transcript': {
      const e = ev.event;
      let next = addLines(s, [eventLine(e, s.kinds)]);
      if (e.kind === 'kcv-read') next = { ...next, kcv: String(e.data.kcv) };
      if (e.kind === 'file-written') {
        const d = e.data as { path: string; sha256: string; kcv?: string };
        next = { ...next, outputs: [...next.outputs.filter((o) => o.path !== d.path), { path: d.path, sha256: d.sha256 }], ...(d.kcv ? { kcv: d.kcv } : {}) };
      }
      if (e.kind === 'note' && e.actor.role === 'operator') next = { ...next, notice: 'the note is in the transcript' };
      return done(next);
    }
    case 'progress':
      return done(addLines(s, [`         ${ev.text}`]));
    case 'line':
      return done(addLines(s, [ev.text]));
    case 'people':
      return done({ ...s, people: ev.people });
    case 'ask':
      return done({ ...s, ask: ev.ask, aside: false });
    case 'answered':
      if (s.ask?.id !== ev.id) return done(s);
      return done({ ...s, ask: null, aside: false });
    case 'failure':
      return done({ ...s, failure: ev.failure });
    case 'ended':
      return done({ ...s, end: ev.end, ask: null, dialog: null, aside: false });
    case 'interrupt':
      if (s.end !== null) return done(s);
      effects.push({ type: 'interrupt' });
      return done({ ...s, dialog: null, notice: 'interrupted: the transcript is being finished as aborted' });
    case 'key':
      return done(onKey(s, ev.key, effects));
    case 'dialog-cancel':
      return done({ ...s, dialog: null, notice: s.dialog ? 'cancelled; nothing was recorded' : s.notice });
    case 'dialog-text':
      return done({ ...onDialogText(s, ev.value, effects), typed: s.typed + 1 });
  }
}

function onKey(s: RunViewState, key: 'p' | 'c' | 'n' | 's' | 'a' | 'enter' | 'escape', effects: RunViewEffect[]): RunViewState {
  if (s.end !== null) return s;
  const d = s.dialog;
  if (d !== null) {
    if (d.kind !== 'armed') return s;
    if (key === 'escape') return { ...s, dialog: null, notice: 'cancelled; nothing was recorded' };
    if (key !== 'enter') return s;
    if (d.what === 'note') return { ...s, dialog: { kind: 'note' } };
    if (d.what === 'abort') return { ...s, dialog: { kind: 'abort-reason' } };
    const step = skipTarget(s);
    return step === null ? { ...s, dialog: null, notice: 'there is no step left to skip' } : { ...s, dialog: { kind: 'skip-reason', step } };
  }
  if (s.ask !== null && !s.aside) {
    // a prompt has the keyboard; only Esc reaches here (the input gave it up)
    return key === 'escape' ? { ...s, aside: true, notice: 'the prompt is set aside; Enter brings it back' } : s;
  }
  const ended = ENDED.includes(s.phase);
  if (ended) return s;
  switch (key) {
    case 'enter':
    case 'c':
      if (s.ask !== null && s.aside) return { ...s, aside: false, notice: null };
      if (s.phase === 'paused') {
        effects.push({ type: 'control', input: { type: 'continue' } });
        return { ...s, notice: s.failure ? `retrying step ${s.failure.step}` : 'continuing' };
      }
      return s;
    case 'p':
      if (s.phase === 'paused' || s.pauseRequested) return s;
      effects.push({ type: 'control', input: { type: 'pause' } });
      return { ...s, pauseRequested: true, notice: s.current !== null ? `pausing: step ${s.current + 1} finishes first` : 'pausing' };
    case 'n':
      return { ...s, dialog: { kind: 'armed', what: 'note' }, notice: null };
    case 's': {
      const step = skipTarget(s);
      if (step === null) return { ...s, notice: 'there is no step left to skip' };
      return { ...s, dialog: { kind: 'armed', what: 'skip', step }, notice: null };
    }
    case 'a':
      if (s.abortRequested !== null) return s;
      return { ...s, dialog: { kind: 'armed', what: 'abort' }, notice: null };
    case 'escape':
      return s;
  }
}

function onDialogText(s: RunViewState, value: string, effects: RunViewEffect[]): RunViewState {
  const d = s.dialog;
  if (d === null || s.end !== null) return s;
  const text = value.trim();
  switch (d.kind) {
    case 'armed':
      return s;
    case 'note':
      if (text === '') return { ...s, dialog: { ...d, error: 'type the note, or Esc to cancel' } };
      effects.push({ type: 'control', input: { type: 'note', text } });
      return { ...s, dialog: null, notice: s.current !== null ? 'note queued: it is recorded when this step ends' : 'note added' };
    case 'skip-reason':
      if (text === '') return { ...s, dialog: { ...d, error: 'a skip needs a reason' } };
      return { ...s, dialog: { kind: 'skip-confirm', step: d.step, reason: text } };
    case 'skip-confirm': {
      if (text.toLowerCase() !== 'skip') return { ...s, dialog: { ...d, error: 'type skip to confirm, or Esc to cancel' } };
      const step = skipTarget(s);
      if (step !== d.step) return { ...s, dialog: null, notice: `step ${d.step} is no longer the next step; nothing was skipped` };
      effects.push({ type: 'control', input: { type: 'skip', step: d.step, reason: d.reason } });
      return { ...s, dialog: null, failure: s.failure?.step === d.step ? null : s.failure, notice: `step ${d.step} will be skipped` };
    }
    case 'abort-reason':
      if (text === '') return { ...s, dialog: { ...d, error: 'an abort needs a reason' } };
      return { ...s, dialog: { kind: 'abort-confirm', reason: text } };
    case 'abort-confirm': {
      if (text.toLowerCase() !== 'abort') return { ...s, dialog: { ...d, error: 'type abort to confirm, or Esc to cancel' } };
      effects.push({ type: 'control', input: { type: 'abort', reason: d.reason } });
      if (s.current !== null && s.phase === 'running') {
        // the running step may wait on a prompt: release it so the abort happens now
        if (s.ask !== null) effects.push({ type: 'cancel-ask', reason: d.reason });
        return { ...s, dialog: null, abortRequested: d.reason, notice: s.ask !== null ? 'aborting' : `aborting when step ${s.current + 1} ends` };
      }
      return { ...s, dialog: null, abortRequested: d.reason, notice: 'aborting' };
    }
  }
}

/** The window of step rows to show: `rows` rows around the current (or next) step. */
export function stepWindow(count: number, focus: number, rows: number): { from: number; to: number } {
  if (count <= rows) return { from: 0, to: count };
  const r = Math.max(1, rows);
  let from = Math.max(0, focus - Math.floor((r - 1) / 2));
  from = Math.min(from, count - r);
  return { from, to: from + r };
}

/** The step to keep in view: the running one, else the next to run, else the last. */
export function focusStep(s: Pick<RunViewState, 'steps' | 'current'>): number {
  if (s.current !== null) return s.current;
  const i = s.steps.findIndex((st) => st === 'failed' || st === 'pending' || st === 'running');
  return i >= 0 ? i : Math.max(0, s.steps.length - 1);
}

/** The end record as plain lines of at most 80 columns (printed after the view closes, for the paper record). */
export function endLines(e: EndRecord): string[] {
  const out = [
    e.outcome === 'completed' ? 'ceremony COMPLETED' : e.outcome === 'aborted' ? `ceremony ABORTED: ${e.reason ?? ''}` : `ceremony STOPPED (transcript left incomplete): ${e.reason ?? ''}`,
    `transcript   ${e.transcript}`,
    `chain head   ${e.head}`,
  ];
  if (e.kcv) out.push(`DKEK KCV     ${e.kcv}`);
  if (e.outputs.length > 0) out.push('outputs');
  for (const o of e.outputs) out.push(`  ${o.path}`, `    SHA-256 ${o.sha256}`);
  out.push(`ceremony key fingerprint: ${e.fingerprint}`);
  out.push('verify with:', `  ${e.verifyCommand}`);
  return out;
}
