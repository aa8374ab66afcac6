import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, parseKeyRef, type CardSession } from '../device-options.ts';
import { isInteractive, readLineBytes } from '../secret-input.ts';
import { withInterrupt } from '../progress.ts';
import { readInputFile } from './share-verify.ts';
import { restoreKey, type Occupant, type RestoreEvent } from '../../ceremony/operations/restore-key.ts';
import { decodeWrapFile } from '../../../protocol/dkek/wrap-file.ts';
import { parseKeyBlob } from '../../../protocol/dkek/key-blob.ts';
import { usageError } from '../../../protocol/errors.ts';
import { wipe } from '../../../protocol/bytes.ts';

async function confirmReplace(io: CliIo, ref: number, o: Occupant): Promise<boolean> {
  if (!isInteractive(io)) return true; // --replace was given; there is no one to ask
  const what = [o.key && 'a key', o.prkd && 'a key description', o.certificate && 'a certificate'].filter(Boolean).join(', ');
  io.stderr.write(`hsm-ceremony: key reference ${ref} holds ${what}${o.label ? ` (label "${o.label}")` : ''}; it will be replaced after the card has accepted the backup in a trial\n`);
  const phrase = `replace key ${ref}`;
  const typed = await readLineBytes(io, `Type "${phrase}" to go on: `, { hidden: false, maxLength: 64 });
  const ok = new TextDecoder().decode(typed) === phrase;
  wipe(typed);
  if (!ok) io.stderr.write('hsm-ceremony: that is not the phrase\n');
  return ok;
}

export const restore: Command = {
  path: ['restore'],
  summary: 'restore a key from a wrap file, in a safe order, and prove it signs',
  help: `usage: hsm-ceremony restore FILE --key-ref N [--replace] [device options] [--json]

Restores the key in FILE (an sc-hsm-tool --wrap-key file, or one made by hsm-ceremony backup)
into key reference N (1-255). Before anything is sent it reads the file and compares its DKEK key
check value with the device's: a backup made under another DKEK is never sent (Pico HSM firmware
damages its key-domain table on such an UNWRAP).

If key reference N is in use (key, key description or certificate) it is refused unless --replace
is given (and, on a terminal, "replace key N" is typed). Unlike sc-hsm-tool --force, which deletes
the old key before it knows the backup will unwrap, the card first unwraps the backup into a free
key reference as a trial, which is then deleted; only then is the old key deleted and the backup
unwrapped into N. The backup's key description and certificate replace the ones the firmware
writes. Warns when another key has the same ID or label. Finally the restored key signs a fresh
random challenge, verified with the public key from the backup. Needs the user PIN.

${DEVICE_OPTIONS_HELP}`,
  async run(argv: string[], io: CliIo) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...deviceOptions, 'key-ref': { type: 'string' }, replace: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one backup file', { hint: 'hsm-ceremony restore FILE --key-ref N' });
    const keyRef = parseKeyRef(values['key-ref']);
    const path = resolve(io.cwd, positionals[0]!);
    const file = readInputFile(path, 'the backup file');
    parseKeyBlob(decodeWrapFile(file).blob); // a damaged file fails before the device is touched
    const secrets = new DeviceSecrets(values, io);
    let card: CardSession | undefined;
    try {
      const pin = (await secrets.pin({ required: true, prompt: true, label: 'User PIN' }))!;
      card = await openCard(values, io, { changesCard: true, secrets });
      const hsm = card.hsm;
      const say = (line: string) => {
        if (!values.json) io.stdout.write(line + '\n');
      };
      const onEvent = (e: RestoreEvent) => {
        switch (e.kind) {
          case 'kcv-checked':
            return say(`backup and device share DKEK ${e.kcv}`);
          case 'trial-unwrapped':
            return say(`the card accepted the backup in a trial at key reference ${e.trialRef}`);
          case 'trial-removed':
            return say(`trial key ${e.trialRef} removed`);
          case 'old-key-deleted':
            return say(`old key ${e.keyRef} deleted`);
          case 'unwrapped':
            return say(`key unwrapped into key reference ${e.keyRef}`);
          case 'descriptions-written': {
            const parts = [e.prkd && 'key description', e.certificate && 'certificate'].filter(Boolean);
            return parts.length > 0 ? say(`${parts.join(' and ')} written from the backup`) : undefined;
          }
          case 'proved':
            return say(`the restored key signed a fresh challenge (${e.proof.description}); the signature verifies with the backup's public key`);
          case 'warning':
            if (!values.json) io.stderr.write(`hsm-ceremony: warning: ${e.text}\n`);
        }
      };
      const result = await withInterrupt((signal) =>
        restoreKey(hsm, file, keyRef, { pin, replace: values.replace === true, confirmReplace: (ref, o) => confirmReplace(io, ref, o), signal, onEvent }),
      );
      if (values.json) {
        io.stdout.write(JSON.stringify({ file: path, ...result, proof: result.proof ? { algorithm: result.proof.description, challenge: result.proof.challenge } : null }) + '\n');
      } else {
        const who = [result.label !== null ? `label "${result.label}"` : null, result.id !== null ? `ID ${result.id}` : null, result.keyType].filter(Boolean).join(', ');
        say(`Key restored into key reference ${result.keyRef} (${who})${result.replaced ? ', replacing what was there' : ''}`);
        if (!result.proof) say('  not test-signed: no public key was available');
        else if (result.publicKeySource === 'device') say('  test-signed with the public key the device reports (the backup carries none)');
      }
      return 0;
    } finally {
      secrets.wipe();
      await card?.close();
    }
  },
};
