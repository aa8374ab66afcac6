/**
 * The public key a backup's certificate part carries — what `restore` verifies the restored key's
 * signature with and what `inspect` shows. The certificate EF `CE xx` (and so the last element of a
 * wrap file, spec §4) holds one of:
 *
 * - a CV request `67 { 7F21 { 7F4E body, 5F37 sig }, 42 CAR, 5F37 outer sig }` (after key
 *   generation, spec §9), or a CV certificate `7F21 { 7F4E, 5F37 }` — decoded by
 *   protocol/dkek/cvc.ts; an EC key whose domain parameters are inherited from a CA has no known
 *   curve here and gives no public key;
 * - an X.509 certificate `30 { tbsCertificate … }` (holder from protocol/dkek/x509.ts) whose
 *   subjectPublicKeyInfo names an EC curve by OID or is rsaEncryption.
 *
 * Decoding is strict about structure and returns null for what it does not recognise, so callers
 * can say "no public key in the backup" instead of failing.
 */
import { readAllTlvs, readTlv, decodeOid, type Tlv } from '../../../protocol/der.ts';
import { ecCurveByName, ecCurveByOid, normalizePoint, splitPoint, type EcCurve } from '../../../protocol/dkek/ec-curve.ts';
import { decodeCvCertificate, decodeCvRequest, type CvPublicKey } from '../../../protocol/dkek/cvc.ts';
import { decodeX509 } from '../../../protocol/dkek/x509.ts';
import { toHex } from '../../../protocol/bytes.ts';
import { isCeremonyError } from '../../../protocol/errors.ts';
import { sha256 } from '@noble/hashes/sha2.js';

export type PublicKey =
  | { type: 'ec'; curve: EcCurve; /** full-length 04 || x || y */ point: Uint8Array }
  | { type: 'rsa'; /** big-endian, no leading zeros */ n: Uint8Array; e: Uint8Array; bits: number };

export interface CertificateInfo {
  kind: 'cv-request' | 'cv-certificate' | 'x509';
  /** CHR of a CV request/certificate, or the subject CN of an X.509 certificate */
  holder: string | null;
  publicKey: PublicKey | null;
}

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

function kids(t: Tlv | undefined): Tlv[] {
  if (!t || !t.constructed) return [];
  try {
    return readAllTlvs(t.value);
  } catch {
    return [];
  }
}

function stripZeros(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  return v.subarray(i);
}

function rsaKey(n: Uint8Array, e: Uint8Array): PublicKey | null {
  const nn = stripZeros(n);
  const ee = stripZeros(e);
  if (nn.length === 0 || nn[0] === 0 || ee.length === 0) return null;
  return { type: 'rsa', n: nn.slice(), e: ee.slice(), bits: (nn.length - 1) * 8 + (32 - Math.clz32(nn[0]!)) };
}

function ecKey(curve: EcCurve | undefined, point: Uint8Array | undefined): PublicKey | null {
  if (!curve || !point || !splitPoint(curve, point)) return null;
  try {
    const full = normalizePoint(curve, point);
    curve.impl.Point.fromBytes(full); // on the curve
    return { type: 'ec', curve, point: full };
  } catch {
    return null;
  }
}

function fromCvPublicKey(k: CvPublicKey): PublicKey | null {
  if (k.type === 'ec') return k.curve ? ecKey(ecCurveByName(k.curve), k.point) : null;
  if (k.type === 'rsa') return k.modulus && k.exponent ? rsaKey(k.modulus, k.exponent) : null;
  return null;
}

function fromSpki(spki: Tlv | undefined): PublicKey | null {
  const [alg, bits] = kids(spki);
  const [algOid, params] = kids(alg);
  if (!algOid || algOid.tag !== 0x06 || !bits || bits.tag !== 0x03 || bits.value[0] !== 0) return null;
  const key = bits.value.subarray(1);
  const oid = decodeOid(algOid.value);
  if (oid === OID_EC_PUBLIC_KEY && params?.tag === 0x06) return ecKey(ecCurveByOid(decodeOid(params.value)), key);
  if (oid === OID_RSA_ENCRYPTION) {
    try {
      const [n, e] = kids(readTlv(key, 0));
      return n?.tag === 0x02 && e?.tag === 0x02 ? rsaKey(n.value, e.value) : null;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Decodes a certificate TLV (CV request, CV certificate or X.509) with the shared decoders
 * (protocol/dkek/cvc.ts, x509.ts): its holder and public key. Returns null when the bytes are
 * none of these or are malformed.
 */
export function decodeCertificate(cert: Uint8Array): CertificateInfo | null {
  let outer: Tlv;
  try {
    outer = readTlv(cert, 0);
  } catch {
    return null;
  }
  try {
    if (outer.tag === 0x67) {
      const r = decodeCvRequest(cert);
      return { kind: 'cv-request', holder: r.request.chr, publicKey: fromCvPublicKey(r.request.publicKey) };
    }
    if (outer.tag === 0x7f21) {
      const c = decodeCvCertificate(cert);
      return { kind: 'cv-certificate', holder: c.chr, publicKey: fromCvPublicKey(c.publicKey) };
    }
    if (outer.tag === 0x30) {
      const x = decodeX509(cert);
      const tbs = kids(kids(outer)[0]);
      const start = tbs[0]?.tag === 0xa0 ? 1 : 0;
      return { kind: 'x509', holder: x.subjectCn ?? null, publicKey: fromSpki(tbs[start + 5]) };
    }
  } catch (e) {
    if (isCeremonyError(e) || e instanceof RangeError) return null;
    throw e;
  }
  return null;
}

/** "EC P-256" / "RSA 2048" */
export function describePublicKey(k: PublicKey): string {
  return k.type === 'ec' ? `EC ${k.curve.name}` : `RSA ${k.bits}`;
}

/**
 * A short public identifier for a public key: SHA-256 over the EC point (04 || x || y) or over the
 * RSA modulus, first 16 bytes, hex. Shown instead of hundreds of hex digits of RSA modulus.
 */
export function publicKeyFingerprint(k: PublicKey): string {
  return toHex(sha256(k.type === 'ec' ? k.point : k.n).subarray(0, 16));
}

/** The public key as JSON-friendly hex fields. */
export function publicKeyJson(k: PublicKey): Record<string, string | number> {
  return k.type === 'ec'
    ? { type: 'EC', curve: k.curve.name, point: toHex(k.point), fingerprint: publicKeyFingerprint(k) }
    : { type: 'RSA', bits: k.bits, modulus: toHex(k.n), exponent: toHex(k.e), fingerprint: publicKeyFingerprint(k) };
}
