/**
 * The PKCS#15 private key description (PRKD) a SmartCard-HSM keeps in EF C4<ref> and a wrap file
 * carries after the key blob: label, ID, key reference, usage, key type and size. Only what
 * hsm-ceremony shows and what the simulator must write is handled. docs/backup-format.md §9.
 *
 * ```
 * PrivateKeyObject ::= <choice tag> {            30 RSA | A0 EC | A1 DH | A2 DSA | A3 KEA | A8 secret (AES)
 *   CommonObjectAttributes  30 { 0C label, 03 flags, [04 authId] }
 *   CommonKeyAttributes     30 { 04 iD, 03 usage, [01 native], [03 accessFlags], [02 keyReference] }
 *   [0] subclass attributes A0 { … }             (AES: 30 { 02 keyLength in bits })
 *   [1] type attributes     A1 { 30 { 30 { 04 path }, [02 size in bits] } }
 * }
 * ```
 *
 * The choice tags for private keys are PKCS#15's PrivateKeyChoice; A8 is what Pico HSM writes for
 * AES keys (facts from the OpenSC/Pico traces in /work/shared/fixtures/opensc-pico and the
 * firmware source; no code copied).
 */

import { encodeTlv, readAllTlvs, readTlv, DerError, type Tlv } from '../der.ts';
import { bigIntToBytes, bytesToBigInt, concatBytes, toHex } from '../bytes.ts';
import { usageError } from '../errors.ts';

/** Key types a PRKD can describe. */
export type PrkdKeyType = 'rsa' | 'ec' | 'dh' | 'dsa' | 'kea' | 'aes' | 'unknown';

const TYPE_BY_TAG: Record<number, PrkdKeyType> = { 0x30: 'rsa', 0xa0: 'ec', 0xa1: 'dh', 0xa2: 'dsa', 0xa3: 'kea', 0xa8: 'aes' };

/** PKCS#15 KeyUsageFlags, bit 0 first. */
export const KEY_USAGE_NAMES = [
  'encrypt',
  'decrypt',
  'sign',
  'signRecover',
  'wrap',
  'unwrap',
  'verify',
  'verifyRecover',
  'derive',
  'nonRepudiation',
] as const;

/** What hsm-ceremony shows about a key description. */
export interface Prkd {
  /** from the outer tag */
  keyType: PrkdKeyType;
  /** the outer tag, e.g. 0xa0 */
  tag: number;
  /** CommonObjectAttributes.label (UTF-8), if present */
  label?: string;
  /** CommonKeyAttributes.iD (PKCS#11 CKA_ID) */
  id: Uint8Array;
  /** iD as lower-case hex (empty string for an empty ID) */
  idHex: string;
  /** usage flag names, e.g. ['sign', 'signRecover', 'derive'] */
  usage: string[];
  /** CommonKeyAttributes.keyReference, if present (OpenSC overrides it from the EF name) */
  keyReference?: number;
  /** key size in bits: RSA modulus, EC field size, AES key length; if present */
  keySize?: number;
}

function malformed(reason: string): Error {
  return usageError('PRKD_MALFORMED', `private key description is malformed: ${reason}`, {
    hint: 'the PRKD in this backup is damaged; the key blob itself may still be restorable',
    detail: { reason },
  });
}

/** Bits of a DER BIT STRING value (first byte = unused bits), bit 0 = most significant. */
function bitNames(value: Uint8Array): string[] {
  const out: string[] = [];
  if (value.length < 2) return out;
  const unused = value[0]!;
  const total = (value.length - 1) * 8 - unused;
  for (let i = 0; i < total; i++) {
    if ((value[1 + (i >> 3)]! >> (7 - (i & 7))) & 1) out.push(KEY_USAGE_NAMES[i] ?? `bit${i}`);
  }
  return out;
}

function smallInt(v: Uint8Array, what: string): number {
  if (v.length === 0 || v.length > 4) throw malformed(`${what} is not a small integer`);
  if (v[0]! & 0x80) throw malformed(`${what} is negative`);
  return Number(bytesToBigInt(v));
}

/**
 * Decodes a PRKD (the first TLV of EF C4<ref>, or the PRKD element of a wrap file). Bytes after
 * the first TLV are ignored, as OpenSC does.
 *
 * @throws {TypeError} if `bytes` is not a Uint8Array
 * @throws {CeremonyError} usage PRKD_MALFORMED if the structure above is not there
 */
export function decodePrkd(bytes: Uint8Array): Prkd {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  try {
    const outer = readTlv(bytes, 0);
    if (!outer.constructed) throw malformed(`outer tag ${outer.tag.toString(16)} is not constructed`);
    const children = readAllTlvs(outer.value);
    const [common, key] = children;
    if (!common || common.tag !== 0x30 || !key || key.tag !== 0x30) {
      throw malformed('common object or key attributes are missing');
    }
    const result: Prkd = { keyType: TYPE_BY_TAG[outer.tag] ?? 'unknown', tag: outer.tag, id: new Uint8Array(0), idHex: '', usage: [] };
    for (const t of readAllTlvs(common.value)) {
      if (t.tag === 0x0c) result.label = new TextDecoder().decode(t.value);
    }
    const keyAttrs = readAllTlvs(key.value);
    const id = keyAttrs[0];
    if (!id || id.tag !== 0x04) throw malformed('key ID is missing');
    result.id = id.value.slice();
    result.idHex = toHex(id.value);
    const usage = keyAttrs[1];
    if (usage?.tag === 0x03) result.usage = bitNames(usage.value);
    const ref = keyAttrs.find((t) => t.tag === 0x02);
    if (ref) result.keyReference = smallInt(ref.value, 'key reference');
    const size = keySizeOf(children, result.keyType);
    if (size !== undefined) result.keySize = size;
    return result;
  } catch (e) {
    if (e instanceof DerError) throw malformed(e.message);
    throw e;
  }
}

/** The size INTEGER: AES in [0] 30 { 02 }, others in [1] 30 { 30 path, 02 }. */
function keySizeOf(children: Tlv[], type: PrkdKeyType): number | undefined {
  const pick = (tag: number): number | undefined => {
    const box = children.find((c) => c.tag === tag);
    if (!box) return undefined;
    const seq = readAllTlvs(box.value)[0];
    if (!seq || seq.tag !== 0x30) return undefined;
    const int = readAllTlvs(seq.value).find((t) => t.tag === 0x02);
    return int ? smallInt(int.value, 'key size') : undefined;
  };
  return type === 'aes' ? pick(0xa0) : pick(0xa1);
}

function derInt(n: number): Uint8Array {
  let b = bigIntToBytes(BigInt(n));
  if (b.length === 0 || b[0]! & 0x80) b = concatBytes(Uint8Array.of(0), b);
  return encodeTlv(0x02, b);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** CommonObjectAttributes.authId = 01, the user PIN (as OpenSC writes: 04 01 01). */
const AUTH_ID_USER_PIN = Uint8Array.of(0x04, 0x01, 0x01);
/** CommonObjectAttributes.flags = private, modifiable (as OpenSC writes: 03 02 06 C0). */
const FLAGS_PRIVATE_MODIFIABLE = Uint8Array.of(0x03, 0x02, 0x06, 0xc0);
/**
 * KeyUsageFlags BIT STRINGs as each producer writes them (seen in apdu-trace.txt and the Pico
 * firmware): OpenSC EC = sign, signRecover, derive; OpenSC RSA = decrypt, sign, signRecover;
 * Pico EC = sign, derive; Pico RSA = decrypt, sign, signRecover, unwrap; Pico AES = encrypt,
 * decrypt (plus a bit set inside the unused-bits area, kept for byte compatibility).
 */
const USAGE_OPENSC = { ec: Uint8Array.of(0x03, 0x03, 0x07, 0x30, 0x80), rsa: Uint8Array.of(0x03, 0x02, 0x04, 0x70) };
const USAGE_PICO = {
  ec: Uint8Array.of(0x03, 0x03, 0x07, 0x20, 0x80),
  rsa: Uint8Array.of(0x03, 0x02, 0x02, 0x74),
  aes: Uint8Array.of(0x03, 0x03, 0x07, 0xc0, 0x10),
};

function typeAttributes(sizeBits: number): Uint8Array {
  return encodeTlv(0xa1, encodeTlv(0x30, encodeTlv(0x30, encodeTlv(0x04)), derInt(sizeBits)));
}

function checkSize(n: unknown, name: string, max = 0xffff): number {
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > max) throw new RangeError(`${name} must be an integer 1..${max}`);
  return n as number;
}

/**
 * The PRKD OpenSC (pkcs11-tool --keypairgen) writes to EF C4<ref> after generating a key, e.g.
 * `A0 26 30 0B 0C 02 "k1" 03 02 06 C0 30 0B 04 01 01 03 03 07 30 80 02 01 01 A1 0A 30 08 30 02
 * 04 00 02 02 01 00` for EC P-256, label k1, ID 01, key reference 1.
 *
 * @throws {TypeError|RangeError} for a key type other than 'ec'/'rsa', a non-Uint8Array ID, an
 *   empty label, or a key reference or size out of range
 */
export function encodeOpenscPrkd(opts: { keyType: 'ec' | 'rsa'; label: string; id: Uint8Array; keyReference: number; keySize: number }): Uint8Array {
  const { keyType, label, id } = opts;
  if (keyType !== 'ec' && keyType !== 'rsa') throw new TypeError("keyType must be 'ec' or 'rsa'");
  if (typeof label !== 'string' || label.length === 0) throw new TypeError('label must be a non-empty string');
  if (!(id instanceof Uint8Array)) throw new TypeError('id must be a Uint8Array');
  const ref = checkSize(opts.keyReference, 'keyReference', 255);
  const size = checkSize(opts.keySize, 'keySize');
  return encodeTlv(
    keyType === 'ec' ? 0xa0 : 0x30,
    encodeTlv(0x30, encodeTlv(0x0c, utf8(label)), FLAGS_PRIVATE_MODIFIABLE, AUTH_ID_USER_PIN),
    encodeTlv(0x30, encodeTlv(0x04, id), USAGE_OPENSC[keyType], derInt(ref)),
    typeAttributes(size),
  );
}

/**
 * The PRKD Pico HSM firmware writes itself after GENERATE ASYMMETRIC KEY PAIR and UNWRAP KEY
 * (firmware 6.6 `asn1_build_prkd_generic`): empty label, iD = the key reference in decimal ASCII,
 * no key reference, e.g. 29 bytes for an EC key at reference 10 (spec §9 calls the decimal
 * reference a label; the firmware source puts it in the iD — both give the sizes apdu-trace.txt
 * shows: 1C for ref 1/EC, 1D for ref 10/EC, 1C for ref 11/RSA). OpenSC and sc-hsm-tool then
 * overwrite it. `label` and `id` override the defaults (the device key's PRKD uses them).
 *
 * @throws {TypeError|RangeError} for an unknown key type, or reference or size out of range
 */
export function encodePicoPrkd(opts: {
  keyType: 'ec' | 'rsa' | 'aes';
  keyReference: number;
  keySize: number;
  label?: Uint8Array;
  id?: Uint8Array;
}): Uint8Array {
  const { keyType } = opts;
  if (keyType !== 'ec' && keyType !== 'rsa' && keyType !== 'aes') throw new TypeError("keyType must be 'ec', 'rsa' or 'aes'");
  const ref = opts.keyReference;
  // 0 is the device authentication key, which also has a firmware-written PRKD
  if (!Number.isInteger(ref) || ref < 0 || ref > 255) throw new RangeError('keyReference must be an integer 0..255');
  const size = checkSize(opts.keySize, 'keySize');
  const common = encodeTlv(0x30, encodeTlv(0x0c, opts.label ?? new Uint8Array(0)));
  const key = encodeTlv(0x30, encodeTlv(0x04, opts.id ?? utf8(String(ref))), USAGE_PICO[keyType]);
  if (keyType === 'aes') {
    return encodeTlv(
      0xa8,
      common,
      key,
      encodeTlv(0xa0, encodeTlv(0x30, derInt(size))),
      encodeTlv(0xa1, encodeTlv(0x30, encodeTlv(0x30, encodeTlv(0x04)))),
    );
  }
  return encodeTlv(keyType === 'ec' ? 0xa0 : 0x30, common, key, typeAttributes(size));
}
