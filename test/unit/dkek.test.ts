import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import {
  combineShares,
  deriveBlobKeys,
  formatKcv,
  kcv,
  parseKcv,
  shareFingerprint,
  shareFingerprintBytes,
  SHARE_FINGERPRINT_LABEL,
} from '../../protocol/dkek/dkek.ts';
import { fixtures, shareOf, dkekNamed } from '../vectors/dkek-fixtures.ts';

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

test('KCV of each fixture share alone matches what the card reported', () => {
  for (const s of fixtures.shareFiles) assert.equal(formatKcv(kcv(fromHex(s.share))), s.kcvAlone, s.file);
});

test('DKEK KCVs: one share 1D1083E78237E99D, three shares 0767001241A0CB44', () => {
  for (const d of fixtures.dkeks) assert.equal(formatKcv(kcv(dkekNamed(d.name))), d.kcv);
});

test('combineShares: a single share is the DKEK; order does not matter; inputs untouched', () => {
  const s1 = shareOf('s1.pbe');
  assert.equal(toHex(combineShares([s1])), toHex(s1));
  const [a, b, c] = ['s2.pbe', 's3.pbe', 's4.pbe'].map(shareOf) as [Uint8Array, Uint8Array, Uint8Array];
  const copy = toHex(a);
  const x = toHex(combineShares([a, b, c]));
  assert.equal(toHex(combineShares([c, a, b])), x);
  assert.equal(toHex(combineShares([b, c, a])), x);
  assert.equal(toHex(a), copy);
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 6 }), (shares) => {
      const fwd = toHex(combineShares(shares));
      assert.equal(toHex(combineShares([...shares].reverse())), fwd);
      // XOR-ing a share in twice cancels it.
      assert.equal(toHex(combineShares([...shares, shares[0]!, shares[0]!])), fwd);
    }),
  );
});

test('combineShares rejects bad input by type and size', () => {
  assert.throws(() => combineShares([]), RangeError);
  assert.throws(() => combineShares([new Uint8Array(31)]), /shares\[0\] must be 32 bytes/);
  assert.throws(() => combineShares(['x' as unknown as Uint8Array]), TypeError);
  assert.throws(() => combineShares('ab' as unknown as Uint8Array[]), TypeError);
});

test('K_ENC = SHA-256(dkek || 00000001), K_MAC = SHA-256(dkek || 00000002)', () => {
  const dkek = dkekNamed('one share');
  const { kEnc, kMac } = deriveBlobKeys(dkek);
  assert.equal(toHex(kEnc), toHex(sha256(dkek, Uint8Array.of(0, 0, 0, 1))));
  assert.equal(toHex(kMac), toHex(sha256(dkek, Uint8Array.of(0, 0, 0, 2))));
  assert.equal(toHex(kcv(dkek)), toHex(sha256(dkek).slice(0, 8)));
  assert.throws(() => deriveBlobKeys(new Uint8Array(33)), RangeError);
  assert.throws(() => kcv(new Uint8Array(0)), RangeError);
});

test('formatKcv / parseKcv', () => {
  const v = fromHex('1d1083e78237e99d');
  assert.equal(formatKcv(v), '1D1083E78237E99D');
  for (const text of ['1D1083E78237E99D', '1d1083e78237e99d', ' 1D10 83E7 8237 E99D ', '1d:10:83:e7:82:37:e9:9d', '1D10-83E7-8237-E99D']) {
    assert.equal(toHex(parseKcv(text)), '1d1083e78237e99d', text);
  }
  for (const bad of ['', '1D1083E78237E99', '1D1083E78237E99DA', 'XD1083E78237E99D']) {
    assert.throws(() => parseKcv(bad), (e: unknown) => (e as { code: string; kind: string }).code === 'KCV_MALFORMED' && (e as { kind: string }).kind === 'usage');
  }
  assert.throws(() => formatKcv(new Uint8Array(7)), RangeError);
});

test('shareFingerprint: domain-separated, four groups of four, never the KCV', () => {
  const s1 = shareOf('s1.pbe');
  const expected = sha256(new TextEncoder().encode(SHARE_FINGERPRINT_LABEL), s1).slice(0, 8);
  assert.equal(toHex(shareFingerprintBytes(s1)), toHex(expected));
  const fp = shareFingerprint(s1);
  assert.match(fp, /^[0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}$/);
  assert.equal(fp.replace(/ /g, ''), toHex(expected));
  assert.notEqual(fp.replace(/ /g, '').toUpperCase(), formatKcv(kcv(s1)));
  for (const s of fixtures.shareFiles) assert.notEqual(toHex(shareFingerprintBytes(fromHex(s.share))).toUpperCase(), s.kcvAlone);
  assert.throws(() => shareFingerprint(new Uint8Array(16)), RangeError);
});
