/**
 * Backing up one key as `sc-hsm-tool --wrap-key` does (spec §4): WRAP KEY, then the first TLV of
 * the key description EF `C4 <ref>` and of the certificate EF `CE <ref>`, put together as the wrap
 * file sc-hsm-tool writes (encodeWrapFile). Added checks:
 *
 * - the blob's KCV must equal the device's DKEK KCV, so a backup is never written under a DKEK
 *   the custodians did not confirm;
 * - the file is decoded again before it is handed out, so what is written is what a restore reads;
 * - a certificate without a PRKD is left out (sc-hsm-tool would write it where a PRKD belongs, and
 *   read it back as the PRKD, by position).
 *
 * The user PIN must be verified first (WRAP needs it; Pico HSM shows its KCV only then). Writing the
 * file is the caller's step (never overwriting).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { FID_PREFIX, type SmartCardHsm } from '../../card/sc-hsm.ts';
import { CardError } from '../../card/status-words.ts';
import { describeKeyBuiltin } from '../../card/key-list.ts';
import { decodeWrapFile, encodeWrapFile } from '../../../protocol/dkek/wrap-file.ts';
import { keyTypeName, parseKeyBlob } from '../../../protocol/dkek/key-blob.ts';
import { formatKcv } from '../../../protocol/dkek/dkek.ts';
import { readTlv } from '../../../protocol/der.ts';
import { equalBytes, toHex } from '../../../protocol/bytes.ts';
import { checkFailed } from '../../../protocol/errors.ts';

export interface KeyBackup {
  keyRef: number;
  /** the wrap file, ready to write */
  file: Uint8Array;
  /** SHA-256 of `file`, hex */
  sha256: string;
  /** KCV of the DKEK the blob is under (= the device's) */
  kcv: string;
  /** key type from the blob: EC, RSA, RSA-CRT, AES */
  keyType: string;
  /** from the PRKD, when present */
  label: string | null;
  id: string | null;
  hasPrkd: boolean;
  hasCertificate: boolean;
  /** what was skipped and why (never fatal) */
  warnings: string[];
}

/** The first TLV of an EF, or why not (sc-hsm-tool's determineLength keeps only that). */
function firstTlv(bytes: Uint8Array): Uint8Array | string {
  if (bytes.length === 0) return 'the file is empty';
  if (bytes[0] === 0x00 || bytes[0] === 0xff) return 'the file holds no TLV';
  try {
    const t = readTlv(bytes, 0);
    return bytes.slice(0, t.totalLength);
  } catch {
    return 'the file is not a TLV';
  }
}

async function readPart(hsm: SmartCardHsm, fid: number, what: string, warnings: string[]): Promise<Uint8Array | undefined> {
  let raw: Uint8Array | null;
  try {
    raw = await hsm.tryReadFile(fid);
  } catch (e) {
    if (!(e instanceof CardError)) throw e;
    warnings.push(`the ${what} (EF ${fid.toString(16).toUpperCase()}) could not be read (${e.swName}); the backup has none`);
    return undefined;
  }
  if (raw === null) return undefined;
  const t = firstTlv(raw);
  if (typeof t === 'string') {
    warnings.push(`the ${what} (EF ${fid.toString(16).toUpperCase()}) was skipped: ${t}`);
    return undefined;
  }
  return t;
}

/**
 * Wraps key `ref` and builds its backup file.
 *
 * @throws CeremonyError check KCV_MISMATCH when the blob is not under `deviceKcv` (nothing to
 *   write); usage BLOB_MALFORMED for a blob that is not a key blob; CardError from WRAP KEY
 *   (CARD_CONDITIONS_NOT_SATISFIED for a non-exportable key …)
 */
export async function backupKey(hsm: SmartCardHsm, ref: number, deviceKcv: Uint8Array): Promise<KeyBackup> {
  const blob = await hsm.wrapKey(ref);
  const header = parseKeyBlob(blob);
  if (!equalBytes(header.kcv, deviceKcv)) {
    throw checkFailed('KCV_MISMATCH', `WRAP KEY ${ref} returned a blob under DKEK ${formatKcv(header.kcv)}, but the device reports ${formatKcv(deviceKcv)}; no backup was written`, {
      hint: 'read the device status again; if it repeats the device is not behaving as a SmartCard-HSM should',
    });
  }
  const warnings: string[] = [];
  const prkd = await readPart(hsm, (FID_PREFIX.PRKD << 8) | ref, 'key description', warnings);
  let certificate = await readPart(hsm, (FID_PREFIX.EE_CERT << 8) | ref, 'certificate', warnings);
  if (certificate && !prkd) {
    warnings.push('the certificate was left out: without a key description sc-hsm-tool would read it as one');
    certificate = undefined;
  }
  const file = encodeWrapFile({ blob, prkd, certificate });
  const check = decodeWrapFile(file);
  if (!equalBytes(check.blob, blob) || (prkd && !equalBytes(check.prkd!, prkd)) || (certificate && !equalBytes(check.certificate!, certificate))) {
    throw new Error('the wrap file does not decode to what was put in it');
  }
  const d = prkd ? describeKeyBuiltin(prkd) : null;
  return {
    keyRef: ref,
    file,
    sha256: toHex(sha256(file)),
    kcv: formatKcv(header.kcv),
    keyType: keyTypeName(header.keyType),
    label: d?.label ?? null,
    id: d?.id ?? null,
    hasPrkd: prkd !== undefined,
    hasCertificate: certificate !== undefined,
    warnings,
  };
}
