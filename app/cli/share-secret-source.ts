/**
 * Gathers what a custodian brings to open one share file — a passphrase or n-of-m password shares —
 * from the one source the command line names, the secrets file, or the terminal, in that order.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { CliIo } from './command.ts';
import type { SecretsFile } from './secrets-file.ts';
import { isInteractive, readFirstLine, readHidden, readLineBytes } from './secret-input.ts';
import { assertOwnerOnly } from './secrets-file.ts';
import { usageError } from '../../protocol/errors.ts';
import { wipe } from '../../protocol/bytes.ts';
import { parsePrintout, parseShareInput, parsePrime, shareSet, type ShareEntry } from '../../protocol/dkek/password-shares.ts';
import type { ShareSecretInput } from '../../protocol/dkek/open-share-file.ts';

/** parseArgs option definitions shared by every command that opens a share file. */
export const shareSecretOptions = {
  'passphrase-file': { type: 'string' },
  'passphrase-fd': { type: 'string' },
  'pwd-shares-file': { type: 'string' },
  'pwd-shares': { type: 'string' },
  'secrets-file': { type: 'string' },
} as const;

export interface ShareSecretFlags {
  'passphrase-file'?: string | undefined;
  'passphrase-fd'?: string | undefined;
  'pwd-shares-file'?: string | undefined;
  /** interactive n-of-m entry: how many shares will be typed */
  'pwd-shares'?: string | undefined;
}

export function parseFd(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 3) {
    throw usageError('BAD_FD', `--passphrase-fd takes a file descriptor number of 3 or more, got "${text}"`, {
      hint: 'e.g. --passphrase-fd 3 3< passphrase.txt',
    });
  }
  return Number(text);
}

/** Reads and validates a password-share printout file (owner-only unless rehearsal). */
export function readPwdSharesFile(path: string, checkMode: boolean) {
  if (checkMode) assertOwnerOnly(path, 'the password-share file');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw usageError('SECRET_SOURCE_UNREADABLE', `cannot read the password-share file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parsePrintout(bytes);
  } finally {
    wipe(bytes);
  }
}

/**
 * The secret for `shareFile`. The caller wipes a passphrase when done.
 * @throws CeremonyError usage NO_TTY when nothing gives the secret and there is no terminal
 */
export async function obtainShareSecret(
  shareFile: string,
  flags: ShareSecretFlags,
  io: CliIo,
  secrets: SecretsFile | undefined,
): Promise<ShareSecretInput> {
  const given = ['passphrase-file', 'passphrase-fd', 'pwd-shares-file'].filter((k) => flags[k as keyof ShareSecretFlags] !== undefined);
  if (given.length > 1) throw usageError('SECRET_SOURCES_CONFLICT', `give only one of --${given.join(', --')}`);
  if (flags['passphrase-file'] !== undefined) {
    return { kind: 'passphrase', passphrase: readFirstLine({ path: flags['passphrase-file'] }, 'passphrase') };
  }
  if (flags['passphrase-fd'] !== undefined) {
    return { kind: 'passphrase', passphrase: readFirstLine({ fd: parseFd(flags['passphrase-fd']) }, 'passphrase') };
  }
  if (flags['pwd-shares-file'] !== undefined) {
    return { kind: 'pwd-shares', set: readPwdSharesFile(flags['pwd-shares-file'], true) };
  }
  const fromFile = secrets?.forShareFile(shareFile);
  if (fromFile?.passphrase) return { kind: 'passphrase', passphrase: fromFile.passphrase.slice() };
  if (fromFile?.pwdSharesFile) return { kind: 'pwd-shares', set: readPwdSharesFile(fromFile.pwdSharesFile, !secrets!.rehearsal) };
  if (!isInteractive(io)) {
    throw usageError('NO_TTY', `no secret for ${basename(shareFile)} and no terminal to type it on`, {
      hint: secrets
        ? `add "${basename(shareFile)}" under "shares" in ${secrets.path}`
        : 'pass --passphrase-file, --pwd-shares-file or --secrets-file (docs/secrets-file.md)',
    });
  }
  if (flags['pwd-shares'] !== undefined) return { kind: 'pwd-shares', set: await typePwdShares(io, shareFile, flags['pwd-shares']) };
  return { kind: 'passphrase', passphrase: await readHidden(io, `Passphrase for ${basename(shareFile)}: `) };
}

/** Interactive n-of-m entry: the prime once (echoed: it is public), then ID (echoed) and value (hidden). */
async function typePwdShares(io: CliIo, shareFile: string, countText: string) {
  if (!/^\d+$/.test(countText) || Number(countText) < 2 || Number(countText) > 255) {
    throw usageError('PWD_SHARES_COUNT', `--pwd-shares takes the number of shares that will be typed (2 to 255), got "${countText}"`);
  }
  const count = Number(countText);
  io.stderr.write(`Opening ${basename(shareFile)} needs ${count} custodians to type their password share.\n`);
  io.stderr.write('The first custodian also types the prime. Share values are not shown while typed.\n');
  const primeText = await readLineBytes(io, 'Prime (colon-separated hex): ', { hidden: false, maxLength: 64 });
  const { prime } = parsePrime(primeText);
  const entries: ShareEntry[] = [];
  for (let i = 1; i <= count; i++) {
    io.stderr.write(`\nShare ${i} of ${count}\n`);
    const id = await readLineBytes(io, 'Share ID: ', { hidden: false, maxLength: 8 });
    const value = await readHidden(io, 'Share value (hidden): ', 64);
    try {
      entries.push(parseShareInput({ id, value }, i));
    } finally {
      wipe(value);
    }
  }
  return shareSet(entries, prime);
}
