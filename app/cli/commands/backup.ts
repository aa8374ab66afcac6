import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, parseKeyRef, type CardSession } from '../device-options.ts';
import { withInterrupt } from '../progress.ts';
import { assertAbsent, writeNewFile } from '../write-new-file.ts';
import { loginUser, requireCompleteDkek } from '../../ceremony/operations/login.ts';
import { backupKey, type KeyBackup } from '../../ceremony/operations/backup-key.ts';
import { formatKcv } from '../../../protocol/dkek/dkek.ts';
import { deviceError, incomplete, isCeremonyError, usageError } from '../../../protocol/errors.ts';

/** `key-<ref>-<label>.bin`, the label reduced to characters safe in any file system. */
export function backupFileName(ref: number, label: string | null): string {
  const safe = (label ?? '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|_+$/g, '').slice(0, 40);
  return safe ? `key-${ref}-${safe}.bin` : `key-${ref}.bin`;
}

interface Written {
  path: string;
  backup: KeyBackup;
}

function describe(w: Written): string {
  const b = w.backup;
  const who = [b.label !== null ? `label "${b.label}"` : null, b.id !== null ? `ID ${b.id}` : null, b.keyType].filter(Boolean).join(', ');
  return [`key ${b.keyRef} (${who}) backed up to ${w.path}`, `  DKEK KCV : ${b.kcv}`, `  SHA-256  : ${b.sha256}`, ...b.warnings.map((x) => `  note     : ${x}`)].join('\n');
}

export const backup: Command = {
  path: ['backup'],
  summary: 'back up keys as sc-hsm-tool wrap files (one key, or all keys into a folder)',
  help: `usage: hsm-ceremony backup --key-ref N --out FILE [device options] [--json]
       hsm-ceremony backup --all --out DIR [device options] [--json]

Wraps a key under the device's DKEK (WRAP KEY) and writes it with its key description (PRKD) and
certificate or CV request in the format of sc-hsm-tool --wrap-key, so either tool can restore it.
Each blob's DKEK key check value is checked against the device's before the file is written.
Files are never overwritten (mode 0600). --all backs up every key except the device key
(reference 0) into DIR as key-<ref>-<label>.bin. Prints each file's SHA-256 for the record.
Needs the user PIN.

${DEVICE_OPTIONS_HELP}`,
  async run(argv: string[], io: CliIo) {
    const { values } = parseArgs({ args: argv, strict: true, options: { ...deviceOptions, 'key-ref': { type: 'string' }, all: { type: 'boolean' }, out: { type: 'string' } } });
    if ((values['key-ref'] !== undefined) === (values.all === true)) {
      throw usageError('USAGE', 'give either --key-ref N or --all', { hint: 'hsm-ceremony backup --key-ref N --out FILE, or --all --out DIR' });
    }
    if (values.out === undefined) throw usageError('USAGE', '--out is required', { hint: values.all ? '--out DIR: an existing folder' : '--out FILE: a file that does not exist yet' });
    const out = resolve(io.cwd, values.out);
    const single = values.all ? undefined : parseKeyRef(values['key-ref']);
    if (single !== undefined) assertAbsent(out);
    else if (!statSync(out, { throwIfNoEntry: false })?.isDirectory()) {
      throw usageError('OUTPUT_DIR_MISSING', `${out} is not a folder`, { hint: 'create it first (mode 0700)' });
    }
    const secrets = new DeviceSecrets(values, io);
    let card: CardSession | undefined;
    const written: Written[] = [];
    try {
      const pin = (await secrets.pin({ required: true, prompt: true, label: 'User PIN' }))!;
      card = await openCard(values, io, { changesCard: false, secrets });
      const hsm = card.hsm;
      await loginUser(hsm, pin);
      const dkek = await requireCompleteDkek(hsm);
      let targets: { ref: number; path: string }[];
      if (single !== undefined) {
        targets = [{ ref: single, path: out }];
      } else {
        const list = (await hsm.listKeys()).filter((k) => !k.deviceKey);
        targets = list.map((k) => ({ ref: k.keyRef, path: join(out, backupFileName(k.keyRef, k.label)) }));
        for (const t of targets) assertAbsent(t.path); // all names checked before the first WRAP
      }
      const failed: { ref: number; message: string }[] = [];
      await withInterrupt(async (signal) => {
        for (const t of targets) {
          if (signal.aborted) {
            throw incomplete('CANCELLED', `cancelled after ${written.length} of ${targets.length} backups`, {
              hint: written.length > 0 ? `the files written are complete: ${written.map((w) => w.path).join(', ')}` : 'no file was written',
            });
          }
          let b: KeyBackup;
          try {
            b = await backupKey(hsm, t.ref, dkek.kcv);
          } catch (e) {
            if (single !== undefined || !isCeremonyError(e) || e.kind === 'bug') throw e;
            failed.push({ ref: t.ref, message: e.message });
            if (!values.json) io.stderr.write(`hsm-ceremony: key ${t.ref} not backed up: ${e.message}\n`);
            continue;
          }
          writeNewFile(t.path, b.file, 0o600);
          const w = { path: t.path, backup: b };
          written.push(w);
          if (!values.json) io.stdout.write(describe(w) + '\n');
        }
      });
      if (values.json) {
        io.stdout.write(
          JSON.stringify({
            kcv: formatKcv(dkek.kcv),
            files: written.map((w) => ({ path: w.path, keyRef: w.backup.keyRef, label: w.backup.label, id: w.backup.id, keyType: w.backup.keyType, kcv: w.backup.kcv, sha256: w.backup.sha256, warnings: w.backup.warnings })),
            failed,
          }) + '\n',
        );
      } else if (targets.length === 0) {
        io.stdout.write('no keys to back up (only the device key, which cannot be exported)\n');
      }
      if (failed.length > 0) {
        throw deviceError('BACKUP_INCOMPLETE', `${failed.length} of ${targets.length} keys were not backed up (key reference${failed.length === 1 ? '' : 's'} ${failed.map((f) => f.ref).join(', ')})`, {
          hint: 'the files that were written are complete; a key generated as non-exportable can never be backed up',
        });
      }
      return 0;
    } finally {
      secrets.wipe();
      await card?.close();
    }
  },
};
