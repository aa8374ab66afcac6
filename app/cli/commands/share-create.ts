import { parseArgs } from 'node:util';
import { basename, join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { CliIo, Command } from '../command.ts';
import { loadSecretsFile } from '../secrets-file.ts';
import { isInteractive, readFirstLine, readHidden, waitForEnter } from '../secret-input.ts';
import { parseFd } from '../share-secret-source.ts';
import { workerKdf } from '../kdf.ts';
import { withInterrupt } from '../progress.ts';
import { assertAbsent, writeNewFile } from '../write-new-file.ts';
import { createShareFile } from '../../../protocol/dkek/share-file.ts';
import { shareFingerprint } from '../../../protocol/dkek/dkek.ts';
import { equalBytes, utf8, wipe } from '../../../protocol/bytes.ts';
import { usageError } from '../../../protocol/errors.ts';
import {
  splitPassword,
  validateSplitCounts,
  formatPrintout,
  shareSet,
  passwordCandidates,
  wipeCandidates,
  formatHexColon,
  type PasswordSplit,
} from '../../../protocol/dkek/password-shares.ts';

/** sc-hsm-tool's interactive minimum. */
export const MIN_PASSPHRASE_LENGTH = 6;
const CLEAR = '\x1b[2J\x1b[3J\x1b[H';

/** Advice on a new passphrase; never repeats it. `ok` false means too short to accept. */
export function passphraseAdvice(pw: Uint8Array): { ok: boolean; advice: string[] } {
  let chars = 0;
  const classes = new Set<string>();
  for (const b of pw) {
    if ((b & 0xc0) !== 0x80) chars++;
    if (b >= 0x61 && b <= 0x7a) classes.add('lower');
    else if (b >= 0x41 && b <= 0x5a) classes.add('upper');
    else if (b >= 0x30 && b <= 0x39) classes.add('digit');
    else if (b >= 0x80) classes.add('other');
    else classes.add('symbol');
  }
  if (chars < MIN_PASSPHRASE_LENGTH) {
    return { ok: false, advice: [`that is ${chars} characters; at least ${MIN_PASSPHRASE_LENGTH} are needed (sc-hsm-tool's minimum)`] };
  }
  const advice: string[] = [];
  if (chars <= 10) advice.push(`${chars} characters is short: more than 10 are recommended, or a phrase of several random words`);
  if (classes.size < 3 && chars < 20) advice.push('mix letters, digits and symbols, or use a longer phrase');
  if (classes.has('other')) advice.push('non-ASCII characters are stored as UTF-8; make sure every keyboard used later types the same bytes');
  return { ok: true, advice };
}

async function newPassphrase(io: CliIo, file: string, values: { 'passphrase-file'?: string; 'passphrase-fd'?: string }, secretsPath?: string): Promise<Uint8Array> {
  if (values['passphrase-file'] && values['passphrase-fd']) throw usageError('SECRET_SOURCES_CONFLICT', 'give only one of --passphrase-file, --passphrase-fd');
  let pw: Uint8Array | undefined;
  if (values['passphrase-file']) pw = readFirstLine({ path: values['passphrase-file'] }, 'passphrase');
  else if (values['passphrase-fd']) pw = readFirstLine({ fd: parseFd(values['passphrase-fd']) }, 'passphrase');
  else if (secretsPath) {
    const secrets = loadSecretsFile(secretsPath, io.cwd);
    const entry = secrets.forShareFile(file);
    if (entry?.passphrase) pw = entry.passphrase.slice();
    secrets.wipe();
    if (!pw) throw usageError('SECRETS_FILE_MISSING_ENTRY', `${secretsPath} has no passphrase for ${basename(file)}`, { hint: `add "${basename(file)}": {"passphrase": "…"} under "shares"` });
  }
  if (pw) {
    const { ok, advice } = passphraseAdvice(pw);
    if (!ok) {
      wipe(pw);
      throw usageError('PASSPHRASE_TOO_SHORT', advice[0]!);
    }
    return pw;
  }
  if (!isInteractive(io)) {
    throw usageError('NO_TTY', 'a new passphrase is needed but there is no terminal to type it on', {
      hint: 'pass --passphrase-file, --passphrase-fd or --secrets-file (docs/secrets-file.md)',
    });
  }
  io.stderr.write(
    'The DKEK share is encrypted under a key derived from this passphrase; its security rests on\n' +
      'the passphrase. Use more than 10 characters, or several random words. Keep the share file\n' +
      'safe, and a paper copy (e.g. "openssl base64 -in FILE") in case the file is lost.\n',
  );
  for (let attempt = 1; attempt <= 3; attempt++) {
    const first = await readHidden(io, 'New passphrase: ');
    const { ok, advice } = passphraseAdvice(first);
    if (!ok) {
      wipe(first);
      io.stderr.write(`hsm-ceremony: ${advice[0]}\n`);
      continue;
    }
    for (const a of advice) io.stderr.write(`hsm-ceremony: advice: ${a}\n`);
    const second = await readHidden(io, 'Type it again: ');
    const same = equalBytes(first, second);
    wipe(second);
    if (same) return first;
    wipe(first);
    io.stderr.write('hsm-ceremony: the two entries differ; try again\n');
  }
  throw usageError('PASSPHRASE_NOT_CONFIRMED', 'no passphrase was confirmed after 3 attempts', { hint: 'nothing was written; run the command again' });
}

function parseThresholdSpec(spec: string): { threshold: number; total: number } {
  const m = /^(\d{1,3})\/(\d{1,3})$/.exec(spec);
  if (!m) throw usageError('PWD_SHARES_SPEC', `--pwd-shares takes THRESHOLD/TOTAL such as 2/3, got "${spec}"`);
  const threshold = Number(m[1]);
  const total = Number(m[2]);
  validateSplitCounts(threshold, total);
  return { threshold, total };
}

/** Checks that the printed shares give back the password before anyone relies on them. */
function checkRecombination(split: PasswordSplit, threshold: number): void {
  const subsets = [split.shares.slice(0, threshold), split.shares.slice(-threshold)];
  for (const subset of subsets) {
    const set = shareSet(subset.map((s, i) => ({ position: i + 1, idText: String(s.id), value: s.value })), split.prime);
    const candidates = passwordCandidates(set);
    const ok = candidates.length > 0 && equalBytes(candidates[0]!.password, split.password);
    wipeCandidates(candidates);
    if (!ok) throw new Error('password shares do not recombine to the password');
  }
}

function shareFileName(file: string, id: number, total: number): string {
  return `${basename(file)}.share-${id}-of-${total}.txt`;
}

async function showSharesOnTerminal(io: CliIo, file: string, split: PasswordSplit, threshold: number): Promise<void> {
  const total = split.shares.length;
  for (const share of split.shares) {
    io.stdout.write(CLEAR);
    io.stdout.write(`${basename(file)}: password share ${share.id} of ${total} (any ${threshold} open the share file)\n\n`);
    io.stdout.write(`Custodian ${share.id}: make sure nobody else can see this screen.\n`);
    await waitForEnter(io, `Press Enter to show share ${share.id} of ${total}. `);
    io.stdout.write(CLEAR);
    io.stdout.write(`Share ${share.id} of ${total}\n\n${formatPrintout(split.prime, [share])}\n`);
    io.stdout.write('Write down ALL three values (prime, ID and value) and keep them safe.\n');
    await waitForEnter(io, 'Press Enter when you have written them down; the screen will be cleared. ');
    io.stdout.write(CLEAR);
    if (share.id < total) {
      await waitForEnter(io, `Hand over to custodian ${share.id + 1}, who presses Enter. `);
    }
  }
}

export const shareCreate: Command = {
  path: ['share', 'create'],
  summary: 'create a DKEK share file, protected by a passphrase or by n-of-m password shares (offline)',
  help: `usage: hsm-ceremony share create FILE [--pwd-shares T/N [--pwd-shares-out DIR]] [secret source] [--json]

Creates a new DKEK share (32 random bytes) in FILE, a 64-byte share file in sc-hsm-tool's format
(docs/dkek-share-format.md), readable by sc-hsm-tool --import-dkek-share. FILE is never overwritten.

With a passphrase (default): typed twice at a hidden prompt, at least 6 characters, or from
  --passphrase-file PATH / --passphrase-fd N / --secrets-file PATH.
With --pwd-shares T/N: the share file is encrypted under a random 64-bit password that is split
  into N password shares, any T of which open it (sc-hsm-tool's n-of-m scheme, 2 <= T <= N, 3 <= N).
  On a terminal each custodian's share is shown alone, and the screen is cleared between
  custodians. Without a terminal, --pwd-shares-out DIR writes each share to its own file
  (mode 0600) named FILE.share-I-of-N.txt.
Prints the share's fingerprint, which identifies it in ceremony records without revealing it.`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'passphrase-file': { type: 'string' },
        'passphrase-fd': { type: 'string' },
        'secrets-file': { type: 'string' },
        'pwd-shares': { type: 'string' },
        'pwd-shares-out': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one share file to create', { hint: 'hsm-ceremony share create FILE' });
    const file = resolve(io.cwd, positionals[0]!);
    assertAbsent(file);

    let password: Uint8Array;
    let split: PasswordSplit | undefined;
    let threshold = 0;
    let outDir: string | undefined;
    if (values['pwd-shares'] !== undefined) {
      if (values['passphrase-file'] || values['passphrase-fd'] || values['secrets-file']) {
        throw usageError('SECRET_SOURCES_CONFLICT', '--pwd-shares makes its own random password; do not also give a passphrase source');
      }
      const spec = parseThresholdSpec(values['pwd-shares']);
      threshold = spec.threshold;
      if (values['pwd-shares-out'] !== undefined) {
        outDir = resolve(io.cwd, values['pwd-shares-out']);
        if (!statSync(outDir, { throwIfNoEntry: false })?.isDirectory()) {
          throw usageError('OUTPUT_DIR_MISSING', `${outDir} is not a folder`, { hint: 'create it first (mode 0700)' });
        }
        for (let i = 1; i <= spec.total; i++) assertAbsent(join(outDir, shareFileName(file, i, spec.total)));
      } else if (!isInteractive(io) || (io.stdout as { isTTY?: boolean }).isTTY !== true) {
        throw usageError('NO_TTY', 'password shares must be shown on a terminal, one custodian at a time', {
          hint: 'run this on a terminal, or pass --pwd-shares-out DIR to write each share to its own file',
        });
      }
      split = splitPassword(spec.threshold, spec.total);
      password = split.password;
      checkRecombination(split, spec.threshold);
    } else {
      if (values['pwd-shares-out'] !== undefined) throw usageError('USAGE', '--pwd-shares-out goes with --pwd-shares T/N');
      password = await newPassphrase(io, file, values, values['secrets-file']);
    }

    let share: Uint8Array | undefined;
    try {
      const created = await withInterrupt((signal) => createShareFile(password, { kdf: workerKdf(io, 'encrypting share', signal) }));
      share = created.share;
      const fingerprint = shareFingerprint(share);
      if (split) {
        if (outDir) {
          for (const s of split.shares) {
            writeNewFile(join(outDir, shareFileName(file, s.id, split.shares.length)), utf8(formatPrintout(split.prime, [s])));
          }
        } else {
          await showSharesOnTerminal(io, file, split, threshold);
        }
      }
      writeNewFile(file, created.file, 0o600);
      if (values.json) {
        const out: Record<string, unknown> = { file: basename(file), fingerprint };
        if (split) out.pwdShares = { threshold, total: split.shares.length, prime: formatHexColon(split.prime), ...(outDir ? { dir: outDir } : {}) };
        io.stdout.write(JSON.stringify(out) + '\n');
      } else {
        io.stdout.write(`DKEK share created and saved to ${file}\n  share fingerprint : ${fingerprint}\n`);
        if (split && outDir) io.stdout.write(`  ${split.shares.length} password shares written to ${outDir} (any ${threshold} open the file)\n`);
      }
      return 0;
    } finally {
      // share values are bigints, which cannot be wiped (docs/threat-model.md)
      wipe(password, share);
    }
  },
};
