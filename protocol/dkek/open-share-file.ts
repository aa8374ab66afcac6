/**
 * Opening a DKEK share file with whatever its custodian brings: a passphrase, or n-of-m password
 * shares. For password shares the shares may stand for several passwords (ID readings, sc-hsm-tool's
 * leading-zero bug; docs/password-shares.md §7); they are tried in order, so the slow derivation
 * runs once in the common case. Pure: the key derivation is passed in.
 */
import { checkFailed, isCeremonyError } from '../errors.ts';
import { decryptShareFile, parseShareFile, type ShareFileKdf } from './share-file.ts';
import { passwordCandidates, wipeCandidates, type ShareSet, type PasswordCandidate } from './password-shares.ts';

export type ShareSecretInput =
  | { kind: 'passphrase'; passphrase: Uint8Array }
  | { kind: 'pwd-shares'; set: ShareSet };

/** How the file was opened; public (goes to screens and transcripts). */
export type OpenedWith =
  | { kind: 'passphrase' }
  | {
      kind: 'pwd-shares';
      shares: number;
      threshold: number;
      /** false when exactly `threshold` shares were given, so nothing cross-checked them */
      checked: boolean;
      idReading: PasswordCandidate['idReading'];
      form: PasswordCandidate['form'];
      primeIsSafe: boolean;
    };

export interface OpenedShare {
  /** the 32-byte DKEK share; the caller wipes it */
  share: Uint8Array;
  openedWith: OpenedWith;
}

/**
 * Decrypts a share file. The caller keeps ownership of the secret input and wipes it.
 * @throws CeremonyError usage SHARE_FILE_* for a malformed file (before any derivation runs)
 * @throws CeremonyError check WRONG_PASSPHRASE, or WRONG_PWD_SHARES when no candidate opens it
 * @throws CeremonyError check PWD_SHARES_OUTLIERS / PWD_SHARES_INCONSISTENT (from the shares alone)
 */
export async function openShareFile(
  file: Uint8Array,
  secret: ShareSecretInput,
  kdf: ShareFileKdf,
  onAttempt?: (attempt: number, of: number) => void,
): Promise<OpenedShare> {
  parseShareFile(file); // malformed files fail before seconds of derivation
  if (secret.kind === 'passphrase') {
    onAttempt?.(1, 1);
    return { share: await decryptShareFile(file, secret.passphrase, kdf), openedWith: { kind: 'passphrase' } };
  }
  const candidates = passwordCandidates(secret.set);
  try {
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      onAttempt?.(i + 1, candidates.length);
      try {
        const share = await decryptShareFile(file, c.password, kdf);
        return {
          share,
          openedWith: {
            kind: 'pwd-shares',
            shares: secret.set.shares.length,
            threshold: c.threshold,
            checked: c.checked,
            idReading: c.idReading,
            form: c.form,
            primeIsSafe: secret.set.primeIsSafe,
          },
        };
      } catch (e) {
        if (!(isCeremonyError(e) && e.code === 'WRONG_PASSPHRASE')) throw e;
      }
    }
  } finally {
    wipeCandidates(candidates);
  }
  throw checkFailed('WRONG_PWD_SHARES', 'the password shares do not open this share file', {
    hint: 'check that the shares belong to this file and that too few were not given; a mistyped share is found only when more shares than the threshold are entered',
  });
}

/** One sentence for people about how a share file was opened. */
export function describeOpenedWith(o: OpenedWith): string {
  if (o.kind === 'passphrase') return 'passphrase';
  const parts = [`${o.shares} password shares, threshold ${o.threshold}`];
  parts.push(o.checked ? 'every share cross-checked' : 'no spare share to cross-check');
  if (o.idReading === 'hex') parts.push('share IDs read as hexadecimal, as sc-hsm-tool reads them');
  if (o.form === 'minimal') parts.push("password without its leading zero byte (sc-hsm-tool's leading-zero bug)");
  if (o.form === 'wrapped') parts.push('secret above the prime (a printout from sc-hsm-tool before 0.16)');
  if (!o.primeIsSafe) parts.push('warning: the prime is not a safe prime, unlike every prime sc-hsm-tool makes');
  return parts.join('; ');
}
