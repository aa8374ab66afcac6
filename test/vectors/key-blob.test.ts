import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHash } from 'node:crypto';
import fc from 'fast-check';
import { cbc, cmac } from '@noble/ciphers/aes.js';
import { bigIntToBytes, bytesToBigInt, concatBytes, fromHex, toHex } from '../../protocol/bytes.ts';
import { readTlv } from '../../protocol/der.ts';
import { deriveBlobKeys, formatKcv, kcv } from '../../protocol/dkek/dkek.ts';
import { EC_CURVES, type EcCurveName } from '../../protocol/dkek/ec-curve.ts';
import {
  blobKeyConsistent,
  decryptKeyBlob,
  encodeKeyBlob,
  parseKeyBlob,
  verifyKeyBlob,
  wipeBlobKey,
  type BlobKey,
  type EcKey,
  type RsaKey,
} from '../../protocol/dkek/key-blob.ts';
import { NITROKEY, dkekNamed, fixtureFile, fixtures, testOnlyCountingRng } from './dkek-fixtures.ts';

/** The OCTET STRING of a wrap file, read by hand so this test does not depend on wrap-file.ts. */
function blobOf(wrap: Uint8Array): Uint8Array {
  const outer = readTlv(wrap, 0);
  return readTlv(wrap, outer.headerLength).value.slice();
}

/** The 8 random plaintext bytes of a blob, so a re-encoding can reuse them. */
function randomPrefixOf(blob: Uint8Array, dkek: Uint8Array): Uint8Array {
  const h = parseKeyBlob(blob);
  const { kEnc } = deriveBlobKeys(dkek);
  return cbc(kEnc, new Uint8Array(16), { disablePadding: true }).decrypt(h.encrypted.subarray(0, 16)).slice(0, 8);
}

const fixedRng = (bytes: Uint8Array) => (n: number) => {
  assert.equal(n, 8);
  return bytes.slice();
};

function expectCode(fn: () => unknown, code: string, kind: string): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; kind?: string; message?: string };
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.equal(err.kind, kind);
    return true;
  });
}

for (const wf of fixtures.wrapFiles) {
  test(`${wf.file}: blob verifies and decrypts under DKEK "${wf.dkek}" (KCV ${wf.kcv})`, () => {
    const dkek = dkekNamed(wf.dkek);
    assert.equal(formatKcv(kcv(dkek)), wf.kcv);
    const blob = blobOf(fixtureFile(wf.file));
    const v = verifyKeyBlob(blob, dkek);
    assert.equal(formatKcv(v.kcv), wf.kcv);
    assert.deepEqual(v.warnings, []);
    const d = decryptKeyBlob(blob, dkek);
    assert.deepEqual(d.warnings, []);
    assert.equal(d.padding, 'iso9797-m2');
    if (wf.keyType === 'EC') {
      assert.equal(d.keyType, 12);
      assert.equal(d.key.type, 'ec');
      const key = d.key as EcKey;
      assert.equal(key.curve, wf.curve);
      assert.equal(d.keySize, 256);
      // Pico HSM writes A with length 0: minimal components.
      assert.equal(d.ecComponents, 'minimal');
      assert.equal(key.d.length, 32);
      assert.ok(blobKeyConsistent(key), 'D·G = Q');
      // The public point is the one the device put into the CV request of the same file.
      assert.ok(toHex(fixtureFile(wf.file)).includes('8641' + toHex(key.q)));
    } else {
      assert.equal(d.keyType, 5);
      const key = d.key as RsaKey;
      assert.equal(key.type, 'rsa');
      assert.equal(d.keySize, 2048);
      assert.equal(key.n.length, 256);
      assert.equal(toHex(key.e), '010001');
      assert.ok(blobKeyConsistent(key), 'd inverts e modulo n');
      assert.ok(toHex(fixtureFile(wf.file)).includes('81820100' + toHex(key.n)));
    }
    wipeBlobKey(d.key);
  });

  test(`${wf.file}: Pico-style re-encoding reproduces the device's blob byte for byte`, () => {
    const dkek = dkekNamed(wf.dkek);
    const blob = blobOf(fixtureFile(wf.file));
    const { key } = decryptKeyBlob(blob, dkek);
    const again = encodeKeyBlob(key, dkek, { style: 'pico', rng: fixedRng(randomPrefixOf(blob, dkek)) });
    assert.equal(toHex(again), toHex(blob));
  });
}

test('Nitrokey HSM secp256k1 blob (spec §8): KCV, CMAC, full-length components, byte-exact re-encoding', () => {
  assert.equal(formatKcv(kcv(NITROKEY.dkek)), NITROKEY.kcv);
  const blob = blobOf(NITROKEY.wrapFile);
  assert.equal(blob.length, 363);
  const d = decryptKeyBlob(blob, NITROKEY.dkek);
  assert.equal(d.keyType, 12);
  assert.equal(toHex(d.defaultAlgorithm), '04007f00070202020203');
  assert.equal(d.allowedAlgorithms.length, 0);
  assert.equal(d.accessConditions.length, 0);
  assert.equal(d.keyOid.length, 0);
  assert.equal(d.encrypted.length, 320);
  assert.equal(d.keySize, 256);
  assert.equal(d.ecComponents, 'full');
  assert.equal(d.padding, 'iso9797-m2');
  const key = d.key as EcKey;
  assert.equal(key.curve, 'secp256k1');
  assert.ok(blobKeyConsistent(key));
  assert.ok(toHex(NITROKEY.wrapFile).includes('8641' + toHex(key.q)));
  // The default (CardContact) style is what the real card wrote.
  const again = encodeKeyBlob(key, NITROKEY.dkek, { rng: fixedRng(randomPrefixOf(blob, NITROKEY.dkek)) });
  assert.equal(toHex(again), toHex(blob));
});

/** A deterministic key; its D has a leading zero byte so minimal and full encodings differ. */
function ecKeyFor(name: EcCurveName, seed: string): EcKey {
  const c = EC_CURVES.find((x) => x.name === name)!;
  const h = createHash('sha512').update(seed + name).digest();
  const d = (bytesToBigInt(new Uint8Array(h)) % (c.n >> 8n)) + 1n;
  return { type: 'ec', curve: name, d: bigIntToBytes(d, c.orderLength), q: c.impl.Point.BASE.multiply(d).toBytes(false) };
}

function rsaKeys(bits: number): { plain: BlobKey; crt: BlobKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const j = privateKey.export({ format: 'jwk' });
  const b = (s: string | undefined) => new Uint8Array(Buffer.from(s!, 'base64url'));
  return {
    plain: { type: 'rsa', n: b(j.n), e: b(j.e), d: b(j.d) },
    crt: { type: 'rsa-crt', n: b(j.n), e: b(j.e), p: b(j.p), q: b(j.q), dp: b(j.dp), dq: b(j.dq), qinv: b(j.qi) },
  };
}

function assertSameKey(a: BlobKey, b: BlobKey): void {
  assert.equal(a.type, b.type);
  for (const [k, v] of Object.entries(a)) {
    if (v instanceof Uint8Array) {
      const w = (b as unknown as Record<string, Uint8Array>)[k]!;
      assert.equal(bytesToBigInt(v), bytesToBigInt(w), `component ${k}`);
    } else assert.equal(v, (b as unknown as Record<string, unknown>)[k]);
  }
}

const dkekA = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
const dkekB = fromHex('ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100');

test('round trip: RSA and RSA-CRT (1024, 2048 bits), both styles', () => {
  for (const bits of [1024, 2048]) {
    const { plain, crt } = rsaKeys(bits);
    for (const style of ['cardcontact', 'pico'] as const) {
      for (const key of [plain, crt]) {
        const blob = encodeKeyBlob(key, dkekA, { style, rng: testOnlyCountingRng() });
        const d = decryptKeyBlob(blob, dkekA);
        assert.equal(d.keyType, key.type === 'rsa' ? 5 : 6);
        assert.equal(d.keySize, bits);
        assertSameKey(d.key, key);
        assert.ok(blobKeyConsistent(d.key));
        assert.deepEqual(d.warnings, []);
      }
    }
  }
});

test('RSA-CRT over 2048 bits is refused (the card takes CRT keys up to 2048 bits)', () => {
  const big = { type: 'rsa-crt', n: new Uint8Array(384).fill(0xc1), e: Uint8Array.of(1, 0, 1), p: Uint8Array.of(3), q: Uint8Array.of(5), dp: Uint8Array.of(1), dq: Uint8Array.of(1), qinv: Uint8Array.of(1) } as const;
  assert.throws(() => encodeKeyBlob({ ...big }, dkekA), RangeError);
});

test('round trip: EC on every curve, both styles, full and minimal components', () => {
  for (const c of EC_CURVES) {
    const key = ecKeyFor(c.name, 'round-trip');
    for (const style of ['cardcontact', 'pico'] as const) {
      for (const ecComponents of ['full', 'minimal'] as const) {
        const blob = encodeKeyBlob(key, dkekB, { style, ecComponents, rng: testOnlyCountingRng() });
        const d = decryptKeyBlob(blob, dkekB);
        assert.equal(d.keyType, 12);
        assert.equal(d.ecComponents, ecComponents, `${c.name} ${style} ${ecComponents}`);
        assert.equal(d.keySize, style === 'pico' ? c.bits : c.fieldLength * 8);
        assertSameKey(d.key, key);
        assert.ok(blobKeyConsistent(d.key), `${c.name} D·G = Q`);
        assert.deepEqual(d.warnings, []);
        if (style === 'cardcontact') assert.equal(d.padding, 'iso9797-m2');
      }
    }
  }
});

test('an EC key with a short (minimal) D decodes to a full-length D', () => {
  const c = EC_CURVES[0]!;
  const d = 0x1234n;
  const key: EcKey = { type: 'ec', curve: c.name, d: bigIntToBytes(d), q: c.impl.Point.BASE.multiply(d).toBytes(false) };
  const out = decryptKeyBlob(encodeKeyBlob(key, dkekA, { ecComponents: 'minimal' }), dkekA);
  assert.equal(toHex((out.key as EcKey).d), '00'.repeat(30) + '1234');
});

test('round trip: AES 128/192/256/512, both styles; key size field is in bytes', () => {
  for (const n of [16, 24, 32, 64]) {
    for (const style of ['cardcontact', 'pico'] as const) {
      const key: BlobKey = { type: 'aes', key: Uint8Array.from({ length: n }, (_, i) => i * 7) };
      const blob = encodeKeyBlob(key, dkekA, { style, allowedAlgorithms: fromHex('10111899'), rng: testOnlyCountingRng() });
      const d = decryptKeyBlob(blob, dkekA);
      assert.equal(d.keyType, 15);
      assert.equal(d.keySize, n);
      assert.equal(toHex(d.allowedAlgorithms), '10111899');
      assert.equal(toHex(d.defaultAlgorithm), '608648016503040' + '1');
      assertSameKey(d.key, key);
      // 8 + 2 + n bytes: aligned for n = 22 only, never here; both styles pad.
      assert.equal(d.padding, 'iso9797-m2');
    }
  }
});

test('padding: CardContact always pads, Pico only when unaligned (both decode)', () => {
  // Pico P-256 plaintext: 8 + 2 + (2+0) + 3×(2+32) + (2+65) + (2+|D|) + (2+65) = 250 + |D| bytes,
  // block-aligned when D is minimal and 22 bytes long.
  const c = EC_CURVES.find((x) => x.name === 'P-256')!;
  const d = bytesToBigInt(fromHex('01' + '5a'.repeat(21)));
  const key: EcKey = { type: 'ec', curve: 'P-256', d: bigIntToBytes(d), q: c.impl.Point.BASE.multiply(d).toBytes(false) };
  const blobPico = encodeKeyBlob(key, dkekA, { style: 'pico', rng: testOnlyCountingRng() });
  const blobCc = encodeKeyBlob(key, dkekA, { ecComponents: 'minimal', rng: testOnlyCountingRng() });
  assert.equal(blobCc.length, blobPico.length + 16, 'CardContact adds a whole padding block');
  const pico = decryptKeyBlob(blobPico, dkekA);
  const cc = decryptKeyBlob(blobCc, dkekA);
  assert.equal(pico.padding, 'none');
  assert.equal(cc.padding, 'iso9797-m2');
  assertSameKey(pico.key, cc.key);
  assertSameKey(pico.key, key);
});

test('property: encode → decode is the identity for random EC scalars and AES keys', () => {
  const p256 = EC_CURVES[0]!;
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: p256.n - 1n }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom('cardcontact' as const, 'pico' as const), (d, aes, style) => {
      const ec: EcKey = { type: 'ec', curve: 'P-256', d: bigIntToBytes(d, 32), q: p256.impl.Point.BASE.multiply(d).toBytes(false) };
      assertSameKey(decryptKeyBlob(encodeKeyBlob(ec, dkekA, { style }), dkekA).key, ec);
      const k: BlobKey = { type: 'aes', key: aes };
      assertSameKey(decryptKeyBlob(encodeKeyBlob(k, dkekA, { style }), dkekA).key, k);
    }),
    { numRuns: 40 },
  );
});

test('wrong DKEK → KCV_MISMATCH (check), naming both KCVs', () => {
  const blob = blobOf(fixtureFile('wrap-ec-p256.bin'));
  const wrong = dkekNamed('three shares');
  expectCode(() => verifyKeyBlob(blob, wrong), 'KCV_MISMATCH', 'check');
  expectCode(() => decryptKeyBlob(blob, wrong), 'KCV_MISMATCH', 'check');
  try {
    verifyKeyBlob(blob, wrong);
  } catch (e) {
    assert.match((e as Error).message, /1D1083E78237E99D.*0767001241A0CB44/);
  }
});

test('any flipped byte after the KCV → MAC_MISMATCH (or a structural error), never a key', () => {
  const dkek = dkekNamed('one share');
  const blob = blobOf(fixtureFile('wrap-ec-p256.bin'));
  for (const i of [8, 9, 12, 27, 100, blob.length - 17, blob.length - 1]) {
    const bad = blob.slice();
    bad[i]! ^= 0x01;
    assert.throws(
      () => decryptKeyBlob(bad, dkek),
      (e: unknown) => ['MAC_MISMATCH', 'BLOB_MALFORMED'].includes((e as { code: string }).code),
    );
  }
  const bad = blob.slice();
  bad[200]! ^= 0x80;
  expectCode(() => verifyKeyBlob(bad, dkek), 'MAC_MISMATCH', 'check');
  const badKcv = blob.slice();
  badKcv[0]! ^= 1;
  expectCode(() => verifyKeyBlob(badKcv, dkek), 'KCV_MISMATCH', 'check');
});

/** Rebuilds a blob with a new header byte and a valid MAC, to reach the checks after the MAC. */
function remac(blob: Uint8Array, dkek: Uint8Array, edit: (b: Uint8Array) => void): Uint8Array {
  const body = blob.slice(0, blob.length - 16);
  edit(body);
  return concatBytes(body, cmac(body, deriveBlobKeys(dkek).kMac));
}

test('unknown key type → BLOB_UNKNOWN_KEY_TYPE; algorithm of the wrong family → BLOB_ALGORITHM_MISMATCH', () => {
  const dkek = dkekNamed('one share');
  const blob = blobOf(fixtureFile('wrap-ec-p256.bin'));
  expectCode(() => verifyKeyBlob(remac(blob, dkek, (b) => (b[8] = 7)), dkek), 'BLOB_UNKNOWN_KEY_TYPE', 'usage');
  expectCode(() => decryptKeyBlob(remac(blob, dkek, (b) => (b[8] = 5)), dkek), 'BLOB_ALGORITHM_MISMATCH', 'usage');
});

test('truncated or inconsistent structure → BLOB_MALFORMED', () => {
  const dkek = dkekNamed('one share');
  const blob = blobOf(fixtureFile('wrap-ec-p256.bin'));
  expectCode(() => parseKeyBlob(blob.subarray(0, 40)), 'BLOB_MALFORMED', 'usage');
  expectCode(() => parseKeyBlob(blob.subarray(0, blob.length - 1)), 'BLOB_MALFORMED', 'usage');
  // default-algorithm length pointing past the end
  const long = blob.slice();
  long[9] = 0xff;
  expectCode(() => parseKeyBlob(long), 'BLOB_MALFORMED', 'usage');
  assert.throws(() => parseKeyBlob('x' as unknown as Uint8Array), TypeError);
  assert.throws(() => verifyKeyBlob(blob, new Uint8Array(31)), RangeError);
  void dkek;
});

test('encodeKeyBlob validates its inputs', () => {
  const ec = ecKeyFor('P-256', 'v');
  assert.throws(() => encodeKeyBlob(ec, new Uint8Array(16)), RangeError);
  assert.throws(() => encodeKeyBlob({ ...ec, curve: 'P-999' as EcCurveName }, dkekA), RangeError);
  assert.throws(() => encodeKeyBlob({ type: 'aes', key: new Uint8Array(20) }, dkekA), RangeError);
  assert.throws(() => encodeKeyBlob(ec, dkekA, { rng: () => new Uint8Array(4) }), RangeError);
  assert.throws(() => encodeKeyBlob({ ...ec, d: bigIntToBytes(EC_CURVES[0]!.n) }, dkekA), RangeError);
  assert.throws(() => encodeKeyBlob({ type: 'dsa' } as unknown as BlobKey, dkekA), TypeError);
});

test('blobKeyConsistent catches a mismatched public point and a broken RSA key', () => {
  const ec = ecKeyFor('P-384', 'c');
  const other = ecKeyFor('P-384', 'd');
  assert.ok(blobKeyConsistent(ec));
  assert.equal(blobKeyConsistent({ ...ec, q: other.q }), false);
  const { plain } = rsaKeys(1024);
  const bad = plain as RsaKey;
  const d = bad.d.slice();
  d[d.length - 1]! ^= 2;
  assert.equal(blobKeyConsistent({ ...bad, d }), false);
});
