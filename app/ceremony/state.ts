/**
 * The state of one ceremony session at the coordinator's terminal, and the small helpers every flow
 * uses to change it. Everything here is public data: secrets are vault references
 * (secret-vault.ts), so the whole state can be printed, compared in tests and replayed
 * (docs/ceremony-state-machine.md §2).
 *
 * The screen shows three things, all derived from this state: the device panel (`device`), the
 * permanent log of finished steps (`log`, rendered with Ink's <Static>), and the current flow's
 * prompt (`screen.prompt`) with the progress of running jobs (`jobs`) above it.
 */
import type { Effect } from './effects.ts';
import type { DeviceView, JobSpec, JobView, KeyRow, PublicError } from './jobs.ts';
import { CARD_CHANGING_JOBS } from './jobs.ts';
import type { SecretKind } from './secret-facts.ts';
import type { SecretRef } from './secret-vault.ts';
import type { InitializeFlow } from './initialize-flow.ts';
import type { CreateSharesFlow } from './create-shares-flow.ts';
import type { ImportSharesFlow } from './import-shares-flow.ts';
import type { OfflineFlow } from './offline-flows.ts';
import type { DeviceFlow } from './device-flows.ts';
import type { KeyFlow } from './key-flows.ts';
import type { PinsFlow } from './pins-flow.ts';

/** One choice of a `choose` or `pick` prompt. */
export interface Option {
  value: string;
  label: string;
  /** one short line under or beside the label */
  hint?: string;
  /** why the option cannot be taken now (shown dimmed with this reason) */
  disabled?: string;
  /** a single-key shortcut */
  key?: string;
}

export type Tone = 'info' | 'success' | 'warning' | 'error';

/** What the current step shows and asks. The UI renders each kind with one component. */
export type Prompt =
  | { kind: 'busy'; title: string; body: string[] }
  | { kind: 'choose'; title: string; body: string[]; options: Option[]; tone?: Tone }
  | { kind: 'pick'; title: string; body: string[]; options: Option[]; selected: string[]; error?: string }
  | { kind: 'text'; title: string; body: string[]; label: string; initial: string; error?: string; suggestions?: string[] }
  | { kind: 'secret'; title: string; body: string[]; label: string; secretKind: SecretKind; confirmOf?: SecretRef; error?: string }
  | { kind: 'phrase'; title: string; body: string[]; phrase: string; error?: string }
  | { kind: 'notice'; title: string; body: string[]; tone: Tone; next?: string }
  | {
      kind: 'share-reveal';
      title: string;
      /** the vault holds the split; the screen reads share `custodian` from it */
      split: SecretRef;
      custodian: number;
      total: number;
      threshold: number;
      file: string;
    }
  | { kind: 'kcv'; title: string; kcv: string | null; expected: string | null; matches: boolean | null; body: string[] }
  | { kind: 'keys'; title: string; keys: KeyRow[]; body: string[] };

/** A finished step, kept on screen above everything else (and in the exit summary). */
export interface LogEntry {
  id: number;
  tone: 'done' | 'info' | 'warn' | 'error';
  text: string;
}

/** The screens that are not multi-step flows. */
export type SimpleScreen =
  | { flow: 'boot'; prompt: Prompt }
  | { flow: 'menu'; prompt: Prompt }
  | { flow: 'status'; prompt: Prompt }
  | { flow: 'help'; prompt: Prompt }
  | { flow: 'quitting'; prompt: Prompt };

export type Screen = SimpleScreen | InitializeFlow | CreateSharesFlow | ImportSharesFlow | OfflineFlow | DeviceFlow | KeyFlow | PinsFlow;

/** Fixed for a session. */
export interface SessionOptions {
  /** working directory: default place for new files, base of relative paths */
  cwd: string;
}

export interface CeremonyState {
  options: SessionOptions;
  /** null until the device was read; stays at the last reading after an error */
  device: DeviceView | null;
  deviceError: PublicError | null;
  screen: Screen;
  log: LogEntry[];
  jobs: JobView[];
  /** next job or log id */
  nextId: number;
  /** set by Ctrl-C: the session ends as soon as no card-changing job runs */
  quitting: { signal: string } | null;
  /** shares imported into the device in this session (public fingerprints), oldest first */
  importedShares: { name: string; fingerprint: string; sha256: string | null }[];
  /** share files created in this session */
  createdShares: { path: string; name: string; fingerprint: string }[];
}

/** A reducer step's outcome. */
export interface Transition {
  state: CeremonyState;
  effects: Effect[];
}

export function initialState(options: SessionOptions): CeremonyState {
  return {
    options,
    device: null,
    deviceError: null,
    screen: { flow: 'boot', prompt: { kind: 'busy', title: 'Reading the device', body: ['Connecting to the card…'] } },
    log: [],
    jobs: [],
    nextId: 1,
    quitting: null,
    importedShares: [],
    createdShares: [],
  };
}

export function done(state: CeremonyState, effects: Effect[] = []): Transition {
  return { state, effects };
}

/** Appends a log line. */
export function log(s: CeremonyState, tone: LogEntry['tone'], text: string): CeremonyState {
  return { ...s, log: [...s.log, { id: s.nextId, tone, text }], nextId: s.nextId + 1 };
}

/** Registers a job and returns the effect that starts it. */
export function startJob(s: CeremonyState, job: JobSpec, label: string): { state: CeremonyState; effect: Effect; id: number } {
  const id = s.nextId;
  const view: JobView = { id, kind: job.kind, label, parts: [], changesCard: CARD_CHANGING_JOBS.has(job.kind) };
  return { state: { ...s, jobs: [...s.jobs, view], nextId: id + 1 }, effect: { type: 'start-job', id, job }, id };
}

/** Forgets a finished job. */
export function endJob(s: CeremonyState, id: number): CeremonyState {
  return s.jobs.some((j) => j.id === id) ? { ...s, jobs: s.jobs.filter((j) => j.id !== id) } : s;
}

export function isRunning(s: CeremonyState, id: number | null | undefined): boolean {
  return id !== null && id !== undefined && s.jobs.some((j) => j.id === id);
}

/** A notice for an error, with its hint. */
export function errorBody(e: PublicError, before: string[] = []): string[] {
  return [...before, e.message, ...(e.hint ? [`→ ${e.hint}`] : [])];
}

/** "1 key" / "2 keys" */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
