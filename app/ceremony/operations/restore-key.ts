/**
 * Restoring a key from a wrap file (`sc-hsm-tool --unwrap-key`, spec §4) in a safe order.
 *
 * sc-hsm-tool `--force` deletes the key at the target reference *before* it knows whether the
 * card will accept the backup; if the UNWRAP then fails, the old key is gone and nothing replaced
 * it. And Pico HSM corrupts its key-domain table on an UNWRAP under a foreign DKEK (answer
 * `64 00`, fixtures README). So this operation:
 *
 * 1. decodes the file and reads its KCV before touching the card;
 * 2. logs in and compares the blob's KCV with the device's — a foreign blob is never sent;
 * 3. refuses an occupied key reference (key, PRKD or certificate) unless replacing was asked for
 *    and confirmed;
 * 4. when replacing, first proves the card accepts the blob by unwrapping it into a free key
 *    reference, then deletes that trial key and the PRKD/CV request the firmware wrote for it;
 * 5. only then deletes the old key and unwraps into the target (this step is not interrupted);
 * 6. replaces the PRKD and certificate the firmware may have written (spec §9) with the backup's;
 * 7. warns when another key has the same ID or label (PKCS#11 applications find keys by them);
 * 8. proves the restored key works: it signs a fresh challenge that is verified with the public
 *    key from the backup's certificate or CV request.
 *
 * Every failure says what was and was not changed.
 */
import { FID_PREFIX, type SmartCardHsm } from '../../card/sc-hsm.ts';
import { describeKeyBuiltin, listKeys } from '../../card/key-list.ts';
import { decodeWrapFile } from '../../../protocol/dkek/wrap-file.ts';
import { KEY_TYPE_AES, keyTypeName, parseKeyBlob } from '../../../protocol/dkek/key-blob.ts';
import { formatKcv } from '../../../protocol/dkek/dkek.ts';
import { equalBytes } from '../../../protocol/bytes.ts';
import { CeremonyError, checkFailed, deviceError, incomplete, isCeremonyError, usageError } from '../../../protocol/errors.ts';
import { loginUser, requireCompleteDkek } from './login.ts';
import { decodeCertificate, type PublicKey } from './public-key.ts';
import { proveKeySigns, type KeyProof } from './prove-key.ts';

/** What occupies a key reference. */
export interface Occupant {
  key: boolean;
  prkd: boolean;
  certificate: boolean;
  /** label from its PRKD, when readable */
  label: string | null;
}

export type RestoreEvent =
  | { kind: 'kcv-checked'; kcv: string }
  | { kind: 'trial-unwrapped'; trialRef: number }
  | { kind: 'trial-removed'; trialRef: number }
  | { kind: 'old-key-deleted'; keyRef: number }
  | { kind: 'unwrapped'; keyRef: number }
  | { kind: 'descriptions-written'; prkd: boolean; certificate: boolean }
  | { kind: 'proved'; proof: KeyProof }
  | { kind: 'warning'; text: string };

export interface RestoreKeyOptions {
  /** the user PIN (UNWRAP needs it, and Pico HSM shows its KCV only after it) */
  pin: Uint8Array;
  /** allow replacing what occupies the key reference */
  replace?: boolean;
  /** asked before anything at an occupied reference is replaced; resolve true to go on */
  confirmReplace?: (keyRef: number, occupant: Occupant) => Promise<boolean> | boolean;
  /** randomness for the signing challenge */
  rng?: (n: number) => Uint8Array;
  signal?: AbortSignal;
  onEvent?: (e: RestoreEvent) => void;
}

export interface RestoreResult {
  keyRef: number;
  kcv: string;
  keyType: string;
  label: string | null;
  id: string | null;
  /** something occupied the reference and was replaced */
  replaced: boolean;
  /** where the trial unwrap went, when there was one */
  trialRef: number | null;
  /** the signature check, or null when no public key was available (or an AES key) */
  proof: KeyProof | null;
  /** where the verifying public key came from */
  publicKeySource: 'backup' | 'device' | null;
  warnings: string[];
}

const fid = (prefix: number, ref: number) => (prefix << 8) | ref;

/** What is at key reference `ref`: the key file, its PRKD, its certificate. */
export async function occupantOf(hsm: SmartCardHsm, ref: number, listed: readonly number[]): Promise<Occupant> {
  const key = listed.includes(fid(FID_PREFIX.KEY, ref));
  const prkdFile = await hsm.tryReadFile(fid(FID_PREFIX.PRKD, ref));
  const certificate = (await hsm.trySelectFile(fid(FID_PREFIX.EE_CERT, ref))) !== null;
  const label = prkdFile && prkdFile.length > 0 ? describeKeyBuiltin(prkdFile).label : null;
  return { key, prkd: prkdFile !== null, certificate, label };
}

function occupied(o: Occupant): boolean {
  return o.key || o.prkd || o.certificate;
}

/** A free key reference for the trial unwrap, searched from 255 down; never `not`. */
async function freeKeyRef(hsm: SmartCardHsm, listed: readonly number[], not: number): Promise<number> {
  for (let ref = 255; ref >= 1; ref--) {
    if (ref === not || listed.includes(fid(FID_PREFIX.KEY, ref)) || listed.includes(fid(FID_PREFIX.PRKD, ref))) continue;
    if ((await hsm.trySelectFile(fid(FID_PREFIX.PRKD, ref))) !== null) continue;
    if ((await hsm.trySelectFile(fid(FID_PREFIX.EE_CERT, ref))) !== null) continue;
    return ref;
  }
  throw deviceError('NO_FREE_KEY_REF', 'no free key reference for the trial unwrap', {
    hint: `nothing was changed; restore into an unused key reference instead of replacing key ${not}`,
  });
}

function cancelled(what: string): CeremonyError {
  return incomplete('CANCELLED', `cancelled: ${what}`, { hint: 'run the command again to restore the key' });
}

/** Adds what was (not) changed to an error from a card step. */
function explain(e: unknown, state: string): unknown {
  if (!isCeremonyError(e)) return e;
  return new CeremonyError(e.kind, e.code, `${e.message} (${state})`, { ...(e.hint ? { hint: e.hint } : {}), ...(e.detail ? { detail: e.detail } : {}), cause: e });
}

/**
 * Restores the key in wrap file `file` into key reference `keyRef`, in the safe order above.
 *
 * @throws CeremonyError usage WRAP_* / BLOB_MALFORMED (before any APDU), usage KEY_REF_IN_USE;
 *   check KCV_MISMATCH (no UNWRAP sent), check WRONG_PIN, check SIGNATURE_INVALID; device
 *   NO_DKEK / DKEK_INCOMPLETE / DKEK_KCV_UNKNOWN / NO_FREE_KEY_REF / TRIAL_NOT_REMOVED /
 *   RESTORE_FAILED_AFTER_DELETE; incomplete CANCELLED; CardError — each saying what changed
 */
export async function restoreKey(hsm: SmartCardHsm, file: Uint8Array, keyRef: number, o: RestoreKeyOptions): Promise<RestoreResult> {
  if (!Number.isInteger(keyRef) || keyRef < 1 || keyRef > 255) throw new RangeError(`keyRef must be 1..255, got ${keyRef}`);
  // 1. the file, before any APDU
  const wrap = decodeWrapFile(file);
  const header = parseKeyBlob(wrap.blob);
  const warnings = [...wrap.warnings];
  const warn = (text: string) => {
    warnings.push(text);
    o.onEvent?.({ kind: 'warning', text });
  };
  for (const w of wrap.warnings) o.onEvent?.({ kind: 'warning', text: w });
  const described = wrap.prkd ? describeKeyBuiltin(wrap.prkd) : null;
  const cert = wrap.certificate ? decodeCertificate(wrap.certificate) : null;
  const blobKcv = formatKcv(header.kcv);

  // 2. PIN, then the KCV comparison: a blob under another DKEK never reaches UNWRAP
  await loginUser(hsm, o.pin);
  const dkek = await requireCompleteDkek(hsm);
  if (!equalBytes(dkek.kcv, header.kcv)) {
    throw checkFailed('KCV_MISMATCH', `the backup was made under DKEK ${blobKcv}, but the device DKEK is ${formatKcv(dkek.kcv)}; nothing was sent to the card`, {
      hint: 'restore into a device that holds the same DKEK shares as the one the key was backed up from (compare the KCVs)',
      detail: { blobKcv, deviceKcv: formatKcv(dkek.kcv) },
    });
  }
  o.onEvent?.({ kind: 'kcv-checked', kcv: blobKcv });

  // 3. the target reference
  const listed = await hsm.enumerateObjects();
  const occupant = await occupantOf(hsm, keyRef, listed);
  const isOccupied = occupied(occupant);
  if (isOccupied) {
    const what = [occupant.key && 'a key', occupant.prkd && 'a key description', occupant.certificate && 'a certificate'].filter(Boolean).join(', ');
    if (!o.replace) {
      throw usageError('KEY_REF_IN_USE', `key reference ${keyRef} holds ${what}${occupant.label ? ` (label "${occupant.label}")` : ''}; nothing was changed`, {
        hint: 'choose an unused key reference (hsm-ceremony keys lists them), or pass --replace: the old key is deleted only after the card has accepted the backup',
      });
    }
    if (o.confirmReplace && !(await o.confirmReplace(keyRef, occupant))) {
      throw incomplete('CANCELLED', `not confirmed: key ${keyRef} was not replaced`, { hint: 'nothing was changed' });
    }
  }

  // 7 (early, read-only). same ID or label elsewhere
  for (const k of await listKeys(hsm)) {
    if (k.keyRef === keyRef || k.deviceKey) continue;
    if (described?.id && k.id === described.id) warn(`key ${k.keyRef} on the device has the same ID ${described.id}; applications that find keys by ID may pick either`);
    if (described?.label && k.label === described.label) warn(`key ${k.keyRef} on the device has the same label "${described.label}"`);
  }
  if (o.signal?.aborted) throw cancelled('nothing was changed');

  // 4. trial unwrap into a free reference
  let trialRef: number | null = null;
  if (isOccupied) {
    trialRef = await freeKeyRef(hsm, listed, keyRef);
    try {
      await hsm.unwrapKey(trialRef, wrap.blob);
    } catch (e) {
      await hsm.deleteKey(trialRef).catch(() => undefined);
      throw explain(e, `the card refused the backup in a trial at key reference ${trialRef}; key ${keyRef} was not changed`);
    }
    o.onEvent?.({ kind: 'trial-unwrapped', trialRef });
    try {
      await hsm.deleteKey(trialRef);
    } catch (e) {
      throw deviceError('TRIAL_NOT_REMOVED', `the trial copy of the backed-up key at key reference ${trialRef} could not be deleted; key ${keyRef} was not changed`, {
        hint: `delete key ${trialRef} (files CC/C4/CE ${trialRef.toString(16).toUpperCase().padStart(2, '0')}) before using the device, then run the restore again`,
        cause: e,
      });
    }
    o.onEvent?.({ kind: 'trial-removed', trialRef });
    if (o.signal?.aborted) throw cancelled(`the card accepted the backup in a trial, which was removed again; key ${keyRef} was not changed`);
  }

  // 5. delete and unwrap: not interrupted between these two steps
  if (isOccupied) {
    try {
      await hsm.deleteKey(keyRef);
    } catch (e) {
      throw explain(e, `deleting the old key ${keyRef} failed; it may be partly deleted (check with hsm-ceremony keys)`);
    }
    o.onEvent?.({ kind: 'old-key-deleted', keyRef });
  }
  try {
    await hsm.unwrapKey(keyRef, wrap.blob);
  } catch (e) {
    if (isOccupied) {
      throw new CeremonyError('device', 'RESTORE_FAILED_AFTER_DELETE', `the old key ${keyRef} was deleted, but unwrapping the backup into it failed: ${isCeremonyError(e) ? e.message : String(e)}`, {
        hint: `the backup file is unchanged and the card accepted it moments ago; run the restore again into key ${keyRef} (no --replace needed)`,
        cause: e,
      });
    }
    throw explain(e, `nothing was restored; key reference ${keyRef} is still free`);
  }
  o.onEvent?.({ kind: 'unwrapped', keyRef });

  // 6. the backup's key description and certificate replace whatever the firmware wrote
  try {
    if (wrap.prkd) await hsm.updateBinary(fid(FID_PREFIX.PRKD, keyRef), wrap.prkd, { replace: true });
    else warn('the backup has no key description (PRKD); the device keeps its own, if any');
    if (wrap.certificate) await hsm.updateBinary(fid(FID_PREFIX.EE_CERT, keyRef), wrap.certificate, { replace: true });
    else warn('the backup has no certificate; the device keeps its own, if any');
  } catch (e) {
    throw explain(e, `the key was restored into key ${keyRef}, but its description or certificate could not be written`);
  }
  o.onEvent?.({ kind: 'descriptions-written', prkd: wrap.prkd !== undefined, certificate: wrap.certificate !== undefined });

  // 8. proof
  let publicKey: PublicKey | null = cert?.publicKey ?? null;
  let publicKeySource: RestoreResult['publicKeySource'] = publicKey ? 'backup' : null;
  if (!publicKey && header.keyType !== KEY_TYPE_AES) {
    const own = await hsm.tryReadFile(fid(FID_PREFIX.EE_CERT, keyRef));
    publicKey = own ? (decodeCertificate(own)?.publicKey ?? null) : null;
    if (publicKey) {
      publicKeySource = 'device';
      warn("the backup carries no public key; the signature is checked with the key the device reports, which proves the key works but not that it is the backed-up one");
    }
  }
  let proof: KeyProof | null = null;
  if (publicKey) {
    try {
      proof = await proveKeySigns(hsm, keyRef, publicKey, o.rng);
    } catch (e) {
      throw explain(e, `the key is restored into key ${keyRef}`);
    }
    o.onEvent?.({ kind: 'proved', proof });
  } else {
    warn('no public key is available, so the restored key was not test-signed');
  }
  return {
    keyRef,
    kcv: blobKcv,
    keyType: keyTypeName(header.keyType),
    label: described?.label ?? null,
    id: described?.id ?? null,
    replaced: isOccupied,
    trialRef,
    proof,
    publicKeySource,
    warnings,
  };
}
