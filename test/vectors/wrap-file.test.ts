import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, fromHex, toHex } from '../../protocol/bytes.ts';
import { encodeTlv } from '../../protocol/der.ts';
import { decryptKeyBlob } from '../../protocol/dkek/key-blob.ts';
import { decodeWrapFile, encodeWrapFile, SC_HSM_TOOL_MAX_FILE } from '../../protocol/dkek/wrap-file.ts';
import { NITROKEY, dkekNamed, fixtureFile, fixtures } from './dkek-fixtures.ts';

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; kind?: string; message?: string; hint?: string };
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.equal(err.kind, 'usage');
    assert.ok(err.hint, 'has a hint');
    assert.doesNotMatch(err.message!, /\.$/, 'no final period');
    return true;
  });
}

const files = [...fixtures.wrapFiles.map((w) => ({ name: w.file, bytes: fixtureFile(w.file), dkek: dkekNamed(w.dkek) })), { name: 'nitrokey', bytes: NITROKEY.wrapFile, dkek: NITROKEY.dkek }];

for (const f of files) {
  test(`${f.name}: decodes into blob + PRKD + CV request, MAC-verifies, re-encodes byte for byte`, () => {
    const w = decodeWrapFile(f.bytes);
    assert.deepEqual(w.warnings, []);
    assert.ok(w.prkd && w.certificate);
    assert.equal(w.certificate![0], 0x67, 'certificate is a CV request');
    assert.ok([0x30, 0xa0].includes(w.prkd![0]!));
    decryptKeyBlob(w.blob, f.dkek); // throws on KCV or MAC mismatch
    assert.equal(toHex(encodeWrapFile(w)), toHex(f.bytes));
  });
}

const blob = fromHex('00112233');
const prkd = fromHex('a0 03 30 01 00'.replace(/ /g, ''));
const cert = fromHex('67 02 42 00'.replace(/ /g, ''));

test('encodeWrapFile: blob only, blob + PRKD, blob + PRKD + certificate; minimal lengths', () => {
  assert.equal(toHex(encodeWrapFile({ blob })), '3006040400112233');
  assert.equal(toHex(encodeWrapFile({ blob, prkd })), '300b040400112233a003300100');
  assert.equal(toHex(encodeWrapFile({ blob, prkd, certificate: cert })), '300f040400112233a00330010067024200');
  const big = encodeWrapFile({ blob: new Uint8Array(300) });
  assert.equal(toHex(big.subarray(0, 8)), '30820130' + '0482012c');
  const mid = encodeWrapFile({ blob: new Uint8Array(130) });
  assert.equal(toHex(mid.subarray(0, 6)), '308185' + '048182');
  for (const b of [big, mid]) assert.equal(decodeWrapFile(b).blob.length, b === big ? 300 : 130);
});

test('encodeWrapFile refuses what sc-hsm-tool would misread', () => {
  assert.throws(() => encodeWrapFile({ blob, certificate: cert }), /by position/);
  assert.throws(() => encodeWrapFile({ blob: new Uint8Array(0) }), RangeError);
  assert.throws(() => encodeWrapFile({ blob, prkd: concatBytes(prkd, prkd) }), /exactly one TLV/);
  assert.throws(() => encodeWrapFile({ blob, prkd: fromHex('00') }), /00\/FF/);
  assert.throws(() => encodeWrapFile({ blob, prkd: fromHex('a005') }), /not a TLV/);
  assert.throws(() => encodeWrapFile({ blob: 'x' as unknown as Uint8Array }), TypeError);
});

test('structural errors are each named', () => {
  const good = fixtureFile('wrap-ec-p256.bin');
  expectCode(() => decodeWrapFile(new Uint8Array(0)), 'WRAP_EMPTY');
  expectCode(() => decodeWrapFile(new TextEncoder().encode('Salted__12345678')), 'WRAP_NOT_SEQUENCE');
  expectCode(() => decodeWrapFile(fromHex('31 03 04 01 00'.replace(/ /g, ''))), 'WRAP_NOT_SEQUENCE');
  expectCode(() => decodeWrapFile(good.subarray(0, good.length - 1)), 'WRAP_TRUNCATED');
  expectCode(() => decodeWrapFile(good.subarray(0, 3)), 'WRAP_TRUNCATED');
  // oversize length: the header claims far more than the file holds
  expectCode(() => decodeWrapFile(fromHex('3084ffffffff0401ff')), 'WRAP_TRUNCATED');
  expectCode(() => decodeWrapFile(fromHex('30850100000000')), 'WRAP_BAD_LENGTH');
  expectCode(() => decodeWrapFile(fromHex('3080040100 0000'.replace(/ /g, ''))), 'WRAP_BAD_LENGTH');
  expectCode(() => decodeWrapFile(fromHex('3000')), 'WRAP_NO_KEY_BLOB');
  expectCode(() => decodeWrapFile(fromHex('30030201ff')), 'WRAP_NO_KEY_BLOB');
  expectCode(() => decodeWrapFile(fromHex('3003240100')), 'WRAP_NO_KEY_BLOB'); // constructed OCTET STRING
  expectCode(() => decodeWrapFile(fromHex('30020400')), 'WRAP_NO_KEY_BLOB');
  // inner blob runs past the outer SEQUENCE
  expectCode(() => decodeWrapFile(fromHex('3003040500112233445566')), 'WRAP_TRUNCATED');
  expectCode(() => decodeWrapFile(fromHex('30051fffffffff')), 'WRAP_BAD_DER');
  assert.throws(() => decodeWrapFile(null as unknown as Uint8Array), TypeError);
});

test('positional quirks: 00/FF and garbage mean "absent", with a warning; tags are not checked', () => {
  const w1 = decodeWrapFile(fromHex('30070404001122330000'.slice(0, 16) + '00ff'));
  // 30 07 04 04 00112233 00 ff  (outer covers 7 bytes: the blob plus one filler byte)
  assert.equal(w1.prkd, undefined);
  assert.ok(w1.warnings.some((m) => /no PRKD.*00 filler/.test(m)));

  // Positional: any TLV after the blob is "the PRKD", any after that "the certificate".
  const odd = encodeTlv(0x30, encodeTlv(0x04, blob), fromHex('0401aa'), fromHex('0201bb'));
  const w2 = decodeWrapFile(odd);
  assert.equal(toHex(w2.prkd!), '0401aa');
  assert.equal(toHex(w2.certificate!), '0201bb');
  assert.ok(w2.warnings.some((m) => /PRKD has tag 04/.test(m)));
  assert.ok(w2.warnings.some((m) => /certificate has tag 02/.test(m)));

  // A PRKD lying after the outer SEQUENCE is still read (bounded by the file, not the SEQUENCE).
  const outside = concatBytes(encodeTlv(0x30, encodeTlv(0x04, blob)), prkd);
  const w3 = decodeWrapFile(outside);
  assert.equal(toHex(w3.prkd!), toHex(prkd));
  assert.ok(w3.warnings.some((m) => /past the outer SEQUENCE/.test(m)));

  // Trailing bytes after a complete file are ignored, and reported.
  const trailing = concatBytes(encodeWrapFile({ blob, prkd, certificate: cert }), fromHex('deadbeef'));
  const w4 = decodeWrapFile(trailing);
  assert.equal(toHex(w4.certificate!), toHex(cert));
  assert.ok(w4.warnings.some((m) => /4 bytes after/.test(m)));

  // A truncated certificate is "absent" to sc-hsm-tool.
  const cut = encodeTlv(0x30, encodeTlv(0x04, blob), prkd, fromHex('6710aa'));
  const w5 = decodeWrapFile(cut);
  assert.equal(w5.certificate, undefined);
  assert.ok(w5.warnings.some((m) => /no certificate/.test(m)));

  // Non-minimal length: accepted, reported.
  const w6 = decodeWrapFile(fromHex('30810604040011223 3'.replace(/ /g, '')));
  assert.ok(w6.warnings.some((m) => /minimal DER/.test(m)));
});

test('size limits of sc-hsm-tool are reported', () => {
  const huge = encodeWrapFile({ blob: new Uint8Array(SC_HSM_TOOL_MAX_FILE) });
  const w = decodeWrapFile(huge);
  assert.ok(w.warnings.some((m) => /reads only the first 5852/.test(m)));
  assert.ok(w.warnings.some((m) => /truncates WRAP responses over 1500/.test(m)));
});

test('decoded parts are copies: wiping the input does not change them', () => {
  const bytes = fixtureFile('wrap-rsa2048.bin');
  const w = decodeWrapFile(bytes);
  const before = toHex(w.blob);
  bytes.fill(0);
  assert.equal(toHex(w.blob), before);
});
