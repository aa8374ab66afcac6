/**
 * Errors with stable codes. Every error a user can cause is a `CeremonyError` whose `kind` decides
 * the process exit code and whose `hint` says what to do next. Anything else that escapes is a bug.
 *
 * Messages are lowercase, with no final period, and never contain secret material.
 */

/** What kind of failure this is; each kind has one exit code (README, "Exit codes"). */
export type ErrorKind =
  /** a check failed: wrong passphrase, KCV or MAC mismatch, tampered transcript */
  | 'check'
  /** bad flags, malformed or unusable input, secrets missing without a TTY */
  | 'usage'
  /** the card, the reader or a network peer failed or went away */
  | 'device'
  /** cancelled, or a ceremony or transcript that did not finish */
  | 'incomplete'
  /** a defect in hsm-ceremony itself */
  | 'bug';

export const EXIT_CODES: Readonly<Record<ErrorKind | 'ok', number>> = {
  ok: 0,
  check: 1,
  usage: 2,
  device: 3,
  incomplete: 4,
  bug: 70,
};

export interface CeremonyErrorOptions {
  /** one line telling the user what to do next */
  hint?: string;
  /** extra public, machine-readable detail (never secrets) */
  detail?: Record<string, unknown>;
  cause?: unknown;
}

export class CeremonyError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly detail: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: CeremonyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CeremonyError';
    this.kind = kind;
    this.code = code;
    this.hint = options.hint;
    this.detail = options.detail;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** Shorthands so call sites read as the kind of failure they report. */
export const checkFailed = (code: string, message: string, o?: CeremonyErrorOptions) =>
  new CeremonyError('check', code, message, o);
export const usageError = (code: string, message: string, o?: CeremonyErrorOptions) =>
  new CeremonyError('usage', code, message, o);
export const deviceError = (code: string, message: string, o?: CeremonyErrorOptions) =>
  new CeremonyError('device', code, message, o);
export const incomplete = (code: string, message: string, o?: CeremonyErrorOptions) =>
  new CeremonyError('incomplete', code, message, o);

export function isCeremonyError(e: unknown): e is CeremonyError {
  return e instanceof CeremonyError;
}
