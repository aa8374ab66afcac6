/**
 * Importing DKEK shares into a device: `sc-hsm-tool --import-dkek-share` for several files in one
 * run, with the checks it lacks.
 *
 * - Everything that can be checked without the slow key derivation is checked first: malformed
 *   files, the same file given twice, and more files than the device still expects (the card would
 *   answer `69 86` only after the derivation, spec §9).
 * - A share whose fingerprint was already imported in this run is refused: the card XORs every
 *   share into the DKEK (spec §5), so the same share twice cancels itself out and leaves a DKEK no
 *   backup can ever be restored under.
 * - Derivations run in worker threads, at most `concurrency` at once (default 2), so the next file
 *   is derived while the card imports the previous one; imports happen strictly in order.
 * - Every failure and a cancellation say how far the import got ("1 of 3 imported, 2 outstanding"):
 *   a partial import is a consistent state the next run continues from.
 *
 * Shares never leave this module except as card commands; each is wiped right after its import.
 */
import type { DkekStatus, SmartCardHsm } from '../../card/sc-hsm.ts';
import { openShareFile, type OpenedShare, type OpenedWith, type ShareSecretInput } from '../../../protocol/dkek/open-share-file.ts';
import { parseShareFile, type ShareFileKdf } from '../../../protocol/dkek/share-file.ts';
import { shareFingerprint, shareFingerprintBytes } from '../../../protocol/dkek/dkek.ts';
import { equalBytes, wipe } from '../../../protocol/bytes.ts';
import { CeremonyError, checkFailed, deviceError, incomplete, isCeremonyError, usageError } from '../../../protocol/errors.ts';
import { readDkekStatus } from './login.ts';
import { kdfCancelled } from '../../../protocol/dkek/md5-chain.ts';

/** One share file to import. */
export interface ShareToImport {
  /** how people know the file (its base name) */
  name: string;
  /** the 64-byte share file */
  file: Uint8Array;
  /**
   * Obtains the custodian's secret. Called in file order, one at a time, only when a derivation
   * slot is free; a passphrase is wiped by the operation once its derivation ends. `signal`
   * aborts when the import is cancelled: a prompt should close then. One that does not is not
   * waited for — its secret is wiped when it arrives.
   */
  secret(signal: AbortSignal): Promise<ShareSecretInput>;
}

export type ImportEvent =
  | { kind: 'status'; status: DkekStatus }
  | { kind: 'deriving'; name: string; index: number }
  | { kind: 'opened'; name: string; index: number; fingerprint: string; openedWith: OpenedWith }
  | { kind: 'imported'; name: string; index: number; fingerprint: string; imported: number; total: number; outstanding: number };

export interface ImportSharesOptions {
  /** the key derivation for one file (a worker with its own progress display) */
  kdf(name: string, signal: AbortSignal): ShareFileKdf;
  /** derivations allowed at once; default 2 */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (e: ImportEvent) => void;
}

export interface ImportedShare {
  name: string;
  fingerprint: string;
  openedWith: OpenedWith;
}

export interface ImportSharesResult {
  imported: ImportedShare[];
  /** the device's answer to the last import */
  status: DkekStatus;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // rejections are observed by the consumer; never unhandled
  return { promise, resolve, reject };
}

/** "1 of 3 shares imported, 2 outstanding" */
export function progressText(status: { total: number; outstanding: number }): string {
  const done = status.total - status.outstanding;
  return `${done} of ${status.total} ${status.total === 1 ? 'share' : 'shares'} imported, ${status.outstanding} outstanding`;
}

/** The same error with how far the import got appended to its message. */
function withProgress(e: unknown, status: DkekStatus): unknown {
  if (!isCeremonyError(e)) return e;
  const where = progressText(status);
  let hint = e.hint;
  if (status.outstanding > 0 && status.outstanding < status.total) {
    // some shares are on the device: a hint saying "nothing was changed" (a cancelled prompt) is wrong here
    const rest = 'the shares imported so far stay on the device: import the remaining ones to complete the DKEK';
    hint = e.hint && !e.hint.includes('nothing was changed') ? `${e.hint}; ${rest}` : rest;
  }
  return new CeremonyError(e.kind, e.code, `${e.message} (${where})`, { ...(hint ? { hint } : {}), detail: { ...(e.detail ?? {}), total: status.total, outstanding: status.outstanding }, cause: e });
}

/**
 * Checks what can be checked before any derivation, then imports the shares in order.
 *
 * @throws CeremonyError usage SHARE_FILE_* (malformed), DUPLICATE_SHARE_FILE, TOO_MANY_SHARES,
 *   NO_SHARES_EXPECTED — all before any derivation; device NO_DKEK; check WRONG_PASSPHRASE /
 *   WRONG_PWD_SHARES, check DUPLICATE_SHARE, incomplete CANCELLED, CardError — these with the
 *   progress in the message
 */
export async function importShares(hsm: SmartCardHsm, shares: readonly ShareToImport[], o: ImportSharesOptions): Promise<ImportSharesResult> {
  if (shares.length === 0) throw usageError('USAGE', 'give at least one share file', { hint: 'hsm-ceremony share import FILE…' });
  const concurrency = o.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  shares.forEach((s, i) => {
    parseShareFile(s.file);
    for (let j = 0; j < i; j++) {
      if (equalBytes(shares[j]!.file, s.file)) {
        throw usageError('DUPLICATE_SHARE_FILE', `${s.name} and ${shares[j]!.name} are the same share file`, {
          hint: 'each share may be imported only once: the card XORs shares, so a share given twice cancels itself out',
        });
      }
    }
  });

  let status = await readDkekStatus(hsm);
  if (!status) {
    throw deviceError('NO_DKEK', 'the device was not initialised for DKEK shares', {
      hint: 'initialise it with hsm-ceremony init --dkek-shares N (this erases the device)',
    });
  }
  o.onEvent?.({ kind: 'status', status });
  if (status.total === 0) {
    throw usageError('NO_SHARES_EXPECTED', 'the device expects no DKEK shares (it has a random DKEK made by the device, or none)', {
      hint: 'to use DKEK shares, re-initialise it with --dkek-shares N',
    });
  }
  if (status.outstanding === 0) {
    throw usageError('NO_SHARES_EXPECTED', `all ${status.total} DKEK shares are already imported`, {
      hint: 'nothing to do; to start over the device must be re-initialised (this erases it)',
    });
  }
  if (shares.length > status.outstanding) {
    throw usageError('TOO_MANY_SHARES', `${shares.length} share files given, but the device expects only ${status.outstanding} more (${progressText(status)})`, {
      hint: 'give only the shares not yet imported; nothing was imported',
    });
  }

  const ac = new AbortController();
  const onOuterAbort = () => ac.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const slots = shares.map(() => deferred<OpenedShare>());
  let stop = false;
  // A cancellation ends every wait at once, including one for a secret that is still being typed.
  ac.signal.addEventListener('abort', () => slots.forEach((slot) => slot.reject(kdfCancelled())), { once: true });
  const cancelled = new Promise<void>((resolve) => ac.signal.addEventListener('abort', () => resolve(), { once: true }));

  const producer = (async () => {
    for (let i = 0; i < shares.length; i++) {
      if (i >= concurrency) await slots[i - concurrency]!.promise.catch(() => undefined);
      if (stop) return;
      const s = shares[i]!;
      let secret: ShareSecretInput;
      try {
        secret = await s.secret(ac.signal);
      } catch (e) {
        slots[i]!.reject(e);
        return;
      }
      if (stop) {
        if (secret.kind === 'passphrase') wipe(secret.passphrase);
        return;
      }
      o.onEvent?.({ kind: 'deriving', name: s.name, index: i });
      openShareFile(s.file, secret, o.kdf(s.name, ac.signal)).then(
        (opened) => {
          if (stop) wipe(opened.share);
          else slots[i]!.resolve(opened);
        },
        (e) => slots[i]!.reject(e),
      ).finally(() => {
        if (secret.kind === 'passphrase') wipe(secret.passphrase);
      });
    }
  })();

  const imported: ImportedShare[] = [];
  const fingerprints: Uint8Array[] = [];
  try {
    for (let i = 0; i < shares.length; i++) {
      const s = shares[i]!;
      let opened: OpenedShare;
      try {
        opened = await slots[i]!.promise;
      } catch (e) {
        if (isCeremonyError(e) && e.code === 'KDF_CANCELLED') throw incomplete('CANCELLED', `cancelled while opening ${s.name}`, { hint: 'run the command again with the remaining share files' });
        if (isCeremonyError(e) && (e.code === 'WRONG_PASSPHRASE' || e.code === 'WRONG_PWD_SHARES')) {
          throw new CeremonyError(e.kind, e.code, `${s.name}: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
        }
        throw e;
      }
      try {
        const fp = shareFingerprintBytes(opened.share);
        const fingerprint = shareFingerprint(opened.share);
        o.onEvent?.({ kind: 'opened', name: s.name, index: i, fingerprint, openedWith: opened.openedWith });
        const twin = fingerprints.findIndex((f) => equalBytes(f, fp));
        if (twin >= 0) {
          throw checkFailed('DUPLICATE_SHARE', `${s.name} holds the same DKEK share as ${imported[twin]!.name} (fingerprint ${fingerprint}); it was not imported`, {
            hint: 'the card XORs shares, so a share imported twice cancels itself out; each custodian must bring their own share',
          });
        }
        if (ac.signal.aborted) throw incomplete('CANCELLED', `cancelled before importing ${s.name}`, { hint: 'run the command again with the remaining share files' });
        status = await hsm.importDkekShare(opened.share);
        fingerprints.push(fp);
        imported.push({ name: s.name, fingerprint, openedWith: opened.openedWith });
        o.onEvent?.({ kind: 'imported', name: s.name, index: i, fingerprint, imported: status.total - status.outstanding, total: status.total, outstanding: status.outstanding });
      } finally {
        wipe(opened.share);
      }
    }
    return { imported, status };
  } catch (e) {
    stop = true;
    ac.abort();
    for (const slot of slots) slot.promise.then((op) => wipe(op.share), () => undefined);
    throw withProgress(e, status);
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.race([producer.catch(() => undefined), cancelled]);
  }
}
