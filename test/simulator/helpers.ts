/**
 * Test helpers for the simulated card: APDU builders in the exact shapes OpenSC sends (spec §3,
 * apdu-trace.txt), a tiny client that checks status words, fixture access, and a CV request
 * reader to verify what the card signs.
 */
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bytesToBigInt, concatBytes, fromHex, toHex, utf8 } from '../../protocol/bytes.ts';
import { findTlv, readAllTlvs, readTlv, type Tlv } from '../../protocol/der.ts';
import { findEcCurve, type EcCurve } from '../../protocol/dkek/ec-curve.ts';
import { encodeCommand, parseResponse } from '../../app/card/apdu.ts';
import { SimulatedCard, type Flavor } from '../../app/simulator/card-os.ts';

export const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url);

export interface FixturesJson {
  shareFiles: { file: string; share: string; kcvAlone: string }[];
  dkeks: { name: string; shares: string[]; kcv: string }[];
  wrapFiles: { file: string; dkek: string; kcv: string; keyType: string; curve?: string; bits?: number; id: string; keyReference: number }[];
}

export const fixtures: FixturesJson = JSON.parse(readFileSync(new URL('fixtures.json', FIXTURES), 'utf8'));

export function fixtureFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

export function shareOf(file: string): Uint8Array {
  const s = fixtures.shareFiles.find((x) => x.file === file);
  assert.ok(s, `no share ${file} in fixtures.json`);
  return fromHex(s.share);
}

/** The device-under-test credentials of the fixtures. */
export const PIN = utf8('648219');
export const SO_PIN = fromHex('3537363231383830');

/** A card manufactured from a small fixed seed. */
export function newCard(flavor: Flavor = 'sc-hsm', seed = 1): SimulatedCard {
  return SimulatedCard.create({ flavor, seed: Uint8Array.of(seed) });
}

/** A decoded response. */
export interface Res {
  data: Uint8Array;
  sw: number;
}

/** Sends raw bytes (or hex) to a card. */
export function send(card: SimulatedCard, apdu: Uint8Array | string): Res {
  const bytes = typeof apdu === 'string' ? fromHex(apdu) : apdu;
  return parseResponse(card.process(bytes));
}

/** Sends and asserts the status word; returns the data. */
export function expectSw(card: SimulatedCard, apdu: Uint8Array | string, sw: number, what = ''): Uint8Array {
  const r = send(card, apdu);
  assert.equal(r.sw.toString(16), sw.toString(16), `${what} ${typeof apdu === 'string' ? apdu : toHex(apdu.subarray(0, 4))}: SW`);
  assert.equal(card.lastInternalError, undefined, 'no internal error');
  return r.data;
}

export const SC_HSM_AID_HEX = 'E82B0601040181C31F0201';
export const SELECT_APPLET = `00A404000B${SC_HSM_AID_HEX}00`;

export function cmd(cla: number, ins: number, p1: number, p2: number, data: Uint8Array = new Uint8Array(0), le: number | null = null, extended = false): Uint8Array {
  return encodeCommand({ cla, ins, p1, p2, data, le, extended });
}

export const verifyPin = (pin: Uint8Array = PIN): Uint8Array => cmd(0x00, 0x20, 0x00, 0x81, pin);
export const dkekStatus = (): Uint8Array => fromHex('8052000000');
export const importShare = (share: Uint8Array): Uint8Array => cmd(0x80, 0x52, 0, 0, share, 256);
export const wrapKey = (ref: number): Uint8Array => cmd(0x80, 0x72, ref, 0x92, new Uint8Array(0), 65536);
export const unwrapKey = (ref: number, blob: Uint8Array): Uint8Array => cmd(0x80, 0x74, ref, 0x93, blob, null, true);
export const signApdu = (ref: number, alg: number, data: Uint8Array): Uint8Array => cmd(0x80, 0x68, ref, alg, data, 65536, true);

/** INITIALIZE exactly as sc-hsm-tool builds it (spec §6). */
export function initializeApdu(o: { pin?: Uint8Array; so?: Uint8Array; retries?: number; dkekShares?: number; options?: number } = {}): Uint8Array {
  const pin = o.pin ?? PIN;
  const so = o.so ?? SO_PIN;
  const opts = o.options ?? 1;
  const parts = [Uint8Array.of(0x80, 0x02, opts >> 8, opts & 0xff), Uint8Array.of(0x81, pin.length), pin, Uint8Array.of(0x82, 0x08), so, Uint8Array.of(0x91, 0x01, o.retries ?? 3)];
  if (o.dkekShares !== undefined) parts.push(Uint8Array.of(0x92, 0x01, o.dkekShares));
  return cmd(0x80, 0x50, 0, 0, concatBytes(...parts));
}

/** Selects the applet and initialises the card; leaves a fresh session (card reset). */
export function initCard(card: SimulatedCard, o: { dkekShares?: number; retries?: number } = {}): void {
  card.reset();
  expectSw(card, SELECT_APPLET, 0x9000);
  expectSw(card, initializeApdu(o), 0x9000, 'INITIALIZE');
  card.reset();
  expectSw(card, SELECT_APPLET, 0x9000);
}

/** Resets the card, selects the applet and verifies the user PIN. */
export function login(card: SimulatedCard): void {
  card.reset();
  expectSw(card, SELECT_APPLET, 0x9000);
  expectSw(card, verifyPin(), 0x9000, 'VERIFY');
}

/** Reads a whole EF the way OpenSC does (SELECT, then READ BINARY in 256-byte steps). */
export function readEf(card: SimulatedCard, fid: number): Uint8Array {
  expectSw(card, cmd(0, 0xa4, 0, 0, Uint8Array.of(fid >> 8, fid & 0xff), 256), 0x9000, `SELECT ${fid.toString(16)}`);
  const parts: Uint8Array[] = [];
  for (let off = 0; ; off += 256) {
    const d = expectSw(card, cmd(0, 0xb1, 0, 0, Uint8Array.of(0x54, 0x02, off >> 8, off & 0xff), 256), 0x9000, 'READ BINARY');
    if (d.length === 0) break;
    parts.push(d);
    if (d.length < 256) break;
  }
  return concatBytes(...parts);
}

/** UPDATE BINARY (odd INS) with the offset/data wrapper. */
export function updateApdu(fid: number, offset: number, data: Uint8Array): Uint8Array {
  const len = data.length < 128 ? Uint8Array.of(data.length) : data.length < 256 ? Uint8Array.of(0x81, data.length) : Uint8Array.of(0x82, data.length >> 8, data.length & 0xff);
  return cmd(0x00, 0xd7, fid >> 8, fid & 0xff, concatBytes(Uint8Array.of(0x54, 0x02, offset >> 8, offset & 0xff, 0x53), len, data));
}

/** GENERATE ASYMMETRIC KEY PAIR with OpenSC's EC template for `curve`. */
export function keygenEcApdu(ref: number, curve: EcCurve, chr = 'DESIM00000000001'): Uint8Array {
  const field = (v: bigint, n: number): Uint8Array => fromHex(v.toString(16).padStart(2 * n, '0'));
  const tlv = (tag: number, v: Uint8Array): Uint8Array => {
    const t = tag > 0xff ? Uint8Array.of(tag >> 8, tag & 0xff) : Uint8Array.of(tag);
    const l = v.length < 128 ? Uint8Array.of(v.length) : v.length < 256 ? Uint8Array.of(0x81, v.length) : Uint8Array.of(0x82, v.length >> 8, v.length & 0xff);
    return concatBytes(t, l, v);
  };
  const pub = tlv(
    0x7f49,
    concatBytes(
      tlv(0x06, fromHex('04007f00070202020203')),
      tlv(0x81, field(curve.p, curve.fieldLength)),
      tlv(0x82, field(curve.a, curve.fieldLength)),
      tlv(0x83, field(curve.b, curve.fieldLength)),
      tlv(0x84, curve.g),
      tlv(0x85, field(curve.n, curve.orderLength)),
      tlv(0x87, Uint8Array.of(1)),
    ),
  );
  const body = concatBytes(tlv(0x5f29, Uint8Array.of(0)), tlv(0x42, utf8('UTCA00001')), pub, tlv(0x5f20, utf8(chr)));
  return cmd(0x00, 0x46, ref, 0x00, body, 65536, true);
}

/** GENERATE ASYMMETRIC KEY PAIR with OpenSC's RSA template (from apdu-trace.txt). */
export function keygenRsaApdu(ref: number, bits = 2048): Uint8Array {
  const body = fromHex(
    '5F29 01 00 42 09 55 54 43 41 30 30 30 30 31 7F 49 15 06 0A 04 00 7F 00 07 02 02 02 01 02 82 03 01 00 01 02 02' +
      (bits >> 8).toString(16).padStart(2, '0') + (bits & 0xff).toString(16).padStart(2, '0') +
      '5F 20 10 45 53 50 49 43 4F 48 53 4D 54 52 30 30 30 30 31',
  );
  return cmd(0x00, 0x46, ref, 0x00, body, 65536, true);
}

/** The parts of an authenticated request `67 { 7F21 { 7F4E, 5F37 }, 42, 5F37 }`. */
export interface ParsedRequest {
  cert: Tlv;
  body: Tlv;
  bodyFields: Tlv[];
  publicKey: Tlv[];
  innerSignature: Uint8Array;
  /** the 7F4E body TLV bytes (what the inner signature covers) */
  bodyBytes: Uint8Array;
  outerCar: string;
  outerSignature: Uint8Array;
  /** bytes the outer signature covers */
  outerSigned: Uint8Array;
}

export function parseRequest(bytes: Uint8Array): ParsedRequest {
  const outer = readTlv(bytes);
  assert.equal(outer.tag, 0x67, 'authenticated request tag 67');
  assert.equal(outer.totalLength, bytes.length, 'no bytes after the request');
  const parts = readAllTlvs(outer.value);
  const cert = parts[0]!;
  assert.equal(cert.tag, 0x7f21);
  const certParts = readAllTlvs(cert.value);
  const body = certParts[0]!;
  assert.equal(body.tag, 0x7f4e);
  const bodyFields = readAllTlvs(body.value);
  const pk = findTlv(bodyFields, 0x7f49);
  assert.ok(pk, '7F49 present');
  const car = parts[1]!;
  assert.equal(car.tag, 0x42);
  assert.equal(parts[2]!.tag, 0x5f37);
  return {
    cert,
    body,
    bodyFields,
    publicKey: readAllTlvs(pk.value),
    innerSignature: certParts[1]!.value,
    bodyBytes: cert.value.subarray(body.offset, body.offset + body.totalLength),
    outerCar: new TextDecoder().decode(car.value),
    outerSignature: parts[2]!.value,
    outerSigned: outer.value.subarray(0, cert.totalLength + car.totalLength),
  };
}

/** A node:crypto public key for an EC point on `curve` (named curves node supports). */
export function ecPublicKeyObject(curve: EcCurve, q: Uint8Array): KeyObject {
  const names: Record<string, string> = { 'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521', secp256k1: 'secp256k1' };
  const crv = names[curve.name];
  assert.ok(crv, `node:crypto JWK curve for ${curve.name}`);
  const half = (q.length - 1) / 2;
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv, x: b64(q.subarray(1, 1 + half)), y: b64(q.subarray(1 + half)) }, format: 'jwk' });
}

/** A node:crypto RSA public key. */
export function rsaPublicKeyObject(n: Uint8Array, e: Uint8Array): KeyObject {
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n: b64(n), e: b64(e) }, format: 'jwk' });
}

/** The curve of a CV public key (7F49 children), or undefined for RSA. */
export function curveOfPublicKey(pk: Tlv[]): EcCurve | undefined {
  const p = findTlv(pk, 0x81);
  if (!findTlv(pk, 0x86) || !p) return undefined;
  return findEcCurve({ p: p.value, a: findTlv(pk, 0x82)?.value, b: findTlv(pk, 0x83)?.value, n: findTlv(pk, 0x85)?.value, g: findTlv(pk, 0x84)?.value });
}

/** Integer value of big-endian bytes (re-exported for tests). */
export const big = bytesToBigInt;
