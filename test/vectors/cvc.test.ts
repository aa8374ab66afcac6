import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { bigIntToBytes, fromHex, toHex } from '../../protocol/bytes.ts';
import {
  createDeviceCertificates,
  decodeCvCertificate,
  decodeCvCertificates,
  decodeCvRequest,
  describeCvPublicKey,
  ecdsaCvSigner,
  encodeAuthenticatedCvRequest,
  encodeCvBody,
  encodeCvPublicKey,
  serialFromChr,
  signCvBody,
  verifyCvCertificate,
  verifyCvRequest,
  verifyCvSignature,
} from '../../protocol/dkek/cvc.ts';
import { ecCurveByName } from '../../protocol/dkek/ec-curve.ts';
import { decodeWrapFile } from '../../protocol/dkek/wrap-file.ts';
import { FIXTURES, NITROKEY, fixtureFile } from './dkek-fixtures.ts';

/** Concatenated READ BINARY answers for EF `fid` in the first listing of apdu-trace.txt. */
function efFromTrace(fid: string): Uint8Array {
  const lines = readFileSync(new URL('apdu-trace.txt', FIXTURES), 'utf8').split('\n');
  let i = lines.findIndex((l) => l.startsWith(`APDU: 00 A4 00 00 02 ${fid} 00`));
  assert.ok(i >= 0, `SELECT ${fid} in the trace`);
  let hex = '';
  for (i += 2; lines[i]?.startsWith('APDU: 00 B1'); i += 2) {
    const sw = lines[i + 1]!.slice(4).trim().split(' ');
    hex += sw.slice(0, -2).join('');
  }
  return fromHex(hex);
}

const EF_2F02 = efFromTrace('2F 02');

test('Pico HSM device certificate (EF 2F02 in the trace) decodes and verifies', () => {
  assert.equal(EF_2F02.length, 0x1bb);
  const chain = decodeCvCertificates(EF_2F02);
  assert.equal(chain.length, 1, 'Pico stores only its self-signed C_DevAut');
  const c = chain[0]!;
  assert.equal(toHex(c.raw), toHex(EF_2F02));
  assert.equal(c.chr, 'ESPICOHSMTR00001');
  assert.equal(c.car, 'ESPICOHSMTR00001');
  assert.equal(c.profile, 0);
  assert.equal(serialFromChr(c.chr), 'ESPICOHSMTR');
  assert.equal(c.publicKey.type, 'ec');
  assert.equal(c.publicKey.algorithmName, 'id-TA-ECDSA-SHA-256');
  assert.equal(c.publicKey.curve, 'secp256k1');
  assert.equal(describeCvPublicKey(c.publicKey), 'EC secp256k1');
  assert.equal(c.chat?.role, '0.4.0.127.0.7.3.1.2.2');
  assert.equal(toHex(c.chat!.template), '00');
  assert.equal(c.effectiveDate, '230321');
  assert.equal(c.expirationDate, '701231');
  assert.equal(c.signature.length, 64, 'plain r || s');
  assert.ok(verifyCvCertificate(c, c.publicKey), 'self-signature verifies');
  const tampered = EF_2F02.slice();
  tampered[40]! ^= 1;
  assert.equal(verifyCvCertificate(decodeCvCertificate(tampered), c.publicKey), false);
});

const device = decodeCvCertificate(EF_2F02).publicKey;

for (const [file, type, bits] of [['wrap-ec-p256.bin', 'EC P-256', 256], ['wrap-rsa2048.bin', 'RSA 2048 bits', 2048], ['wrap-ec-p256-3share.bin', 'EC P-256', 256]] as const) {
  test(`${file}: the CV request decodes; inner signature by the key, outer by the device key`, () => {
    const req = decodeCvRequest(decodeWrapFile(fixtureFile(file)).certificate!);
    assert.ok(req.authenticated);
    assert.equal(req.request.chr, 'ESPICOHSMTR00001');
    assert.equal(req.request.car, 'UTCA00001', "OpenSC's template CAR is kept");
    assert.equal(req.outerCar, 'ESPICOHSMTR00001');
    assert.equal(describeCvPublicKey(req.request.publicKey), type);
    assert.equal(req.request.publicKey.bits, bits);
    assert.deepEqual(verifyCvRequest(req, device), { inner: true, outer: true });
  });
}

test('the keygen answer in the trace is what OpenSC stored and sc-hsm-tool wrapped', () => {
  // EF CE 00: Pico's own request for the device key (ref 0), self-signed and device-signed.
  const ce00 = decodeCvRequest(efFromTrace('CE 00'));
  assert.equal(ce00.request.publicKey.curve, 'secp256k1');
  assert.equal(toHex(ce00.request.publicKey.point!), toHex(device.point!));
  assert.deepEqual(verifyCvRequest(ce00, device), { inner: true, outer: true });
  const wrapped = decodeWrapFile(fixtureFile('wrap-ec-p256.bin')).certificate!;
  const trace = readFileSync(new URL('apdu-trace.txt', FIXTURES), 'utf8').replace(/ /g, '').toLowerCase();
  assert.ok(trace.includes(toHex(wrapped)), 'the 67 request appears verbatim as the GENERATE answer');
});

test('Nitrokey request (spec §8): secp256k1 with full domain parameters, inner signature verifies', () => {
  const req = decodeCvRequest(decodeWrapFile(NITROKEY.wrapFile).certificate!);
  assert.equal(req.request.publicKey.curve, 'secp256k1');
  assert.equal(req.request.chr, 'DENK010570200001');
  assert.equal(req.outerCar, 'DENK010570200000');
  assert.equal(verifyCvRequest(req).inner, true);
});

test('createDeviceCertificates: C_DevAut + DICA that decode, chain-verify and give OpenSC a serial', () => {
  const deviceKey = bigIntToBytes(0x1234567890abcdefn, 32);
  const dicaKey = bigIntToBytes(0xfedcba0987654321n, 32);
  const { cDevAut, dica, ef2f02 } = createDeviceCertificates({
    deviceChr: 'ESSIMHSM0100001', deviceCurve: 'P-256', deviceKey,
    dicaChr: 'ESSIMDICA00001', dicaCurve: 'P-256', dicaKey,
    effectiveDate: '250101', expirationDate: '491231',
  });
  const [c, d] = decodeCvCertificates(ef2f02);
  assert.equal(toHex(c!.raw), toHex(cDevAut));
  assert.equal(toHex(d!.raw), toHex(dica));
  assert.equal(c!.car, 'ESSIMDICA00001');
  assert.equal(serialFromChr(c!.chr), 'ESSIMHSM01');
  assert.ok(verifyCvCertificate(c!, d!.publicKey), 'C_DevAut is signed by the DICA');
  assert.ok(verifyCvCertificate(d!, d!.publicKey), 'the DICA is self-signed');
  assert.equal(verifyCvCertificate(c!, c!.publicKey), false);
  // deterministic: same inputs, same bytes
  assert.equal(toHex(createDeviceCertificates({ deviceChr: 'ESSIMHSM0100001', deviceCurve: 'P-256', deviceKey, dicaChr: 'ESSIMDICA00001', dicaCurve: 'P-256', dicaKey, effectiveDate: '250101', expirationDate: '491231' }).ef2f02), toHex(ef2f02));
  assert.throws(() => createDeviceCertificates({ deviceChr: 'SHORT01', deviceCurve: 'P-256', deviceKey, dicaChr: 'X', dicaCurve: 'P-256', dicaKey, effectiveDate: '250101', expirationDate: '491231' }), RangeError);
});

test('CV requests for generated EC P-256/P-384 and RSA-2048 keys, as GENERATE ASYMMETRIC KEY PAIR returns them', () => {
  const deviceD = bigIntToBytes(77777n, 32);
  const deviceSigner = ecdsaCvSigner('P-256', deviceD);
  const devicePub = decodeCvCertificate(
    signCvBody(encodeCvBody({ car: 'ESSIMHSM0100001', chr: 'ESSIMHSM0100001', publicKey: encodeCvPublicKey({ type: 'ec', curve: 'P-256', point: ecCurveByName('P-256').impl.Point.BASE.multiply(77777n).toBytes(false) }) }), deviceSigner),
  ).publicKey;
  for (const curve of ['P-256', 'P-384'] as const) {
    const c = ecCurveByName(curve);
    const d = 0xabcdef0123n;
    const body = encodeCvBody({ car: 'UTCA00001', chr: 'ESSIMHSM0100001', publicKey: encodeCvPublicKey({ type: 'ec', curve, point: c.impl.Point.BASE.multiply(d).toBytes(false) }) });
    const req = encodeAuthenticatedCvRequest(signCvBody(body, ecdsaCvSigner(curve, bigIntToBytes(d))), 'ESSIMHSM0100001', deviceSigner);
    const back = decodeCvRequest(req);
    assert.equal(back.request.publicKey.curve, curve);
    assert.equal(back.request.signature.length, 2 * c.orderLength);
    assert.deepEqual(verifyCvRequest(back, devicePub), { inner: true, outer: true });
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const b = (s?: string) => new Uint8Array(Buffer.from(s!, 'base64url'));
  const body = encodeCvBody({ car: 'UTCA00001', chr: 'ESSIMHSM0100001', publicKey: encodeCvPublicKey({ type: 'rsa', modulus: b(jwk.n), exponent: b(jwk.e) }) });
  const rsaReq = encodeAuthenticatedCvRequest(signCvBody(body, (m) => new Uint8Array(nodeSign('sha256', m, privateKey))), 'ESSIMHSM0100001', deviceSigner);
  const back = decodeCvRequest(rsaReq);
  assert.equal(describeCvPublicKey(back.request.publicKey), 'RSA 2048 bits');
  assert.deepEqual(verifyCvRequest(back, devicePub), { inner: true, outer: true });
  const forged = back.request.signature.slice();
  forged[10]! ^= 1;
  assert.equal(verifyCvSignature(back.request.body, forged, back.request.publicKey), false);
});

test('EC keys without domain parameters need the CA curve', () => {
  const d = 4242n;
  const point = ecCurveByName('P-256').impl.Point.BASE.multiply(d).toBytes(false);
  const cert = decodeCvCertificate(signCvBody(encodeCvBody({ car: 'CA0000001', chr: 'HOLDER00001', publicKey: encodeCvPublicKey({ type: 'ec', curve: 'P-256', point, domainParameters: false }) }), ecdsaCvSigner('P-256', bigIntToBytes(d))));
  assert.equal(cert.publicKey.curve, undefined);
  assert.equal(cert.publicKey.hasDomainParameters, false);
  assert.equal(cert.publicKey.bits, 256);
  assert.throws(() => verifyCvCertificate(cert, cert.publicKey), (e: unknown) => (e as { code: string }).code === 'CVC_UNKNOWN_CURVE');
  assert.ok(verifyCvCertificate(cert, cert.publicKey, 'P-256'));
});

test('malformed CV data → CVC_MALFORMED', () => {
  const isMalformed = (e: unknown) => (e as { code: string }).code === 'CVC_MALFORMED';
  assert.throws(() => decodeCvCertificate(fromHex('7f2100')), isMalformed);
  assert.throws(() => decodeCvCertificate(EF_2F02.subarray(0, 100)), isMalformed);
  assert.throws(() => decodeCvRequest(fromHex('3000')), isMalformed);
  assert.throws(() => decodeCvCertificates(fromHex('0000')), isMalformed);
  assert.throws(() => encodeCvBody({ chr: 'x'.repeat(17), publicKey: fromHex('7f4900') }), RangeError);
});
