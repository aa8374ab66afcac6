import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DETERMINISTIC_MR_BOUND,
  SAFE_PRIME_MAX_DRAWS,
  isProbablePrime,
  isSafePrime,
  modInverse,
  modPow,
  randomSafePrime64,
} from '../../protocol/dkek/prime.ts';
import { seededRng } from '../helpers/seeded-rng.ts';


function naiveIsPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

test('isProbablePrime agrees with trial division for every n below 100 000', () => {
  for (let n = 0; n < 100_000; n++) assert.equal(isProbablePrime(BigInt(n)), naiveIsPrime(n), `n = ${n}`);
});

test('known primes are prime', () => {
  const primes = [
    2n, 3n, 65_537n, 2_147_483_647n, 1_000_000_007n,
    (1n << 61n) - 1n, // Mersenne prime M61
    (1n << 64n) - 59n, // the largest 64-bit prime
    0xc372ff83be5a1fdfn, // fixtures/opensc-pico/s3-shares.txt
    0xf55646c9a5a10187n, // pico-hsm docs example printout
    (1n << 89n) - 1n, // Mersenne prime M89, above the deterministic bound: random rounds too
  ];
  for (const p of primes) assert.equal(isProbablePrime(p), true, p.toString(16));
});

test('Carmichael numbers are composite', () => {
  const carmichael = [561n, 1105n, 1729n, 2465n, 2821n, 6601n, 8911n, 41_041n, 62_745n, 63_973n, 75_361n,
    101_101n, 126_217n, 172_081n, 188_461n, 252_601n, 278_545n, 294_409n, 314_821n, 334_153n, 340_561n,
    399_001n, 410_041n, 449_065n, 488_881n, 512_461n,
    // Chernick's (6k+1)(12k+1)(18k+1) with all three factors prime (k = 239 841): a 64-bit Carmichael
    1_439_047n * 2_878_093n * 4_317_139n];
  for (const n of carmichael) assert.equal(isProbablePrime(n), false, n.toString());
});

test('strong pseudoprimes to the first prime bases are composite', () => {
  // [n, factors]: the smallest strong pseudoprimes to the first 1, 2, …, 9 prime bases (ψ1…ψ9).
  const cases: [bigint, bigint[]][] = [
    [2047n, [23n, 89n]],
    [1_373_653n, [829n, 1657n]],
    [25_326_001n, [2251n, 11_251n]],
    [3_215_031_751n, [151n, 751n, 28_351n]],
    [2_152_302_898_747n, [6763n, 10_627n, 29_947n]],
    [3_474_749_660_383n, [1303n, 16_927n, 157_543n]],
    [341_550_071_728_321n, [10_670_053n, 32_010_157n]],
    [3_825_123_056_546_413_051n, [149_491n, 747_451n, 34_233_211n]], // ψ9 = ψ10 = ψ11, < 2^64
  ];
  for (const [n, factors] of cases) {
    assert.equal(factors.reduce((a, b) => a * b), n, 'the listed factors multiply to n');
    assert.equal(isProbablePrime(n), false, n.toString());
  }
  // ψ12 (> 2^64): passes bases 2..37, caught by base 41.
  assert.equal(isProbablePrime(318_665_857_834_031_151_167_461n), false);
});

test('above the deterministic bound only the random rounds catch ψ13', () => {
  const psi13 = DETERMINISTIC_MR_BOUND; // the bound is itself the smallest strong pseudoprime to bases 2..41
  assert.equal(isProbablePrime(psi13, seededRng('psi13'), 0), true, 'fixed bases alone are fooled');
  assert.equal(isProbablePrime(psi13, seededRng('psi13')), false);
});

test('isSafePrime', () => {
  for (const p of [5n, 7n, 11n, 23n, 47n, 59n, 83n, 107n, 0xc372ff83be5a1fdfn, 0xf55646c9a5a10187n]) {
    assert.equal(isSafePrime(p), true, p.toString());
  }
  // primes that are not safe, and composites
  for (const p of [2n, 3n, 13n, 29n, 31n, (1n << 64n) - 59n, (1n << 61n) - 1n, 9n, 15n, 561n]) {
    assert.equal(isSafePrime(p), false, p.toString());
  }
});

test('modPow matches repeated multiplication and Fermat', () => {
  for (const [b, e, m] of [[3n, 0n, 7n], [3n, 1n, 7n], [2n, 10n, 1000n], [-2n, 3n, 7n], [5n, 117n, 19n], [7n, 5n, 1n]] as const) {
    let want = 1n % m;
    for (let i = 0n; i < e; i++) want = (want * b) % m;
    want = ((want % m) + m) % m;
    assert.equal(modPow(b, e, m), want, `${b}^${e} mod ${m}`);
  }
  const p = 0xc372ff83be5a1fdfn;
  assert.equal(modPow(123_456_789n, p - 1n, p), 1n);
  assert.throws(() => modPow(2n, -1n, 7n), RangeError);
  assert.throws(() => modPow(2n, 1n, 0n), RangeError);
  assert.throws(() => modPow(2 as unknown as bigint, 1n, 7n), TypeError);
});

test('modInverse inverts and refuses non-units', () => {
  const p = 0xc372ff83be5a1fdfn;
  for (const a of [1n, 2n, 3n, p - 1n, 0x1234567890abcdefn, -5n]) {
    const inv = modInverse(a, p);
    assert.ok(inv > 0n && inv < p);
    assert.equal((((a * inv) % p) + p) % p, 1n);
  }
  assert.equal(modInverse(3n, 10n), 7n);
  assert.throws(() => modInverse(0n, p), RangeError);
  assert.throws(() => modInverse(p, p), RangeError);
  assert.throws(() => modInverse(4n, 10n), RangeError);
  assert.throws(() => modInverse(3n, 1n), RangeError);
});

test('randomSafePrime64: top two bits set, p and (p-1)/2 prime, deterministic for a fixed rng', () => {
  const seen = new Set<bigint>();
  for (let i = 0; i < 12; i++) {
    const p = randomSafePrime64(seededRng(`safe-${i}`));
    assert.equal(p >> 62n, 3n, 'top two bits set');
    assert.ok(p < 1n << 64n);
    assert.equal(isProbablePrime(p), true);
    assert.equal(isProbablePrime((p - 1n) / 2n), true);
    seen.add(p);
  }
  assert.equal(seen.size, 12, 'different seeds give different primes');
  assert.equal(randomSafePrime64(seededRng('same')), randomSafePrime64(seededRng('same')));
});

test('randomSafePrime64 rejects a broken rng instead of hanging', () => {
  assert.throws(() => randomSafePrime64(() => new Uint8Array(7)), RangeError);
  assert.throws(() => randomSafePrime64(() => [1, 2, 3] as unknown as Uint8Array), TypeError);
  assert.throws(() => randomSafePrime64(() => new Uint8Array(8)), (e: unknown) =>
    e instanceof RangeError && e.message.includes(String(SAFE_PRIME_MAX_DRAWS)));
});
