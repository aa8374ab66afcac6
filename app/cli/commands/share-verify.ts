import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from '../command.ts';
import { shareSecretOptions, obtainShareSecret } from '../share-secret-source.ts';
import { loadSecretsFile } from '../secrets-file.ts';
import { workerKdf } from '../kdf.ts';
import { withInterrupt } from '../progress.ts';
import { openShareFile, describeOpenedWith } from '../../../protocol/dkek/open-share-file.ts';
import { kcv, formatKcv, shareFingerprint } from '../../../protocol/dkek/dkek.ts';
import { wipe } from '../../../protocol/bytes.ts';
import { usageError } from '../../../protocol/errors.ts';

export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('INPUT_UNREADABLE', `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? 'error'}`, {
      hint: 'check the path',
    });
  }
}

export const shareVerify: Command = {
  path: ['share', 'verify'],
  summary: 'check a passphrase or password shares against a DKEK share file (offline)',
  help: `usage: hsm-ceremony share verify FILE [secret source] [--json]

The rehearsal a custodian does before a ceremony: opens the share file with the passphrase (or the
n-of-m password shares) exactly as the card import would, without a card, and prints the share's
fingerprint and the key check value (KCV) the share would give as the only share of a DKEK.
Nothing is written.

Secret sources (default: typed, hidden):
  --passphrase-file PATH    first line of PATH
  --passphrase-fd N         first line read from file descriptor N
  --pwd-shares-file PATH    an sc-hsm-tool password-share printout (Prime / Share ID / Share value)
  --pwd-shares K            type K password shares at the terminal
  --secrets-file PATH       see docs/secrets-file.md
Exit codes: 0 the secret opens the file, 1 it does not, 2 unusable input, 4 cancelled.`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...shareSecretOptions, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one share file', { hint: 'hsm-ceremony share verify FILE' });
    const file = resolve(io.cwd, positionals[0]!);
    const bytes = readInputFile(file, 'the share file');
    const secrets = values['secrets-file'] ? loadSecretsFile(values['secrets-file'], io.cwd) : undefined;
    try {
      const secret = await obtainShareSecret(file, values, io, secrets);
      try {
        const opened = await withInterrupt((signal) => openShareFile(bytes, secret, workerKdf(io, 'deriving key', signal)));
        const fingerprint = shareFingerprint(opened.share);
        const kcvAlone = formatKcv(kcv(opened.share));
        wipe(opened.share);
        if (values.json) {
          io.stdout.write(JSON.stringify({ file: basename(file), ok: true, fingerprint, kcvAlone, openedWith: opened.openedWith }) + '\n');
        } else {
          io.stdout.write(
            [
              `${basename(file)}: the secret opens this share file`,
              `  opened with        : ${describeOpenedWith(opened.openedWith)}`,
              `  share fingerprint  : ${fingerprint}`,
              `  KCV as only share  : ${kcvAlone}`,
            ].join('\n') + '\n',
          );
        }
        return 0;
      } finally {
        if (secret.kind === 'passphrase') wipe(secret.passphrase);
      }
    } finally {
      secrets?.wipe();
    }
  },
};
