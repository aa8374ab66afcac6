/**
 * Events: everything that can happen to a ceremony session — an answer typed at the current prompt,
 * a job's progress or end, Ctrl-C, a resize. Events carry public data only (secrets travel as vault
 * references with public facts), so every event can be logged and replayed
 * (docs/ceremony-state-machine.md §3).
 */
import type { JobRequest, JobResult, JobUpdate, PublicError } from './jobs.ts';
import type { SecretFacts } from './secret-facts.ts';
import type { SecretRef } from './secret-vault.ts';

export type CeremonyEvent =
  /** the session starts: read the device */
  | { type: 'start' }
  /** an option of a `choose` prompt (or a menu hotkey) was taken */
  | { type: 'choose'; value: string }
  /** the options of a `pick` prompt were confirmed */
  | { type: 'pick'; values: string[] }
  /** a public text was entered at a `text` or `phrase` prompt */
  | { type: 'text'; value: string }
  /** a secret was entered at a `secret` prompt; the bytes are in the vault */
  | { type: 'secret-entered'; ref: SecretRef; facts: SecretFacts }
  /** Enter at a notice, a share shown to its custodian, a verdict or a list */
  | { type: 'continue' }
  /** Escape: leave the current prompt (cancel the flow where that is safe) */
  | { type: 'back' }
  /** Ctrl-C or a termination signal */
  | { type: 'interrupt'; signal: 'SIGINT' | 'SIGTERM' | 'ctrl-c' }
  | { type: 'job-progress'; id: number; part: number; label: string; done: number; total: number }
  | { type: 'job-update'; id: number; update: JobUpdate }
  | { type: 'job-request'; id: number; request: JobRequest }
  | { type: 'job-done'; id: number; result: JobResult }
  | { type: 'job-failed'; id: number; error: PublicError };
