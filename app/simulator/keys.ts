/**
 * Private keys held by the simulated card: EC keys on any curve in protocol/dkek/ec-curve.ts and
 * RSA keys (bigint, rsa.ts). Key reference 0 is the device authentication key; references 1..255
 * are user keys (spec §3, "Key ref 0 (CC00)").
 *
 * This file converts between the card's key objects and the protocol layer's key-blob keys, builds
 * the 7F49 public-key TLVs, and signs CV structures. SIGN-command algorithms are in sign.ts.
 */

import { bigIntToBytes, bytesToBigInt, wipe } from '../../protocol/bytes.ts';
import type { BlobKey, KeyBlobStyle } from '../../protocol/dkek/key-blob.ts';
import { ecCurveByName, ecPublicMatches, type EcCurve, type EcCurveName } from '../../protocol/dkek/ec-curve.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeCvPublicKey, TA_ECDSA_SHA256, TA_RSA_V15_SHA256, type CvSigner } from '../../protocol/dkek/cvc.ts';
import { digestInfo, modInverse, pkcs1v15Pad, rsaKeyFromNed, rsaModulusLength, rsaPrivate, type RsaPrivateKey } from './rsa.ts';

/** An EC private key on the card. */
export interface EcCardKey {
  kind: 'ec';
  curve: EcCurveName;
  /** private scalar, big-endian, curve order length */
  d: Uint8Array;
  /** public point 04 || x || y, full length */
  q: Uint8Array;
}

/** An RSA private key on the card. */
export interface RsaCardKey {
  kind: 'rsa';
  rsa: RsaPrivateKey;
}

/** Any key the card holds, with the attributes the firmware keeps beside it. */
export type CardKey = (EcCardKey | RsaCardKey) & {
  /** SmartCard-HSM algorithm ids the key may be used with (empty = no restriction) */
  algorithms: Uint8Array;
  /** false for the device authentication key: WRAP KEY refuses it */
  exportable: boolean;
};

/**
 * A fresh EC key on `curve`, its scalar drawn from `rng` by rejection sampling (uniform in
 * [1, n−1]) so the same DRBG state gives the same key.
 */
export function generateEcKey(curveName: EcCurveName, rng: (n: number) => Uint8Array): EcCardKey {
  const c = ecCurveByName(curveName);
  const bits = c.n.toString(2).length;
  for (;;) {
    const raw = rng(c.orderLength);
    const excess = c.orderLength * 8 - bits;
    if (excess > 0) raw[0] = raw[0]! & (0xff >> excess);
    const k = bytesToBigInt(raw);
    wipe(raw);
    if (k > 0n && k < c.n) {
      const d = bigIntToBytes(k, c.orderLength);
      const q = c.impl.getPublicKey(d, false);
      return { kind: 'ec', curve: curveName, d, q };
    }
  }
}

/** The curve object of an EC card key. */
export function curveOf(key: EcCardKey): EcCurve {
  return ecCurveByName(key.curve);
}

/**
 * The 7F49 public-key TLV of a card key, with the given algorithm OID (default: the key type's):
 * EC with full-length domain parameters, RSA as modulus and exponent (protocol/dkek/cvc.ts).
 */
export function publicKeyTemplate(key: EcCardKey | RsaCardKey, oid?: Uint8Array): Uint8Array {
  if (key.kind === 'ec') return encodeCvPublicKey({ type: 'ec', curve: key.curve, point: key.q, algorithm: oid ?? TA_ECDSA_SHA256 });
  return encodeCvPublicKey({ type: 'rsa', modulus: bigIntToBytes(key.rsa.n), exponent: bigIntToBytes(key.rsa.e), algorithm: oid ?? TA_RSA_V15_SHA256 });
}

/**
 * A CvSigner for a card key: ECDSA-SHA-256 as plain r || s (each the order length), or RSA
 * PKCS#1 v1.5 with SHA-256. ECDSA nonces are RFC 6979 hedged with DRBG bytes, so signatures are
 * reproducible from the seed.
 */
export function cvSigner(key: EcCardKey | RsaCardKey, rng: (n: number) => Uint8Array): CvSigner {
  return (data: Uint8Array): Uint8Array => {
    const digest = sha256(data);
    if (key.kind === 'ec') {
      return curveOf(key).impl.sign(digest, key.d, { prehash: false, lowS: false, format: 'compact', extraEntropy: rng(32) });
    }
    return rsaPrivate(key.rsa, pkcs1v15Pad(digestInfo('sha256', digest), rsaModulusLength(key.rsa)));
  };
}

/**
 * The key-blob form of a card key, for WRAP KEY. A real SmartCard-HSM exports RSA keys up to 2048
 * bits in CRT form (key type 6) and larger ones as type 5; Pico HSM always writes type 5
 * (fixtures: wrap-rsa2048.bin has type 5).
 */
export function toBlobKey(key: CardKey, style: KeyBlobStyle): BlobKey {
  if (key.kind === 'ec') return { type: 'ec', curve: key.curve, d: key.d.slice(), q: key.q.slice() };
  const r = key.rsa;
  const k = rsaModulusLength(r);
  const n = bigIntToBytes(r.n);
  const e = bigIntToBytes(r.e);
  if (style === 'pico' || k > 256) return { type: 'rsa', n, e, d: bigIntToBytes(r.d, k) };
  const half = Math.ceil(k / 2);
  return {
    type: 'rsa-crt',
    n,
    e,
    p: bigIntToBytes(r.p, half),
    q: bigIntToBytes(r.q, half),
    dp: bigIntToBytes(r.dp, half),
    dq: bigIntToBytes(r.dq, half),
    qinv: bigIntToBytes(r.qinv, half),
  };
}

/**
 * A card key from a decrypted key blob, checked for consistency the way the card must before it
 * stores anything (Q = d·G; for RSA, p·q = n and d inverts e). Returns undefined for an AES blob
 * (the simulator stores no secret keys) or an inconsistent key.
 */
export function fromBlobKey(blob: BlobKey): EcCardKey | RsaCardKey | undefined {
  switch (blob.type) {
    case 'ec': {
      const c = ecCurveByName(blob.curve);
      if (!ecPublicMatches(c, blob.d, blob.q)) return undefined;
      return { kind: 'ec', curve: blob.curve, d: bigIntToBytes(bytesToBigInt(blob.d), c.orderLength), q: blob.q.slice() };
    }
    case 'rsa': {
      try {
        return { kind: 'rsa', rsa: rsaKeyFromNed(bytesToBigInt(blob.n), bytesToBigInt(blob.e), bytesToBigInt(blob.d)) };
      } catch {
        return undefined;
      }
    }
    case 'rsa-crt': {
      const [n, e, p, q] = [blob.n, blob.e, blob.p, blob.q].map(bytesToBigInt) as [bigint, bigint, bigint, bigint];
      if (p < 3n || q < 3n || p * q !== n) return undefined;
      try {
        const lambda = ((p - 1n) * (q - 1n)) / gcdBig(p - 1n, q - 1n);
        const d = modInverse(e, lambda);
        const [hi, lo] = p > q ? [p, q] : [q, p];
        return { kind: 'rsa', rsa: { n, e, d, p: hi, q: lo, dp: d % (hi - 1n), dq: d % (lo - 1n), qinv: modInverse(lo, hi) } };
      } catch {
        return undefined;
      }
    }
    default:
      return undefined;
  }
}

function gcdBig(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Overwrites a key's secret parts (bigints cannot be wiped; docs/simulator.md §9). */
export function wipeCardKey(key: EcCardKey | RsaCardKey): void {
  if (key.kind === 'ec') wipe(key.d);
}

/** Key size in bits as the PRKD and key blob state it. */
export function keySizeBits(key: EcCardKey | RsaCardKey): number {
  if (key.kind === 'ec') return curveOf(key).orderLength * 8;
  return rsaModulusLength(key.rsa) * 8;
}
