import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import { decodePrkd, encodeOpenscPrkd, encodePicoPrkd } from '../../protocol/dkek/prkd.ts';
import { decodeWrapFile } from '../../protocol/dkek/wrap-file.ts';
import { NITROKEY, fixtureFile } from './dkek-fixtures.ts';

const hex = (s: string) => fromHex(s.replace(/\s/g, ''));

// EF C4 contents as read in apdu-trace.txt (OpenSC 0.23.0 + Pico HSM 6.6).
const TRACE_DEVICE = hex('A0 38 30 0D 0C 0B 45 53 50 49 43 4F 48 53 4D 54 52 30 1B 04 14 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 03 07 20 80 A1 0A 30 08 30 02 04 00 02 02 01 00');
const TRACE_K1 = hex('A0 26 30 0B 0C 02 6B 31 03 02 06 C0 04 01 01 30 0B 04 01 01 03 03 07 30 80 02 01 01 A1 0A 30 08 30 02 04 00 02 02 01 00');
const TRACE_R1 = hex('30 25 30 0B 0C 02 72 31 03 02 06 C0 04 01 01 30 0A 04 01 02 03 02 04 70 02 01 02 A1 0A 30 08 30 02 04 00 02 02 08 00');

test('decodes the PRKDs of the trace: device key, EC k1, RSA r1', () => {
  assert.deepEqual(decodePrkd(TRACE_DEVICE), {
    keyType: 'ec', tag: 0xa0, label: 'ESPICOHSMTR', id: new Uint8Array(20), idHex: '00'.repeat(20), usage: ['sign', 'derive'], keySize: 256,
  });
  const k1 = decodePrkd(TRACE_K1);
  assert.equal(k1.keyType, 'ec');
  assert.equal(k1.label, 'k1');
  assert.equal(k1.idHex, '01');
  assert.equal(k1.keyReference, 1);
  assert.equal(k1.keySize, 256);
  assert.deepEqual(k1.usage, ['sign', 'signRecover', 'derive']);
  const r1 = decodePrkd(TRACE_R1);
  assert.equal(r1.keyType, 'rsa');
  assert.equal(r1.label, 'r1');
  assert.equal(r1.idHex, '02');
  assert.equal(r1.keyReference, 2);
  assert.equal(r1.keySize, 2048);
  assert.deepEqual(r1.usage, ['decrypt', 'sign', 'signRecover']);
});

test('wrap fixtures carry the PRKD OpenSC wrote; Nitrokey PRKD has a 20-byte ID and an authId', () => {
  assert.equal(toHex(decodeWrapFile(fixtureFile('wrap-ec-p256.bin')).prkd!), toHex(TRACE_K1));
  assert.equal(toHex(decodeWrapFile(fixtureFile('wrap-rsa2048.bin')).prkd!), toHex(TRACE_R1));
  const n = decodePrkd(decodeWrapFile(NITROKEY.wrapFile).prkd!);
  assert.equal(n.keyType, 'ec');
  assert.equal(n.label, 'btc-test');
  assert.equal(n.id.length, 20);
  assert.equal(n.keyReference, 1);
  assert.equal(n.keySize, 256);
});

test('encodeOpenscPrkd reproduces what OpenSC wrote after keygen', () => {
  assert.equal(toHex(encodeOpenscPrkd({ keyType: 'ec', label: 'k1', id: fromHex('01'), keyReference: 1, keySize: 256 })), toHex(TRACE_K1));
  assert.equal(toHex(encodeOpenscPrkd({ keyType: 'rsa', label: 'r1', id: fromHex('02'), keyReference: 2, keySize: 2048 })), toHex(TRACE_R1));
});

test('encodePicoPrkd: empty label, decimal-reference ID (firmware source); sizes as the trace FCPs show', () => {
  // FCP sizes after Pico keygen/unwrap: C4 01 = 0x1C (EC), C4 02 = 0x1B (RSA), C4 0A = 0x1D (EC), C4 0B = 0x1C (RSA).
  const cases: [('ec' | 'rsa'), number, number, number][] = [['ec', 1, 256, 0x1c], ['rsa', 2, 2048, 0x1b], ['ec', 10, 256, 0x1d], ['rsa', 11, 2048, 0x1c]];
  for (const [keyType, keyReference, keySize, len] of cases) {
    const p = encodePicoPrkd({ keyType, keyReference, keySize });
    assert.equal(p.length, len, `${keyType} ${keyReference}`);
    const d = decodePrkd(p);
    assert.equal(d.keyType, keyType);
    assert.equal(d.label, '');
    assert.equal(d.idHex, Buffer.from(String(keyReference)).toString('hex'));
    assert.equal(d.keyReference, undefined);
    assert.equal(d.keySize, keySize);
  }
  const ec10 = encodePicoPrkd({ keyType: 'ec', keyReference: 10, keySize: 256 });
  assert.equal(toHex(ec10), 'a01b' + '3002' + '0c00' + '3009' + '04023130' + '0303072080' + 'a10a300830020400020201' + '00');
  const aes = decodePrkd(encodePicoPrkd({ keyType: 'aes', keyReference: 3, keySize: 256 }));
  assert.equal(aes.keyType, 'aes');
  assert.equal(aes.keySize, 256);
  assert.deepEqual(aes.usage, ['encrypt', 'decrypt']);
});

test('malformed PRKDs → PRKD_MALFORMED; bad encoder input → TypeError/RangeError', () => {
  for (const bad of ['', 'a000', 'a003300100', 'a0053003020101', '0401aa', 'a00a30000c']) {
    assert.throws(() => decodePrkd(hex(bad)), (e: unknown) => (e as { code: string }).code === 'PRKD_MALFORMED', bad);
  }
  assert.throws(() => encodeOpenscPrkd({ keyType: 'ec', label: '', id: new Uint8Array(1), keyReference: 1, keySize: 256 }), TypeError);
  assert.throws(() => encodeOpenscPrkd({ keyType: 'ec', label: 'x', id: new Uint8Array(1), keyReference: 0, keySize: 256 }), RangeError);
  assert.throws(() => encodePicoPrkd({ keyType: 'dsa' as 'ec', keyReference: 1, keySize: 1 }), TypeError);
});
