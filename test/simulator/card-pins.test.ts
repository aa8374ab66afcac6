/**
 * INITIALIZE and the PIN commands of the simulated card: PIN status (63Cx / 9000 / 6983 / 6A88),
 * VERIFY, retry counting and blocking, CHANGE REFERENCE DATA, RESET RETRY COUNTER with the
 * SO-PIN, transport PIN, re-initialisation with the right and the wrong SO-PIN, and session
 * resets (card reset, re-SELECT in the sc-hsm flavor, new transport connection).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, fromHex, utf8 } from '../../protocol/bytes.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { cmd, expectSw, initCard, initializeApdu, login, newCard, PIN, SELECT_APPLET, SO_PIN, updateApdu, verifyPin } from './helpers.ts';

const WRONG = utf8('000000');

describe('INITIALIZE', () => {
  it('a fresh card has no PINs: SO and user status answer 6A88, VERIFY too', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '00200088', 0x6a88);
    expectSw(card, '00200081', 0x6a88);
    expectSw(card, verifyPin(), 0x6a88);
    expectSw(card, '00200085', 0x6a88, 'biometric slot 85');
    expectSw(card, '00200086', 0x6a88, 'biometric slot 86');
  });

  it('accepts exactly what sc-hsm-tool sends (trace bytes) and sets PIN, SO-PIN, retries', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920101'.replace(/ /g, ''), 0x9000);
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '00200088', 0x63cf, 'SO-PIN: 15 tries');
    expectSw(card, '00200081', 0x63c3, 'user PIN: 3 tries');
  });

  it('validates every TLV before changing anything', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    const base = [Uint8Array.of(0x80, 2, 0, 1), Uint8Array.of(0x81, 6), PIN, Uint8Array.of(0x82, 8), SO_PIN];
    const init = (...extra: Uint8Array[]) => cmd(0x80, 0x50, 0, 0, concatBytes(...base, ...extra));
    expectSw(card, cmd(0x80, 0x50, 0, 0, concatBytes(Uint8Array.of(0x81, 5), utf8('12345'), Uint8Array.of(0x82, 8), SO_PIN)), 0x6a80, 'PIN shorter than 6');
    expectSw(card, cmd(0x80, 0x50, 0, 0, concatBytes(Uint8Array.of(0x81, 6), PIN, Uint8Array.of(0x82, 7), SO_PIN.subarray(1))), 0x6a80, 'SO-PIN not 8 bytes');
    expectSw(card, cmd(0x80, 0x50, 0, 0, concatBytes(Uint8Array.of(0x81, 6), PIN)), 0x6a80, 'no SO-PIN');
    expectSw(card, init(Uint8Array.of(0x91, 1, 0)), 0x6a80, 'zero retries');
    expectSw(card, init(Uint8Array.of(0x91, 1, 11)), 0x6a80, 'more than 10 retries');
    expectSw(card, init(Uint8Array.of(0x93, 2, 3, 2)), 0x6a81, 'public-key authentication is not emulated');
    expectSw(card, init(Uint8Array.of(0x95, 2, 1, 2)), 0x6a81, 'bio server not emulated');
    expectSw(card, init(Uint8Array.of(0x97, 1, 2)), 0x6a81, 'key domains not emulated');
    expectSw(card, init(Uint8Array.of(0x99, 1, 2)), 0x6a80, 'unknown tag');
    expectSw(card, cmd(0x80, 0x50, 0, 0, fromHex('8102')), 0x6a80, 'truncated TLV');
    expectSw(card, '8050000000'.slice(0, 8), 0x6700, 'no data');
    expectSw(card, cmd(0x80, 0x50, 1, 0, concatBytes(...base)), 0x6a86);
    expectSw(card, '00200088', 0x6a88, 'still uninitialised');
  });

  it('re-initialisation needs the right SO-PIN: a wrong one costs a try (63Cx) and changes nothing else', () => {
    const card = newCard();
    initCard(card, { dkekShares: 1 });
    login(card);
    expectSw(card, updateApdu(0xc401, 0, Uint8Array.of(1, 2)), 0x9000);
    expectSw(card, initializeApdu({ so: fromHex('0102030405060708') }), 0x63ce);
    expectSw(card, '00200088', 0x63ce);
    expectSw(card, verifyPin(), 0x9000, 'user PIN unchanged');
    expectSw(card, '00A4000002C40100', 0x9000, 'files kept');
    expectSw(card, initializeApdu({ pin: utf8('123456'), dkekShares: 2 }), 0x9000);
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '00200088', 0x63cf, 'a right SO-PIN resets the SO counter');
    expectSw(card, verifyPin(), 0x63c2, 'old user PIN is gone');
    expectSw(card, verifyPin(utf8('123456')), 0x9000);
    expectSw(card, '00A4000002C40100', 0x6a82, 'host files wiped');
    assert.deepEqual(card.keyRefsForTests(), [0], 'only the device key survives');
    assert.equal(expectSw(card, '8052000000', 0x9000)[0], 2, 'new DKEK configuration');
  });

  it('a blocked SO-PIN refuses re-initialisation with 6983', () => {
    const card = newCard();
    initCard(card);
    const wrong = fromHex('0102030405060708');
    for (let i = 14; i >= 1; i--) expectSw(card, initializeApdu({ so: wrong }), 0x63c0 | i);
    expectSw(card, initializeApdu({ so: wrong }), 0x6983);
    expectSw(card, initializeApdu(), 0x6983, 'even the right SO-PIN');
    expectSw(card, '00200088', 0x6983);
  });
});

describe('VERIFY', () => {
  it('counts down, blocks at zero (6983), and a right PIN resets the counter', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, verifyPin(WRONG), 0x63c2);
    expectSw(card, '00200081', 0x63c2);
    expectSw(card, verifyPin(), 0x9000);
    expectSw(card, '00200081', 0x9000, 'verified in this session');
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '00200081', 0x63c3, 'counter back to 3, session gone');
    expectSw(card, verifyPin(WRONG), 0x63c2);
    expectSw(card, verifyPin(WRONG), 0x63c1);
    expectSw(card, verifyPin(WRONG), 0x6983);
    expectSw(card, verifyPin(), 0x6983, 'blocked: even the right PIN');
    expectSw(card, '00200081', 0x6983);
  });

  it('a wrong PIN ends the verified state', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, verifyPin(), 0x9000);
    expectSw(card, verifyPin(WRONG), 0x63c2);
    expectSw(card, '00200081', 0x63c2);
    expectSw(card, updateApdu(0xc401, 0, Uint8Array.of(1)), 0x6982);
  });

  it('honours the retry limit of tag 91', () => {
    const card = newCard();
    initCard(card, { retries: 5 });
    expectSw(card, '00200081', 0x63c5);
  });

  it('refuses P1 ≠ 0 and PINs over 16 bytes without costing a try', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, cmd(0, 0x20, 1, 0x81, PIN), 0x6a86);
    expectSw(card, verifyPin(new Uint8Array(17)), 0x6700);
    expectSw(card, '00200081', 0x63c3);
  });

  it('sc-hsm flavor: re-SELECT of the applet logs the user out (OpenSC logout); pico keeps the session', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, verifyPin(), 0x9000);
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '00200081', 0x63c3);
    const pico = newCard('pico');
    initCard(pico);
    expectSw(pico, verifyPin(), 0x9000);
    expectSw(pico, SELECT_APPLET, 0x9000);
    expectSw(pico, '00200081', 0x9000);
  });

  it('pico flavor: INITIALIZE leaves the host logged in, as the firmware does', () => {
    const pico = newCard('pico');
    expectSw(pico, SELECT_APPLET, 0x9000);
    expectSw(pico, initializeApdu(), 0x9000);
    expectSw(pico, '00200081', 0x9000);
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, initializeApdu(), 0x9000);
    expectSw(card, '00200081', 0x63c3);
  });

  it('a new transport connection starts a new session', async () => {
    const card = newCard();
    initCard(card);
    expectSw(card, verifyPin(), 0x9000);
    const t = new SimulatorTransport(card);
    assert.equal((await t.transmit(fromHex(SELECT_APPLET))).at(-2), 0x90);
    const r = await t.transmit(fromHex('00200081'));
    assert.deepEqual([...r], [0x63, 0xc3]);
  });

  it('SO-PIN VERIFY and status', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, cmd(0, 0x20, 0, 0x88, fromHex('0102030405060708')), 0x63ce);
    expectSw(card, cmd(0, 0x20, 0, 0x88, SO_PIN), 0x9000);
    expectSw(card, '00200088', 0x9000);
  });
});

describe('CHANGE REFERENCE DATA', () => {
  it('changes the user PIN with old || new; a wrong old PIN costs a try', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, cmd(0, 0x24, 0, 0x81, concatBytes(WRONG, utf8('654321'))), 0x63c2);
    expectSw(card, cmd(0, 0x24, 0, 0x81, concatBytes(PIN, utf8('654321'))), 0x9000);
    expectSw(card, '00200081', 0x9000, 'changing verifies');
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, verifyPin(), 0x63c2);
    expectSw(card, verifyPin(utf8('654321')), 0x9000);
    expectSw(card, cmd(0, 0x24, 0, 0x81, concatBytes(utf8('654321'), utf8('123'))), 0x6a80, 'new PIN too short');
    expectSw(card, cmd(0, 0x24, 0, 0x81, utf8('654321')), 0x6700, 'no new PIN');
    expectSw(card, cmd(0, 0x24, 0, 0x85, concatBytes(PIN, PIN)), 0x6a88);
  });

  it('changes the SO-PIN (8 + 8 bytes)', () => {
    const card = newCard();
    initCard(card);
    const next = fromHex('1122334455667788');
    expectSw(card, cmd(0, 0x24, 0, 0x88, concatBytes(SO_PIN, next)), 0x9000);
    expectSw(card, initializeApdu(), 0x63ce, 'the old SO-PIN no longer initialises');
    expectSw(card, initializeApdu({ so: next }), 0x9000);
  });

  it('ends transport-PIN mode (options bit 1): VERIFY answers 6984 until the PIN is changed', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, initializeApdu({ options: 0x0003 }), 0x9000);
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '00200081', 0x6984);
    expectSw(card, verifyPin(), 0x6984);
    expectSw(card, cmd(0, 0x24, 0, 0x81, concatBytes(PIN, utf8('777777'))), 0x9000);
    expectSw(card, '00200081', 0x9000);
  });
});

describe('RESET RETRY COUNTER', () => {
  it('unblocks and sets a new user PIN with the SO-PIN (P1 00), or only unblocks (P1 01)', () => {
    const card = newCard();
    initCard(card);
    for (const sw of [0x63c2, 0x63c1, 0x6983]) expectSw(card, verifyPin(WRONG), sw);
    expectSw(card, cmd(0, 0x2c, 0, 0x81, concatBytes(fromHex('0102030405060708'), utf8('111111'))), 0x63ce, 'wrong SO-PIN');
    expectSw(card, cmd(0, 0x2c, 0, 0x81, concatBytes(SO_PIN, utf8('111111'))), 0x9000);
    expectSw(card, verifyPin(utf8('111111')), 0x9000);
    for (const sw of [0x63c2, 0x63c1, 0x6983]) expectSw(card, verifyPin(WRONG), sw);
    expectSw(card, cmd(0, 0x2c, 1, 0x81, SO_PIN), 0x9000);
    expectSw(card, '00200081', 0x63c3);
    expectSw(card, verifyPin(utf8('111111')), 0x9000, 'P1 01 keeps the PIN');
  });

  it('refuses wrong lengths, other references, session variants, and cards without the RRC option', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, cmd(0, 0x2c, 0, 0x81, SO_PIN), 0x6700, 'P1 00 needs a new PIN');
    expectSw(card, cmd(0, 0x2c, 0, 0x81, concatBytes(SO_PIN, utf8('12'))), 0x6a80);
    expectSw(card, cmd(0, 0x2c, 1, 0x81, concatBytes(SO_PIN, PIN)), 0x6700);
    expectSw(card, cmd(0, 0x2c, 0, 0x88, concatBytes(SO_PIN, PIN)), 0x6a88);
    expectSw(card, cmd(0, 0x2c, 2, 0x81, PIN), 0x6a81);
    expectSw(card, initializeApdu({ options: 0x0000 }), 0x9000);
    expectSw(card, cmd(0, 0x2c, 0, 0x81, concatBytes(SO_PIN, PIN)), 0x6986);
  });
});
