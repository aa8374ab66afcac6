/**
 * Keys on the simulated card: GENERATE ASYMMETRIC KEY PAIR as OpenSC sends it (EC P-256, P-384,
 * RSA-2048) answering an authenticated CV request signed by the new key and the device key; SIGN
 * in every algorithm, each signature verified with node:crypto; WRAP → UNWRAP into a second card
 * with the same DKEK (inline and staged in EF 2F10); the PRKD/CV request the card writes.
 */
import assert from 'node:assert/strict';
import { createHash, verify as nodeVerify, constants } from 'node:crypto';
import { describe, it } from 'node:test';
import { concatBytes, toHex, utf8 } from '../../protocol/bytes.ts';
import { findTlv, readAllTlvs } from '../../protocol/der.ts';
import { ecCurveByName } from '../../protocol/dkek/ec-curve.ts';
import { decryptKeyBlob, parseKeyBlob } from '../../protocol/dkek/key-blob.ts';
import { combineShares } from '../../protocol/dkek/dkek.ts';
import { decodeCvCertificates, decodeCvRequest, serialFromChr, verifyCvCertificate, verifyCvRequest } from '../../protocol/dkek/cvc.ts';
import type { SimulatedCard } from '../../app/simulator/card-os.ts';
import {
  cmd,
  curveOfPublicKey,
  ecPublicKeyObject,
  expectSw,
  importShare,
  initCard,
  keygenEcApdu,
  keygenRsaApdu,
  login,
  newCard,
  parseRequest,
  readEf,
  rsaPublicKeyObject,
  shareOf,
  signApdu,
  unwrapKey,
  updateApdu,
  wrapKey,
} from './helpers.ts';

const MSG = utf8('the ceremony message');

/** A card initialised with the fixture "one share" DKEK and logged in. */
function readyCard(flavor: 'sc-hsm' | 'pico' = 'sc-hsm', seed = 1): SimulatedCard {
  const card = newCard(flavor, seed);
  initCard(card, { dkekShares: 1 });
  login(card);
  expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
  return card;
}

/** The public key object of a generated key, from its request. */
function publicKeyOf(request: Uint8Array) {
  const r = parseRequest(request);
  const curve = curveOfPublicKey(r.publicKey);
  if (curve) return { r, key: ecPublicKeyObject(curve, findTlv(r.publicKey, 0x86)!.value), curve };
  return { r, key: rsaPublicKeyObject(findTlv(r.publicKey, 0x81)!.value, findTlv(r.publicKey, 0x82)!.value), curve: undefined };
}

/** The device public key from EF 2F02 (first certificate). */
function devicePublicKey(card: SimulatedCard) {
  const all = readEf(card, 0x2f02);
  const cert = readAllTlvs(all)[0]!;
  const body = readAllTlvs(cert.value)[0]!;
  const pk = readAllTlvs(findTlv(readAllTlvs(body.value), 0x7f49)!.value);
  const curve = curveOfPublicKey(pk);
  assert.ok(curve);
  return { curve, q: findTlv(pk, 0x86)!.value };
}

function verifyPlainEcdsa(curveName: string, q: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  const c = ecCurveByName(curveName);
  const digest = createHash('sha256').update(data).digest();
  return c.impl.verify(sig, digest, q, { prehash: false, lowS: false, format: 'compact' });
}

describe('GENERATE ASYMMETRIC KEY PAIR', () => {
  for (const curveName of ['P-256', 'P-384'] as const) {
    it(`EC ${curveName}: answers 67 with CAR/CHR from the template, full domain parameters, both signatures valid`, () => {
      const card = readyCard();
      const curve = ecCurveByName(curveName);
      const res = expectSw(card, keygenEcApdu(1, curve), 0x9000);
      const { r, key } = publicKeyOf(res);
      const fields = r.bodyFields;
      assert.equal(new TextDecoder().decode(findTlv(fields, 0x42)!.value), 'UTCA00001');
      assert.equal(new TextDecoder().decode(findTlv(fields, 0x5f20)!.value), 'DESIM00000000001');
      assert.equal(toHex(findTlv(r.publicKey, 0x06)!.value), '04007f00070202020203');
      assert.equal(findTlv(r.publicKey, 0x81)!.value.length, curve.fieldLength, 'full-length P');
      assert.equal(findTlv(r.publicKey, 0x86)!.value.length, 1 + 2 * curve.fieldLength);
      assert.equal(r.outerCar, card.deviceChr);
      // inner: self-signed by the new key over SHA-256 of the body TLV
      const inner = r.innerSignature;
      assert.equal(inner.length, 2 * curve.orderLength);
      const q = findTlv(r.publicKey, 0x86)!.value;
      assert.ok(curve.impl.verify(inner, createHash('sha256').update(r.bodyBytes).digest(), q, { prehash: false, lowS: false }), 'inner signature');
      const dev = devicePublicKey(card);
      assert.ok(verifyPlainEcdsa(dev.curve.name, dev.q, r.outerSigned, r.outerSignature), 'outer signature by the device key');
      // the key signs verifiably (ECDSA over SHA-256 by the card: 0x73)
      const sig = expectSw(card, signApdu(1, 0x73, MSG), 0x9000);
      assert.ok(nodeVerify(curveName === 'P-256' ? 'sha256' : 'sha256', MSG, { key, dsaEncoding: 'der' }, sig));
    });
  }

  it('RSA-2048 with the template pkcs11-tool sends: 67 with 81 modulus / 82 exponent, PKCS#1 inner signature', () => {
    const card = readyCard();
    const res = expectSw(card, keygenRsaApdu(2), 0x9000);
    const { r, key } = publicKeyOf(res);
    assert.equal(findTlv(r.publicKey, 0x81)!.value.length, 256);
    assert.equal(toHex(findTlv(r.publicKey, 0x82)!.value), '010001');
    assert.ok(nodeVerify('sha256', r.bodyBytes, key, r.innerSignature), 'inner RSA signature');
    // res[0..] begins like the trace's: 67 82 02 A0 7F 21 82 02 46 7F 4E 82 01 3C
    assert.equal(toHex(res.subarray(0, 2)), '6782');
    assert.equal(res.length - 4, (res[2]! << 8) | res[3]!);
  });

  it('overwrites an existing reference; refuses ref 0, no PIN (6982), bad templates (6A80), unknown curves (6A81), odd RSA sizes (6A81)', () => {
    const card = readyCard();
    const p256 = ecCurveByName('P-256');
    const first = expectSw(card, keygenEcApdu(3, p256), 0x9000);
    const second = expectSw(card, keygenEcApdu(3, p256), 0x9000);
    assert.notDeepEqual(first, second);
    expectSw(card, keygenEcApdu(0, p256), 0x6a86);
    expectSw(card, cmd(0, 0x46, 4, 0, utf8('garbage'), 65536, true), 0x6a80);
    expectSw(card, cmd(0, 0x46, 4, 0, Uint8Array.of(0x5f, 0x29, 1, 0), 65536, true), 0x6a80, 'no 7F49');
    const badPrime = keygenEcApdu(4, p256);
    const i = toHex(badPrime).indexOf('8120') / 2 + 2;
    badPrime[i] = 0x12;
    expectSw(card, badPrime, 0x6a81);
    expectSw(card, keygenRsaApdu(4, 2000), 0x6a81);
    // RSA template without exponent and size: the card defaults to 65537 and 2048 bits
    const bare = cmd(0, 0x46, 5, 0, Uint8Array.from(Buffer.from('7f490c060a04007f00070202020102', 'hex')), 65536, true);
    const r = parseRequest(expectSw(card, bare, 0x9000));
    assert.equal(toHex(findTlv(r.publicKey, 0x82)!.value), '010001');
    assert.equal(findTlv(r.publicKey, 0x81)!.value.length, 256);
    const evenE = cmd(0, 0x46, 5, 0, Uint8Array.from(Buffer.from('7f490f060a04007f00070202020102820104', 'hex')), 65536, true);
    expectSw(card, evenE, 0x6a80, 'even public exponent');
    card.reset();
    expectSw(card, '00A404000BE82B0601040181C31F020100', 0x9000);
    expectSw(card, keygenEcApdu(4, p256), 0x6982);
  });

  it('pico flavor writes its own PRKD (28 bytes for ref 1) and the request to CE01, as the trace shows', () => {
    const card = readyCard('pico');
    const res = expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    const prkd = readEf(card, 0xc401);
    assert.equal(prkd.length, 0x1c);
    assert.equal(toHex(prkd), 'a01a' + '3002' + '0c00' + '3008' + '040131' + '0303072080' + 'a10a300830020400' + '02020100');
    assert.deepEqual(readEf(card, 0xce01), res);
    const sc = readyCard();
    expectSw(sc, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(sc, '00A4000002C40100', 0x6a82, 'sc-hsm flavor leaves the PRKD to the host');
  });
});

describe('SIGN', () => {
  it('ECDSA: 0x70 over a host digest and 0x71..0x75 hashing on card, DER output, all verify', () => {
    const card = readyCard();
    const res = expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    const { key } = publicKeyOf(res);
    const digest = createHash('sha256').update(MSG).digest();
    assert.ok(nodeVerify('sha256', MSG, { key, dsaEncoding: 'der' }, expectSw(card, signApdu(1, 0x70, digest), 0x9000)), '0x70');
    for (const [alg, hash] of [[0x71, 'sha1'], [0x72, 'sha224'], [0x73, 'sha256'], [0x74, 'sha384'], [0x75, 'sha512']] as const) {
      const sig = expectSw(card, signApdu(1, alg, MSG), 0x9000);
      assert.equal(sig[0], 0x30, 'DER SEQUENCE');
      assert.ok(nodeVerify(hash, MSG, { key, dsaEncoding: 'der' }, sig), `alg ${alg.toString(16)}`);
    }
    // opensc-tool style short APDU from the trace: 80 68 <ref> 70 20 <32 bytes> 00
    const short = cmd(0x80, 0x68, 1, 0x70, digest, 256);
    assert.ok(nodeVerify('sha256', MSG, { key, dsaEncoding: 'der' }, expectSw(card, short, 0x9000)));
  });

  it('RSA: 0x20 raw, 0x30 DigestInfo, 0x31/0x33 hashing, 0x40/0x41/0x43 PSS — all verify with node:crypto', () => {
    const card = readyCard();
    const { key } = publicKeyOf(expectSw(card, keygenRsaApdu(2), 0x9000));
    const h256 = createHash('sha256').update(MSG).digest();
    const di256 = concatBytes(Uint8Array.from(Buffer.from('3031300d060960864801650304020105000420', 'hex')), h256);
    // 0x20: the host pads (pkcs11-tool SHA256-RSA-PKCS as in the trace: 00 01 FF.. 00 DigestInfo)
    const block = new Uint8Array(256).fill(0xff);
    block[0] = 0;
    block[1] = 1;
    block[256 - di256.length - 1] = 0;
    block.set(di256, 256 - di256.length);
    const pkcs1 = (sig: Uint8Array, hash: string) => nodeVerify(hash, MSG, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
    assert.ok(pkcs1(expectSw(card, signApdu(2, 0x20, block), 0x9000), 'sha256'), '0x20');
    assert.ok(pkcs1(expectSw(card, signApdu(2, 0x30, di256), 0x9000), 'sha256'), '0x30');
    assert.ok(pkcs1(expectSw(card, signApdu(2, 0x31, MSG), 0x9000), 'sha1'), '0x31');
    assert.ok(pkcs1(expectSw(card, signApdu(2, 0x33, MSG), 0x9000), 'sha256'), '0x33');
    const pss = (sig: Uint8Array, hash: string) =>
      nodeVerify(hash, MSG, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, sig);
    assert.ok(pss(expectSw(card, signApdu(2, 0x40, h256), 0x9000), 'sha256'), '0x40');
    assert.ok(pss(expectSw(card, signApdu(2, 0x41, MSG), 0x9000), 'sha1'), '0x41');
    assert.ok(pss(expectSw(card, signApdu(2, 0x43, MSG), 0x9000), 'sha256'), '0x43');
  });

  it('refuses: no PIN 6982, no key 6A88, device key 6985, wrong algorithm for the key type 6A86, bad input 6A80', () => {
    const card = readyCard();
    expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(card, keygenRsaApdu(2), 0x9000);
    expectSw(card, signApdu(9, 0x73, MSG), 0x6a88);
    expectSw(card, signApdu(0, 0x73, MSG), 0x6985);
    expectSw(card, signApdu(1, 0x20, MSG), 0x6a86);
    expectSw(card, signApdu(2, 0x73, MSG), 0x6a86);
    expectSw(card, signApdu(2, 0x20, MSG), 0x6a80, 'raw RSA input must be the modulus length');
    expectSw(card, signApdu(2, 0x40, MSG.subarray(0, 7)), 0x6a80, 'PSS digest of no known length');
    expectSw(card, cmd(0x80, 0x68, 1, 0x70, new Uint8Array(0), 256), 0x6a80);
    card.reset();
    expectSw(card, '00A404000BE82B0601040181C31F020100', 0x9000);
    expectSw(card, signApdu(1, 0x73, MSG), 0x6982);
  });
});

describe('WRAP KEY → UNWRAP KEY', () => {
  it('round-trips EC and RSA keys into a second card with the same DKEK; the restored keys sign verifiably', () => {
    const a = readyCard('sc-hsm', 1);
    const b = readyCard('sc-hsm', 2);
    const ec = publicKeyOf(expectSw(a, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000)).key;
    const rsa = publicKeyOf(expectSw(a, keygenRsaApdu(2), 0x9000)).key;
    const ecBlob = expectSw(a, wrapKey(1), 0x9000);
    const rsaBlob = expectSw(a, wrapKey(2), 0x9000);
    // what a real SmartCard-HSM writes: full-length EC components, RSA-2048 in CRT form, ISO padding
    const dkek = combineShares([shareOf('s1.pbe')]);
    const dec = decryptKeyBlob(ecBlob, dkek);
    assert.equal(dec.ecComponents, 'full');
    assert.equal(dec.padding, 'iso9797-m2');
    assert.equal(parseKeyBlob(rsaBlob).keyType, 6);
    assert.equal(toHex(parseKeyBlob(ecBlob).kcv).toUpperCase(), '1D1083E78237E99D');
    expectSw(b, unwrapKey(10, ecBlob), 0x9000);
    expectSw(b, unwrapKey(11, rsaBlob), 0x9000);
    assert.ok(nodeVerify('sha256', MSG, { key: ec, dsaEncoding: 'der' }, expectSw(b, signApdu(10, 0x73, MSG), 0x9000)));
    assert.ok(nodeVerify('sha256', MSG, { key: rsa, padding: constants.RSA_PKCS1_PADDING }, expectSw(b, signApdu(11, 0x33, MSG), 0x9000)));
    // the second card can wrap the restored key again
    expectSw(b, wrapKey(10), 0x9000);
  });

  it('UNWRAP from the staging EF 2F10 (OpenSC ≥ 0.24: chunks written with D7 2F10, then case-1 74)', () => {
    const a = readyCard('sc-hsm', 1);
    const b = readyCard('sc-hsm', 2);
    const pub = publicKeyOf(expectSw(a, keygenRsaApdu(2), 0x9000)).key;
    const blob = expectSw(a, wrapKey(2), 0x9000);
    const chunk = 1232 - 17 - 8;
    for (let off = 0; off < blob.length; off += chunk) expectSw(b, updateApdu(0x2f10, off, blob.subarray(off, off + chunk)), 0x9000);
    expectSw(b, '80740593', 0x9000);
    assert.ok(nodeVerify('sha256', MSG, { key: pub, padding: constants.RSA_PKCS1_PADDING }, expectSw(b, signApdu(5, 0x33, MSG), 0x9000)));
    expectSw(b, '00A40000022F1000', 0x6a82, 'sc-hsm flavor clears the staging EF after use');
    expectSw(b, '80740693', 0x6a82, 'nothing staged');
  });

  it('UNWRAP writes a firmware PRKD (29 bytes for ref 10, iD "10") and a CV request of the key into CExx', () => {
    const a = readyCard('sc-hsm', 1);
    const b = readyCard('sc-hsm', 2);
    const res = expectSw(a, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(b, unwrapKey(10, expectSw(a, wrapKey(1), 0x9000)), 0x9000);
    const prkd = readEf(b, 0xc40a);
    assert.equal(prkd.length, 29);
    assert.equal(toHex(prkd), 'a01b30020c00300904023130' + '0303072080' + 'a10a30083002040002020100');
    const req = parseRequest(readEf(b, 0xce0a));
    assert.deepEqual(findTlv(req.publicKey, 0x86)!.value, findTlv(parseRequest(res).publicKey, 0x86)!.value, 'same public key');
    assert.equal(req.outerCar, b.deviceChr);
  });

  it('WRAP refuses: no PIN 6982, unknown key 6A88, the device key 6985, P2 ≠ 92 6A86, incomplete DKEK 6A88', () => {
    const card = readyCard();
    expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(card, wrapKey(7), 0x6a88);
    expectSw(card, wrapKey(0), 0x6985);
    expectSw(card, cmd(0x80, 0x72, 1, 0x93, new Uint8Array(0), 65536), 0x6a86);
    card.reset();
    expectSw(card, '00A404000BE82B0601040181C31F020100', 0x9000);
    expectSw(card, wrapKey(1), 0x6982);
    const pending = newCard('sc-hsm', 3);
    initCard(pending, { dkekShares: 2 });
    login(pending);
    expectSw(pending, importShare(shareOf('s1.pbe')), 0x9000);
    expectSw(pending, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(pending, wrapKey(1), 0x6a88);
  });

  it('pico flavor wraps like Pico HSM: minimal EC components, RSA type 5, no padding when aligned', () => {
    const card = readyCard('pico');
    expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(card, keygenRsaApdu(2), 0x9000);
    const dkek = combineShares([shareOf('s1.pbe')]);
    const ec = decryptKeyBlob(expectSw(card, wrapKey(1), 0x9000), dkek);
    assert.equal(ec.ecComponents, 'minimal');
    assert.equal(parseKeyBlob(expectSw(card, wrapKey(2), 0x9000)).keyType, 5);
    expectSw(card, '00E4020002C401', 0x9000);
    expectSw(card, wrapKey(1), 0x6a82, 'Pico needs the PRKD to wrap');
  });
});

describe('device certificates and requests decode with protocol/dkek/cvc.ts', () => {
  it('sc-hsm: EF 2F02 = C_DevAut issued by a self-signed DICA; the serial OpenSC derives is DESIM + 6 digits', () => {
    const card = readyCard();
    const [devAut, dica] = decodeCvCertificates(readEf(card, 0x2f02));
    assert.ok(devAut && dica);
    assert.equal(devAut.chr, card.deviceChr);
    assert.match(serialFromChr(devAut.chr), /^DESIM\d{6}$/);
    assert.equal(devAut.car, dica.chr);
    assert.equal(devAut.publicKey.curve, 'brainpoolP256r1');
    assert.ok(verifyCvCertificate(dica, dica.publicKey), 'DICA self-signed');
    assert.ok(verifyCvCertificate(devAut, dica.publicKey), 'C_DevAut issued by the DICA');
    const req = decodeCvRequest(expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000));
    assert.deepEqual(verifyCvRequest(req, devAut.publicKey), { inner: true, outer: true });
    assert.equal(req.outerCar, card.deviceChr);
  });

  it('pico: a single self-signed secp256k1 C_DevAut with the firmware CHR and dates, like the trace', () => {
    const card = readyCard('pico');
    const certs = decodeCvCertificates(readEf(card, 0x2f02));
    assert.equal(certs.length, 1);
    const c = certs[0]!;
    assert.deepEqual([c.chr, c.car, c.publicKey.curve, c.effectiveDate, c.expirationDate], ['ESPICOHSMTR00001', 'ESPICOHSMTR00001', 'secp256k1', '230321', '701231']);
    assert.ok(verifyCvCertificate(c, c.publicKey));
    const ce00 = decodeCvRequest(readEf(card, 0xce00));
    assert.deepEqual(verifyCvRequest(ce00, c.publicKey), { inner: true, outer: true });
    const rsa = decodeCvRequest(expectSw(card, keygenRsaApdu(2), 0x9000));
    assert.deepEqual(verifyCvRequest(rsa, c.publicKey), { inner: true, outer: true });
  });

  it('GENERATE refuses a template CAR or CHR that is not 1..16 printable characters (6A80)', () => {
    const card = readyCard();
    expectSw(card, keygenEcApdu(1, ecCurveByName('P-256'), 'X'.repeat(17)), 0x6a80);
    expectSw(card, keygenEcApdu(1, ecCurveByName('P-256'), '\u0001BAD'), 0x6a80);
  });
});
