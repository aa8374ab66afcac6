/**
 * `RunSecrets` from a secrets file (docs/secrets-file.md), for a headless run: PINs, passphrases,
 * password-share printouts and (rehearsal only) sign-offs come from the file; nothing is typed.
 *
 * Password shares (docs/secrets-file.md §"Password shares in a run"):
 *
 * - A rehearsal that creates an n-of-m share file keeps the split it "handed out" in memory, share
 *   i with custodian i of the create step, until the run ends (`forget()`). A later import of that
 *   file answers with the shares of the first `threshold` custodians the import step lists, in that
 *   order, as if each had typed theirs.
 * - When the file names `shares."NAME".pwdShares: PATH` for a file the plan creates, the rehearsal
 *   also writes all shares there in sc-hsm-tool's printout layout (mode 0600, never over an existing
 *   file), so a later run, a resume or `replay` can open the file again.
 * - An import the run did not create a split for reads the printout at that PATH, all of its
 *   shares, as `share import --secrets-file` does.
 * - A real ceremony (a file without `"rehearsal": true`) never hands password shares out headless:
 *   each custodian must see theirs alone on a terminal.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { usageError } from '../../protocol/errors.ts';
import { wipe } from '../../protocol/bytes.ts';
import { formatPrintout, shareSet, type PasswordShare, type PasswordSplit, type ShareSet } from '../../protocol/dkek/password-shares.ts';
import type { SecretsFile } from '../cli/secrets-file.ts';
import { readPwdSharesFile } from '../cli/share-secret-source.ts';
import { writeNewFile } from '../cli/write-new-file.ts';
import type { RunSecrets } from './step-executor.ts';

/** A split this run handed out: the public prime and each custodian's share (secret). */
interface HandedOut {
  prime: bigint;
  /** lower-cased custodian name → their share */
  byCustodian: Map<string, PasswordShare>;
}

export interface FileRunSecrets extends RunSecrets {
  /** drops every password share this source kept (bigints cannot be wiped; the references go) */
  forget(): void;
}

/** Secrets and sign-offs from a secrets file, for a headless run. */
export function fileSecrets(file: SecretsFile): FileRunSecrets {
  const name = basename(file.path);
  const need = (v: Uint8Array | undefined, what: string) => {
    if (!v) throw usageError('NO_TTY', `${name} has no ${what}, and there is no terminal to type it on`, { hint: 'add it to the secrets file (docs/secrets-file.md)' });
    return v.slice();
  };
  const handedOut = new Map<string, HandedOut>();

  return {
    pin: async () => need(file.pin, 'pin'),
    soPin: async () => need(file.soPin, 'soPin'),
    passphrase: async (f) => need(file.forShareFile(f)?.passphrase, `shares."${basename(f)}".passphrase`),
    signOff: async (person) => {
      const v = file.signOffs.get(person);
      if (v === undefined) throw usageError('NO_TTY', `${name} has no signOffs."${person}", and there is no terminal to ask ${person} on`, { hint: 'add it to the rehearsal secrets file' });
      return v ? { accepted: true } : { accepted: false, reason: 'declined (rehearsal secrets file)' };
    },

    async pwdShares(f, custodians, threshold, total): Promise<ShareSet> {
      const kept = handedOut.get(basename(f));
      if (kept) {
        const chosen = custodians.slice(0, threshold);
        const entries = chosen.map((c, i) => {
          const share = kept.byCustodian.get(c.toLowerCase());
          if (!share) {
            throw usageError('PWD_SHARE_NOT_HELD', `${c} was given no password share of ${basename(f)} in this run`, {
              hint: 'list under the import step\'s custodians only people the create step handed a share to',
            });
          }
          return { position: i + 1, idText: String(share.id), value: share.value };
        });
        return shareSet(entries, kept.prime);
      }
      const printout = file.forShareFile(f)?.pwdSharesFile;
      if (!printout) {
        throw usageError('NO_TTY', `${name} has no shares."${basename(f)}".pwdShares (a printout of at least ${threshold} of its ${total} password shares), and there is no terminal to type them on`, {
          hint: 'name the printout in the secrets file (docs/secrets-file.md); a rehearsal that creates the split keeps it only until the run ends, so a resumed rehearsal needs the printout too',
        });
      }
      return readPwdSharesFile(printout, !file.rehearsal);
    },

    async handOutPwdShares(f, custodians, split: PasswordSplit): Promise<void> {
      if (!file.rehearsal) {
        throw usageError('NO_TTY', `the password shares of ${basename(f)} must be shown to each custodian alone on a terminal; ${name} is not a rehearsal file, so a headless run cannot hand them out`, {
          hint: 'run the ceremony on a terminal',
        });
      }
      if (custodians.length !== split.shares.length) throw new RangeError('one custodian per password share');
      const printout = file.forShareFile(f)?.pwdSharesFile;
      if (printout) {
        mkdirSync(dirname(printout), { recursive: true, mode: 0o700 });
        const bytes = new TextEncoder().encode(formatPrintout(split.prime, split.shares));
        try {
          writeNewFile(printout, bytes, 0o600);
        } finally {
          wipe(bytes);
        }
      }
      const byCustodian = new Map<string, PasswordShare>();
      custodians.forEach((c, i) => byCustodian.set(c.toLowerCase(), { id: split.shares[i]!.id, value: split.shares[i]!.value }));
      handedOut.set(basename(f), { prime: split.prime, byCustodian });
    },

    forget() {
      handedOut.clear();
    },
  };
}
