/**
 * The public key a backup's certificate part carries — what `restore` verifies the restored key's
 * signature with and what `inspect` shows. The certificate EF `CE xx` (and so the last element of a
 * wrap file, spec §4) holds one of:
 *
 * - a CV request `67 { 7F21 { 7F4E body, 5F37 sig }, 42 CAR, 5F37 outer sig }` (after key
 *   generation, spec §9), or a CV certificate `7F21 { 7F4E, 5F37 }`: the body's `7F49` public key
 *   template holds `06` the TA algorithm OID, and for EC `81` P, `82` A, `83` B, `84` G, `85` N,
 *   `86` the point, `87` cofactor; for RSA `81` modulus, `82` exponent (BSI TR-03110 part 3 D.3);
 * - an X.509 certificate `30 { tbsCertificate … }` whose subjectPublicKeyInfo names an EC curve by
 *   OID or is rsaEncryption.
 *
 * Decoding is strict about structure and returns null for what it does not recognise, so callers
 * can say "no public key in the backup" instead of failing.
 */
import { readAllTlvs, readTlv, findTlv, decodeOid, type Tlv } from '../../../protocol/der.ts';
import { findEcCurve, ecCurveByOid, normalizePoint, splitPoint, type EcCurve } from '../../../protocol/dkek/ec-curve.ts';
import { toHex } from '../../../protocol/bytes.ts';
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
const OID_CN = '2.5.4.3';
/** id-TA-ECDSA (0.4.0.127.0.7.2.2.2.2) and id-TA-RSA (…2.2.2.1) prefixes, content bytes. */
const TA_ECDSA = '04007f000702020202';
const TA_RSA = '04007f000702020201';

const text = new TextDecoder('utf-8', { fatal: false });

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

function fromCvPublicKey(template: Tlv | undefined): PublicKey | null {
  const f = kids(template);
  const oid = findTlv(f, 0x06);
  if (!oid) return null;
  const o = toHex(oid.value);
  const v = (tag: number) => findTlv(f, tag)?.value;
  if (o.startsWith(TA_ECDSA)) {
    const point = v(0x86);
    return ecKey(findEcCurve({ p: v(0x81), a: v(0x82), b: v(0x83), g: v(0x84), n: v(0x85) }), point);
  }
  if (o.startsWith(TA_RSA)) {
    const n = v(0x81);
    const e = v(0x82);
    return n && e ? rsaKey(n, e) : null;
  }
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
 * Decodes a certificate TLV (CV request, CV certificate or X.509): its holder and public key.
 * Returns null when the bytes are none of these.
 */
export function decodeCertificate(cert: Uint8Array): CertificateInfo | null {
  let outer: Tlv;
  try {
    outer = readTlv(cert, 0);
  } catch {
    return null;
  }
  try {
    if (outer.tag === 0x67 || outer.tag === 0x7f21) {
      const cvc = outer.tag === 0x67 ? findTlv(kids(outer), 0x7f21) : outer;
      const body = kids(findTlv(kids(cvc), 0x7f4e));
      const chr = findTlv(body, 0x5f20);
      return { kind: outer.tag === 0x67 ? 'cv-request' : 'cv-certificate', holder: chr ? text.decode(chr.value) : null, publicKey: fromCvPublicKey(findTlv(body, 0x7f49)) };
    }
    if (outer.tag === 0x30) {
      const tbs = kids(kids(outer)[0]);
      const start = tbs[0]?.tag === 0xa0 ? 1 : 0;
      let holder: string | null = null;
      for (const rdn of kids(tbs[start + 4])) {
        for (const atv of kids(rdn)) {
          const [oid, value] = kids(atv);
          if (oid?.tag === 0x06 && value && decodeOid(oid.value) === OID_CN) holder = text.decode(value.value);
        }
      }
      return { kind: 'x509', holder, publicKey: fromSpki(tbs[start + 5]) };
    }
  } catch {
    return null;
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
