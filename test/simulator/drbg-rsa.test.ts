/**
 * The simulator's DRBG (HMAC_DRBG SHA-256, SP 800-90A) and bigint RSA: the DRBG cross-checked
 * against an independent implementation on node:crypto's HMAC, replay from seed and from saved
 * state; RSA keys generated from the DRBG are reproducible, well-formed (node:crypto accepts them
 * and verifies their signatures), and recoverable from (n, e, d). Key-generation cost is reported
 * as a diagnostic, not asserted.
 */
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import { bigIntToBytes, concatBytes, toHex, utf8 } from '../../protocol/bytes.ts';
import { Drbg } from '../../app/simulator/drbg.ts';
import { generateRsaKey, isProbablePrime, rsaKeyFromNed, rsaPrivate, rsaPublic, type RsaPrivateKey } from '../../app/simulator/rsa.ts';

/** HMAC_DRBG(SHA-256) written straight from SP 800-90A §10.1.2 with node:crypto. */
function referenceDrbg(seed: Uint8Array, requests: number[]): Uint8Array[] {
  const h = (k: Buffer, ...d: Uint8Array[]): Buffer => createHmac('sha256', k).update(Buffer.concat(d)).digest();
  let k: Buffer = Buffer.alloc(32, 0);
  let v: Buffer = Buffer.alloc(32, 1);
  const update = (data?: Uint8Array): void => {
    k = h(k, v, Uint8Array.of(0), data ?? new Uint8Array(0));
    v = h(k, v);
    if (data && data.length > 0) {
      k = h(k, v, Uint8Array.of(1), data);
      v = h(k, v);
    }
  };
  update(concatBytes(seed, utf8('hsm-ceremony simulated SmartCard-HSM DRBG v1')));
  return requests.map((n) => {
    const out: Buffer[] = [];
    let got = 0;
    while (got < n) {
      v = h(k, v);
      out.push(v);
      got += 32;
    }
    update();
    return new Uint8Array(Buffer.concat(out).subarray(0, n));
  });
}

function keyObject(k: RsaPrivateKey) {
  const b = (x: bigint) => Buffer.from(bigIntToBytes(x)).toString('base64url');
  return createPrivateKey({ key: { kty: 'RSA', n: b(k.n), e: b(k.e), d: b(k.d), p: b(k.p), q: b(k.q), dp: b(k.dp), dq: b(k.dq), qi: b(k.qinv) }, format: 'jwk' });
}

describe('Drbg', () => {
  it('matches an independent HMAC_DRBG implementation', () => {
    const seed = Uint8Array.of(1, 2, 3, 4);
    const sizes = [8, 32, 1, 100, 0, 65];
    const d = new Drbg(seed);
    const ours = sizes.map((n) => d.generate(n));
    assert.deepEqual(ours.map((x) => toHex(x)), referenceDrbg(seed, sizes).map((x) => toHex(x)));
  });

  it('replays from the seed and resumes from a saved state', () => {
    const a = new Drbg(Uint8Array.of(42));
    a.generate(10);
    const saved = a.state();
    const next = a.generate(50);
    const b = Drbg.fromState(saved);
    assert.deepEqual(b.generate(50), next);
    assert.equal(saved.counter, 1);
    assert.deepEqual(new Drbg(Uint8Array.of(42)).generate(10), new Drbg(Uint8Array.of(42)).generate(10));
    assert.notDeepEqual(new Drbg(Uint8Array.of(42)).generate(16), new Drbg(Uint8Array.of(43)).generate(16));
    assert.deepEqual(a.seed, Uint8Array.of(42));
  });

  it('validates its arguments', () => {
    assert.throws(() => new Drbg(new Uint8Array(0)), RangeError);
    assert.throws(() => new Drbg(new Uint8Array(257)), RangeError);
    assert.throws(() => new Drbg('seed' as unknown as Uint8Array), TypeError);
    const d = new Drbg(Uint8Array.of(1));
    assert.throws(() => d.generate(65537), RangeError);
    assert.throws(() => d.generate(1.5), RangeError);
    assert.throws(() => Drbg.fromState({ ...d.state(), k: new Uint8Array(3) }), RangeError);
  });
});

describe('RSA from the DRBG', () => {
  it('generates reproducible, well-formed 2048-bit keys that node:crypto accepts; reports the cost', (t) => {
    const times: number[] = [];
    for (const seed of [1, 2, 3]) {
      const start = performance.now();
      const k = generateRsaKey(2048, 65537n, new Drbg(Uint8Array.of(seed)).rng);
      times.push(performance.now() - start);
      assert.equal(k.n.toString(2).length, 2048);
      assert.equal(k.p * k.q, k.n);
      assert.equal((k.q * k.qinv) % k.p, 1n);
      const msg = utf8('m');
      const sig = nodeSign('sha256', msg, keyObject(k));
      assert.ok(nodeVerify('sha256', msg, keyObject(k), sig), 'node:crypto verifies a signature by the key');
    }
    const again = generateRsaKey(2048, 65537n, new Drbg(Uint8Array.of(1)).rng);
    assert.equal(again.n, generateRsaKey(2048, 65537n, new Drbg(Uint8Array.of(1)).rng).n, 'same seed, same key');
    t.diagnostic(`RSA-2048 key generation from the DRBG: ${times.map((x) => `${x.toFixed(0)} ms`).join(', ')}`);
  });

  it('private and public operations invert each other; (n, e, d) gives back p and q', () => {
    const k = generateRsaKey(1024, 65537n, new Drbg(Uint8Array.of(5)).rng);
    const m = new Uint8Array(128);
    m[3] = 9;
    assert.deepEqual(rsaPublic(k, rsaPrivate(k, m)), m);
    const back = rsaKeyFromNed(k.n, k.e, k.d);
    assert.deepEqual([back.p, back.q, back.dp, back.dq, back.qinv], [k.p, k.q, k.dp, k.dq, k.qinv]);
    assert.throws(() => rsaKeyFromNed(k.n, k.e, k.d + 2n), RangeError);
    assert.throws(() => rsaPrivate(k, new Uint8Array(127)), RangeError);
    assert.throws(() => rsaPrivate(k, new Uint8Array(128).fill(0xff)), RangeError);
    assert.throws(() => generateRsaKey(1000, 65537n, new Drbg(Uint8Array.of(1)).rng), RangeError);
    assert.throws(() => generateRsaKey(2048, 4n, new Drbg(Uint8Array.of(1)).rng), RangeError);
  });

  it('Miller–Rabin separates primes from composites, Carmichael numbers included', () => {
    const rng = new Drbg(Uint8Array.of(7)).rng;
    for (const p of [2n, 3n, 1999n, 2003n, (1n << 127n) - 1n]) assert.ok(isProbablePrime(p, 8, rng), `${p}`);
    for (const c of [1n, 4n, 561n, 41041n, 2003n * 2011n, ((1n << 127n) - 1n) * 2011n]) assert.ok(!isProbablePrime(c, 8, rng), `${c}`);
  });
});
