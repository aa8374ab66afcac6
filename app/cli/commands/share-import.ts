import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, type CardSession } from '../device-options.ts';
import { shareSecretOptions, obtainShareSecret } from '../share-secret-source.ts';
import { withInterrupt } from '../progress.ts';
import { readInputFile } from './share-verify.ts';
import { importShares, progressText, type ImportEvent, type ShareToImport } from '../../ceremony/operations/import-shares.ts';
import { confirmDkek, mismatchError, type DkekConfirmation } from '../../ceremony/operations/confirm-dkek.ts';
import { deriveShareFileKey } from '../../../protocol/dkek/derive.ts';
import { describeOpenedWith } from '../../../protocol/dkek/open-share-file.ts';
import type { ShareFileKdf } from '../../../protocol/dkek/share-file.ts';
import { parseKcv } from '../../../protocol/dkek/dkek.ts';
import { CeremonyError, isCeremonyError, usageError } from '../../../protocol/errors.ts';

/**
 * Progress of up to two derivations on one stderr line, drawn only on a terminal and never while a
 * prompt is waiting for a custodian. Shared by the commands that derive two keys at a time.
 */
export class DerivationProgress {
  private readonly running = new Map<string, number>();
  private drawn = false;
  prompting = false;
  constructor(private readonly io: CliIo) {}
  private get tty(): boolean {
    return (this.io.stderr as { isTTY?: boolean }).isTTY === true;
  }
  update(name: string, pct: number): void {
    if (this.running.get(name) === pct) return;
    this.running.set(name, pct);
    this.draw();
  }
  done(name: string): void {
    this.running.delete(name);
    this.clear();
    this.draw();
  }
  /** A share-file KDF for `name` that reports here. */
  kdf(name: string, signal: AbortSignal): ShareFileKdf {
    return async (password, salt) => {
      try {
        return await deriveShareFileKey(password, salt, { signal, onProgress: (d, t) => this.update(name, t === 0 ? 100 : Math.floor((d / t) * 100)) });
      } finally {
        this.done(name);
      }
    };
  }
  clear(): void {
    if (this.tty && this.drawn) this.io.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }
  private draw(): void {
    if (!this.tty || this.prompting || this.running.size === 0) return;
    const parts = [...this.running].map(([n, p]) => `${n} ${String(p).padStart(3)}%`);
    this.io.stderr.write(`\r\x1b[2Kderiving keys: ${parts.join('   ')}`);
    this.drawn = true;
  }
}

export const shareImport: Command = {
  path: ['share', 'import'],
  summary: 'import DKEK share files into the device, then verify the PIN and check the KCV',
  help: `usage: hsm-ceremony share import FILE... [--expect-kcv HEX] [secret source] [device options] [--json]

Imports each DKEK share file into the device, in order, as sc-hsm-tool --import-dkek-share does,
and prints "k of n imported, m outstanding" after each. Before any slow key derivation it refuses
malformed files, the same file twice, and more files than the device still expects. A share whose
fingerprint was already imported in this run is refused (the card would XOR it in twice). The key
of the next file is derived while the card imports the previous one (two at a time).

After the last share it verifies the user PIN (Pico HSM commits the DKEK only then, and shows the
KCV only after it) and reads the DKEK key check value; with --expect-kcv HEX it compares and exits 1
on a mismatch.

Secret per file: from --secrets-file (shares by file base name), else typed (hidden) by each
custodian in turn. With a single FILE also --passphrase-file, --passphrase-fd, --pwd-shares-file,
or --pwd-shares K (type K password shares).

${DEVICE_OPTIONS_HELP}`,
  async run(argv: string[], io: CliIo) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...deviceOptions, ...shareSecretOptions, 'expect-kcv': { type: 'string' } },
    });
    if (positionals.length === 0) throw usageError('USAGE', 'give the share files to import', { hint: 'hsm-ceremony share import FILE…' });
    const single = ['passphrase-file', 'passphrase-fd', 'pwd-shares-file', 'pwd-shares'].filter((k) => values[k as keyof typeof values] !== undefined);
    if (single.length > 0 && positionals.length > 1) {
      throw usageError('USAGE', `--${single[0]} gives the secret of one file, but ${positionals.length} files were given`, {
        hint: 'import one file at a time with it, or give every secret in --secrets-file (or type them)',
      });
    }
    const expectKcv = values['expect-kcv'] !== undefined ? parseKcv(values['expect-kcv']) : undefined;
    const paths = positionals.map((p) => resolve(io.cwd, p));
    const files = paths.map((p) => readInputFile(p, 'the share file'));
    const secrets = new DeviceSecrets(values, io);
    const progress = new DerivationProgress(io);
    const say = (line: string) => {
      progress.clear();
      if (!values.json) io.stdout.write(line + '\n');
    };
    let card: CardSession | undefined;
    try {
      card = await openCard(values, io, { changesCard: true, secrets });
      const hsm = card.hsm;
      const shares: ShareToImport[] = paths.map((p, i) => ({
        name: basename(p),
        file: files[i]!,
        secret: async () => {
          progress.prompting = true;
          progress.clear();
          try {
            return await obtainShareSecret(p, values, io, secrets.file);
          } finally {
            progress.prompting = false;
          }
        },
      }));
      const onEvent = (e: ImportEvent) => {
        if (e.kind === 'status') say(`DKEK shares: ${progressText(e.status)}`);
        else if (e.kind === 'opened') say(`${e.name}: opened (${describeOpenedWith(e.openedWith)}), share fingerprint ${e.fingerprint}`);
        else if (e.kind === 'imported') say(`${e.name}: imported; ${progressText(e)}`);
      };
      const result = await withInterrupt((signal) =>
        importShares(hsm, shares, {
          signal,
          onEvent,
          kdf: (name, s) => progress.kdf(name, s),
        }),
      );
      let confirmation: DkekConfirmation | undefined;
      if (result.status.outstanding === 0) {
        const pin = await secrets.pin({ required: false, prompt: true, label: 'User PIN (to commit the DKEK and read its KCV)' });
        if (!pin && !values.json) {
          io.stderr.write('hsm-ceremony: warning: no user PIN given: on Pico HSM the DKEK is committed only at the next PIN verification and its KCV stays hidden until then; run "hsm-ceremony status" with the PIN now\n');
        }
        try {
          confirmation = await confirmDkek(hsm, { pin, expectKcv });
        } catch (e) {
          if (!isCeremonyError(e)) throw e;
          throw new CeremonyError(e.kind, e.code, `${e.message} (all ${result.status.total} shares are imported; the DKEK is not yet confirmed)`, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
        }
      }
      if (values.json) {
        io.stdout.write(
          JSON.stringify({
            imported: result.imported.map((s) => ({ file: s.name, fingerprint: s.fingerprint, openedWith: s.openedWith })),
            total: result.status.total,
            outstanding: result.status.outstanding,
            kcv: confirmation?.kcv ?? null,
            loggedIn: confirmation?.loggedIn ?? false,
            expectedKcv: confirmation?.expected ?? (expectKcv ? values['expect-kcv'] : null),
            kcvMatches: confirmation?.matches ?? null,
          }) + '\n',
        );
      } else if (confirmation) {
        say(`DKEK complete${confirmation.loggedIn ? ' (user PIN verified)' : ''}: key check value ${confirmation.kcv ?? 'not shown by the device'}`);
        if (confirmation.matches === true) say(`  matches the expected KCV ${confirmation.expected}`);
      } else if (expectKcv) {
        say(`the KCV can be compared once all shares are imported (${result.status.outstanding} outstanding)`);
      }
      if (confirmation) {
        const err = mismatchError(confirmation);
        if (err) throw err;
      }
      return 0;
    } finally {
      progress.clear();
      secrets.wipe();
      await card?.close();
    }
  },
};
