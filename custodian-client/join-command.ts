/**
 * `hsm-custodian join URL` (also `hsm-ceremony join URL`): join a hosted ceremony from this
 * terminal. Asks for the join code (or reads --code-file), connects, shows the SAS, then answers
 * the coordinator's requests (custodian-session.ts) until the ceremony is over.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { wipe } from '../protocol/bytes.ts';
import { parseJoinCode, wipeJoinCode, type JoinCode } from '../protocol/channel/join-code.ts';
import { isCeremonyError, usageError, type CeremonyError } from '../protocol/errors.ts';
import { CustodianConnection } from './connection.ts';
import { CustodianSession, type CustodianDeps, type CustodianSources } from './custodian-session.ts';
import { readSecretLine } from './files.ts';
import { isInteractive, readLine, type TerminalIo } from './terminal.ts';

/** The program name and version sent in the hello. */
export const CUSTODIAN_CLIENT = 'hsm-custodian 0.1.0';

export const JOIN_HELP = `usage: hsm-custodian join URL [--code-file F] [--passphrase-file F] [--pwd-shares-file F]
                          [--share-file F] [--so-pin-file F] [--pin-file F] [--dir DIR] [--yes]

Joins a ceremony hosted with "hsm-ceremony host". URL is the one the coordinator screen shows
(ws://HOST:PORT/v1). You are asked for your one-time join code (e.g. 3-tango-orbit-lemon); then
six digits (the SAS) appear here and on the coordinator screen: they must be the same. Then this
terminal guides you through what the ceremony needs from you. Your passphrase, password share or
PINs are typed here, hidden, and never leave this machine except as the ceremony needs (a share
goes to the card; a passphrase never leaves).

A code works once. If anything fails, ask the coordinator for a new code; never retry a code.

For scripts and tests (files must be mode 0600):
  --code-file F        the join code on the first line
  --share-file F       your DKEK share file (.pbe)
  --passphrase-file F  its passphrase (or the new passphrase when creating a share)
  --pwd-shares-file F  your own n-of-m password share (sc-hsm-tool's "Share ID", "Share value"
                       and, if you have it, "Prime" lines)
  --so-pin-file F, --pin-file F
                       security officer: the SO-PIN (16 hex digits) and the user PIN
  --dir DIR            where a share created in the ceremony is saved (default: here)
  --yes                do not ask whether the SAS digits match (they are still shown)
  --sign-off accept | decline:REASON
                       answer the plan's sign-off requests without asking (host PLAN)
Exit codes: 0 done, 1 a check failed (wrong code, SAS, refused share, KCV mismatch),
2 usage, 3 connection or device error, 4 cancelled or incomplete.`;

async function obtainCode(io: TerminalIo, codeFile: string | undefined, cwd: string): Promise<JoinCode> {
  let raw: Uint8Array;
  if (codeFile !== undefined) raw = readSecretLine(resolve(cwd, codeFile), 'join code file');
  else if (isInteractive(io)) raw = await readLine(io, 'Join code (e.g. 3-tango-orbit-lemon): ', { hidden: false, maxLength: 64 });
  else {
    throw usageError('NO_TTY', 'the join code is needed but there is no terminal to type it on', { hint: 'pass --code-file FILE' });
  }
  try {
    return parseJoinCode(raw);
  } finally {
    wipe(raw);
  }
}

export interface JoinRunOptions {
  io: TerminalIo;
  cwd: string;
  deps?: CustodianDeps;
  /** called with the session once it runs (tests, signal handling) */
  onSession?: (session: CustodianSession) => void;
}

/**
 * Runs `join` with its arguments (after the word `join`).
 *
 * @returns the exit code
 * @throws CeremonyError for usage errors and failed joins (the caller prints them)
 */
export async function runJoin(argv: string[], o: JoinRunOptions): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'code-file': { type: 'string' },
      'share-file': { type: 'string' },
      'passphrase-file': { type: 'string' },
      'pwd-shares-file': { type: 'string' },
      'so-pin-file': { type: 'string' },
      'pin-file': { type: 'string' },
      dir: { type: 'string' },
      yes: { type: 'boolean' },
      'sign-off': { type: 'string' },
    },
  });
  const signOffFlag = values['sign-off'];
  let signOff: CustodianSources['signOff'];
  if (signOffFlag !== undefined) {
    if (signOffFlag === 'accept') signOff = { accepted: true };
    else if (/^decline:.{1,500}$/s.test(signOffFlag)) signOff = { accepted: false, reason: signOffFlag.slice('decline:'.length) };
    else throw usageError('USAGE', `--sign-off takes accept or decline:REASON, got "${signOffFlag.slice(0, 40)}"`);
  }
  if (positionals.length !== 1) {
    throw usageError('USAGE', 'give the coordinator URL, e.g. hsm-custodian join ws://192.0.2.7:41234/v1', { hint: 'the coordinator screen shows the URL' });
  }
  if (values['passphrase-file'] !== undefined && values['pwd-shares-file'] !== undefined) {
    throw usageError('SECRET_SOURCES_CONFLICT', 'give only one of --passphrase-file, --pwd-shares-file');
  }
  const code = await obtainCode(o.io, values['code-file'], o.cwd);
  let conn: CustodianConnection;
  try {
    o.io.stdout.write('joining…\n');
    conn = await CustodianConnection.open({ url: positionals[0]!, code, client: CUSTODIAN_CLIENT });
  } finally {
    wipeJoinCode(code);
  }
  const session = new CustodianSession(conn, o.io, {
    shareFile: values['share-file'],
    passphraseFile: values['passphrase-file'],
    pwdSharesFile: values['pwd-shares-file'],
    soPinFile: values['so-pin-file'],
    pinFile: values['pin-file'],
    yes: values.yes === true,
    ...(signOff !== undefined ? { signOff } : {}),
    dir: values.dir !== undefined ? resolve(o.cwd, values.dir) : o.cwd,
    cwd: o.cwd,
  }, o.deps);
  o.onSession?.(session);
  return session.run();
}

/** Prints a failure the way both programs do: error line, hint line, no stack. */
export function describeFailure(program: string, e: unknown, stderr: NodeJS.WritableStream | { write(s: string): unknown }): number {
  if (isCeremonyError(e)) {
    const err = e as CeremonyError;
    stderr.write(`${program}: error: ${err.message}\n`);
    if (err.hint) stderr.write(`${program}: hint: ${err.hint}\n`);
    return err.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
    stderr.write(`${program}: error: ${err.message.split('\n')[0]}\n${program}: hint: add --help to see the options\n`);
    return 2;
  }
  stderr.write(`${program}: internal error (a bug): ${err?.message ?? String(e)}\n${program}: hint: nothing secret is printed here; please report it\n`);
  return 70;
}
