/**
 * Prime-field helpers for sc-hsm-tool's n-of-m password shares (docs/password-shares.md §2,
 * spec/sc-hsm-dkek.md §2): modular exponentiation and inverse over bigint, a Miller–Rabin test that
 * is exact for every number the share scheme can meet, and the 64-bit safe-prime generator that
 * stands in for OpenSSL's `BN_generate_prime_ex(p, 64, safe = 1)`.
 *
 * Side channels: JavaScript bigint arithmetic is not constant-time. Everything here that touches
 * the field works on public values (the prime, share IDs and their differences) except the
 * multiplications of share values during interpolation; docs/password-shares.md §8 says why that
 * is acceptable for a password that is itself only ever fed to a 10-million-round KDF.
 */

import { defaultRng, drawBytes, type Rng } from '../random.ts';

export { defaultRng, drawBytes, type Rng };

function assertBigInt(value: unknown, name: string): asserts value is bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint`);
}

/** `a mod m` in [0, m), also for negative `a`. */
export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/**
 * `base^exponent mod modulus` by left-to-right square-and-multiply.
 *
 * @throws TypeError if an argument is not a bigint
 * @throws RangeError if `modulus` < 1 or `exponent` < 0
 */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  assertBigInt(base, 'base');
  assertBigInt(exponent, 'exponent');
  assertBigInt(modulus, 'modulus');
  if (modulus < 1n) throw new RangeError('modulus must be at least 1');
  if (exponent < 0n) throw new RangeError('exponent must not be negative');
  if (modulus === 1n) return 0n;
  const b = mod(base, modulus);
  let result = 1n;
  for (let i = BigInt(exponent.toString(2).length) - 1n; i >= 0n; i--) {
    result = (result * result) % modulus;
    if ((exponent >> i) & 1n) result = (result * b) % modulus;
  }
  return result;
}

/**
 * The inverse of `a` modulo `m` (extended Euclid), in [1, m).
 *
 * @throws TypeError if an argument is not a bigint
 * @throws RangeError if `m` < 2 or `a` has no inverse (gcd(a, m) ≠ 1, e.g. a ≡ 0)
 */
export function modInverse(a: bigint, m: bigint): bigint {
  assertBigInt(a, 'a');
  assertBigInt(m, 'm');
  if (m < 2n) throw new RangeError('modulus must be at least 2');
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('value has no inverse modulo m');
  return mod(oldS, m);
}

/** Primes below 256: trial divisors, and (the first 13) the Miller–Rabin witness set. */
const SMALL_PRIMES: readonly bigint[] = (() => {
  const out: bigint[] = [];
  for (let n = 2; n < 256; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
    if (prime) out.push(BigInt(n));
  }
  return out;
})();

/**
 * With the 13 prime bases 2..41, Miller–Rabin has no strong pseudoprime below this bound
 * (Sorenson & Webster 2015, ψ13 = 3 317 044 064 679 887 385 961 981 ≈ 2^81.5); for n < 2^64 the
 * first 12 already suffice (ψ12). So for the 64-bit scheme the test is a proof, not a guess.
 */
export const DETERMINISTIC_MR_BOUND = 3_317_044_064_679_887_385_961_981n;
const WITNESSES = SMALL_PRIMES.slice(0, 13);

/** One Miller–Rabin round: false means `a` proves `n` composite. `n` odd, n - 1 = d·2^r. */
function strongProbablePrime(n: bigint, d: bigint, r: number, a: bigint): boolean {
  let x = modPow(a, d, n);
  if (x === 1n || x === n - 1n) return true;
  for (let i = 1; i < r; i++) {
    x = (x * x) % n;
    if (x === n - 1n) return true;
    if (x === 1n) return false;
  }
  return false;
}

/**
 * Miller–Rabin primality test. Exact (deterministic bases 2..41) for every n below
 * {@link DETERMINISTIC_MR_BOUND}, which covers all 64-bit numbers. Larger n additionally get
 * `extraRounds` rounds with random bases from `rng`, so a composite survives with probability at
 * most 4^-extraRounds; the password-share code never asks about such numbers.
 *
 * @throws TypeError if `n` is not a bigint
 */
export function isProbablePrime(n: bigint, rng: Rng = defaultRng, extraRounds = 32): boolean {
  assertBigInt(n, 'n');
  if (n < 2n) return false;
  for (const p of SMALL_PRIMES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  // n has no factor below 256, so n < 256² is prime.
  if (n < 65_536n) return true;
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  for (const a of WITNESSES) if (!strongProbablePrime(n, d, r, a)) return false;
  if (n < DETERMINISTIC_MR_BOUND) return true;
  const len = Math.ceil(n.toString(16).length / 2);
  for (let i = 0; i < extraRounds; i++) {
    let a = 0n;
    for (const b of drawBytes(rng, len)) a = (a << 8n) | BigInt(b);
    a = 2n + (a % (n - 3n)); // in [2, n - 2]
    if (!strongProbablePrime(n, d, r, a)) return false;
  }
  return true;
}

/**
 * True when `p` and `(p - 1) / 2` are both prime (a "safe prime", what sc-hsm-tool asks OpenSSL
 * for). Exact for p below {@link DETERMINISTIC_MR_BOUND}.
 *
 * @throws TypeError if `p` is not a bigint
 */
export function isSafePrime(p: bigint, rng: Rng = defaultRng): boolean {
  assertBigInt(p, 'p');
  if (p === 5n) return true; // 5 = 2·2 + 1, the one safe prime ≢ 3 mod 4
  if (p < 7n || (p & 3n) !== 3n) return false;
  return isProbablePrime((p - 1n) >> 1n, rng) && isProbablePrime(p, rng);
}

/** Draws are bounded so a broken rng (e.g. one that always returns zeros) cannot hang the caller. */
export const SAFE_PRIME_MAX_DRAWS = 1_000_000;

/**
 * A uniformly random 64-bit safe prime with the top two bits set, matching what
 * `BN_generate_prime_ex(p, 64, 1, …)` yields (OpenSSL sets the top two bits so that a product of
 * two such primes has exactly twice the bits; here it guarantees p ≥ 0xC000000000000000, above any
 * sc-hsm-tool secret, which is < 2^63).
 *
 * Each candidate is drawn afresh (8 bytes from `rng`), its top two bits and bottom two bits set
 * (a safe prime > 5 is ≡ 3 mod 4), screened against small primes for both p and q = (p-1)/2, and
 * then tested exactly. About 1 in 750 such numbers is a safe prime; the screen discards most of
 * the rest cheaply.
 *
 * @throws TypeError if `rng` is not a function returning a Uint8Array
 * @throws RangeError if `rng` returns the wrong length or yields no safe prime in
 *   {@link SAFE_PRIME_MAX_DRAWS} draws (a broken generator)
 */
export function randomSafePrime64(rng: Rng = defaultRng): bigint {
  for (let draw = 0; draw < SAFE_PRIME_MAX_DRAWS; draw++) {
    const bytes = drawBytes(rng, 8);
    let p = 0n;
    for (const b of bytes) p = (p << 8n) | BigInt(b);
    p |= 0xc000_0000_0000_0003n;
    if (!passesSafeSieve(p)) continue;
    if (isSafePrime(p, rng)) return p;
  }
  throw new RangeError(`rng yielded no 64-bit safe prime in ${SAFE_PRIME_MAX_DRAWS} draws`);
}

/** Odd primes 3..251 as numbers, for the sieve below. */
const SIEVE_PRIMES: readonly number[] = SMALL_PRIMES.slice(1).map(Number);
/** Products of consecutive sieve primes, each below 2^53, so residues are computed in doubles. */
const SIEVE_GROUPS: readonly { modulus: bigint; primes: readonly number[] }[] = (() => {
  const groups: { modulus: bigint; primes: number[] }[] = [];
  let primes: number[] = [];
  let product = 1;
  for (const q of SIEVE_PRIMES) {
    if (product * q > 2 ** 53) {
      groups.push({ modulus: BigInt(product), primes });
      primes = [];
      product = 1;
    }
    primes.push(q);
    product *= q;
  }
  groups.push({ modulus: BigInt(product), primes });
  return groups;
})();

/**
 * False when p or (p-1)/2 has a factor in 3..251, i.e. when p ≡ 0 or p ≡ 1 modulo such a prime
 * (p ≡ 1 mod r ⇔ r | (p-1)/2 for odd r). p itself is > 2^63, so it never equals a sieve prime.
 */
function passesSafeSieve(p: bigint): boolean {
  for (const g of SIEVE_GROUPS) {
    const residue = Number(p % g.modulus);
    for (const r of g.primes) {
      const m = residue % r;
      if (m === 0 || m === 1) return false;
    }
  }
  return true;
}
