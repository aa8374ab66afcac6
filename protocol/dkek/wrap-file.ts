/**
 * The wrap (backup) file written by `sc-hsm-tool --wrap-key` and read by `--unwrap-key`:
 *
 * ```
 * 30 L                 SEQUENCE, minimal DER length
 *    04 L <key blob>   the WRAP KEY response, verbatim (key-blob.ts)
 *    [PRKD TLV]        optional: the first TLV of EF C4<ref> (prkd.ts)
 *    [cert TLV]        optional: the first TLV of EF CE<ref>: X.509 (30) or CV request (67)
 * ```
 *
 * Spec: /work/shared/spec/sc-hsm-dkek.md §4, docs/backup-format.md §7.
 *
 * Reading follows sc-hsm-tool exactly where it decides what a file contains — outer tag 0x30,
 * first inner TLV primitive 0x04, then the next TLV is the PRKD and the one after the certificate
 * *by position*, whatever their tags, measured against the end of the file rather than the outer
 * length; a 00/FF byte or a parse error there means "absent"; anything after is ignored — so a
 * file we accept is one sc-hsm-tool restores the same way. Unlike sc-hsm-tool we say so, as
 * warnings, whenever a file relies on that leniency.
 */

import { DerError, encodeTlv, readTlv, tagHex, type Tlv } from '../der.ts';
import { usageError } from '../errors.ts';

/**
 * sc-hsm-tool reads at most this many bytes of a wrap file (MAX_CERT 4096 + MAX_PRKD 256 +
 * MAX_KEY 1500); a longer file is cut there and then fails its outer-length check.
 */
export const SC_HSM_TOOL_MAX_FILE = 5852;
/** sc-hsm-tool's buffer for the WRAP KEY response; a longer blob is silently truncated on wrap. */
export const SC_HSM_TOOL_MAX_BLOB = 1500;

/** The parts of a wrap file. Byte fields are copies, independent of the input buffer. */
export interface WrapFile {
  /** the key blob (content of the OCTET STRING) */
  blob: Uint8Array;
  /** the PRKD TLV, verbatim (tag, length and value), if present */
  prkd?: Uint8Array;
  /** the certificate TLV, verbatim, if present */
  certificate?: Uint8Array;
  /** unusual things sc-hsm-tool would silently accept or ignore; empty for a clean file */
  warnings: string[];
}

const HINT = 'this is not an intact sc-hsm-tool wrap file; use an unmodified copy of the backup';

function derToWrapError(e: DerError, where: string): Error {
  switch (e.code) {
    case 'DER_TRUNCATED':
      return usageError('WRAP_TRUNCATED', `wrap file is truncated: ${where} runs past the end of the file`, {
        hint: 'the file was cut short (incomplete copy or download); use a complete copy',
        detail: { offset: e.offset },
      });
    case 'DER_BAD_LENGTH':
    case 'DER_INDEFINITE_LENGTH':
      return usageError('WRAP_BAD_LENGTH', `wrap file has an invalid length field in ${where}`, {
        hint: HINT,
        detail: { offset: e.offset },
      });
    default:
      return usageError('WRAP_BAD_DER', `wrap file is not valid DER in ${where}`, { hint: HINT, detail: { offset: e.offset } });
  }
}

/**
 * Reads the optional TLV at `offset` the way sc-hsm-tool's determineLength does: bounded by the
 * end of the file, absent on a 00/FF tag byte, at the end, or on any parse error.
 */
function optionalTlv(bytes: Uint8Array, offset: number): { tlv?: Tlv; reason?: string } {
  if (offset >= bytes.length) return {};
  const first = bytes[offset]!;
  if (first === 0x00 || first === 0xff) return { reason: `a ${first === 0 ? '00' : 'FF'} filler byte` };
  try {
    return { tlv: readTlv(bytes, offset) };
  } catch (e) {
    if (e instanceof DerError) return { reason: `bytes that do not parse as a TLV (${e.message})` };
    throw e;
  }
}

/**
 * Splits a wrap file into key blob, PRKD and certificate.
 *
 * @throws {TypeError} if `bytes` is not a Uint8Array
 * @throws {CeremonyError} usage WRAP_EMPTY (no bytes), WRAP_NOT_SEQUENCE (outer tag is not a
 *   constructed SEQUENCE 0x30), WRAP_TRUNCATED (a length runs past the end of the file),
 *   WRAP_BAD_LENGTH (indefinite or over-long length field), WRAP_BAD_DER (malformed tag),
 *   WRAP_NO_KEY_BLOB (the first element is not a primitive OCTET STRING)
 */
export function decodeWrapFile(bytes: Uint8Array): WrapFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (bytes.length === 0) {
    throw usageError('WRAP_EMPTY', 'wrap file is empty', { hint: 'check the file name; sc-hsm-tool writes nothing on failure' });
  }
  if (bytes[0] !== 0x30) {
    throw usageError('WRAP_NOT_SEQUENCE', `wrap file does not start with a SEQUENCE (first byte ${tagHex(bytes[0]!)}, expected 30)`, {
      hint: 'this is not a wrap file from sc-hsm-tool --wrap-key (key share .pbe files start with "Salted__")',
    });
  }
  const warnings: string[] = [];
  let outer: Tlv;
  try {
    outer = readTlv(bytes, 0);
  } catch (e) {
    if (e instanceof DerError) throw derToWrapError(e, 'the outer SEQUENCE');
    throw e;
  }
  let inner: Tlv;
  try {
    inner = readTlv(bytes, outer.headerLength, outer.headerLength + outer.value.length);
  } catch (e) {
    if (e instanceof DerError) {
      if (outer.value.length === 0) {
        throw usageError('WRAP_NO_KEY_BLOB', 'wrap file holds no key blob (empty SEQUENCE)', { hint: HINT });
      }
      throw derToWrapError(e, 'the key blob');
    }
    throw e;
  }
  if (inner.tag !== 0x04 || inner.constructed) {
    throw usageError('WRAP_NO_KEY_BLOB', `wrap file's first element is tag ${tagHex(inner.tag)}, not the OCTET STRING (04) of a key blob`, {
      hint: HINT,
    });
  }
  if (inner.value.length === 0) throw usageError('WRAP_NO_KEY_BLOB', 'wrap file holds an empty key blob', { hint: HINT });

  const outerEnd = outer.totalLength;
  let p = inner.offset + inner.totalLength;
  const result: WrapFile = { blob: inner.value.slice(), warnings };

  let reportedGap = false;
  const prkd = optionalTlv(bytes, p);
  if (prkd.tlv) {
    result.prkd = bytes.slice(prkd.tlv.offset, prkd.tlv.offset + prkd.tlv.totalLength);
    p += prkd.tlv.totalLength;
    const cert = optionalTlv(bytes, p);
    if (cert.tlv) {
      result.certificate = bytes.slice(cert.tlv.offset, cert.tlv.offset + cert.tlv.totalLength);
      p += cert.tlv.totalLength;
    } else if (cert.reason && p < outerEnd) {
      warnings.push(`no certificate: sc-hsm-tool reads ${cert.reason} at byte ${p} as "absent"`);
      reportedGap = true;
    }
  } else if (prkd.reason && p < outerEnd) {
    warnings.push(`no PRKD: sc-hsm-tool reads ${prkd.reason} at byte ${p} as "absent"`);
    reportedGap = true;
  }

  // Everything sc-hsm-tool tolerates silently, reported.
  if (!outer.minimalLength || !inner.minimalLength) warnings.push('a length is not in minimal DER form (sc-hsm-tool never writes that)');
  if (p > outerEnd) {
    warnings.push(`the PRKD or certificate extends ${p - outerEnd} bytes past the outer SEQUENCE (sc-hsm-tool reads it anyway)`);
  } else if (p < outerEnd && !reportedGap) {
    warnings.push(`${outerEnd - p} bytes inside the outer SEQUENCE after the last element are ignored`);
  }
  const trailerStart = Math.max(p, outerEnd);
  if (trailerStart < bytes.length) warnings.push(`${bytes.length - trailerStart} bytes after the wrap file structure are ignored`);
  if (result.prkd && ![0x30, 0xa0, 0xa1, 0xa2, 0xa3, 0xa8].includes(result.prkd[0]!)) {
    warnings.push(`the PRKD has tag ${tagHex(result.prkd[0]!)}, not a PKCS#15 key description; sc-hsm-tool writes it to the card regardless`);
  }
  if (result.certificate && ![0x30, 0x67, 0x7f].includes(result.certificate[0]!)) {
    warnings.push(`the certificate has tag ${tagHex(result.certificate[0]!)}, neither X.509 (30) nor a CV request (67)`);
  }
  if (bytes.length > SC_HSM_TOOL_MAX_FILE) {
    warnings.push(`the file is ${bytes.length} bytes; sc-hsm-tool reads only the first ${SC_HSM_TOOL_MAX_FILE} and will refuse it`);
  }
  if (result.blob.length > SC_HSM_TOOL_MAX_BLOB) {
    warnings.push(`the key blob is ${result.blob.length} bytes; sc-hsm-tool truncates WRAP responses over ${SC_HSM_TOOL_MAX_BLOB} bytes`);
  }
  return result;
}

function oneTlv(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (v.length === 0 || v[0] === 0x00 || v[0] === 0xff) {
    throw new RangeError(`${name} must be one TLV (sc-hsm-tool reads a leading 00/FF as "absent")`);
  }
  let t: Tlv;
  try {
    t = readTlv(v, 0);
  } catch (e) {
    throw new RangeError(`${name} is not a TLV: ${(e as Error).message}`);
  }
  if (t.totalLength !== v.length) throw new RangeError(`${name} must be exactly one TLV (${v.length - t.totalLength} extra bytes)`);
  return v;
}

/**
 * Writes a wrap file exactly as sc-hsm-tool does: SEQUENCE { OCTET STRING blob, prkd, cert } with
 * minimal DER lengths and the PRKD and certificate TLVs copied verbatim.
 *
 * @throws {TypeError} if a part is not a Uint8Array
 * @throws {RangeError} if the blob is empty, the PRKD or certificate is not exactly one TLV, or a
 *   certificate is given without a PRKD (sc-hsm-tool would read it as the PRKD, by position)
 */
export function encodeWrapFile(parts: { blob: Uint8Array; prkd?: Uint8Array | undefined; certificate?: Uint8Array | undefined }): Uint8Array {
  if (typeof parts !== 'object' || parts === null) throw new TypeError('parts must be an object');
  const { blob, prkd, certificate } = parts;
  if (!(blob instanceof Uint8Array)) throw new TypeError('blob must be a Uint8Array');
  if (blob.length === 0) throw new RangeError('blob must not be empty');
  const items = [encodeTlv(0x04, blob)];
  if (prkd !== undefined) items.push(oneTlv(prkd, 'prkd'));
  if (certificate !== undefined) {
    if (prkd === undefined) throw new RangeError('certificate needs a prkd before it: sc-hsm-tool reads the elements by position');
    items.push(oneTlv(certificate, 'certificate'));
  }
  return encodeTlv(0x30, ...items);
}
