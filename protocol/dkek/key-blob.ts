/**
 * The SmartCard-HSM key blob: a private or secret key encrypted and authenticated under keys
 * derived from the DKEK. It is what WRAP KEY returns, what UNWRAP KEY accepts, and what a wrap
 * (backup) file carries in its OCTET STRING. Spec: /work/shared/spec/sc-hsm-dkek.md §5,
 * docs/backup-format.md §4–§6.
 *
 * ```
 * KCV(8) | type(1) | u16 L + default algorithm OID | u16 L + allowed algorithms
 *        | u16 L + access conditions | u16 L + key OID
 *        | AES-256-CBC(K_ENC, IV = 0, padded plaintext) | AES-CMAC(K_MAC, all of the above)(16)
 * plaintext = random(8) | u16 key size | components (each u16 L + big-endian bytes)
 * ```
 *
 * Decoding accepts what both producers write: CardContact firmware (and DKEK.js) always pads with
 * ISO/IEC 9797-1 method 2 and writes full-length EC components; Pico HSM pads only when the
 * plaintext is not block-aligned and writes minimal-length components (A even empty). The decoder
 * relies on the length fields only. Encoding defaults to the CardContact form, which both accept.
 */

import { cbc, cmac } from '@noble/ciphers/aes.js';
import { bigIntToBytes, bytesToBigInt, concatBytes, equalBytes, fromHex, readU16be, toHex, u16be, wipe } from '../bytes.ts';
import { checkFailed, usageError } from '../errors.ts';
import { deriveBlobKeys, formatKcv, kcv as dkekKcv, KCV_LENGTH } from './dkek.ts';
import { ecCurveByName, ecPublicMatches, findEcCurve, normalizePoint, type EcCurve, type EcCurveName } from './ec-curve.ts';

/** Key type byte: RSA as private exponent + modulus. */
export const KEY_TYPE_RSA = 5;
/** Key type byte: RSA in Chinese-remainder form. */
export const KEY_TYPE_RSA_CRT = 6;
/** Key type byte: elliptic curve. */
export const KEY_TYPE_EC = 12;
/** Key type byte: AES secret key. */
export const KEY_TYPE_AES = 15;

/** id-TA-RSA-v1-5-SHA-256 (0.4.0.127.0.7.2.2.2.1.2), the default algorithm of RSA blobs. */
export const ALGORITHM_RSA_V15_SHA256: Uint8Array = fromHex('04007f00070202020102');
/** id-TA-ECDSA-SHA-256 (0.4.0.127.0.7.2.2.2.2.3), the default algorithm of EC blobs. */
export const ALGORITHM_ECDSA_SHA256: Uint8Array = fromHex('04007f00070202020203');
/** 2.16.840.1.101.3.4.1 (NIST AES arc), the default algorithm of AES blobs. */
export const ALGORITHM_AES: Uint8Array = fromHex('608648016503040' + '1');

/** Algorithm families a blob's default algorithm must fall under, per key type (§5.2). */
const ALGORITHM_FAMILY: Record<number, Uint8Array> = {
  [KEY_TYPE_RSA]: fromHex('04007f000702020201'), // id-TA-RSA
  [KEY_TYPE_RSA_CRT]: fromHex('04007f000702020201'),
  [KEY_TYPE_EC]: fromHex('04007f000702020202'), // id-TA-ECDSA
  [KEY_TYPE_AES]: ALGORITHM_AES,
};

/** RSA private key as key type 5 carries it. All values big-endian, unsigned. */
export interface RsaKey {
  type: 'rsa';
  n: Uint8Array;
  e: Uint8Array;
  d: Uint8Array;
}

/** RSA private key in CRT form (key type 6). qinv = q⁻¹ mod p. */
export interface RsaCrtKey {
  type: 'rsa-crt';
  n: Uint8Array;
  e: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qinv: Uint8Array;
}

/** EC private key (key type 12). */
export interface EcKey {
  type: 'ec';
  curve: EcCurveName;
  /** private scalar, big-endian (decoded blobs return it full length: curve order bytes) */
  d: Uint8Array;
  /** public point, uncompressed 04 || x || y */
  q: Uint8Array;
}

/** AES secret key (key type 15): 16, 24, 32 or 64 bytes. */
export interface AesKey {
  type: 'aes';
  key: Uint8Array;
}

/** Any key a blob can carry. */
export type BlobKey = RsaKey | RsaCrtKey | EcKey | AesKey;

/** The public, unencrypted part of a key blob. Byte fields are views into the blob. */
export interface KeyBlobHeader {
  /** KCV of the DKEK the blob was made under */
  kcv: Uint8Array;
  /** 5, 6, 12 or 15 for a well-formed blob (parseKeyBlob does not check it) */
  keyType: number;
  /** content bytes of the default algorithm OID */
  defaultAlgorithm: Uint8Array;
  /** one byte per allowed SmartCard-HSM algorithm id; empty = no restriction */
  allowedAlgorithms: Uint8Array;
  /** "not used" by the firmware; usually empty */
  accessConditions: Uint8Array;
  /** "not used" by the firmware; usually empty */
  keyOid: Uint8Array;
  /** the AES-CBC ciphertext (a positive multiple of 16 bytes) */
  encrypted: Uint8Array;
  /** the AES-CMAC tag (16 bytes) */
  mac: Uint8Array;
}

/** A verified blob: its header plus anything unusual that did not prevent verification. */
export interface VerifiedKeyBlob extends KeyBlobHeader {
  /** human-readable notes about unusual but accepted content (never secret) */
  warnings: string[];
}

/** How the plaintext was padded. */
export type BlobPadding =
  /** no padding: the plaintext was block-aligned (Pico HSM style) */
  | 'none'
  /** ISO/IEC 9797-1 method 2: 80 then zeros */
  | 'iso9797-m2'
  /** anything else after the components (accepted, reported as a warning) */
  | 'irregular';

/** A decrypted blob. `key` holds secrets: pass it to wipeBlobKey when done. */
export interface DecryptedKeyBlob extends VerifiedKeyBlob {
  key: BlobKey;
  /** the key size field: bits for RSA and EC, bytes for AES */
  keySize: number;
  padding: BlobPadding;
  /** EC only: 'full' if every scalar component had its full length, else 'minimal' */
  ecComponents?: 'full' | 'minimal';
}

/** Producer conventions for encodeKeyBlob. */
export type KeyBlobStyle = 'cardcontact' | 'pico';

export interface EncodeKeyBlobOptions {
  /** randomness source for the 8 leading plaintext bytes; default crypto.getRandomValues */
  rng?: (n: number) => Uint8Array;
  /** SmartCard-HSM algorithm ids the key may be used with (one byte each); default none (no restriction) */
  allowedAlgorithms?: Uint8Array;
  /**
   * 'cardcontact' (default): always ISO 9797-1 M2 padding, full-length EC components, key size =
   * 8 × field bytes — what a real SmartCard-HSM writes. 'pico': pad only when unaligned, minimal
   * EC components (A empty when it is P−3 or 0), key size = field bits — what Pico HSM writes.
   */
  style?: KeyBlobStyle;
  /** override the EC component style of `style` */
  ecComponents?: 'full' | 'minimal';
}

const HEADER_FIXED = KCV_LENGTH + 1;
const MAC_LENGTH = 16;
const BLOCK = 16;

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

function malformed(reason: string): Error {
  return usageError('BLOB_MALFORMED', `key blob is malformed: ${reason}`, {
    hint: 'the backup file is damaged or is not a SmartCard-HSM key blob; use an intact copy',
    detail: { reason },
  });
}

/** A readable name for a key type byte. */
export function keyTypeName(type: number): string {
  switch (type) {
    case KEY_TYPE_RSA:
      return 'RSA';
    case KEY_TYPE_RSA_CRT:
      return 'RSA-CRT';
    case KEY_TYPE_EC:
      return 'EC';
    case KEY_TYPE_AES:
      return 'AES';
    default:
      return `unknown (${type})`;
  }
}

/**
 * Splits a blob into its fields without any key: enough to show the KCV, key type and algorithms
 * of a backup before the DKEK is present. Nothing is verified except the structure.
 *
 * @throws {TypeError} if `blob` is not a Uint8Array
 * @throws {CeremonyError} usage BLOB_MALFORMED if a length field overruns the blob, or the
 *   ciphertext is empty or not a multiple of 16 bytes
 */
export function parseKeyBlob(blob: Uint8Array): KeyBlobHeader {
  if (!(blob instanceof Uint8Array)) throw new TypeError('blob must be a Uint8Array');
  if (blob.length < HEADER_FIXED + 8 + BLOCK + MAC_LENGTH) {
    throw malformed(`only ${blob.length} bytes`);
  }
  let p = HEADER_FIXED;
  const field = (name: string): Uint8Array => {
    if (p + 2 > blob.length - MAC_LENGTH) throw malformed(`${name} length field is missing`);
    const n = readU16be(blob, p);
    p += 2;
    if (p + n > blob.length - MAC_LENGTH) throw malformed(`${name} (${n} bytes) runs past the end`);
    const v = blob.subarray(p, p + n);
    p += n;
    return v;
  };
  const defaultAlgorithm = field('default algorithm');
  const allowedAlgorithms = field('allowed algorithms');
  const accessConditions = field('access conditions');
  const keyOid = field('key OID');
  const encrypted = blob.subarray(p, blob.length - MAC_LENGTH);
  if (encrypted.length === 0 || encrypted.length % BLOCK !== 0) {
    throw malformed(`encrypted part is ${encrypted.length} bytes, not a positive multiple of 16`);
  }
  return {
    kcv: blob.subarray(0, KCV_LENGTH),
    keyType: blob[KCV_LENGTH]!,
    defaultAlgorithm,
    allowedAlgorithms,
    accessConditions,
    keyOid,
    encrypted,
    mac: blob.subarray(blob.length - MAC_LENGTH),
  };
}

function startsWith(a: Uint8Array, prefix: Uint8Array): boolean {
  return a.length >= prefix.length && equalBytes(a.subarray(0, prefix.length), prefix);
}

/** Checks KCV, MAC, type and algorithm; kMac is supplied by the caller and not wiped here. */
function verifyWith(blob: Uint8Array, dkek: Uint8Array, kMac: Uint8Array): VerifiedKeyBlob {
  const h = parseKeyBlob(blob);
  const expected = dkekKcv(dkek);
  if (!equalBytes(expected, h.kcv)) {
    const detail = { blobKcv: formatKcv(h.kcv), dkekKcv: formatKcv(expected) };
    throw checkFailed(
      'KCV_MISMATCH',
      `key blob was made under DKEK ${detail.blobKcv}, not the loaded DKEK ${detail.dkekKcv}`,
      { hint: 'load the DKEK shares this backup was made with (compare the KCVs)', detail },
    );
  }
  const tag = cmac(blob.subarray(0, blob.length - MAC_LENGTH), kMac);
  const macOk = equalBytes(tag, h.mac);
  wipe(tag);
  if (!macOk) {
    throw checkFailed('MAC_MISMATCH', 'key blob authentication failed (CMAC mismatch)', {
      hint: 'the backup was altered or damaged after it was made; use an intact copy',
    });
  }
  const family = ALGORITHM_FAMILY[h.keyType];
  if (!family) {
    throw usageError('BLOB_UNKNOWN_KEY_TYPE', `key blob has unknown key type ${h.keyType}`, {
      hint: 'only RSA (5), RSA-CRT (6), EC (12) and AES (15) blobs can be restored',
      detail: { keyType: h.keyType },
    });
  }
  const warnings: string[] = [];
  if (!startsWith(h.defaultAlgorithm, family)) {
    if (h.keyType === KEY_TYPE_AES && h.defaultAlgorithm[0] !== 0x60) {
      // DKEK.js: SmartCard-HSM firmware 3.0 to 3.2 encoded the AES algorithm OID wrongly.
      warnings.push('AES default algorithm uses the mis-encoding of SmartCard-HSM firmware 3.0-3.2');
    } else {
      throw usageError(
        'BLOB_ALGORITHM_MISMATCH',
        `key blob default algorithm ${toHex(h.defaultAlgorithm)} does not fit key type ${keyTypeName(h.keyType)}`,
        { hint: 'the card would refuse this blob; it was not made by a SmartCard-HSM', detail: { keyType: h.keyType } },
      );
    }
  }
  return { ...h, warnings };
}

/**
 * Verifies a blob under a DKEK the way the card does before UNWRAP: the KCV equals the DKEK's,
 * the CMAC is correct, the key type is known and the default algorithm belongs to that type.
 * Nothing is decrypted.
 *
 * @throws {TypeError|RangeError} if `blob` is not a Uint8Array or `dkek` is not 32 bytes
 * @throws {CeremonyError} usage BLOB_MALFORMED, check KCV_MISMATCH, check MAC_MISMATCH, usage
 *   BLOB_UNKNOWN_KEY_TYPE, usage BLOB_ALGORITHM_MISMATCH (in that order of checking)
 */
export function verifyKeyBlob(blob: Uint8Array, dkek: Uint8Array): VerifiedKeyBlob {
  const { kEnc, kMac } = deriveBlobKeys(dkek);
  wipe(kEnc);
  try {
    return verifyWith(blob, dkek, kMac);
  } finally {
    wipe(kMac);
  }
}

/** Reads the u16-length-prefixed components of a plaintext. */
class ComponentReader {
  pos: number;
  constructor(
    private readonly pt: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  next(name: string): Uint8Array {
    if (this.pos + 2 > this.pt.length) throw malformed(`key data ends before ${name}`);
    const n = readU16be(this.pt, this.pos);
    this.pos += 2;
    if (this.pos + n > this.pt.length) throw malformed(`${name} (${n} bytes) runs past the key data`);
    const v = this.pt.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  raw(n: number, name: string): Uint8Array {
    if (this.pos + n > this.pt.length) throw malformed(`${name} (${n} bytes) runs past the key data`);
    const v = this.pt.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

function requireNonEmpty(parts: Record<string, Uint8Array>): void {
  for (const [name, v] of Object.entries(parts)) {
    if (v.length === 0 || v.every((b) => b === 0)) throw malformed(`${name} is empty or zero`);
  }
}

function stripZeros(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  return v.subarray(i);
}

function bitLength(v: Uint8Array): number {
  const s = stripZeros(v);
  if (s.length === 0 || s[0] === 0) return 0;
  return (s.length - 1) * 8 + (32 - Math.clz32(s[0]!));
}

/**
 * Verifies a blob (as verifyKeyBlob) and decrypts it into a typed key.
 *
 * EC keys come back with the curve recognised from P/A/B/N/G, `d` padded to the order length and
 * `q` as full-length 04 || x || y, whatever lengths the blob used. The plaintext and the derived
 * keys are wiped before returning; the returned key is the caller's to wipe (wipeBlobKey).
 *
 * @throws {TypeError|RangeError} if `blob` is not a Uint8Array or `dkek` is not 32 bytes
 * @throws {CeremonyError} everything verifyKeyBlob throws; usage BLOB_MALFORMED if the decrypted
 *   key data is inconsistent; usage BLOB_UNKNOWN_CURVE for EC domain parameters of no supported curve
 */
export function decryptKeyBlob(blob: Uint8Array, dkek: Uint8Array): DecryptedKeyBlob {
  const { kEnc, kMac } = deriveBlobKeys(dkek);
  let pt: Uint8Array | undefined;
  const parts: Uint8Array[] = [];
  try {
    const v = verifyWith(blob, dkek, kMac);
    pt = cbc(kEnc, new Uint8Array(BLOCK), { disablePadding: true }).decrypt(v.encrypted);
    if (pt.length < 10) throw malformed('key data shorter than 10 bytes');
    const keySize = readU16be(pt, 8);
    const r = new ComponentReader(pt, 10);
    const take = (name: string): Uint8Array => {
      const c = r.next(name);
      parts.push(c);
      return c;
    };
    let key: BlobKey;
    let ecComponents: 'full' | 'minimal' | undefined;
    const warnings = [...v.warnings];
    switch (v.keyType) {
      case KEY_TYPE_RSA: {
        const d = take('private exponent');
        const n = take('modulus');
        const e = take('public exponent');
        requireNonEmpty({ 'private exponent': d, modulus: n, 'public exponent': e });
        key = { type: 'rsa', n, e, d };
        if (bitLength(n) !== keySize) warnings.push(`key size field says ${keySize} bits, modulus has ${bitLength(n)}`);
        break;
      }
      case KEY_TYPE_RSA_CRT: {
        const dp = take('dp');
        const dq = take('dq');
        const p = take('prime p');
        const qinv = take('qinv');
        const q = take('prime q');
        const n = take('modulus');
        const e = take('public exponent');
        requireNonEmpty({ dp, dq, 'prime p': p, qinv, 'prime q': q, modulus: n, 'public exponent': e });
        key = { type: 'rsa-crt', n, e, p, q, dp, dq, qinv };
        if (bitLength(n) !== keySize) warnings.push(`key size field says ${keySize} bits, modulus has ${bitLength(n)}`);
        break;
      }
      case KEY_TYPE_EC: {
        const a = take('curve A');
        const b = take('curve B');
        const p = take('curve prime P');
        const n = take('curve order N');
        const g = take('base point G');
        const d = take('private key D');
        const q = take('public point Q');
        const curve = findEcCurve({ p, a, b, n, g });
        if (!curve) {
          throw usageError('BLOB_UNKNOWN_CURVE', 'key blob holds an EC key on an unsupported curve', {
            hint: 'supported curves: P-256, P-384, P-521, brainpoolP256r1/P384r1/P512r1, secp256k1',
            detail: { primeBits: bitLength(p) },
          });
        }
        if (d.length > curve.orderLength || bytesToBigInt(d) === 0n || bytesToBigInt(d) >= curve.n) {
          throw malformed('private key D is out of range for the curve');
        }
        let qFull: Uint8Array;
        try {
          qFull = normalizePoint(curve, q);
        } catch {
          throw malformed('public point Q is not an uncompressed point');
        }
        const full =
          a.length === curve.fieldLength &&
          b.length === curve.fieldLength &&
          p.length === curve.fieldLength &&
          n.length === curve.orderLength &&
          d.length === curve.orderLength;
        ecComponents = full ? 'full' : 'minimal';
        const dFull = bigIntToBytes(bytesToBigInt(d), curve.orderLength);
        wipe(d); // the returned key holds its own full-length copy
        key = { type: 'ec', curve: curve.name, d: dFull, q: qFull };
        if (keySize !== curve.bits && keySize !== curve.fieldLength * 8) {
          warnings.push(`key size field says ${keySize} bits for ${curve.name}`);
        }
        break;
      }
      default: {
        // KEY_TYPE_AES (verifyWith admits no other type): key size in bytes, then the raw key.
        if (![16, 24, 32, 64].includes(keySize)) throw malformed(`AES key size ${keySize} bytes is not 16, 24, 32 or 64`);
        key = { type: 'aes', key: r.raw(keySize, 'AES key') };
        break;
      }
    }
    const rest = pt.subarray(r.pos);
    let padding: BlobPadding;
    if (rest.length === 0) padding = 'none';
    else if (rest[0] === 0x80 && rest.length <= BLOCK && rest.subarray(1).every((x) => x === 0)) padding = 'iso9797-m2';
    else {
      padding = 'irregular';
      warnings.push(`${rest.length} unexpected bytes after the key components`);
    }
    const out: DecryptedKeyBlob = { ...v, warnings, key, keySize, padding };
    if (ecComponents) out.ecComponents = ecComponents;
    return out;
  } catch (e) {
    // Nothing half-decoded leaves this function.
    wipe(...parts);
    throw e;
  } finally {
    wipe(kEnc, kMac, pt);
  }
}

function requireBytes(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (v.length === 0 || v.length > 0xffff) throw new RangeError(`${name} must be 1..65535 bytes`);
  return v;
}

function lv(v: Uint8Array): Uint8Array {
  return concatBytes(u16be(v.length), v);
}

/** Key-type byte, default algorithm, key size and length-prefixed components for `key`. */
function keyComponents(key: BlobKey, style: KeyBlobStyle, ecStyle: 'full' | 'minimal') {
  switch (key.type) {
    case 'rsa': {
      const n = stripZeros(requireBytes(key.n, 'key.n'));
      requireBytes(key.e, 'key.e');
      requireBytes(key.d, 'key.d');
      return { type: KEY_TYPE_RSA, algorithm: ALGORITHM_RSA_V15_SHA256, size: n.length * 8, body: [key.d, n, key.e] };
    }
    case 'rsa-crt': {
      const n = stripZeros(requireBytes(key.n, 'key.n'));
      for (const f of ['e', 'p', 'q', 'dp', 'dq', 'qinv'] as const) requireBytes(key[f], `key.${f}`);
      if (n.length > 256) {
        // DKEK.js converts such keys to type 5 first: the card takes CRT keys up to 2048 bits only.
        throw new RangeError('key: RSA-CRT keys over 2048 bits must be given as type rsa (d, n, e)');
      }
      return {
        type: KEY_TYPE_RSA_CRT,
        algorithm: ALGORITHM_RSA_V15_SHA256,
        size: n.length * 8,
        body: [key.dp, key.dq, key.p, key.qinv, key.q, n, key.e],
      };
    }
    case 'ec': {
      const c: EcCurve = ecCurveByName(key.curve);
      requireBytes(key.d, 'key.d');
      requireBytes(key.q, 'key.q');
      const d = bytesToBigInt(key.d);
      if (d === 0n || d >= c.n) throw new RangeError('key.d is out of range for the curve');
      const q = normalizePoint(c, key.q);
      const scalar = (v: bigint, len: number): Uint8Array =>
        ecStyle === 'full' ? bigIntToBytes(v, len) : bigIntToBytes(v);
      // Pico HSM (mbed TLS) keeps A implicit when it is P-3 or 0 and writes it with length 0.
      const aImplicit = c.a === c.p - 3n || c.a === 0n;
      const a = ecStyle === 'minimal' && aImplicit ? new Uint8Array(0) : scalar(c.a, c.fieldLength);
      return {
        type: KEY_TYPE_EC,
        algorithm: ALGORITHM_ECDSA_SHA256,
        size: style === 'pico' ? c.bits : c.fieldLength * 8,
        body: [a, scalar(c.b, c.fieldLength), scalar(c.p, c.fieldLength), scalar(c.n, c.orderLength), c.g, scalar(d, c.orderLength), q],
      };
    }
    case 'aes': {
      requireBytes(key.key, 'key.key');
      if (![16, 24, 32, 64].includes(key.key.length)) throw new RangeError('key.key must be 16, 24, 32 or 64 bytes');
      return { type: KEY_TYPE_AES, algorithm: ALGORITHM_AES, size: key.key.length, body: [], raw: key.key };
    }
    default:
      throw new TypeError('key.type must be rsa, rsa-crt, ec or aes');
  }
}

/**
 * Builds a key blob that a SmartCard-HSM (and Pico HSM) accepts on UNWRAP. The default style is
 * what a real SmartCard-HSM produces; `style: 'pico'` reproduces Pico HSM's layout, for tests and
 * the simulator.
 *
 * @throws {TypeError} for a key or option of the wrong type
 * @throws {RangeError} for a DKEK that is not 32 bytes, empty or oversized components, an EC key
 *   off its curve range, an AES key of another length, an RSA-CRT key over 2048 bits, or an rng
 *   that returns the wrong number of bytes
 */
export function encodeKeyBlob(key: BlobKey, dkek: Uint8Array, options: EncodeKeyBlobOptions = {}): Uint8Array {
  if (typeof key !== 'object' || key === null) throw new TypeError('key must be a key object');
  const style = options.style ?? 'cardcontact';
  if (style !== 'cardcontact' && style !== 'pico') throw new RangeError("options.style must be 'cardcontact' or 'pico'");
  const ecStyle = options.ecComponents ?? (style === 'pico' ? 'minimal' : 'full');
  const allowed = options.allowedAlgorithms ?? new Uint8Array(0);
  if (!(allowed instanceof Uint8Array) || allowed.length > 0xffff) {
    throw new TypeError('options.allowedAlgorithms must be a Uint8Array');
  }
  const rng = options.rng ?? defaultRng;
  const check = dkekKcv(dkek); // validates dkek
  const c = keyComponents(key, style, ecStyle);
  const random = rng(8);
  if (!(random instanceof Uint8Array) || random.length !== 8) throw new RangeError('rng(8) must return 8 bytes');

  const body = concatBytes(...c.body.map(lv));
  const unpadded = concatBytes(random, u16be(c.size), body, 'raw' in c && c.raw ? c.raw : new Uint8Array(0));
  wipe(body, random);
  const aligned = unpadded.length % BLOCK === 0;
  const padLength = style === 'pico' && aligned ? 0 : BLOCK - (unpadded.length % BLOCK);
  const plain = new Uint8Array(unpadded.length + padLength);
  plain.set(unpadded);
  if (padLength > 0) plain[unpadded.length] = 0x80;
  wipe(unpadded);

  const { kEnc, kMac } = deriveBlobKeys(dkek);
  try {
    const encrypted = cbc(kEnc, new Uint8Array(BLOCK), { disablePadding: true }).encrypt(plain);
    const head = concatBytes(
      check,
      Uint8Array.of(c.type),
      lv(c.algorithm),
      lv(allowed),
      u16be(0), // access conditions: not used
      u16be(0), // key OID: not used
      encrypted,
    );
    return concatBytes(head, cmac(head, kMac));
  } finally {
    wipe(kEnc, kMac, plain);
  }
}

/** Zeroes every component of a key (public ones too; they are copies). */
export function wipeBlobKey(key: BlobKey): void {
  for (const v of Object.values(key)) if (v instanceof Uint8Array) wipe(v);
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
  }
  return r;
}

/**
 * Mathematical consistency of a decrypted key, for `inspect` (docs/backup-format.md §8):
 * EC: Q = D·G; RSA: (2^e)^d ≡ 2 mod n; RSA-CRT: n = p·q, q·qinv ≡ 1 mod p, and dp, dq invert e
 * modulo p−1, q−1; AES: always true (nothing to check). Variable-time: run it only where timing
 * is not observable by an attacker (an offline inspect, not a card emulation).
 */
export function blobKeyConsistent(key: BlobKey): boolean {
  switch (key.type) {
    case 'ec':
      return ecPublicMatches(ecCurveByName(key.curve), key.d, key.q);
    case 'rsa': {
      const n = bytesToBigInt(key.n);
      if (n < 3n) return false;
      const m = 2n;
      return modPow(modPow(m, bytesToBigInt(key.e), n), bytesToBigInt(key.d), n) === m;
    }
    case 'rsa-crt': {
      const [n, e, p, q] = [key.n, key.e, key.p, key.q].map(bytesToBigInt) as [bigint, bigint, bigint, bigint];
      const [dp, dq, qinv] = [key.dp, key.dq, key.qinv].map(bytesToBigInt) as [bigint, bigint, bigint];
      if (p < 3n || q < 3n) return false;
      return n === p * q && (q * qinv) % p === 1n && (e * dp) % (p - 1n) === 1n && (e * dq) % (q - 1n) === 1n;
    }
    case 'aes':
      return true;
  }
}
