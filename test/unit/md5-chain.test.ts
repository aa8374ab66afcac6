// MD5 and the EVP_BytesToKey chain (protocol/dkek/md5-chain.ts and its two engines): each piece
// against node:crypto, the WebAssembly loop against the plain-JS loop, and the options (progress,
// cancellation, chunking, validation). Small iteration counts only; full-count vectors are in
// test/vectors/kdf.test.ts and share-file.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { md5RepeatJs } from '../../protocol/dkek/_md5.ts';
import { WASM_CALL_ITERATIONS, buildMd5RepeatModule, loadMd5RepeatWasm } from '../../protocol/dkek/_md5-wasm.ts';
import { defaultMd5Engine, evpBytesToKey, md5 } from '../../protocol/dkek/md5-chain.ts';
import { isCeremonyError } from '../../protocol/errors.ts';

const nodeMd5 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('md5').update(data).digest());

/** MD5^n of a 16-byte digest with node:crypto, one createHash per step. */
function nodeRepeat(digest: Uint8Array, n: number): Uint8Array {
  let d = digest;
  for (let i = 0; i < n; i++) d = nodeMd5(d);
  return d;
}

/** EVP_BytesToKey(aes-256-cbc, md5) with node:crypto, written from the definition (spec §1). */
function referenceEvp(password: Uint8Array, salt: Uint8Array, count: number): { key: Uint8Array; iv: Uint8Array } {
  const out: number[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  while (out.length < 48) {
    const d = nodeRepeat(nodeMd5(new Uint8Array([...prev, ...password, ...salt])), count - 1);
    out.push(...d);
    prev = d;
  }
  return { key: new Uint8Array(out.slice(0, 32)), iv: new Uint8Array(out.slice(32, 48)) };
}

const seq = (n: number, start = 0): Uint8Array => new Uint8Array(n).map((_, i) => (start + 7 * i) & 0xff);

test('md5 equals node:crypto for every length 0..300 (one, two and many blocks, all padding cases)', () => {
  for (let len = 0; len <= 300; len++) {
    const data = seq(len, len);
    assert.deepEqual(md5(data), nodeMd5(data), `length ${len}`);
  }
});

test('md5 equals node:crypto on random inputs (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
      assert.deepEqual(md5(data), nodeMd5(data));
    }),
    { numRuns: 200 },
  );
});

test('md5 rejects non-bytes with a TypeError', () => {
  assert.throws(() => md5('abc' as unknown as Uint8Array), TypeError);
});

test('plain-JS single-block repeat equals node:crypto for 0, 1, 2, 3, 17 and 1000 repeats', () => {
  for (const n of [0, 1, 2, 3, 17, 1000]) {
    const start = seq(16, n);
    const state = start.slice();
    md5RepeatJs(state, n);
    assert.deepEqual(state, nodeRepeat(start, n), `n=${n}`);
  }
});

test('the WebAssembly module is deterministic, valid, and its repeat equals the plain-JS one', () => {
  const bytes = buildMd5RepeatModule();
  assert.deepEqual(buildMd5RepeatModule(), bytes);
  assert.equal((globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(bytes), true);
  const wasm = loadMd5RepeatWasm();
  assert.ok(wasm, 'WebAssembly must load under Node');
  assert.equal(defaultMd5Engine(), 'wasm');
  for (const n of [0, 1, 2, 3, 17, 1000, WASM_CALL_ITERATIONS + 5]) {
    const start = seq(16, 3 * n);
    wasm.digest.set(start);
    wasm.iterate(n);
    const js = start.slice();
    md5RepeatJs(js, n);
    assert.deepEqual(wasm.digest.slice(), js, `n=${n}`);
  }
  wasm.digest.set(seq(16, 51));
  wasm.iterate(17);
  assert.deepEqual(wasm.digest.slice(), nodeRepeat(seq(16, 51), 17), 'against node:crypto too');
  wasm.digest.fill(0);
});

test('evpBytesToKey equals the node:crypto reference for counts 1, 2, 3 and 1000 on both engines', () => {
  const passwords = [new Uint8Array(0), new TextEncoder().encode('pico-test-pw-1'), seq(100, 1), new Uint8Array([0, 0xff, 0x80])];
  const salt = seq(8, 9);
  for (const password of passwords) {
    for (const count of [1, 2, 3, 1000]) {
      const want = referenceEvp(password, salt, count);
      for (const engine of ['wasm', 'js'] as const) {
        const got = evpBytesToKey(password, salt, count, { engine });
        assert.deepEqual(got.key, want.key, `${engine} count=${count} pw=${password.length}B`);
        assert.deepEqual(got.iv, want.iv, `${engine} count=${count} pw=${password.length}B`);
      }
    }
  }
});

test('both engines agree for random passwords, salts, counts and chunk sizes (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 130 }),
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 9000 }),
      (password, salt, count, chunk) => {
        const w = evpBytesToKey(password, salt, count, { engine: 'wasm', chunk });
        const j = evpBytesToKey(password, salt, count, { engine: 'js' });
        assert.deepEqual(w, j);
      },
    ),
    { numRuns: 60 },
  );
});

test('evpBytesToKey leaves its inputs untouched and returns fresh arrays', () => {
  const password = seq(12, 4);
  const salt = seq(8, 2);
  const a = evpBytesToKey(password, salt, 10);
  assert.deepEqual(password, seq(12, 4));
  assert.deepEqual(salt, seq(8, 2));
  const b = evpBytesToKey(password, salt, 10);
  assert.notEqual(a.key.buffer, b.key.buffer);
  assert.equal(a.key.length, 32);
  assert.equal(a.iv.length, 16);
  assert.deepEqual(a, b);
  assert.deepEqual(loadMd5RepeatWasm()!.digest, new Uint8Array(16), 'the WebAssembly state is wiped');
});

test('progress starts at 0, never decreases, and ends at 3 x count', () => {
  for (const [count, chunk] of [[1, 5], [1000, 64], [1000, 1000], [4097, 300]] as const) {
    const seen: [number, number][] = [];
    evpBytesToKey(seq(3), seq(8), count, { chunk, onProgress: (done, total) => seen.push([done, total]) });
    assert.deepEqual(seen[0], [0, 3 * count]);
    assert.deepEqual(seen.at(-1), [3 * count, 3 * count]);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]![0] > seen[i - 1]![0], `strictly increasing at ${i}`);
      assert.equal(seen[i]![1], 3 * count);
    }
    if (count > chunk) assert.ok(seen.length >= Math.floor((3 * (count - 1)) / chunk), 'one report per chunk');
  }
});

function assertCancelled(e: unknown): true {
  assert.ok(isCeremonyError(e), 'a CeremonyError');
  assert.equal(e.code, 'KDF_CANCELLED');
  assert.equal(e.kind, 'incomplete');
  assert.equal(e.exitCode, 4);
  assert.ok(e.hint);
  return true;
}

test('an aborted signal cancels before any work and between chunks', () => {
  const before = new AbortController();
  before.abort();
  let calls = 0;
  assert.throws(() => evpBytesToKey(seq(3), seq(8), 1000, { signal: before.signal, onProgress: () => calls++ }), assertCancelled);
  assert.equal(calls, 0);

  for (const engine of ['wasm', 'js'] as const) {
    const during = new AbortController();
    let last = 0;
    assert.throws(
      () =>
        evpBytesToKey(seq(3), seq(8), 100_000, {
          engine,
          chunk: 1000,
          signal: during.signal,
          onProgress: (done) => {
            last = done;
            if (done >= 5000) during.abort();
          },
        }),
      assertCancelled,
    );
    assert.ok(last >= 5000 && last < 7000, `stopped within one chunk of the abort (at ${last})`);
  }
});

test('bad arguments are rejected with TypeError or RangeError naming the argument', () => {
  const pw = seq(4);
  const salt = seq(8);
  assert.throws(() => evpBytesToKey('pw' as unknown as Uint8Array, salt, 1), { name: 'TypeError', message: /password/ });
  assert.throws(() => evpBytesToKey(pw, [1, 2] as unknown as Uint8Array, 1), { name: 'TypeError', message: /salt/ });
  for (const bad of [0, 7, 9, 16]) {
    assert.throws(() => evpBytesToKey(pw, new Uint8Array(bad), 1), { name: 'RangeError', message: /salt must be 8 bytes/ });
  }
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
    assert.throws(() => evpBytesToKey(pw, salt, bad), { name: 'RangeError', message: /count/ });
  }
  for (const bad of [0, -5, 2.5]) {
    assert.throws(() => evpBytesToKey(pw, salt, 1, { chunk: bad }), { name: 'RangeError', message: /chunk/ });
  }
  assert.throws(() => evpBytesToKey(pw, salt, 1, { engine: 'asm' as 'js' }), { name: 'TypeError', message: /engine/ });
  assert.throws(() => evpBytesToKey(pw, salt, 1, { onProgress: 3 as unknown as () => void }), { name: 'TypeError', message: /onProgress/ });
});
