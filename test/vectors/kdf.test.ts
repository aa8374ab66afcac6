// The share-file KDF against outside values: `openssl enc -aes-256-cbc -md md5 -S SALT -k PASS -P`
// (count 1, OpenSSL's own EVP_BytesToKey), a node:crypto reference for counts 2, 3 and 1000, the
// public Nitrokey vector of spec §8 at the full count, and the worker wrapper (derive.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createHash } from 'node:crypto';
import { fromHex, toHex, toHexUpper } from '../../protocol/bytes.ts';
import { deriveShareFileKey } from '../../protocol/dkek/derive.ts';
import { SHARE_FILE_KDF_ITERATIONS, evpBytesToKey } from '../../protocol/dkek/md5-chain.ts';
import { isCeremonyError } from '../../protocol/errors.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const nodeMd5 = (data: Uint8Array) => new Uint8Array(createHash('md5').update(data).digest());

/** EVP_BytesToKey(aes-256-cbc, md5) from its definition, one createHash per MD5. */
function referenceEvp(password: Uint8Array, salt: Uint8Array, count: number) {
  const out: number[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  while (out.length < 48) {
    let d = nodeMd5(new Uint8Array([...prev, ...password, ...salt]));
    for (let i = 1; i < count; i++) d = nodeMd5(d);
    out.push(...d);
    prev = d;
  }
  return { key: new Uint8Array(out.slice(0, 32)), iv: new Uint8Array(out.slice(32)) };
}

// Printed by OpenSSL 3.0 `openssl enc -aes-256-cbc -md md5 -S <salt> -k <pass> -P`, which is
// EVP_BytesToKey with count 1 (the deprecated default key derivation of `openssl enc`).
const OPENSSL_COUNT_1 = [
  { pass: 'password', salt: '0102030405060708', key: 'E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3457B99436B51CE02', iv: '8D450E2ED75A84A923D4EAC9FE49226B' },
  { pass: 'passwordpassword', salt: '6CBE1488052A941F', key: '9CC01A615F9694711F2ABC19F648A70EA72E81574B72B5B36A1E9C88B37662E8', iv: 'B28D287511240320143D9D0F6C84FB2F' },
  { pass: 'pico-test-pw-1', salt: 'FFFFFFFFFFFFFFFF', key: '801DC791261B26B5E63E59893AF2BD8A5A5771EB99836A8D6744E3B6B3E51B12', iv: 'AB2307223F0DAA0CF61AF667446604C5' },
  {
    pass: 'a-much-longer-passphrase-that-spans-more-than-one-md5-block-of-sixty-four-bytes-yes',
    salt: '0000000000000000',
    key: '14A70367C59374FD905C74BAF14DE7F965588BDF302D623896F7895BE78857F9',
    iv: 'FE2C1350AEF5B950F7AC799FB100CB08',
  },
];

test('count 1 reproduces openssl enc -md md5 -P (OpenSSL EVP_BytesToKey) on both engines', () => {
  for (const v of OPENSSL_COUNT_1) {
    for (const engine of ['wasm', 'js'] as const) {
      const { key, iv } = evpBytesToKey(utf8(v.pass), fromHex(v.salt), 1, { engine });
      assert.equal(toHexUpper(key), v.key, `${v.pass} ${engine}`);
      assert.equal(toHexUpper(iv), v.iv, `${v.pass} ${engine}`);
    }
  }
});

test('counts 1, 2, 3 and 1000 equal the node:crypto reference chain', () => {
  for (const v of OPENSSL_COUNT_1) {
    for (const count of [1, 2, 3, 1000]) {
      const want = referenceEvp(utf8(v.pass), fromHex(v.salt), count);
      assert.deepEqual(evpBytesToKey(utf8(v.pass), fromHex(v.salt), count), want, `${v.pass} count=${count}`);
    }
  }
  // The reference itself agrees with OpenSSL at count 1, so it is a fair judge for larger counts.
  const r = referenceEvp(utf8('password'), fromHex('0102030405060708'), 1);
  assert.equal(toHexUpper(r.key), OPENSSL_COUNT_1[0]!.key);
});

function assertCancelled(e: unknown): true {
  assert.ok(isCeremonyError(e), 'a CeremonyError');
  assert.equal(e.code, 'KDF_CANCELLED');
  assert.equal(e.kind, 'incomplete');
  return true;
}

test('the worker derives what the synchronous function derives (both engines, two at once)', async () => {
  const pw = utf8('worker-check');
  const salt = fromHex('0011223344556677');
  const want = evpBytesToKey(pw, salt, 2000);
  const [wasm, js] = await Promise.all([
    deriveShareFileKey(pw, salt, { iterations: 2000, engine: 'wasm' }),
    deriveShareFileKey(pw, salt, { iterations: 2000, engine: 'js' }),
  ]);
  assert.deepEqual(wasm, want);
  assert.deepEqual(js, want);
  assert.deepEqual(pw, utf8('worker-check'), 'the caller keeps its password by default');
});

test('wipePassword hands the password over: the caller\'s array is zeroed at once', async () => {
  const pw = utf8('hand-over');
  const salt = fromHex('0011223344556677');
  const want = evpBytesToKey(utf8('hand-over'), salt, 50);
  const pending = deriveShareFileKey(pw, salt, { iterations: 50, wipePassword: true });
  assert.deepEqual(pw, new Uint8Array(pw.length), 'wiped before the promise settles');
  assert.deepEqual(await pending, want);
});

test('worker progress is monotone, starts at 0 and ends at the total', async () => {
  const seen: [number, number][] = [];
  await deriveShareFileKey(utf8('p'), new Uint8Array(8), {
    iterations: 20_000,
    chunk: 1000,
    onProgress: (done, total) => seen.push([done, total]),
  });
  assert.deepEqual(seen[0], [0, 60_000]);
  assert.deepEqual(seen.at(-1), [60_000, 60_000]);
  assert.ok(seen.length >= 60);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] > seen[i - 1]![0]);
});

test('aborting cancels the worker with KDF_CANCELLED, before or during the derivation', async () => {
  const before = new AbortController();
  before.abort();
  await assert.rejects(deriveShareFileKey(utf8('x'), new Uint8Array(8), { signal: before.signal }), assertCancelled);

  // Full count, aborted after the first progress message: must not run to the end.
  const during = new AbortController();
  let reports = 0;
  await assert.rejects(
    deriveShareFileKey(utf8('x'), new Uint8Array(8), {
      signal: during.signal,
      onProgress: () => {
        reports++;
        if (reports === 2) during.abort();
      },
    }),
    assertCancelled,
  );
  assert.ok(reports >= 2);
});

test('the worker wrapper validates its arguments', async () => {
  await assert.rejects(deriveShareFileKey('pw' as unknown as Uint8Array, new Uint8Array(8)), TypeError);
  await assert.rejects(deriveShareFileKey(utf8('pw'), new Uint8Array(7)), { name: 'RangeError', message: /salt/ });
  await assert.rejects(deriveShareFileKey(utf8('pw'), new Uint8Array(8), { iterations: 0 }), { name: 'RangeError', message: /iterations/ });
});

test('Nitrokey vector (spec §8): full count in the worker; the share decrypts with 16 x 0x10 and KCV 2AFA121E8764A1E3', async () => {
  const file = Buffer.from(
    'U2FsdGVkX19svhSIBSqUH/GixQX4+9KdFKpErNW7MLzNCX9YBE7+eseQB6Vh7JgaFmhlWzIcqCgB39n9xXe6BA==',
    'base64',
  );
  assert.equal(file.subarray(0, 8).toString('latin1'), 'Salted__');
  assert.equal(toHex(file.subarray(8, 16)), '6cbe1488052a941f');
  const { key, iv } = await deriveShareFileKey(utf8('passwordpassword'), new Uint8Array(file.subarray(8, 16)), {
    iterations: SHARE_FILE_KDF_ITERATIONS,
  });
  // Decrypt with node:crypto, independently of share-file.ts.
  const d = createDecipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  const plain = Buffer.concat([d.update(file.subarray(16)), d.final()]);
  assert.equal(toHex(plain.subarray(32)), '10'.repeat(16));
  const kcv = createHash('sha256').update(plain.subarray(0, 32)).digest().subarray(0, 8);
  assert.equal(toHexUpper(kcv), '2AFA121E8764A1E3');
});
