/**
 * The elliptic curves a SmartCard-HSM (and Pico HSM) can hold, with the domain parameters that
 * key blobs and CV certificates carry explicitly (prime P, coefficients A and B, base point G,
 * order N, cofactor). Key blobs and CV public keys name no curve: the curve is recognised by
 * comparing these parameters. docs/backup-format.md §5.3.
 */

import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from '@noble/curves/misc.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { bigIntToBytes, bytesToBigInt, concatBytes } from '../bytes.ts';

/** Curve names as hsm-ceremony shows them. */
export type EcCurveName =
  | 'P-256'
  | 'P-384'
  | 'P-521'
  | 'brainpoolP256r1'
  | 'brainpoolP384r1'
  | 'brainpoolP512r1'
  | 'secp256k1';

/** One supported curve and its explicit domain parameters. */
export interface EcCurve {
  name: EcCurveName;
  /** the named-curve OID (X.509 / PKCS#8), dotted */
  oid: string;
  /** bit length of the prime P (P-521 → 521) */
  bits: number;
  /** bytes in P, A, B and in each point coordinate (P-521 → 66) */
  fieldLength: number;
  /** bytes in the order N and in a private scalar D */
  orderLength: number;
  p: bigint;
  a: bigint;
  b: bigint;
  n: bigint;
  h: bigint;
  /** the base point, uncompressed: 04 || x || y, full length */
  g: Uint8Array;
  /** @noble/curves implementation, for point arithmetic and ECDSA */
  impl: ECDSA;
}

function makeCurve(name: EcCurveName, oid: string, impl: ECDSA): EcCurve {
  const c = impl.Point.CURVE();
  const fieldLength = Math.ceil(c.p.toString(2).length / 8);
  const orderLength = Math.ceil(c.n.toString(2).length / 8);
  return {
    name,
    oid,
    bits: c.p.toString(2).length,
    fieldLength,
    orderLength,
    p: c.p,
    a: c.a,
    b: c.b,
    n: c.n,
    h: c.h,
    g: concatBytes(Uint8Array.of(4), bigIntToBytes(c.Gx, fieldLength), bigIntToBytes(c.Gy, fieldLength)),
    impl,
  };
}

/** Every curve hsm-ceremony recognises, in the order they are tried. */
export const EC_CURVES: readonly EcCurve[] = [
  makeCurve('P-256', '1.2.840.10045.3.1.7', p256),
  makeCurve('P-384', '1.3.132.0.34', p384),
  makeCurve('P-521', '1.3.132.0.35', p521),
  makeCurve('brainpoolP256r1', '1.3.36.3.3.2.8.1.1.7', brainpoolP256r1),
  makeCurve('brainpoolP384r1', '1.3.36.3.3.2.8.1.1.11', brainpoolP384r1),
  makeCurve('brainpoolP512r1', '1.3.36.3.3.2.8.1.1.13', brainpoolP512r1),
  makeCurve('secp256k1', '1.3.132.0.10', secp256k1),
];

/**
 * The curve with this name.
 *
 * @throws {RangeError} for a name not in EC_CURVES
 */
export function ecCurveByName(name: string): EcCurve {
  const c = EC_CURVES.find((x) => x.name === name);
  if (!c) throw new RangeError(`unknown curve ${JSON.stringify(name)}`);
  return c;
}

/** The curve with this named-curve OID (dotted), or undefined. */
export function ecCurveByOid(oid: string): EcCurve | undefined {
  return EC_CURVES.find((x) => x.oid === oid);
}

/** Explicit parameters as found in a key blob or CV public key; any may be missing. */
export interface EcParameters {
  p?: Uint8Array | undefined;
  a?: Uint8Array | undefined;
  b?: Uint8Array | undefined;
  n?: Uint8Array | undefined;
  g?: Uint8Array | undefined;
}

/**
 * The curve these parameters describe, or undefined. P is required; B, N and G must match when
 * given. Numbers are compared as integers, so full-length and minimal encodings both match. An
 * empty or absent A is accepted: Pico HSM firmware writes A with length 0 for curves whose A it
 * stores implicitly (A = P−3 or A = 0); a non-empty A must match.
 */
export function findEcCurve(params: EcParameters): EcCurve | undefined {
  if (!params.p || params.p.length === 0) return undefined;
  const p = bytesToBigInt(params.p);
  return EC_CURVES.find((c) => {
    if (c.p !== p) return false;
    if (params.a && params.a.length > 0 && bytesToBigInt(params.a) !== c.a) return false;
    if (params.b && bytesToBigInt(params.b) !== c.b) return false;
    if (params.n && bytesToBigInt(params.n) !== c.n) return false;
    if (params.g && !samePoint(c, params.g, c.g)) return false;
    return true;
  });
}

/** True if two uncompressed encodings name the same point (coordinates compared as integers). */
function samePoint(c: EcCurve, a: Uint8Array, b: Uint8Array): boolean {
  const pa = splitPoint(c, a);
  const pb = splitPoint(c, b);
  return pa !== undefined && pb !== undefined && pa.x === pb.x && pa.y === pb.y;
}

/**
 * The coordinates of an uncompressed point `04 || x || y` (x and y of equal length), or
 * undefined if the encoding is not of that shape.
 */
export function splitPoint(c: EcCurve, point: Uint8Array): { x: bigint; y: bigint } | undefined {
  if (point.length < 3 || point[0] !== 4 || (point.length - 1) % 2 !== 0) return undefined;
  const half = (point.length - 1) / 2;
  if (half > c.fieldLength) return undefined;
  return { x: bytesToBigInt(point.subarray(1, 1 + half)), y: bytesToBigInt(point.subarray(1 + half)) };
}

/** A point re-encoded as full-length uncompressed 04 || x || y for curve `c`. */
export function normalizePoint(c: EcCurve, point: Uint8Array): Uint8Array {
  const xy = splitPoint(c, point);
  if (!xy) throw new RangeError('point must be an uncompressed point 04 || x || y');
  return concatBytes(Uint8Array.of(4), bigIntToBytes(xy.x, c.fieldLength), bigIntToBytes(xy.y, c.fieldLength));
}

/**
 * True if `q` is the public point of private scalar `d` on curve `c` (Q = d·G), and d is in
 * [1, n−1]. Used to check that a decrypted key is internally consistent.
 */
export function ecPublicMatches(c: EcCurve, d: Uint8Array, q: Uint8Array): boolean {
  const k = bytesToBigInt(d);
  if (k <= 0n || k >= c.n) return false;
  try {
    const Q = c.impl.Point.fromBytes(normalizePoint(c, q));
    return c.impl.Point.BASE.multiply(k).equals(Q);
  } catch {
    return false;
  }
}
