/**
 * Effects: what the reducer asks the outside world to do. They are data; the effect runner
 * (effect-runner.ts) performs them and reports back as events (docs/ceremony-state-machine.md §4).
 */
import type { JobSpec, ShareSecretRef } from './jobs.ts';
import type { SecretRef } from './secret-vault.ts';

export type Effect =
  /** start a job; its events carry the same id */
  | { type: 'start-job'; id: number; job: JobSpec }
  /**
   * answer a job's `share-secret` request; the job takes the secret over (the runner copies it to
   * the job and wipes the vault's references at once)
   */
  | { type: 'supply-secret'; id: number; secret: ShareSecretRef }
  /** answer a job's `confirm-replace` request */
  | { type: 'answer-request'; id: number; ok: boolean }
  /** ask a job to stop at its next safe point (it still ends with job-done or job-failed) */
  | { type: 'cancel-job'; id: number }
  /** wipe secrets the flow no longer needs */
  | { type: 'wipe'; refs: SecretRef[] }
  /** erase the terminal, scrollback included (after a share was shown to its custodian) */
  | { type: 'clear-screen' }
  /** end the session: print the summary lines after the interface is gone, exit with `code` */
  | { type: 'exit'; code: number; summary: string[] };
