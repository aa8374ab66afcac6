/**
 * UNWRAP KEY against real backups: the fixture wrap files (made by a Pico HSM through OpenSC)
 * restore into the simulator initialised with the fixture DKEK, and the restored keys sign
 * verifiably with the public key from the file's own CV request. Refusals — foreign KCV, flipped
 * MAC, damaged blob, wrong P2, no PIN, no DKEK — leave the card exactly as it was.
 */
import assert from 'node:assert/strict';
import { constants, verify as nodeVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import { utf8 } from '../../protocol/bytes.ts';
import { findTlv, readAllTlvs, readTlv } from '../../protocol/der.ts';
import type { SimulatedCard } from '../../app/simulator/card-os.ts';
import {
  cmd,
  curveOfPublicKey,
  ecPublicKeyObject,
  expectSw,
  fixtureFile,
  fixtures,
  importShare,
  initCard,
  login,
  newCard,
  parseRequest,
  rsaPublicKeyObject,
  shareOf,
  signApdu,
  unwrapKey,
  verifyPin,
} from './helpers.ts';

const MSG = utf8('restored key, signing after a backup and restore');

/** The blob, PRKD and certificate of a wrap file (spec §4). */
function splitWrapFile(file: Uint8Array): { blob: Uint8Array; prkd: Uint8Array; cert: Uint8Array } {
  const outer = readTlv(file);
  assert.equal(outer.tag, 0x30);
  const [blob, prkd, cert] = readAllTlvs(outer.value);
  assert.equal(blob!.tag, 0x04);
  return { blob: blob!.value, prkd: outer.value.subarray(prkd!.offset, prkd!.offset + prkd!.totalLength), cert: outer.value.subarray(cert!.offset, cert!.offset + cert!.totalLength) };
}

/** A logged-in card holding the fixture DKEK `name`. */
function cardWithDkek(name: string, flavor: 'sc-hsm' | 'pico' = 'sc-hsm'): SimulatedCard {
  const shares = fixtures.dkeks.find((d) => d.name === name)!.shares;
  const card = newCard(flavor, 11);
  initCard(card, { dkekShares: shares.length });
  login(card);
  for (const f of shares) expectSw(card, importShare(shareOf(f)), 0x9000);
  if (flavor === 'pico') expectSw(card, verifyPin(), 0x9000); // commit, as the fixtures README advises
  return card;
}

describe('fixture wrap files restore into the simulator', () => {
  for (const w of fixtures.wrapFiles) {
    for (const flavor of ['sc-hsm', 'pico'] as const) {
      it(`${w.file} (${w.keyType}, DKEK "${w.dkek}") unwraps on a ${flavor} card and signs verifiably`, () => {
        const card = cardWithDkek(w.dkek, flavor);
        const { blob, cert } = splitWrapFile(fixtureFile(w.file));
        expectSw(card, unwrapKey(20, blob), 0x9000);
        const pk = parseRequest(cert).publicKey;
        const curve = curveOfPublicKey(pk);
        if (w.keyType === 'EC') {
          assert.equal(curve?.name, w.curve);
          const key = ecPublicKeyObject(curve!, findTlv(pk, 0x86)!.value);
          const sig = expectSw(card, signApdu(20, 0x73, MSG), 0x9000);
          assert.ok(nodeVerify('sha256', MSG, { key, dsaEncoding: 'der' }, sig));
        } else {
          const key = rsaPublicKeyObject(findTlv(pk, 0x81)!.value, findTlv(pk, 0x82)!.value);
          assert.equal(findTlv(pk, 0x81)!.value.length * 8, w.bits);
          const sig = expectSw(card, signApdu(20, 0x33, MSG), 0x9000);
          assert.ok(nodeVerify('sha256', MSG, { key, padding: constants.RSA_PKCS1_PADDING }, sig));
        }
      });
    }
  }

  it('the OpenSC 0.23 APDU of the trace (extended case 3, 80 74 0A 93 00 01 4B …) is accepted as is', () => {
    const card = cardWithDkek('one share');
    const { blob } = splitWrapFile(fixtureFile('wrap-ec-p256.bin'));
    const apdu = new Uint8Array([0x80, 0x74, 0x0a, 0x93, 0x00, blob.length >> 8, blob.length & 0xff, ...blob]);
    expectSw(card, apdu, 0x9000);
  });
});

describe('refused UNWRAP leaves the card unchanged', () => {
  const { blob } = splitWrapFile(fixtureFile('wrap-ec-p256.bin'));

  function refusedUnchanged(card: SimulatedCard, apdu: Uint8Array, sw: number, what: string): void {
    const before = card.snapshot();
    expectSw(card, apdu, sw, what);
    const after = card.snapshot();
    assert.deepEqual(after, before, `${what}: state unchanged`);
  }

  it('foreign KCV: sc-hsm 6A80, pico 6400 — and, unlike the firmware, nothing is damaged', () => {
    const sc = cardWithDkek('three shares');
    refusedUnchanged(sc, unwrapKey(10, blob), 0x6a80, 'sc-hsm foreign KCV');
    const pico = cardWithDkek('three shares', 'pico');
    refusedUnchanged(pico, unwrapKey(20, blob), 0x6400, 'pico foreign KCV (trace: 64 00)');
    // Pico firmware would now answer WRAP with 6A88; the simulator keeps working.
    const { blob: own } = splitWrapFile(fixtureFile('wrap-ec-p256-3share.bin'));
    expectSw(pico, unwrapKey(10, own), 0x9000);
    expectSw(pico, cmd(0x80, 0x72, 10, 0x92, new Uint8Array(0), 65536), 0x9000);
  });

  it('flipped MAC byte, flipped ciphertext byte, truncated blob, unknown key type', () => {
    const card = cardWithDkek('one share');
    const mac = blob.slice();
    mac[mac.length - 1]! ^= 1;
    refusedUnchanged(card, unwrapKey(10, mac), 0x6a80, 'MAC');
    const ct = blob.slice();
    ct[40]! ^= 0x80;
    refusedUnchanged(card, unwrapKey(10, ct), 0x6a80, 'ciphertext');
    refusedUnchanged(card, unwrapKey(10, blob.subarray(0, 30)), 0x6a80, 'truncated');
    const type = blob.slice();
    type[8] = 0x07;
    refusedUnchanged(card, unwrapKey(10, type), 0x6a80, 'key type (the MAC no longer matches either)');
    const pico = cardWithDkek('one share', 'pico');
    refusedUnchanged(pico, unwrapKey(10, mac), 0x6400, 'pico MAC');
  });

  it('no PIN (6982), key reference 0 or P2 ≠ 93 (6A86), no DKEK (6A88; pico 6400)', () => {
    const card = cardWithDkek('one share');
    refusedUnchanged(card, cmd(0x80, 0x74, 10, 0x92, blob, null, true), 0x6a86, 'P2');
    refusedUnchanged(card, unwrapKey(0, blob), 0x6a86, 'ref 0');
    card.reset();
    expectSw(card, '00A404000BE82B0601040181C31F020100', 0x9000);
    refusedUnchanged(card, unwrapKey(10, blob), 0x6982, 'no PIN');
    const none = newCard('sc-hsm', 12);
    initCard(none);
    login(none);
    refusedUnchanged(none, unwrapKey(10, blob), 0x6a88, 'no DKEK');
    const pico = newCard('pico', 12);
    initCard(pico);
    login(pico);
    refusedUnchanged(pico, unwrapKey(10, blob), 0x6400, 'pico no DKEK');
  });

  it('an existing key at the reference survives a refused UNWRAP', () => {
    const card = cardWithDkek('one share');
    expectSw(card, unwrapKey(10, blob), 0x9000);
    const before = expectSw(card, cmd(0x80, 0x72, 10, 0x92, new Uint8Array(0), 65536), 0x9000);
    const bad = blob.slice();
    bad[bad.length - 3]! ^= 0xff;
    expectSw(card, unwrapKey(10, bad), 0x6a80);
    assert.equal(expectSw(card, cmd(0x80, 0x72, 10, 0x92, new Uint8Array(0), 65536), 0x9000).length, before.length, 'key still wrappable');
    expectSw(card, signApdu(10, 0x73, MSG), 0x9000);
  });
});
