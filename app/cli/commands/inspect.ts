import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { loadSecretsFile } from '../secrets-file.ts';
import { shareSecretOptions, obtainShareSecret } from '../share-secret-source.ts';
import { withInterrupt } from '../progress.ts';
import { readInputFile } from './share-verify.ts';
import { DerivationProgress } from './share-import.ts';
import { inspectBackup, firstFailure, type BackupInspection } from '../../ceremony/operations/inspect-backup.ts';
import { describePublicKey, publicKeyFingerprint, publicKeyJson } from '../../ceremony/operations/public-key.ts';
import { openShareFile, type OpenedShare } from '../../../protocol/dkek/open-share-file.ts';
import { parseShareFile } from '../../../protocol/dkek/share-file.ts';
import { combineShares, parseKcv, shareFingerprint } from '../../../protocol/dkek/dkek.ts';
import { toHex, wipe } from '../../../protocol/bytes.ts';
import { checkFailed, usageError } from '../../../protocol/errors.ts';

function format(name: string, i: BackupInspection, shareNames: string[]): string {
  const lines = [`${name}: SmartCard-HSM key backup (sc-hsm-tool wrap file)`];
  const field = (k: string, v: string) => lines.push(`  ${k.padEnd(17)}: ${v}`);
  field('DKEK KCV', i.kcv);
  field('key blob', `${i.keyType}, ${i.blobLength} bytes, algorithm ${i.defaultAlgorithm}${i.allowedAlgorithms ? `, allowed ${i.allowedAlgorithms}` : ''}`);
  if (i.prkd) {
    const p = i.prkd;
    const parts = [p.label !== null ? `label "${p.label}"` : 'no label', p.id !== null ? `ID ${p.id}` : 'no ID', `${p.type}${p.bits !== null ? ` ${p.bits} bits` : ''}`];
    if (p.keyReference !== null) parts.push(`key reference ${p.keyReference} when backed up`);
    field('key description', parts.join(', '));
  } else field('key description', 'none');
  if (i.certificate) {
    const c = i.certificate;
    field('certificate', `${c.kind === 'cv-request' ? 'CV request' : c.kind === 'cv-certificate' ? 'CV certificate' : 'X.509 certificate'}${c.holder ? `, holder ${c.holder}` : ''}`);
    if (c.publicKey) {
      field('public key', describePublicKey(c.publicKey));
      if (c.publicKey.type === 'ec') field('  point', toHex(c.publicKey.point));
      else field('  exponent', toHex(c.publicKey.e));
      field('  fingerprint', publicKeyFingerprint(c.publicKey));
    }
  } else field('certificate', 'none');
  if (shareNames.length > 0) field('DKEK shares', shareNames.join(', '));
  if (i.decrypted) field('decrypted key', `${i.decrypted.key}, key size field ${i.decrypted.keySize}`);
  if (i.checks.length > 0) {
    lines.push('  checks:');
    for (const c of i.checks) lines.push(`    ${c.ok === true ? 'yes' : c.ok === false ? 'NO ' : ' - '}  ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
  }
  for (const w of i.warnings) lines.push(`  note: ${w}`);
  return lines.join('\n');
}

export const inspect: Command = {
  path: ['inspect'],
  summary: 'show what a key backup holds and, with the DKEK shares, check it (offline)',
  help: `usage: hsm-ceremony inspect BACKUP [--share FILE]... [--expect-kcv HEX] [secret source] [--json]

Reads a key backup (an sc-hsm-tool --wrap-key file) without a device and shows its DKEK key check
value, key type, label, ID, certificate holder and public key.
  --expect-kcv HEX   compare the backup's KCV with the one the custodians recorded
  --share FILE       a DKEK share file (repeat for every share): the shares are opened, combined,
                     and the backup is checked against the DKEK: same KCV, authentic (CMAC), key
                     size from the decrypted key, public key consistent; the key is then wiped
Secrets for the shares: --secrets-file, or typed; with a single --share also --passphrase-file,
--passphrase-fd, --pwd-shares-file or --pwd-shares K.
Exit codes: 0 every check that could be made holds, 1 a check failed (KCV_MISMATCH, MAC_MISMATCH,
…, named in the message), 2 unusable input.`,
  async run(argv: string[], io: CliIo) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...shareSecretOptions, share: { type: 'string', multiple: true }, 'expect-kcv': { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one backup file', { hint: 'hsm-ceremony inspect BACKUP [--share FILE]…' });
    const sharePaths = (values.share ?? []).map((p) => resolve(io.cwd, p));
    const single = ['passphrase-file', 'passphrase-fd', 'pwd-shares-file', 'pwd-shares'].filter((k) => values[k as keyof typeof values] !== undefined);
    if (single.length > 0 && sharePaths.length !== 1) {
      throw usageError('USAGE', `--${single[0]} gives the secret of exactly one --share file`, { hint: 'give every secret in --secrets-file, or type them' });
    }
    const expectKcv = values['expect-kcv'] !== undefined ? parseKcv(values['expect-kcv']) : undefined;
    const path = resolve(io.cwd, positionals[0]!);
    const file = readInputFile(path, 'the backup file');
    inspectBackup(file); // a damaged backup fails before any derivation
    const shareFiles = sharePaths.map((p) => readInputFile(p, 'the share file'));
    shareFiles.forEach((f) => parseShareFile(f));

    let dkek: Uint8Array | undefined;
    const opened: OpenedShare[] = [];
    const secrets = values['secrets-file'] ? loadSecretsFile(values['secrets-file'], io.cwd) : undefined;
    const progress = new DerivationProgress(io);
    try {
      if (sharePaths.length > 0) {
        await withInterrupt(async (signal) => {
          const running: Promise<OpenedShare>[] = [];
          for (let k = 0; k < sharePaths.length; k++) {
            if (k >= 2) await running[k - 2]!.catch(() => undefined);
            progress.prompting = true;
            progress.clear();
            let secret;
            try {
              secret = await obtainShareSecret(sharePaths[k]!, values, io, secrets);
            } finally {
              progress.prompting = false;
            }
            const s = secret;
            const p = openShareFile(shareFiles[k]!, s, progress.kdf(basename(sharePaths[k]!), signal)).finally(() => {
              if (s.kind === 'passphrase') wipe(s.passphrase);
            });
            p.catch(() => undefined);
            running.push(p);
          }
          const results = await Promise.allSettled(running);
          for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw (failed as PromiseRejectedResult).reason;
        });
        progress.clear();
        dkek = combineShares(opened.map((o) => o.share));
      }
      const result = inspectBackup(file, { dkek, expectKcv });
      const fingerprints = opened.map((o) => shareFingerprint(o.share));
      const shareNames = sharePaths.map((p, k) => `${basename(p)} (${fingerprints[k]})`);
      const failure = firstFailure(result);
      if (values.json) {
        io.stdout.write(
          JSON.stringify({
            file: path,
            ...result,
            certificate: result.certificate ? { kind: result.certificate.kind, holder: result.certificate.holder, publicKey: result.certificate.publicKey ? publicKeyJson(result.certificate.publicKey) : null } : null,
            shares: sharePaths.map((p, k) => ({ file: basename(p), fingerprint: fingerprints[k] })),
            ok: failure === undefined,
          }) + '\n',
        );
      } else {
        io.stdout.write(format(basename(path), result, shareNames) + '\n');
      }
      if (failure) {
        throw checkFailed(failure.code, `${failure.name}: no${failure.detail ? ` (${failure.detail})` : ''}`, {
          hint:
            failure.code === 'KCV_MISMATCH'
              ? 'these shares (or the expected KCV) belong to another DKEK than the backup; find the shares of the backup\'s DKEK'
              : failure.code === 'MAC_MISMATCH'
                ? 'the backup was altered or damaged after it was made; use another copy'
                : 'do not rely on this backup; use another copy',
        });
      }
      return 0;
    } finally {
      progress.clear();
      for (const o of opened) wipe(o.share);
      wipe(dkek);
      secrets?.wipe();
    }
  },
};
