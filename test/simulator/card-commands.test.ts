/**
 * The simulated card's generic commands and their status words: SELECT (AID, EF, path, P2 0C),
 * READ BINARY, UPDATE BINARY / create, DELETE FILE, ENUMERATE OBJECTS, GET CHALLENGE, GET
 * RESPONSE, and what it refuses (CLA, INS, applet not selected, malformed APDUs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex, utf8 } from '../../protocol/bytes.ts';
import { readAllTlvs, readTlv } from '../../protocol/der.ts';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { cmd, expectSw, initCard, login, newCard, readEf, SELECT_APPLET, send, updateApdu } from './helpers.ts';

describe('SELECT', () => {
  it('answers 6A82 for the AIDs OpenSC probes first, FCI with tag 85 for the SmartCard-HSM AID', () => {
    const card = newCard();
    expectSw(card, '00A4040007627601FF00000000', 0x6a82);
    expectSw(card, '00A4040006A0000000010100', 0x6a82);
    const fci = expectSw(card, SELECT_APPLET, 0x9000);
    assert.equal(toHex(fci), '6f0a8201788505000006' + '0401', 'sc-hsm flavor: 6F 0A 82 01 78 85 05 opt(2) 06 4.1');
    initCard(card);
    const after = expectSw(card, SELECT_APPLET, 0x9000);
    assert.equal(toHex(after.subarray(7, 9)), '0001', 'options 00 01 after INITIALIZE');
  });

  it('pico flavor: the exact FCP bytes of apdu-trace.txt before and after INITIALIZE', () => {
    const card = newCard('pico');
    const before = expectSw(card, SELECT_APPLET, 0x9000);
    assert.equal(toHex(before, ' ').toUpperCase(), '62 22 81 02 00 00 82 01 01 83 02 00 00 84 0B 2B 06 01 04 01 81 C3 1F 02 01 00 8A 01 05 85 05 00 00 FF 06 06');
    initCard(card);
    const after = expectSw(card, SELECT_APPLET, 0x9000);
    assert.equal(toHex(after.subarray(after.length - 5)), '0001ff0606');
  });

  it('P2 0C selects without answer data; other P2 values are refused', () => {
    const card = newCard();
    assert.equal(expectSw(card, `00A4040C0B${'E82B0601040181C31F0201'}`, 0x9000).length, 0);
    expectSw(card, '00A4000C022F02', 0x9000);
    expectSw(card, `00A404100B${'E82B0601040181C31F0201'}`, 0x6a86);
  });

  it('selects EFs by FID (P1 00 and 02) and by path (P1 08, with or without 3F00), 6A82 when absent', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    const fcp = expectSw(card, '00A40000022F0200', 0x9000);
    const t = readTlv(fcp);
    assert.equal(t.tag, 0x62);
    const kids = readAllTlvs(t.value);
    const size = kids.find((k) => k.tag === 0x81)!.value;
    assert.equal((size[0]! << 8) | size[1]!, card.snapshot().files.find(([f]) => f === 0x2f02)![1].length, 'tag 81 = file size');
    assert.equal(toHex(kids.find((k) => k.tag === 0x83)!.value), '2f02');
    expectSw(card, '00A40200022F0200', 0x9000);
    expectSw(card, '00A40800022F0000', 0x9000, 'EF.DIR by path');
    expectSw(card, '00A40800043F002F0000', 0x9000, 'path with MF');
    expectSw(card, '00A408000450154946' + '00', 0x6a82, 'PKCS#15 DF (OpenSC probes it)');
    expectSw(card, '00A4000002C40100', 0x6a82);
    expectSw(card, '00A40000033F0000', 0x6700, 'FID of 3 bytes');
    expectSw(card, '00A4030000', 0x6a86);
    expectSw(card, '00A40000023F0000', 0x9000, 'MF');
  });

  it('EF.DIR names the application', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    const dir = readEf(card, 0x2f00);
    assert.equal(toHex(dir), '611c4f0be82b0601040181c31f0201500d' + toHex(utf8('SmartCard-HSM')));
  });

  it('refuses everything but SELECT and GET RESPONSE until the applet is selected', () => {
    const card = newCard();
    expectSw(card, '0084000008', 0x6d00);
    expectSw(card, '00A40000022F0200', 0x6a82);
    expectSw(card, '00C0000000', 0x6985, 'GET RESPONSE with nothing pending');
  });
});

describe('generic refusals', () => {
  it('unknown CLA 6E00, unknown INS 6D00, malformed APDU 6700', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, '0C84000008', 0x6e00);
    expectSw(card, '00CA000000', 0x6d00);
    expectSw(card, '8062000000', 0x6d00, 'DECIPHER is not emulated');
    expectSw(card, '0084', 0x6700, 'shorter than 4 bytes');
    expectSw(card, '00840000050102', 0x6700, 'Lc disagrees with the body');
  });
});

describe('GET CHALLENGE', () => {
  it('returns Le bytes from the DRBG (1..1024), deterministic per seed', () => {
    const a = newCard('sc-hsm', 5);
    const b = newCard('sc-hsm', 5);
    for (const c of [a, b]) expectSw(c, SELECT_APPLET, 0x9000);
    const ra = expectSw(a, '0084000008', 0x9000);
    assert.equal(ra.length, 8);
    assert.deepEqual(ra, expectSw(b, '0084000008', 0x9000), 'same seed, same bytes');
    assert.notDeepEqual(expectSw(a, '0084000020', 0x9000), ra.subarray(0, 0));
    assert.equal(expectSw(a, cmd(0, 0x84, 0, 0, new Uint8Array(0), 1024, true), 0x9000).length, 1024);
    expectSw(a, cmd(0, 0x84, 0, 0, new Uint8Array(0), 1025, true), 0x6700);
    expectSw(a, '00840000', 0x6700, 'no Le');
  });
});

describe('files', () => {
  it('UPDATE BINARY needs the user PIN (6982)', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, updateApdu(0xc401, 0, Uint8Array.of(1, 2, 3)), 0x6982);
    expectSw(card, fromHex('00E4020002C401'), 0x6982, 'DELETE FILE too');
  });

  it('creates an empty EF (54 02 00 00 53 00), refuses to create an existing one (6A89), writes in chunks, reads back', () => {
    const card = newCard();
    initCard(card);
    login(card);
    expectSw(card, updateApdu(0xce05, 0, new Uint8Array(0)), 0x9000, 'create');
    expectSw(card, updateApdu(0xce05, 0, new Uint8Array(0)), 0x6a89, 'create again');
    const data = Uint8Array.from({ length: 500 }, (_, i) => i & 0xff);
    // OpenSC writes to the current EF (P1P2 0000) right after creating it, in chunks.
    expectSw(card, updateApdu(0x0000, 0, data.subarray(0, 255)), 0x9000);
    expectSw(card, updateApdu(0x0000, 255, data.subarray(255)), 0x9000);
    assert.deepEqual(readEf(card, 0xce05), data);
    // Writing at offset 0 replaces the content (what sc-hsm-tool relies on for an existing PRKD).
    expectSw(card, updateApdu(0xce05, 0, Uint8Array.of(9, 9)), 0x9000);
    assert.deepEqual(readEf(card, 0xce05), Uint8Array.of(9, 9));
    expectSw(card, updateApdu(0xce05, 5, Uint8Array.of(1)), 0x6b00, 'offset beyond the end');
  });

  it('UPDATE BINARY with a FID creates the file (EF.TokenInfo as sc-hsm-tool --label writes it)', () => {
    const card = newCard();
    initCard(card);
    login(card);
    const ti = fromHex('3011020100800a53696d756c6174696f6e03020520');
    expectSw(card, updateApdu(0x2f03, 0, ti), 0x9000);
    assert.deepEqual(readEf(card, 0x2f03), ti);
  });

  it('refuses writes to the device certificate, EF.DIR, key objects and unknown FIDs', () => {
    const card = newCard();
    initCard(card);
    login(card);
    expectSw(card, updateApdu(0x2f02, 0, Uint8Array.of(1)), 0x6982);
    expectSw(card, updateApdu(0x2f00, 0, Uint8Array.of(1)), 0x6982);
    expectSw(card, updateApdu(0xcc01, 0, Uint8Array.of(1)), 0x6982);
    expectSw(card, updateApdu(0x1234, 0, new Uint8Array(0)), 0x6a86, 'create outside the dynamic prefixes');
    expectSw(card, updateApdu(0x1234, 0, Uint8Array.of(1)), 0x6a82);
    expectSw(card, updateApdu(0x0000, 0, Uint8Array.of(1)), 0x6986, 'no current EF');
    expectSw(card, cmd(0, 0xd7, 0xc4, 0x01, fromHex('5402000053')), 0x6a80, 'truncated 53 TLV');
    expectSw(card, updateApdu(0xc401, 0, new Uint8Array(8193)), 0x6a84, 'too large');
  });

  it('READ BINARY: 6986 without a current EF, 6982 on a key, 6A80 without the 54 wrapper, offset past the end', () => {
    const card = newCard();
    initCard(card);
    expectSw(card, '00B10000045402000000', 0x6986);
    expectSw(card, '00A4000002CC0000', 0x9000, 'the device key object can be selected');
    expectSw(card, '00B10000045402000000', 0x6982);
    expectSw(card, '00A40000022F0200', 0x9000);
    expectSw(card, '00B100000353010000', 0x6a80);
    expectSw(card, '00B10000045402FFFF00', 0x6b00);
    const pico = newCard('pico');
    initCard(pico);
    expectSw(pico, '00A40000022F0200', 0x9000);
    expectSw(pico, '00B10000045402FFFF00', 0x6282, 'pico answers 6282 (firmware SW_WARNING_EOF)');
  });

  it('READ BINARY with even INS reads the current EF at the P1P2 offset', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    const full = readEf(card, 0x2f02);
    expectSw(card, '00A40000022F0200', 0x9000);
    assert.deepEqual(expectSw(card, '00B0001010', 0x9000), full.subarray(16, 32));
  });

  it('DELETE FILE removes EFs and keys, 6A82 when absent, 6985 for the device key and certificate', () => {
    const card = newCard();
    initCard(card);
    login(card);
    expectSw(card, updateApdu(0xc405, 0, Uint8Array.of(1)), 0x9000);
    expectSw(card, '00E4020002C405', 0x9000);
    expectSw(card, '00E4020002C405', 0x6a82);
    expectSw(card, '00E4020002CC00', 0x6985);
    expectSw(card, '00E40200022F02', 0x6985);
    expectSw(card, '00E4020002CC07', 0x6a82);
    expectSw(card, '00E40200', 0x6986, 'no data and no current EF');
  });
});

describe('ENUMERATE OBJECTS', () => {
  it('sc-hsm: keys and dynamic EFs in ascending order (CC00 only on a fresh card)', () => {
    const card = newCard();
    initCard(card);
    assert.equal(toHex(expectSw(card, '80580000000000', 0x9000)), 'cc00');
    login(card);
    expectSw(card, updateApdu(0xce02, 0, Uint8Array.of(1)), 0x9000);
    expectSw(card, updateApdu(0xc402, 0, Uint8Array.of(1)), 0x9000);
    assert.equal(toHex(expectSw(card, '80580000000000', 0x9000)), 'c402cc00ce02');
    assert.equal(toHex(expectSw(card, '8058000000', 0x9000)), 'c402cc00ce02', 'short fallback form');
    expectSw(card, '80580100000000', 0x6a86);
  });

  it('pico: C4 00 CC 00 first, then keys, PRKDs, CDs, DCODs; no certificate files (as the trace)', () => {
    const card = newCard('pico');
    initCard(card);
    assert.equal(toHex(expectSw(card, '80580000000000', 0x9000), ' ').toUpperCase(), 'C4 00 CC 00');
    login(card);
    for (const fid of [0xc902, 0xce02, 0xc402, 0xc801]) expectSw(card, updateApdu(fid, 0, Uint8Array.of(1)), 0x9000);
    assert.equal(toHex(expectSw(card, '80580000000000', 0x9000), ' ').toUpperCase(), 'C4 00 CC 00 C4 02 C8 01 C9 02');
  });
});

describe('GET RESPONSE', () => {
  it('a short Le smaller than the answer leaves the rest for GET RESPONSE (61xx)', () => {
    const card = newCard();
    initCard(card);
    login(card);
    for (const fid of [0xc401, 0xc402, 0xc403]) expectSw(card, updateApdu(fid, 0, Uint8Array.of(1)), 0x9000);
    const first = send(card, '8058000004');
    assert.equal(first.sw, 0x6104, '61 xx: 4 more bytes');
    assert.equal(toHex(first.data), 'c401c402');
    const rest = send(card, '00C0000004');
    assert.equal(rest.sw, 0x9000);
    assert.equal(toHex(rest.data), 'c403cc00');
    expectSw(card, '00C0000004', 0x6985, 'nothing left');
  });

  it('READ BINARY honours a short Le itself (no chaining)', () => {
    const card = newCard();
    expectSw(card, SELECT_APPLET, 0x9000);
    const full = readEf(card, 0x2f02);
    expectSw(card, '00A40000022F0200', 0x9000);
    const r = send(card, cmd(0, 0xb1, 0, 0, Uint8Array.of(0x54, 0x02, 0, 0), 16));
    assert.equal(r.sw, 0x9000);
    assert.deepEqual(r.data, full.subarray(0, 16));
  });
});

describe('SimulatedCard API', () => {
  it('refuses an unknown flavor and a bad seed; a powered-off card is a transport bug', () => {
    assert.throws(() => SimulatedCard.create({ flavor: 'nitro' as 'pico' }), RangeError);
    assert.throws(() => SimulatedCard.create({ seed: new Uint8Array(0) }), RangeError);
    const card = newCard();
    card.powerOff();
    assert.throws(() => card.process(fromHex(SELECT_APPLET)), /powered off/);
    card.powerOn();
    expectSw(card, SELECT_APPLET, 0x9000);
  });

  it('the same seed manufactures the same card; another seed another one', () => {
    const a = newCard('sc-hsm', 3).snapshot();
    const b = newCard('sc-hsm', 3).snapshot();
    const c = newCard('sc-hsm', 4).snapshot();
    assert.deepEqual(a.files, b.files);
    assert.equal(a.deviceChr, b.deviceChr);
    assert.notEqual(a.deviceChr, c.deviceChr);
    assert.match(a.deviceChr, /^DESIM\d{6}00001$/);
    assert.equal(newCard('pico', 3).deviceChr, 'ESPICOHSMTR00001');
  });
});
