import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import {
  DerError,
  decodeOid,
  encodeLength,
  encodeOid,
  encodeTag,
  encodeTlv,
  readAllTlvs,
  readChildren,
  readSingleTlv,
  readTlv,
  tagHex,
} from '../../protocol/der.ts';

const derCode = (code: string) => (e: unknown) => e instanceof DerError && e instanceof RangeError && e.code === code;

test('length forms: short, 81, 82, 83, 84 (minimal), and reading them back', () => {
  const cases: [number, string][] = [[0, '00'], [127, '7f'], [128, '8180'], [255, '81ff'], [256, '820100'], [65535, '82ffff'], [65536, '83010000'], [0x1000000, '8401000000']];
  for (const [n, hex] of cases) assert.equal(toHex(encodeLength(n)), hex, String(n));
  assert.throws(() => encodeLength(-1), RangeError);
  assert.throws(() => encodeLength(2 ** 32), RangeError);
  for (const n of [0, 5, 127, 128, 200, 255, 256, 1000, 70000]) {
    const v = new Uint8Array(n).fill(7);
    const t = readTlv(encodeTlv(0x04, v));
    assert.equal(t.value.length, n);
    assert.equal(t.minimalLength, true);
    assert.equal(t.headerLength, 1 + encodeLength(n).length);
    assert.equal(t.totalLength, t.headerLength + n);
  }
});

test('multi-byte tags as TR-03110 writes them: 7F21, 5F20, 7F49, 5F37, and a three-byte tag', () => {
  for (const tag of [0x7f21, 0x5f20, 0x7f49, 0x5f37, 0x7f4e, 0x5f29, 0x1f8101]) {
    const enc = encodeTlv(tag, Uint8Array.of(1, 2));
    assert.equal(toHex(enc.subarray(0, encodeTag(tag).length)), tag.toString(16));
    const t = readTlv(enc);
    assert.equal(t.tag, tag);
    assert.equal(toHex(t.value), '0102');
  }
  assert.equal(readTlv(fromHex('7f2100')).constructed, true);
  assert.equal(readTlv(fromHex('5f2000')).constructed, false);
  assert.equal(readTlv(fromHex('a000')).constructed, true);
  assert.equal(tagHex(0x7f21), '7F21');
  assert.equal(tagHex(0x4), '04');
});

test('reader errors are named', () => {
  assert.throws(() => readTlv(new Uint8Array(0)), derCode('DER_TRUNCATED'));
  assert.throws(() => readTlv(fromHex('04')), derCode('DER_TRUNCATED'));
  assert.throws(() => readTlv(fromHex('0402aa')), derCode('DER_TRUNCATED'));
  assert.throws(() => readTlv(fromHex('048201')), derCode('DER_TRUNCATED'));
  assert.throws(() => readTlv(fromHex('7f')), derCode('DER_TRUNCATED'));
  assert.throws(() => readTlv(fromHex('7f81')), derCode('DER_TRUNCATED'));
  assert.throws(() => readTlv(fromHex('0480')), derCode('DER_INDEFINITE_LENGTH'));
  assert.throws(() => readTlv(fromHex('04850000000001')), derCode('DER_BAD_LENGTH'));
  assert.throws(() => readTlv(fromHex('1f8181818101')), derCode('DER_BAD_TAG'));
  assert.throws(() => readTlv(fromHex('3084ffffffff')), derCode('DER_TRUNCATED'));
  assert.throws(() => readSingleTlv(fromHex('040100ff'), 0x04), derCode('DER_TRAILING_DATA'));
  assert.throws(() => readSingleTlv(fromHex('0401ff'), 0x30), derCode('DER_UNEXPECTED_TAG'));
  assert.throws(() => readTlv('04' as unknown as Uint8Array), TypeError);
  // `end` bounds the read even when the buffer continues
  assert.throws(() => readTlv(fromHex('0402aabb'), 0, 3), derCode('DER_TRUNCATED'));
  try {
    readTlv(fromHex('30050401'), 0);
  } catch (e) {
    assert.equal((e as DerError).offset, 0);
  }
});

test('non-minimal lengths are read (BER) but flagged', () => {
  assert.equal(readTlv(fromHex('048105' + '00'.repeat(5))).minimalLength, false);
  assert.equal(readTlv(fromHex('04820080' + '00'.repeat(128))).minimalLength, false);
  assert.equal(readTlv(fromHex('048180' + '00'.repeat(128))).minimalLength, true);
});

test('readAllTlvs / readChildren walk a constructed value', () => {
  const seq = encodeTlv(0x30, encodeTlv(0x04, Uint8Array.of(1)), encodeTlv(0x5f20, Uint8Array.of(2, 3)), encodeTlv(0x02));
  const kids = readChildren(readTlv(seq));
  assert.deepEqual(kids.map((k) => k.tag), [0x04, 0x5f20, 0x02]);
  assert.deepEqual(kids.map((k) => k.offset), [0, 3, 8]);
  assert.throws(() => readAllTlvs(fromHex('0401aa04')), derCode('DER_TRUNCATED'));
  assert.deepEqual(readAllTlvs(new Uint8Array(0)), []);
});

test('OIDs: known encodings, round trips, and rejects', () => {
  const known: [string, string][] = [
    ['0.4.0.127.0.7.2.2.2.2.3', '04007f00070202020203'],
    ['0.4.0.127.0.7.2.2.2.1.2', '04007f00070202020102'],
    ['2.16.840.1.101.3.4.1', '608648016503040' + '1'],
    ['1.2.840.10045.3.1.7', '2a8648ce3d030107'],
    ['1.3.132.0.10', '2b8104000a'],
    ['2.999.3', '883703'],
  ];
  for (const [dotted, hex] of known) {
    assert.equal(toHex(encodeOid(dotted)), hex, dotted);
    assert.equal(decodeOid(fromHex(hex)), dotted);
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.bigInt({ min: 0n, max: 2n ** 70n }), { maxLength: 8 }), (a, b, rest) => {
      const dotted = [a, b, ...rest].join('.');
      assert.equal(decodeOid(encodeOid(dotted)), dotted);
    }),
  );
  for (const bad of ['', '1', '3.1', '1.40', 'a.b', '1..2']) assert.throws(() => encodeOid(bad), derCode('DER_BAD_OID'), bad);
  assert.throws(() => decodeOid(new Uint8Array(0)), derCode('DER_BAD_OID'));
  assert.throws(() => decodeOid(fromHex('2a86')), derCode('DER_BAD_OID'));
  assert.throws(() => decodeOid(fromHex('2a8001')), derCode('DER_BAD_OID'));
});

test('property: encodeTlv → readTlv is the identity', () => {
  fc.assert(
    fc.property(fc.constantFrom(0x04, 0x30, 0x42, 0x5f37, 0x7f21, 0xa0), fc.uint8Array({ maxLength: 700 }), (tag, value) => {
      const enc = encodeTlv(tag, value);
      const t = readSingleTlv(enc, tag);
      assert.equal(toHex(t.value), toHex(value));
      assert.equal(t.totalLength, enc.length);
    }),
  );
});
