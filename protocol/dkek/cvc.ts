/**
 * Card-verifiable certificates and certificate requests (BSI TR-03110 part 3, appendix C) as the
 * SmartCard-HSM and Pico HSM use them: the device certificate chain in EF 2F02 (C_DevAut, then the
 * DICA certificate on a real card), and the authenticated requests GENERATE ASYMMETRIC KEY PAIR
 * returns and OpenSC stores in EF CE<ref> (and so in wrap files). docs/backup-format.md §10.
 *
 * ```
 * 7F21 certificate                          67 authenticated request
 *   7F4E body (this whole TLV is signed)      7F21 request (self-signed by the new key)
 *     5F29 profile identifier                 42   outer CAR (the device CHR)
 *     42   CAR  (certification authority)     5F37 outer signature (device key) over 7F21 || 42
 *     7F49 public key
 *       06 algorithm OID (id-TA-…)
 *       EC:  [81 P, 82 A, 83 B, 84 G, 85 N,] 86 Q, [87 cofactor]
 *       RSA: 81 modulus, 82 public exponent
 *     5F20 CHR  (certificate holder)
 *     [7F4C CHAT: 06 role OID, 53 rights]
 *     [5F25 effective date, 5F24 expiration date: YYMMDD, one digit per byte]
 *     [65 extensions]
 *   5F37 signature: ECDSA plain r || s (TR-03111), or RSA
 * ```
 *
 * The hash and signature scheme follow the *signer's* key OID (id-TA-ECDSA-SHA-256 etc.). This
 * was checked against the fixtures: the Pico device certificate is self-signed with secp256k1, the
 * requests' inner signatures verify under their own P-256/RSA-2048 keys and the outer ones under
 * the device key (test/vectors/cvc.test.ts).
 */

import { sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, bytesToBigInt, concatBytes, equalBytes, fromHex, toHex } from '../bytes.ts';
import { DerError, decodeOid, encodeTlv, findTlv, readAllTlvs, readTlv, tagHex, type Tlv } from '../der.ts';
import { usageError } from '../errors.ts';
import { ecCurveByName, findEcCurve, type EcCurve, type EcCurveName } from './ec-curve.ts';

/** Content bytes of id-TA-ECDSA-SHA-256 (0.4.0.127.0.7.2.2.2.2.3). */
export const TA_ECDSA_SHA256: Uint8Array = fromHex('04007f00070202020203');
/** Content bytes of id-TA-RSA-v1-5-SHA-256 (0.4.0.127.0.7.2.2.2.1.2). */
export const TA_RSA_V15_SHA256: Uint8Array = fromHex('04007f00070202020102');
/** Role OID of a device authentication certificate as Pico HSM writes it (0.4.0.127.0.7.3.1.2.2). */
export const ROLE_DEVICE: Uint8Array = fromHex('04007f000703010202');

const TA_RSA = '0.4.0.127.0.7.2.2.2.1';
const TA_ECDSA = '0.4.0.127.0.7.2.2.2.2';

type HashName = 'SHA-1' | 'SHA-224' | 'SHA-256' | 'SHA-384' | 'SHA-512';
const HASHES: Record<HashName, (m: Uint8Array) => Uint8Array> = {
  'SHA-1': sha1,
  'SHA-224': sha224,
  'SHA-256': sha256,
  'SHA-384': sha384,
  'SHA-512': sha512,
};
/** DER DigestInfo prefixes for PKCS#1 v1.5 (RFC 8017 §9.2 note 1). */
const DIGEST_INFO: Partial<Record<HashName, string>> = {
  'SHA-1': '3021300906052b0e03021a05000414',
  'SHA-256': '3031300d060960864801650304020105000420',
  'SHA-512': '3051300d060960864801650304020305000440',
};

/** What a TR-03110 algorithm OID means. */
export interface TaAlgorithm {
  /** readable name, e.g. id-TA-ECDSA-SHA-256, or the dotted OID if unknown */
  name: string;
  type: 'ec' | 'rsa' | 'unknown';
  hash?: HashName;
  /** RSA padding */
  padding?: 'pkcs1-v1.5' | 'pss';
}

/** Names a TR-03110 terminal-authentication algorithm OID (dotted). */
export function taAlgorithm(oid: string): TaAlgorithm {
  const arc = Number(oid.split('.').pop());
  if (oid.startsWith(`${TA_ECDSA}.`) && oid.split('.').length === 11) {
    const hash = (['SHA-1', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'] as const)[arc - 1];
    if (hash) return { name: `id-TA-ECDSA-${hash}`, type: 'ec', hash };
  }
  if (oid.startsWith(`${TA_RSA}.`) && oid.split('.').length === 11) {
    const table: Record<number, [HashName, 'pkcs1-v1.5' | 'pss']> = {
      1: ['SHA-1', 'pkcs1-v1.5'],
      2: ['SHA-256', 'pkcs1-v1.5'],
      3: ['SHA-1', 'pss'],
      4: ['SHA-256', 'pss'],
      5: ['SHA-512', 'pkcs1-v1.5'],
      6: ['SHA-512', 'pss'],
    };
    const t = table[arc];
    if (t) return { name: `id-TA-RSA-${t[1] === 'pss' ? 'PSS' : 'v1-5'}-${t[0]}`, type: 'rsa', hash: t[0], padding: t[1] };
  }
  return { name: oid, type: 'unknown' };
}

/** A CV public key (7F49). */
export interface CvPublicKey {
  /** the algorithm OID, dotted */
  algorithm: string;
  algorithmName: string;
  type: 'ec' | 'rsa' | 'unknown';
  /** EC: the curve, when the domain parameters are present and known */
  curve?: EcCurveName;
  /** EC: whether P, A, B, G, N are included (certificates may omit them and inherit the CA's) */
  hasDomainParameters?: boolean;
  /** EC: the public point 86, uncompressed 04 || x || y */
  point?: Uint8Array;
  /** RSA: modulus (81) and public exponent (82) */
  modulus?: Uint8Array;
  exponent?: Uint8Array;
  /** key size in bits: EC field size, RSA modulus bits (0 if unknown) */
  bits: number;
}

/** A decoded CV certificate (7F21) — also the inner part of a request. */
export interface CvCertificate {
  /** the whole 7F21 TLV */
  raw: Uint8Array;
  /** the whole 7F4E TLV: the signed bytes */
  body: Uint8Array;
  profile?: number;
  /** certification authority reference (42); for a self-signed request often a template value */
  car?: string;
  /** certificate holder reference (5F20) */
  chr: string;
  publicKey: CvPublicKey;
  /** 7F4C: role OID (dotted) and rights template */
  chat?: { role: string; template: Uint8Array };
  /** YYMMDD */
  effectiveDate?: string;
  /** YYMMDD */
  expirationDate?: string;
  /** 5F37 */
  signature: Uint8Array;
}

/** A decoded CV request: the inner self-signed 7F21 and, if authenticated (67), the outer part. */
export interface CvRequest {
  /** the whole input TLV (67 or 7F21) */
  raw: Uint8Array;
  request: CvCertificate;
  authenticated: boolean;
  /** 42 after the inner request: who signed the outer signature (the device CHR) */
  outerCar?: string;
  outerSignature?: Uint8Array;
  /** the bytes the outer signature covers: inner 7F21 TLV || 42 TLV */
  outerSigned?: Uint8Array;
}

function malformed(what: string, reason: string): Error {
  return usageError('CVC_MALFORMED', `${what} is malformed: ${reason}`, {
    hint: 'the certificate data is damaged; it is informational only and does not affect the key blob',
    detail: { reason },
  });
}

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

function bitLength(b: Uint8Array): number {
  const n = bytesToBigInt(b);
  return n === 0n ? 0 : n.toString(2).length;
}

function decodeDate(b: Uint8Array, what: string): string {
  if (b.length !== 6 || b.some((d) => d > 9)) throw malformed('CV certificate', `${what} is not six BCD digits`);
  return Array.from(b, (d) => String(d)).join('');
}

/**
 * Decodes a 7F49 public key.
 *
 * @throws {CeremonyError} usage CVC_MALFORMED
 */
export function decodeCvPublicKey(tlv: Tlv): CvPublicKey {
  const parts = readAllTlvs(tlv.value);
  const oid = findTlv(parts, 0x06);
  if (!oid) throw malformed('CV public key', 'algorithm OID (06) is missing');
  const algorithm = decodeOid(oid.value);
  const alg = taAlgorithm(algorithm);
  const v = (tag: number): Uint8Array | undefined => findTlv(parts, tag)?.value.slice();
  const key: CvPublicKey = { algorithm, algorithmName: alg.name, type: alg.type, bits: 0 };
  if (alg.type === 'rsa') {
    const n = v(0x81);
    const e = v(0x82);
    if (!n || !e) throw malformed('CV public key', 'RSA modulus (81) or exponent (82) is missing');
    key.modulus = n;
    key.exponent = e;
    key.bits = bitLength(n);
  } else if (alg.type === 'ec') {
    const q = v(0x86);
    if (!q) throw malformed('CV public key', 'EC public point (86) is missing');
    key.point = q;
    const p = v(0x81);
    key.hasDomainParameters = p !== undefined;
    if (p) {
      const curve = findEcCurve({ p, a: v(0x82), b: v(0x83), g: v(0x84), n: v(0x85) });
      if (curve) key.curve = curve.name;
      key.bits = bitLength(p);
    } else if (q.length > 1) {
      key.bits = ((q.length - 1) / 2) * 8;
    }
  }
  return key;
}

function decodeCertificateTlv(t: Tlv, bytes: Uint8Array): CvCertificate {
  if (t.tag !== 0x7f21) throw malformed('CV certificate', `tag ${tagHex(t.tag)} is not 7F21`);
  const parts = readAllTlvs(t.value);
  const body = findTlv(parts, 0x7f4e);
  const sig = findTlv(parts, 0x5f37);
  if (!body || !sig) throw malformed('CV certificate', 'body (7F4E) or signature (5F37) is missing');
  const fields = readAllTlvs(body.value);
  const chr = findTlv(fields, 0x5f20);
  const pk = findTlv(fields, 0x7f49);
  if (!chr || !pk) throw malformed('CV certificate', 'holder (5F20) or public key (7F49) is missing');
  const cert: CvCertificate = {
    raw: bytes.slice(t.offset, t.offset + t.totalLength),
    body: t.value.slice(body.offset, body.offset + body.totalLength),
    chr: latin1(chr.value),
    publicKey: decodeCvPublicKey(pk),
    signature: sig.value.slice(),
  };
  const cpi = findTlv(fields, 0x5f29);
  if (cpi && cpi.value.length === 1) cert.profile = cpi.value[0]!;
  const car = findTlv(fields, 0x42);
  if (car) cert.car = latin1(car.value);
  const chat = findTlv(fields, 0x7f4c);
  if (chat) {
    const c = readAllTlvs(chat.value);
    const role = findTlv(c, 0x06);
    const rights = findTlv(c, 0x53);
    if (role) cert.chat = { role: decodeOid(role.value), template: rights ? rights.value.slice() : new Uint8Array(0) };
  }
  const eff = findTlv(fields, 0x5f25);
  if (eff) cert.effectiveDate = decodeDate(eff.value, 'effective date');
  const exp = findTlv(fields, 0x5f24);
  if (exp) cert.expirationDate = decodeDate(exp.value, 'expiration date');
  return cert;
}

function wrapDer<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DerError) throw malformed(what, e.message);
    throw e;
  }
}

/**
 * Decodes one CV certificate (7F21) at the start of `bytes`; bytes after it are ignored.
 *
 * @throws {TypeError} if `bytes` is not a Uint8Array
 * @throws {CeremonyError} usage CVC_MALFORMED
 */
export function decodeCvCertificate(bytes: Uint8Array): CvCertificate {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  return wrapDer('CV certificate', () => decodeCertificateTlv(readTlv(bytes, 0), bytes));
}

/**
 * Decodes consecutive CV certificates, as in EF 2F02 (C_DevAut, then DICA on a real card; Pico
 * HSM stores only its self-signed C_DevAut). Reading stops at the end or at 00/FF filler.
 *
 * @throws {CeremonyError} usage CVC_MALFORMED if there is no certificate or one is malformed
 */
export function decodeCvCertificates(bytes: Uint8Array): CvCertificate[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  return wrapDer('certificate chain', () => {
    const out: CvCertificate[] = [];
    let p = 0;
    while (p < bytes.length && bytes[p] !== 0x00 && bytes[p] !== 0xff) {
      const t = readTlv(bytes, p);
      out.push(decodeCertificateTlv(t, bytes));
      p += t.totalLength;
    }
    if (out.length === 0) throw malformed('certificate chain', 'no certificate found');
    return out;
  });
}

/**
 * Decodes a CV request: an authenticated request (67) or a plain self-signed one (7F21).
 *
 * @throws {TypeError} if `bytes` is not a Uint8Array
 * @throws {CeremonyError} usage CVC_MALFORMED
 */
export function decodeCvRequest(bytes: Uint8Array): CvRequest {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  return wrapDer('CV request', () => {
    const t = readTlv(bytes, 0);
    const raw = bytes.slice(0, t.totalLength);
    if (t.tag === 0x7f21) return { raw, request: decodeCertificateTlv(t, bytes), authenticated: false };
    if (t.tag !== 0x67) throw malformed('CV request', `tag ${tagHex(t.tag)} is neither 67 nor 7F21`);
    const inner = readTlv(raw, t.headerLength);
    const request = decodeCertificateTlv(inner, raw);
    const result: CvRequest = { raw, request, authenticated: true };
    const restStart = t.headerLength + inner.totalLength;
    const rest = readAllTlvs(raw, restStart, t.totalLength);
    const car = findTlv(rest, 0x42);
    const sig = findTlv(rest, 0x5f37);
    if (car) {
      result.outerCar = latin1(car.value);
      result.outerSigned = raw.slice(t.headerLength, car.offset + car.totalLength);
    }
    if (sig) result.outerSignature = sig.value.slice();
    return result;
  });
}

/** The hash for a signer key, by its algorithm OID. */
function hashFor(signer: CvPublicKey): TaAlgorithm & { hash: HashName } {
  const alg = taAlgorithm(signer.algorithm);
  if (!alg.hash) {
    throw usageError('CVC_UNSUPPORTED_ALGORITHM', `signature algorithm ${alg.name} is not supported`, {
      hint: 'only id-TA-ECDSA-* and id-TA-RSA-v1-5-* signatures can be checked',
    });
  }
  return alg as TaAlgorithm & { hash: HashName };
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

/**
 * Checks a CV signature over `signed` with the signer's public key. EC signers need a known curve:
 * from their own domain parameters or, for certificates that inherit them, `curveHint`.
 *
 * @throws {CeremonyError} usage CVC_UNSUPPORTED_ALGORITHM for RSA-PSS or an unknown algorithm,
 *   usage CVC_UNKNOWN_CURVE if the EC curve cannot be determined
 */
export function verifyCvSignature(signed: Uint8Array, signature: Uint8Array, signer: CvPublicKey, curveHint?: EcCurveName): boolean {
  const alg = hashFor(signer);
  const digest = HASHES[alg.hash](signed);
  if (alg.type === 'ec') {
    const name = signer.curve ?? curveHint;
    if (!name || !signer.point) {
      throw usageError('CVC_UNKNOWN_CURVE', 'the signer key names no curve', { hint: 'pass the curve of the issuing CA' });
    }
    const c = ecCurveByName(name);
    if (signature.length !== 2 * c.orderLength) return false;
    try {
      return c.impl.verify(signature, digest, signer.point, { prehash: false, lowS: false });
    } catch {
      return false;
    }
  }
  if (alg.padding !== 'pkcs1-v1.5' || !signer.modulus || !signer.exponent || !DIGEST_INFO[alg.hash]) {
    throw usageError('CVC_UNSUPPORTED_ALGORITHM', `signature algorithm ${alg.name} is not supported`, {
      hint: 'only id-TA-ECDSA-* and id-TA-RSA-v1-5-* signatures can be checked',
    });
  }
  const n = bytesToBigInt(signer.modulus);
  const k = Math.ceil(bitLength(signer.modulus) / 8);
  if (signature.length !== k) return false;
  const s = bytesToBigInt(signature);
  if (s >= n) return false;
  const em = bigIntToBytes(modPow(s, bytesToBigInt(signer.exponent), n), k);
  const t = concatBytes(fromHex(DIGEST_INFO[alg.hash]!), digest);
  if (k < t.length + 11) return false;
  const expected = concatBytes(Uint8Array.of(0, 1), new Uint8Array(k - t.length - 3).fill(0xff), Uint8Array.of(0), t);
  return equalBytes(em, expected);
}

/**
 * Checks a certificate's signature with its issuer's key (for a self-signed certificate, its own).
 *
 * @throws as verifyCvSignature
 */
export function verifyCvCertificate(cert: CvCertificate, issuer: CvPublicKey, curveHint?: EcCurveName): boolean {
  return verifyCvSignature(cert.body, cert.signature, issuer, curveHint ?? cert.publicKey.curve);
}

/**
 * Checks a request: the inner self-signature with the request's own key, and, if authenticated
 * and `device` is given, the outer signature with the device key.
 *
 * @throws as verifyCvSignature
 */
export function verifyCvRequest(req: CvRequest, device?: CvPublicKey): { inner: boolean; outer?: boolean } {
  const inner = verifyCvSignature(req.request.body, req.request.signature, req.request.publicKey);
  if (!device || !req.outerSigned || !req.outerSignature) return { inner };
  return { inner, outer: verifyCvSignature(req.outerSigned, req.outerSignature, device) };
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A public key to put into 7F49. */
export type CvPublicKeyInput =
  | { type: 'ec'; curve: EcCurveName; point: Uint8Array; domainParameters?: boolean; algorithm?: Uint8Array }
  | { type: 'rsa'; modulus: Uint8Array; exponent: Uint8Array; algorithm?: Uint8Array };

/**
 * Encodes a 7F49 public key. EC keys carry full-length domain parameters by default (81 P, 82 A,
 * 83 B, 84 G, 85 N, 86 Q, 87 cofactor), as Pico HSM and OpenSC's key-generation template do.
 *
 * @throws {TypeError|RangeError} for an unknown curve or a malformed point/modulus
 */
export function encodeCvPublicKey(key: CvPublicKeyInput): Uint8Array {
  if (key.type === 'rsa') {
    if (!(key.modulus instanceof Uint8Array) || key.modulus.length === 0) throw new RangeError('modulus must be non-empty bytes');
    if (!(key.exponent instanceof Uint8Array) || key.exponent.length === 0) throw new RangeError('exponent must be non-empty bytes');
    return encodeTlv(0x7f49, encodeTlv(0x06, key.algorithm ?? TA_RSA_V15_SHA256), encodeTlv(0x81, key.modulus), encodeTlv(0x82, key.exponent));
  }
  if (key.type !== 'ec') throw new TypeError("key.type must be 'ec' or 'rsa'");
  const c: EcCurve = ecCurveByName(key.curve);
  if (!(key.point instanceof Uint8Array) || key.point.length !== 1 + 2 * c.fieldLength || key.point[0] !== 4) {
    throw new RangeError(`point must be an uncompressed ${c.name} point (${1 + 2 * c.fieldLength} bytes)`);
  }
  const oid = encodeTlv(0x06, key.algorithm ?? TA_ECDSA_SHA256);
  if (key.domainParameters === false) return encodeTlv(0x7f49, oid, encodeTlv(0x86, key.point));
  return encodeTlv(
    0x7f49,
    oid,
    encodeTlv(0x81, bigIntToBytes(c.p, c.fieldLength)),
    encodeTlv(0x82, bigIntToBytes(c.a, c.fieldLength)),
    encodeTlv(0x83, bigIntToBytes(c.b, c.fieldLength)),
    encodeTlv(0x84, c.g),
    encodeTlv(0x85, bigIntToBytes(c.n, c.orderLength)),
    encodeTlv(0x86, key.point),
    encodeTlv(0x87, bigIntToBytes(c.h)),
  );
}

function reference(value: string, name: string, min: number): Uint8Array {
  if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value) || value.length < min || value.length > 16) {
    throw new RangeError(`${name} must be ${min}..16 printable ASCII characters`);
  }
  return Uint8Array.from(value, (ch) => ch.charCodeAt(0));
}

function date(yymmdd: string, name: string): Uint8Array {
  if (!/^\d{6}$/.test(yymmdd)) throw new RangeError(`${name} must be YYMMDD`);
  return Uint8Array.from(yymmdd, (ch) => ch.charCodeAt(0) - 48);
}

/** Fields of a certificate or request body. */
export interface CvBodyInput {
  /** 5F29, default 0 */
  profile?: number;
  /** 42; omitted when undefined */
  car?: string;
  /** already-encoded 7F49 (encodeCvPublicKey) */
  publicKey: Uint8Array;
  /** 5F20; OpenSC derives the serial from it (CHR minus its last five characters, at least 8) */
  chr: string;
  chat?: { role: Uint8Array; template: Uint8Array };
  effectiveDate?: string;
  expirationDate?: string;
}

/**
 * Encodes a 7F4E body in TR-03110 order.
 *
 * @throws {RangeError} for references that are not 1..16 printable characters or bad dates
 */
export function encodeCvBody(f: CvBodyInput): Uint8Array {
  if (!(f.publicKey instanceof Uint8Array) || f.publicKey[0] !== 0x7f || f.publicKey[1] !== 0x49) {
    throw new RangeError('publicKey must be an encoded 7F49 TLV');
  }
  const parts = [encodeTlv(0x5f29, Uint8Array.of(f.profile ?? 0))];
  if (f.car !== undefined) parts.push(encodeTlv(0x42, reference(f.car, 'car', 1)));
  parts.push(f.publicKey, encodeTlv(0x5f20, reference(f.chr, 'chr', 1)));
  if (f.chat) parts.push(encodeTlv(0x7f4c, encodeTlv(0x06, f.chat.role), encodeTlv(0x53, f.chat.template)));
  if (f.effectiveDate !== undefined) parts.push(encodeTlv(0x5f25, date(f.effectiveDate, 'effectiveDate')));
  if (f.expirationDate !== undefined) parts.push(encodeTlv(0x5f24, date(f.expirationDate, 'expirationDate')));
  return encodeTlv(0x7f4e, ...parts);
}

/** Signs the given bytes and returns the CV signature (plain r || s for ECDSA). */
export type CvSigner = (signed: Uint8Array) => Uint8Array;

/**
 * A signer for ECDSA with the given curve and hash (default SHA-256, i.e. id-TA-ECDSA-SHA-256).
 * Deterministic (RFC 6979), so no randomness is needed. The caller keeps `d` and wipes it.
 *
 * @throws {RangeError} for an unknown curve or a scalar out of range
 */
export function ecdsaCvSigner(curve: EcCurveName, d: Uint8Array, hash: HashName = 'SHA-256'): CvSigner {
  const c = ecCurveByName(curve);
  const k = bytesToBigInt(d);
  if (k <= 0n || k >= c.n) throw new RangeError('d is out of range for the curve');
  const h = HASHES[hash];
  if (!h) throw new RangeError(`unknown hash ${hash}`);
  return (signed) => {
    const key = bigIntToBytes(bytesToBigInt(d), c.orderLength);
    try {
      return c.impl.sign(h(signed), key, { prehash: false, lowS: false });
    } finally {
      key.fill(0);
    }
  };
}

/** 7F21 { body, 5F37 signer(body) }. */
export function signCvBody(body: Uint8Array, signer: CvSigner): Uint8Array {
  if (!(body instanceof Uint8Array) || body[0] !== 0x7f || body[1] !== 0x4e) throw new RangeError('body must be an encoded 7F4E TLV');
  return encodeTlv(0x7f21, body, encodeTlv(0x5f37, signer(body)));
}

/**
 * An authenticated request: 67 { request (7F21), 42 outerCar, 5F37 deviceSigner(7F21 || 42) }.
 *
 * @throws {RangeError} if `request` is not a 7F21 TLV or outerCar is not a valid reference
 */
export function encodeAuthenticatedCvRequest(request: Uint8Array, outerCar: string, deviceSigner: CvSigner): Uint8Array {
  if (!(request instanceof Uint8Array) || request[0] !== 0x7f || request[1] !== 0x21) throw new RangeError('request must be an encoded 7F21 TLV');
  const signed = concatBytes(request, encodeTlv(0x42, reference(outerCar, 'outerCar', 1)));
  return encodeTlv(0x67, signed, encodeTlv(0x5f37, deviceSigner(signed)));
}

/** Input for createDeviceCertificates. */
export interface DeviceCertificatesInput {
  /** device CHR, e.g. ESSIMHSMXX00001: OpenSC's serial is this minus its last five characters */
  deviceChr: string;
  deviceCurve: EcCurveName;
  /** device private key; kept by the caller */
  deviceKey: Uint8Array;
  /** CHR of the self-issued device issuer CA (stands in for CardContact's DICA) */
  dicaChr: string;
  dicaCurve: EcCurveName;
  dicaKey: Uint8Array;
  /** YYMMDD */
  effectiveDate: string;
  /** YYMMDD */
  expirationDate: string;
}

/**
 * A self-issued device certificate chain for a simulated card: C_DevAut (CHR `deviceChr`, issued
 * by `dicaChr`) followed by a self-signed DICA certificate, both with full domain parameters.
 * `ef2f02` is their concatenation, the content of EF 2F02 on a real SmartCard-HSM.
 *
 * @throws {RangeError} if the device CHR is shorter than 8 characters (OpenSC asserts it), keys
 *   are out of range, or dates are not YYMMDD
 */
export function createDeviceCertificates(f: DeviceCertificatesInput): { cDevAut: Uint8Array; dica: Uint8Array; ef2f02: Uint8Array } {
  reference(f.deviceChr, 'deviceChr', 8);
  const pub = (curve: EcCurveName, d: Uint8Array): Uint8Array => {
    const c = ecCurveByName(curve);
    const k = bytesToBigInt(d);
    if (k <= 0n || k >= c.n) throw new RangeError('key is out of range for the curve');
    return c.impl.Point.BASE.multiply(k).toBytes(false);
  };
  const chat = { role: ROLE_DEVICE, template: Uint8Array.of(0) };
  const dicaBody = encodeCvBody({
    car: f.dicaChr,
    publicKey: encodeCvPublicKey({ type: 'ec', curve: f.dicaCurve, point: pub(f.dicaCurve, f.dicaKey) }),
    chr: f.dicaChr,
    chat,
    effectiveDate: f.effectiveDate,
    expirationDate: f.expirationDate,
  });
  const dicaSigner = ecdsaCvSigner(f.dicaCurve, f.dicaKey);
  const dica = signCvBody(dicaBody, dicaSigner);
  const devBody = encodeCvBody({
    car: f.dicaChr,
    publicKey: encodeCvPublicKey({ type: 'ec', curve: f.deviceCurve, point: pub(f.deviceCurve, f.deviceKey) }),
    chr: f.deviceChr,
    chat,
    effectiveDate: f.effectiveDate,
    expirationDate: f.expirationDate,
  });
  const cDevAut = signCvBody(devBody, dicaSigner);
  return { cDevAut, dica, ef2f02: concatBytes(cDevAut, dica) };
}

/** The token serial OpenSC derives from a C_DevAut CHR (all but the last five characters). */
export function serialFromChr(chr: string): string {
  if (chr.length < 8) throw new RangeError('a device CHR has at least 8 characters');
  return chr.slice(0, -5);
}

/** A one-line description of a public key, e.g. "EC P-256" or "RSA 2048 bits". */
export function describeCvPublicKey(k: CvPublicKey): string {
  if (k.type === 'rsa') return `RSA ${k.bits} bits`;
  if (k.type === 'ec') return k.curve ? `EC ${k.curve}` : `EC ${k.bits}-bit curve (parameters inherited)`;
  return `unknown key (${k.algorithm})`;
}

/** Hex of a point or modulus, for display. */
export function publicKeyHex(k: CvPublicKey): string {
  return toHex(k.point ?? k.modulus ?? new Uint8Array(0));
}
