/**
 * RSA for the simulated card, in plain bigint: key generation driven by the card's DRBG (so a
 * seed reproduces every RSA key), the private-key operation (CRT), and the signature encodings
 * the SmartCard-HSM SIGN command offers (PKCS#1 v1.5 with or without on-card hashing, and PSS).
 *
 * Bigint arithmetic is variable-time. That is acceptable here — the simulator holds test keys on a
 * developer machine — and is stated in docs/simulator.md §9; it must not be reused for real keys.
 */

import { sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, bytesToBigInt, concatBytes, fromHex } from '../../protocol/bytes.ts';

/** An RSA private key with its CRT parameters. All values are positive bigints. */
export interface RsaPrivateKey {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  /** q⁻¹ mod p */
  qinv: bigint;
}

/** Modulus sizes the simulator generates (the SmartCard-HSM range). */
export const RSA_KEY_SIZES: readonly number[] = [1024, 1536, 2048, 3072, 4096];

/** Odd primes below 2000, for trial division before Miller–Rabin. */
const SMALL_PRIMES: readonly number[] = (() => {
  const out: number[] = [];
  for (let i = 3; i < 2000; i += 2) {
    let prime = true;
    for (const p of out) {
      if (p * p > i) break;
      if (i % p === 0) {
        prime = false;
        break;
      }
    }
    if (prime) out.push(i);
  }
  return out;
})();

/** base^exp mod m (left-to-right square and multiply). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  let r = 1n;
  let b = ((base % m) + m) % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** a⁻¹ mod m, or throws if gcd(a, m) ≠ 1. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('value is not invertible');
  return ((oldS % m) + m) % m;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** A uniformly random integer in [2, n-2] drawn from `rng` (rejection sampling). */
function randomBase(n: bigint, rng: (n: number) => Uint8Array): bigint {
  const bytes = Math.ceil(bitLength(n) / 8);
  for (;;) {
    const x = bytesToBigInt(rng(bytes)) % n;
    if (x >= 2n && x <= n - 2n) return x;
  }
}

/**
 * Miller–Rabin with `rounds` random bases from `rng` (FIPS 186-5 B.3.1). Probability of a
 * composite passing is at most 4^-rounds.
 */
export function isProbablePrime(n: bigint, rounds: number, rng: (n: number) => Uint8Array): boolean {
  if (n < 2n) return false;
  if (n === 2n) return true;
  if ((n & 1n) === 0n) return false;
  for (const p of SMALL_PRIMES) {
    const bp = BigInt(p);
    if (n === bp) return true;
    if (n % bp === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  for (let i = 0; i < rounds; i++) {
    let x = modPow(randomBase(n, rng), d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let j = 1; j < s; j++) {
      x = (x * x) % n;
      if (x === n - 1n) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

/**
 * A random prime of exactly `bits` bits with its two top bits set (so two of them multiply to a
 * full-length modulus) and gcd(e, p−1) = 1. Incremental search from a random odd start, with a
 * sieve of residues so most candidates never reach Miller–Rabin.
 */
function generatePrime(bits: number, e: bigint, rng: (n: number) => Uint8Array): bigint {
  const bytes = bits / 8;
  const rounds = bits >= 1536 ? 4 : 5; // FIPS 186-5 Table B.1 (with the small-prime sieve)
  for (;;) {
    const raw = rng(bytes);
    raw[0] = raw[0]! | 0xc0;
    raw[bytes - 1] = raw[bytes - 1]! | 1;
    let c = bytesToBigInt(raw);
    const residues = SMALL_PRIMES.map((p) => Number(c % BigInt(p)));
    // Scan at most 4·bits odd candidates from this start, then draw a new one.
    for (let step = 0; step < 4 * bits; step++) {
      let divisible = false;
      for (let i = 0; i < SMALL_PRIMES.length; i++) {
        if (residues[i] === 0) {
          divisible = true;
          break;
        }
      }
      if (!divisible && bitLength(c) === bits && gcd(e, c - 1n) === 1n && isProbablePrime(c, rounds, rng)) return c;
      c += 2n;
      for (let i = 0; i < SMALL_PRIMES.length; i++) residues[i] = (residues[i]! + 2) % SMALL_PRIMES[i]!;
    }
  }
}

/**
 * Generates an RSA key of `bits` bits (FIPS 186-5 A.1.3 shape: probable primes, |p−q| and d
 * bounds checked) with every random draw taken from `rng`, so the same DRBG state gives the same
 * key.
 *
 * @throws {RangeError} for a size not in RSA_KEY_SIZES or an even or too small exponent
 */
export function generateRsaKey(bits: number, e: bigint, rng: (n: number) => Uint8Array): RsaPrivateKey {
  if (!RSA_KEY_SIZES.includes(bits)) throw new RangeError(`bits must be one of ${RSA_KEY_SIZES.join(', ')}`);
  if (e < 3n || (e & 1n) === 0n || bitLength(e) > 256) throw new RangeError('e must be an odd integer >= 3');
  const half = bits / 2;
  for (;;) {
    const p0 = generatePrime(half, e, rng);
    const q0 = generatePrime(half, e, rng);
    const diff = p0 > q0 ? p0 - q0 : q0 - p0;
    if (bitLength(diff) <= half - 100) continue;
    const [p, q] = p0 > q0 ? [p0, q0] : [q0, p0];
    const n = p * q;
    if (bitLength(n) !== bits) continue;
    const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
    const d = modInverse(e, lambda);
    if (bitLength(d) <= half) continue;
    return { n, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qinv: modInverse(q, p) };
  }
}

/**
 * Completes a key given as (n, e, d) only (key-blob type 5) by recovering p and q (NIST SP 800-56B
 * rev. 2, Appendix C.2: the k = de−1 factoring method).
 *
 * @throws {RangeError} if (n, e, d) is not a consistent RSA key
 */
export function rsaKeyFromNed(n: bigint, e: bigint, d: bigint): RsaPrivateKey {
  const k = d * e - 1n;
  if (k <= 0n || (k & 1n) === 1n) throw new RangeError('inconsistent RSA key');
  let t = k;
  while ((t & 1n) === 0n) t >>= 1n;
  // Deterministic bases: the key is already fixed, no randomness is needed to factor it.
  for (let g = 2n; g < 1000n; g++) {
    let x = modPow(g, t, n);
    if (x === 1n || x === n - 1n) continue;
    for (let tt = t; tt < k; tt <<= 1n) {
      const y = (x * x) % n;
      if (y === 1n) {
        const p0 = gcd(x - 1n, n);
        if (p0 > 1n && p0 < n) {
          const q0 = n / p0;
          const [p, q] = p0 > q0 ? [p0, q0] : [q0, p0];
          return { n, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qinv: modInverse(q, p) };
        }
        break;
      }
      if (y === n - 1n) break;
      x = y;
    }
  }
  throw new RangeError('inconsistent RSA key');
}

/** Byte length of the modulus. */
export function rsaModulusLength(key: { n: bigint }): number {
  return Math.ceil(bitLength(key.n) / 8);
}

/**
 * The raw private-key operation m = c^d mod n (via CRT), on a big-endian input of exactly the
 * modulus length that is numerically below n.
 *
 * @throws {RangeError} if the input has the wrong length or is not below the modulus
 */
export function rsaPrivate(key: RsaPrivateKey, input: Uint8Array): Uint8Array {
  const k = rsaModulusLength(key);
  if (input.length !== k) throw new RangeError(`input must be ${k} bytes`);
  const c = bytesToBigInt(input);
  if (c >= key.n) throw new RangeError('input is not below the modulus');
  const m1 = modPow(c, key.dp, key.p);
  const m2 = modPow(c, key.dq, key.q);
  const h = (key.qinv * (((m1 - m2) % key.p) + key.p)) % key.p;
  return bigIntToBytes(m2 + h * key.q, k);
}

/** The public operation s^e mod n, for self-checks and tests. */
export function rsaPublic(key: { n: bigint; e: bigint }, input: Uint8Array): Uint8Array {
  return bigIntToBytes(modPow(bytesToBigInt(input), key.e, key.n), rsaModulusLength(key));
}

/** Hash functions the SIGN algorithms use, by name. */
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** The hash implementation for a name. */
export function hashFunction(name: HashName): (m: Uint8Array) => Uint8Array {
  switch (name) {
    case 'sha1':
      return (m) => sha1(m);
    case 'sha224':
      return (m) => sha224(m);
    case 'sha256':
      return (m) => sha256(m);
    case 'sha384':
      return (m) => sha384(m);
    case 'sha512':
      return (m) => sha512(m);
  }
}

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
const DIGEST_INFO_PREFIX: Record<HashName, Uint8Array> = {
  sha1: fromHex('3021300906052b0e03021a05000414'),
  sha224: fromHex('302d300d06096086480165030402040500041c'),
  sha256: fromHex('3031300d060960864801650304020105000420'),
  sha384: fromHex('3041300d060960864801650304020205000430'),
  sha512: fromHex('3051300d060960864801650304020305000440'),
};

/** DigestInfo for a digest already computed with `hash`. */
export function digestInfo(hash: HashName, digest: Uint8Array): Uint8Array {
  return concatBytes(DIGEST_INFO_PREFIX[hash], digest);
}

/**
 * EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2) of an already-built DigestInfo `t` into `k` bytes:
 * 00 01 FF…FF 00 t.
 *
 * @throws {RangeError} if `t` is too long for the modulus (needs at least 8 bytes of FF)
 */
export function pkcs1v15Pad(t: Uint8Array, k: number): Uint8Array {
  if (t.length > k - 11) throw new RangeError('message too long for the modulus');
  const out = new Uint8Array(k).fill(0xff);
  out[0] = 0;
  out[1] = 1;
  out[k - t.length - 1] = 0;
  out.set(t, k - t.length);
  return out;
}

function mgf1(hash: (m: Uint8Array) => Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let off = 0;
  for (let counter = 0; off < length; counter++) {
    const c = Uint8Array.of(counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff);
    const h = hash(concatBytes(seed, c));
    out.set(h.subarray(0, Math.min(h.length, length - off)), off);
    off += h.length;
  }
  return out;
}

/**
 * EMSA-PSS encoding (RFC 8017 §9.1.1) of a message digest `mHash`, MGF1 with the same hash and a
 * salt as long as the digest, for a modulus of `modBits` bits.
 *
 * @throws {RangeError} if the modulus is too small for the digest and salt
 */
export function pssEncode(hash: HashName, mHash: Uint8Array, modBits: number, rng: (n: number) => Uint8Array): Uint8Array {
  const h = hashFunction(hash);
  const hLen = mHash.length;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < 2 * hLen + 2) throw new RangeError('modulus too small for PSS with this hash');
  const salt = rng(hLen);
  const hh = h(concatBytes(new Uint8Array(8), mHash, salt));
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - hLen - 1] = 1;
  db.set(salt, db.length - hLen);
  const mask = mgf1(h, hh, db.length);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & (0xff >> (8 * emLen - emBits));
  return concatBytes(db, hh, Uint8Array.of(0xbc));
}
