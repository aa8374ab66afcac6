/**
 * SmartCardHsm commands against the real trace of OpenSC 0.23 + Pico HSM 6.6: every command must
 * produce exactly the bytes OpenSC sent, and must read the firmware's answers right.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ApduTraceEntry } from '../../app/card/apdu-channel.ts';
import { CardError } from '../../app/card/status-words.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { fromHex, toHex, utf8 } from '../../protocol/bytes.ts';
import { readAllTlvs, readTlv } from '../../protocol/der.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import { FIXTURES, ownExchanges, ScriptedTransport, script, traceSection, type Exchange } from './card-trace.ts';

const PIN = utf8('648219');
const SO_PIN = utf8('3537363231383830');
const fixtures = JSON.parse(readFileSync(new URL('fixtures.json', FIXTURES), 'utf8')) as {
  shareFiles: { file: string; share: string }[];
};
const shareOf = (file: string): Uint8Array => fromHex(fixtures.shareFiles.find((s) => s.file === file)!.share);

/** The parts of a wrap file (spec §4): key blob, PRKD TLV, certificate TLV. */
function wrapFile(name: string): { blob: Uint8Array; prkd: Uint8Array; cert: Uint8Array } {
  const bytes = new Uint8Array(readFileSync(new URL(name, FIXTURES)));
  const outer = readTlv(bytes, 0);
  const [blob, prkd, cert] = readAllTlvs(outer.value);
  return {
    blob: blob!.value.slice(),
    prkd: bytes.slice(prkd!.offset + outer.headerLength, prkd!.offset + outer.headerLength + prkd!.totalLength),
    cert: bytes.slice(cert!.offset + outer.headerLength, cert!.offset + outer.headerLength + cert!.totalLength),
  };
}

function hsmFor(exchanges: readonly Exchange[], trace?: (e: ApduTraceEntry) => void): { hsm: SmartCardHsm; t: ScriptedTransport } {
  const t = new ScriptedTransport(exchanges);
  return { hsm: new SmartCardHsm(t, trace ? { trace } : {}), t };
}

/** Exchanges of a section from the first command starting with `fromHex` (spaces ignored). */
function from(exchanges: Exchange[], prefix: string): Exchange[] {
  const p = prefix.replace(/ /g, '').toLowerCase();
  const i = exchanges.findIndex((e) => toHex(e.command).startsWith(p));
  assert.ok(i >= 0, `no command starting ${prefix}`);
  return exchanges.slice(i);
}

describe('SmartCardHsm against apdu-trace.txt', () => {
  it('initialize --dkek-shares 1: SELECT, then INITIALIZE with sc-hsm-tool TLVs', async () => {
    const entries: ApduTraceEntry[] = [];
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --initialize --so-pin 3537363231383830 --pin 648219 --dkek-shares 1')), (e) => entries.push(e));
    const info = await hsm.selectApplet();
    assert.equal(info.versionText, '6.6');
    assert.deepEqual(info.version, { major: 6, minor: 6 });
    assert.equal(info.options, 0x0000, 'fresh device: no options yet');
    assert.equal(info.userPinResetWithSoPin, false);
    await hsm.initialize({ userPin: PIN, soPin: SO_PIN, dkekShares: 1 });
    t.done();
    // the trace shows neither PIN
    const all = JSON.stringify(entries).replace(/ /g, '');
    assert.ok(!all.includes('363438323139'), 'user PIN leaked into the trace');
    assert.ok(!all.includes('3537363231383830'), 'SO-PIN leaked into the trace');
    assert.equal(entries[1]!.command, '80 50 00 00 1C <28 bytes redacted>');
    assert.equal(toHex(PIN), '363438323139', 'the caller PIN is left intact');
  });

  it('initialize --dkek-shares 3', async () => {
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --initialize --so-pin 3537363231383830 --pin 648219 --dkek-shares 3')));
    const info = await hsm.selectApplet();
    assert.equal(info.options, 0x0001, 'initialised: RESET RETRY COUNTER enabled');
    assert.equal(info.userPinResetWithSoPin, true);
    assert.equal(info.transportPinMode, false);
    await hsm.initialize({ userPin: PIN, soPin: fromHex('33 35 33 37 33 36 33 32 33 31 33 38 33 38 33 30'), retryCounter: 3, dkekShares: 3 });
    t.done();
  });

  it('status (sc-hsm-tool without action): PIN tries and DKEK status', async () => {
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool', 0)));
    await hsm.selectApplet();
    assert.deepEqual(await hsm.pinStatus('so'), { pin: 'so', state: 'not-verified', triesLeft: 15, sw: 0x63cf });
    assert.deepEqual(await hsm.pinStatus('user'), { pin: 'user', state: 'not-verified', triesLeft: 3, sw: 0x63c3 });
    const d = await hsm.dkekStatus();
    t.done();
    assert.equal(d.total, 1);
    assert.equal(d.outstanding, 1);
    assert.equal(d.kcvKnown, false);
    assert.equal(d.extra.length, 0);
  });

  it('create-dkek-share: GET CHALLENGE 8 (salt) and 32 (the share, redacted)', async () => {
    const entries: ApduTraceEntry[] = [];
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --create-dkek-share s1.pbe --password pico-test-pw-1')), (e) => entries.push(e));
    await hsm.selectApplet();
    const salt = await hsm.getChallenge(8);
    const share = await hsm.getChallenge(32, { secret: true });
    t.done();
    assert.equal(toHex(salt), 'b60431c95dc87552');
    assert.equal(toHex(share), toHex(shareOf('s1.pbe')));
    assert.equal(entries[2]!.response, '<32 bytes redacted>');
    assert.equal(entries[1]!.response, 'B6 04 31 C9 5D C8 75 52');
  });

  it('import-dkek-share s1 answers total 1, outstanding 0', async () => {
    const entries: ApduTraceEntry[] = [];
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --import-dkek-share s1.pbe --password pico-test-pw-1')), (e) => entries.push(e));
    await hsm.selectApplet();
    const share = shareOf('s1.pbe');
    const d = await hsm.importDkekShare(share);
    t.done();
    assert.equal(d.total, 1);
    assert.equal(d.outstanding, 0);
    assert.equal(d.kcvKnown, false, 'Pico shows no KCV before a PIN login');
    assert.ok(!JSON.stringify(entries).replace(/ /g, '').includes(toHex(share).toUpperCase()));
    assert.equal(toHex(share), toHex(shareOf('s1.pbe')), 'share left intact for the caller');
  });

  it('after VERIFY the DKEK status shows the KCV of s1', async () => {
    const { hsm, t } = hsmFor(ownExchanges(traceSection('opensc-tool -s 00 20 00 81 06 36 34 38 32 31 39 -s 80 52 00 00 00')));
    await hsm.selectApplet();
    await hsm.verifyPin(PIN);
    const d = await hsm.dkekStatus();
    t.done();
    assert.equal(toHex(d.kcv).toUpperCase(), '1D1083E78237E99D');
    assert.equal(d.kcvKnown, true);
  });

  it('three shares: import answers count down, KCV appears after VERIFY', async () => {
    const steps: [string, string, number][] = [
      ['sc-hsm-tool --import-dkek-share s2.pbe --password pico-test-pw-2', 's2.pbe', 2],
      ['n-of-m import s3', 's3.pbe', 1],
      ['sc-hsm-tool --import-dkek-share s4.pbe --password pico-test-pw-4', 's4.pbe', 0],
    ];
    for (const [title, file, left] of steps) {
      const { hsm, t } = hsmFor(ownExchanges(traceSection(title)));
      await hsm.selectApplet();
      const d = await hsm.importDkekShare(shareOf(file));
      t.done();
      assert.equal(d.total, 3);
      assert.equal(d.outstanding, left);
    }
    const { hsm, t } = hsmFor(ownExchanges(traceSection('opensc-tool -s 80 52 00 00 00 -s 00 20 00 81 06 36 34 38 32 31 39 -s 80 52 00 00 00')));
    await hsm.selectApplet();
    assert.equal((await hsm.dkekStatus()).kcvKnown, false);
    await hsm.verifyPin(PIN);
    const d = await hsm.dkekStatus();
    t.done();
    assert.equal(toHex(d.kcv).toUpperCase(), '0767001241A0CB44');
  });

  it('wrap-key: VERIFY then WRAP KEY with extended Le; the blob is the one in the wrap file', async () => {
    const own = ownExchanges(traceSection('sc-hsm-tool --wrap-key w.bin --key-reference 1 --pin 648219'));
    const { hsm, t } = hsmFor(own.slice(0, 3));
    await hsm.selectApplet();
    await hsm.verifyPin(PIN);
    const blob = await hsm.wrapKey(1);
    t.done();
    assert.equal(toHex(blob), toHex(wrapFile('wrap-ec-p256.bin').blob));
  });

  it('unwrap-key (inline, OpenSC 0.23): checks, VERIFY, UNWRAP, then writes PRKD and certificate', async () => {
    const w = wrapFile('wrap-ec-p256.bin');
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --unwrap-key w.bin --key-reference 10 --pin 648219', 0)));
    await hsm.selectApplet();
    assert.equal(await hsm.trySelectFile(0xc40a), null);
    assert.equal(await hsm.trySelectFile(0xce0a), null);
    await hsm.verifyPin(PIN);
    await hsm.unwrapKey(10, w.blob, { checkKcv: false });
    // Pico created C40A and CE0A itself: they are selected and overwritten in place
    await hsm.updateBinary(0xc40a, w.prkd);
    await hsm.updateBinary(0xce0a, w.cert);
    t.done();
  });

  it('unwrap-key refuses early when the PRKD file exists', async () => {
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --unwrap-key w.bin --key-reference 10 --pin 648219', 1)));
    await hsm.selectApplet();
    const f = await hsm.trySelectFile(0xc40a);
    t.done();
    assert.equal(f?.size, 0x28);
    assert.equal(f?.fid, 0xc40a);
  });

  it('unwrap-key --force: delete key, UNWRAP, delete and re-create PRKD and certificate', async () => {
    const w = wrapFile('wrap-ec-p256.bin');
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --unwrap-key w.bin --key-reference 10 --pin 648219 --force')));
    await hsm.selectApplet();
    await hsm.verifyPin(PIN);
    await hsm.deleteFile(0xcc0a);
    await hsm.unwrapKey(10, w.blob, { checkKcv: false });
    await hsm.updateBinary(0xc40a, w.prkd, { replace: true });
    await hsm.updateBinary(0xce0a, w.cert, { replace: true });
    t.done();
  });

  it('unwrap of an RSA-2048 key writes the certificate in three chunks', async () => {
    const w = wrapFile('wrap-rsa2048.bin');
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --unwrap-key w_rsa.bin --key-reference 11 --pin 648219')));
    await hsm.selectApplet();
    await hsm.trySelectFile(0xc40b);
    await hsm.trySelectFile(0xce0b);
    await hsm.verifyPin(PIN);
    await hsm.unwrapKey(11, w.blob, { checkKcv: false });
    await hsm.updateBinary(0xc40b, w.prkd);
    await hsm.updateBinary(0xce0b, w.cert);
    t.done();
  });

  it('unwrap under a foreign DKEK: 64 00 becomes CARD_EXECUTION_ERROR', async () => {
    const w = wrapFile('wrap-ec-p256.bin');
    const { hsm, t } = hsmFor(ownExchanges(traceSection('sc-hsm-tool --unwrap-key w.bin --key-reference 20 --pin 648219')));
    await hsm.selectApplet();
    await hsm.trySelectFile(0xc414);
    await hsm.trySelectFile(0xce14);
    await hsm.verifyPin(PIN);
    await assert.rejects(hsm.unwrapKey(20, w.blob, { checkKcv: false }), (e: unknown) => {
      assert.ok(e instanceof CardError);
      assert.equal(e.code, 'CARD_EXECUTION_ERROR');
      assert.equal(e.kind, 'device');
      assert.match(e.message, /^UNWRAP KEY 20: .*another DKEK/);
      assert.ok(!e.message.includes(toHex(w.blob).slice(0, 32)), 'no blob bytes in the message');
      return true;
    });
    t.done();
  });

  it('keypairgen file writes: CV request replaced in CE01, PRKD written into existing C401', async () => {
    const own = ownExchanges(traceSection('pkcs11-tool --module opensc-pkcs11.so --login --pin 648219 --keypairgen --key-type EC:prime256v1 --id 01 --label k1', 0));
    const gen = own.find((e) => toHex(e.command).startsWith('00460100'))!;
    const cvRequest = gen.response.subarray(0, gen.response.length - 2);
    const prkdWrite = own.find((e) => toHex(e.command).startsWith('00d700002e'))!;
    const prkd = prkdWrite.command.subarray(5 + 6); // after Lc and 54 02 00 00 53 28
    const tail = from(own, '00 A4 00 00 02 CE 01 00').slice(0, -1); // without OpenSC's final re-SELECT
    const { hsm, t } = hsmFor(tail);
    await hsm.updateBinary(0xce01, cvRequest, { replace: true });
    await hsm.updateBinary(0xc401, prkd);
    t.done();
  });

  it('keypairgen: GENERATE ASYMMETRIC KEY PAIR with the CV template pkcs11-tool sends (EC P-256, RSA 2048)', async () => {
    const ec = ownExchanges(traceSection('pkcs11-tool --module opensc-pkcs11.so --login --pin 648219 --keypairgen --key-type EC:prime256v1 --id 01 --label k1', 0));
    let s = hsmFor(from(ec, '00 46 01 00').slice(0, 1));
    const req = await s.hsm.generateKeyPair(1, { type: 'ec', curve: 'P-256' }, { chr: 'ESPICOHSMTR00001' });
    s.t.done();
    assert.equal(toHex(req.subarray(0, 2)), '6782', 'a CV request');
    const rsa = ownExchanges(traceSection('pkcs11-tool --module opensc-pkcs11.so --login --pin 648219 --keypairgen --key-type rsa:2048 --id 02 --label r1'));
    s = hsmFor(from(rsa, '00 46 02 00').slice(0, 1));
    await s.hsm.generateKeyPair(2, { type: 'rsa', bits: 2048 }, { chr: 'ESPICOHSMTR00001' });
    s.t.done();
    await assert.rejects(s.hsm.generateKeyPair(3, { type: 'rsa', bits: 1000 }, { chr: 'X' }), RangeError);
    await assert.rejects(s.hsm.generateKeyPair(3, { type: 'ec', curve: 'P-256' }, { chr: '' }), RangeError);
  });

  it('sign: ECDSA over a given hash (alg 70, short) and RSA PKCS#1 block (alg 20, extended)', async () => {
    const ec = ownExchanges(traceSection('opensc-tool -s 00 20 00 81 06 36 34 38 32 31 39 -s 80 68 0A 70 20 2c f2 4d ba 5f b0 a3 0e 26 e8 3b 2a c5 b9 e2 9e 1b 16 1e 5c 1f a7 42 5e 73 04 33 62 93 8b 98 24  00'));
    const { hsm, t } = hsmFor(ec);
    await hsm.selectApplet();
    await hsm.verifyPin(PIN);
    const sig = await hsm.sign(0x0a, 0x70, fromHex('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'));
    t.done();
    assert.equal(sig[0], 0x30, 'a DER SEQUENCE');
    assert.equal(sig.length, 0x48);

    const rsa = from(ownExchanges(traceSection('pkcs11-tool --module opensc-pkcs11.so --login --pin 648219 --sign --id 02 -m SHA256-RSA-PKCS -i msg.txt -o sig_r1.bin')), '00 20 00 81 06');
    const signCmd = rsa[1]!.command;
    const block = signCmd.subarray(7, 7 + 256);
    const r = hsmFor(rsa.slice(0, 2));
    await r.hsm.verifyPin(PIN);
    const rsaSig = await r.hsm.sign(2, 0x20, block);
    r.t.done();
    assert.equal(rsaSig.length, 256);
  });

  it('pkcs15-tool -D reads: device certificate in 256-byte steps, TokenInfo label', async () => {
    const own = ownExchanges(traceSection('pkcs15-tool -D', 0));
    const { hsm, t } = hsmFor(own.slice(0, 8));
    await hsm.selectApplet();
    const certs = await hsm.readFile(0x2f02);
    assert.equal(certs.length, 0x1bb);
    assert.equal(toHex(certs.subarray(0, 2)), '7f21');
    const info = await hsm.readTokenInfo();
    t.done();
    assert.equal(info?.label, 'Pico-HSM');
    assert.equal(info?.manufacturer, 'Pol Henarejos');
    assert.equal(info?.serial, '0000000000000000');
  });

  it('ENUMERATE OBJECTS lists FIDs in card order', async () => {
    const own = ownExchanges(traceSection('pkcs15-tool -k', 0));
    const { hsm, t } = hsmFor(from(own, '80 58').slice(0, 1));
    assert.deepEqual(
      (await hsm.enumerateObjects()).map((f) => f.toString(16)),
      ['c400', 'cc00', 'cc02', 'cc0a', 'cc01', 'cc0b', 'c402', 'c401', 'c40b', 'c40a'],
    );
    t.done();
  });

  it('the user PIN status 6A 88 on the SO-PIN, and PIN 85/86 slots that are absent', async () => {
    const { hsm, t } = hsmFor(script(['00200088', '6A88'], ['00200081', '9000'], ['00200081', '6983'], ['00200081', '6984'], ['00200081', '63C0']));
    assert.equal((await hsm.pinStatus('so')).state, 'not-initialized');
    assert.equal((await hsm.pinStatus('user')).state, 'verified');
    assert.equal((await hsm.pinStatus('user')).state, 'blocked');
    assert.equal((await hsm.pinStatus('user')).state, 'transport');
    assert.deepEqual(await hsm.pinStatus('user'), { pin: 'user', state: 'blocked', triesLeft: 0, sw: 0x63c0 });
    t.done();
  });
});

describe('SmartCardHsm (synthetic exchanges)', () => {
  it('a card without the applet: a named error, not a crash', async () => {
    const { hsm } = hsmFor(script(['00A404000BE82B0601040181C31F020100', '6A82']));
    await assert.rejects(hsm.selectApplet(), (e: unknown) => {
      assert.ok(e instanceof CardError);
      assert.equal(e.code, 'CARD_FILE_NOT_FOUND');
      assert.match(e.message, /no SmartCard-HSM applet/);
      assert.match(e.hint!, /--reader/);
      return true;
    });
  });

  it('wrong PIN: kind check with tries left; the PIN never appears in the error', async () => {
    const { hsm } = hsmFor(script(['0020008106313131313131', '63C2']));
    await assert.rejects(hsm.verifyPin(utf8('111111')), (e: unknown) => {
      assert.ok(e instanceof CardError);
      assert.equal(e.kind, 'check');
      assert.equal(e.triesLeft, 2);
      assert.equal(e.message, 'VERIFY user PIN: wrong PIN: 2 tries left (SW 63C2)');
      assert.ok(!JSON.stringify({ m: e.message, h: e.hint, d: e.detail }).includes('111111'));
      return true;
    });
  });

  it('a PIN of the wrong length is a usage error before any APDU', async () => {
    const { hsm, t } = hsmFor([]);
    await assert.rejects(hsm.verifyPin(utf8('12345')), { code: 'USER_PIN_LENGTH', kind: 'usage' });
    await assert.rejects(hsm.verifyPin('648219' as unknown as Uint8Array), TypeError);
    t.done();
  });

  it('CHANGE REFERENCE DATA, SO-PIN change and RESET RETRY COUNTER bytes', async () => {
    const { hsm, t } = hsmFor(
      script(
        ['002400810C363438323139313233343536', '9000'],
        ['0024008810' + '3537363231383830' + '0102030405060708', '9000'],
        ['002C00810E' + '3537363231383830' + '313233343536', '9000'],
        ['002C018108' + '3537363231383830', '9000'],
      ),
    );
    await hsm.changePin(PIN, utf8('123456'));
    await hsm.changeSoPin(SO_PIN, utf8('0102030405060708'));
    await hsm.unblockPin(SO_PIN, utf8('123456'));
    await hsm.unblockPin(utf8('35:37:36:32:31:38:38:30'));
    t.done();
  });

  it('RESET RETRY COUNTER on a device without that option is worded for it', async () => {
    const { hsm } = hsmFor(script(['002C018108' + '3537363231383830', '6985']));
    await assert.rejects(hsm.unblockPin(SO_PIN), /does not allow the user PIN to be reset/);
  });

  it('re-initialising with a wrong SO-PIN says so', async () => {
    const { hsm } = hsmFor(script(['80500000' + '1C' + '80020001810636343832313982083537363231383830910103920101', '6982']));
    await assert.rejects(hsm.initialize({ userPin: PIN, soPin: SO_PIN, dkekShares: 1 }), /SO-PIN does not match/);
  });

  it('initialize with a label verifies the new PIN and writes EF.TokenInfo', async () => {
    const label = 'Ceremony';
    const tokenInfo = '3011' + '020100' + '8008' + toHex(utf8(label)) + '03020520';
    const { hsm, t } = hsmFor(
      script(
        ['8050000019' + '80020001810636343832313982083537363231383830910103', '9000'],
        ['0020008106363438323139', '9000'],
        ['00A40000022F0300', '6A82'],
        ['00D72F0306540200005300', '9000'],
        ['00D7000019' + '5402000053' + '13' + tokenInfo, '9000'],
      ),
    );
    await hsm.initialize({ userPin: PIN, soPin: SO_PIN, label });
    t.done();
  });

  it('IMPORT DKEK SHARE when all shares are in: 69 86 in words', async () => {
    const share = shareOf('s1.pbe');
    const { hsm } = hsmFor(script(['8052000020' + toHex(share) + '00', '6986']));
    await assert.rejects(hsm.importDkekShare(share), (e: unknown) => {
      assert.ok(e instanceof CardError);
      assert.equal(e.code, 'CARD_COMMAND_NOT_ALLOWED');
      assert.match(e.message, /already imported/);
      return true;
    });
    await assert.rejects(hsm.importDkekShare(new Uint8Array(31)), RangeError);
  });

  it('DKEK status on a device without DKEK (6D 00), and Pico extra bytes', async () => {
    const { hsm } = hsmFor(script(['8052000000', '6D00'], ['8052000000', '0300' + '1122334455667788' + 'AABBCCDD' + '9000'], ['8052000000', '01009000']));
    await assert.rejects(hsm.dkekStatus(), (e: unknown) => e instanceof CardError && /not initialised for them/.test(e.message));
    const d = await hsm.dkekStatus();
    assert.equal(toHex(d.extra), 'aabbccdd');
    assert.equal(toHex(d.kcv), '1122334455667788');
    await assert.rejects(hsm.dkekStatus(), { code: 'BAD_DKEK_STATUS' });
  });

  describe('unwrap KCV check (default on)', () => {
    const w = wrapFile('wrap-ec-p256.bin');
    const status = (total: number, left: number, kcv: string) => ['8052000000', toHex(Uint8Array.of(total, left)) + kcv + '9000'] as [string, string];
    const unwrapCmd = '80740A9300' + toHex(Uint8Array.of(w.blob.length >> 8, w.blob.length & 0xff)) + toHex(w.blob);

    it('matching KCV: the UNWRAP is sent', async () => {
      const { hsm, t } = hsmFor(script(status(1, 0, '1D1083E78237E99D'), [unwrapCmd, '9000']));
      await hsm.unwrapKey(10, w.blob);
      t.done();
    });

    it('foreign KCV: KCV_MISMATCH (check) and no UNWRAP', async () => {
      const { hsm, t } = hsmFor(script(status(3, 0, '0767001241A0CB44')));
      await assert.rejects(hsm.unwrapKey(10, w.blob), (e: unknown) => {
        assert.ok(e instanceof CeremonyError);
        assert.equal(e.code, 'KCV_MISMATCH');
        assert.equal(e.kind, 'check');
        assert.match(e.message, /1D1083E78237E99D.*0767001241A0CB44/);
        return true;
      });
      t.done();
    });

    it('incomplete DKEK and unknown KCV stop before UNWRAP', async () => {
      let s = hsmFor(script(status(3, 1, '0000000000000000')));
      await assert.rejects(s.hsm.unwrapKey(10, w.blob), { code: 'DKEK_INCOMPLETE' });
      s = hsmFor(script(status(1, 0, '0000000000000000')));
      await assert.rejects(s.hsm.unwrapKey(10, w.blob), { code: 'DKEK_KCV_UNKNOWN' });
    });

    it('staged UNWRAP (OpenSC 0.24): blob chunks into EF 2F10, then case-1 UNWRAP; trace redacted', async () => {
      const chunks: string[] = [];
      for (let off = 0; off < w.blob.length; off += 255) {
        const c = w.blob.subarray(off, off + 255);
        const body = '5402' + toHex(Uint8Array.of(off >> 8, off & 0xff)) + '53' + (c.length < 128 ? toHex(Uint8Array.of(c.length)) : '81' + toHex(Uint8Array.of(c.length))) + toHex(c);
        const lc = body.length / 2;
        chunks.push('00D72F10' + (lc > 255 ? '00' + toHex(Uint8Array.of(lc >> 8, lc & 0xff)) : toHex(Uint8Array.of(lc))) + body);
      }
      const entries: ApduTraceEntry[] = [];
      const { hsm, t } = hsmFor(script(...chunks.map((c) => [c, '9000'] as [string, string]), ['80740A93', '9000']), (e) => entries.push(e));
      await hsm.unwrapKey(10, w.blob, { staged: true, checkKcv: false });
      t.done();
      assert.equal(chunks.length, 2);
      assert.ok(entries.slice(0, 2).every((e) => e.redacted && e.command.includes('redacted')));
      assert.equal(entries[2]!.command, '80 74 0A 93');
    });
  });

  it('argument checks before any APDU', async () => {
    const { hsm, t } = hsmFor([]);
    await assert.rejects(hsm.getChallenge(0), RangeError);
    await assert.rejects(hsm.getChallenge(1025), RangeError);
    await assert.rejects(hsm.wrapKey(0), RangeError);
    await assert.rejects(hsm.wrapKey(256), RangeError);
    await assert.rejects(hsm.unwrapKey(1, new Uint8Array(4)), RangeError);
    await assert.rejects(hsm.selectFile(0x10000), RangeError);
    await assert.rejects(hsm.sign(1, 0x70, new Uint8Array(0)), RangeError);
    await assert.rejects(hsm.updateBinary(0xcf01, 'x' as unknown as Uint8Array), TypeError);
    t.done();
  });

  it('short-length mode: ENUMERATE with short Le, UPDATE chunks of 248', async () => {
    const data = new Uint8Array(300).fill(1);
    const { t } = { t: new ScriptedTransport(
      script(
        ['8058000000', 'CC019000'],
        ['00A4000002CF0100', '6A82'],
        ['00D7CF0106540200005300', '9000'],
        ['00D70000FF' + '540200005381F8' + '01'.repeat(248), '9000'],
        ['00D700003A' + '540200F85334' + '01'.repeat(52), '9000'],
      ),
    ) };
    const hsm = new SmartCardHsm(t, { extendedLength: false });
    assert.deepEqual(await hsm.enumerateObjects(), [0xcc01]);
    await hsm.updateBinary(0xcf01, data);
    t.done();
  });

  it('READ BINARY stops at 62 82 and keeps the short last chunk', async () => {
    const { hsm, t } = hsmFor(script(['00A4000002CF0100', '620481020104' + '9000'], ['00B1000004540200' + '0000', 'AA'.repeat(256) + '9000'], ['00B10000045402010000', 'BBBB6282']));
    const f = await hsm.readFile(0xcf01);
    t.done();
    assert.equal(f.length, 258);
    assert.equal(toHex(f.subarray(256)), 'bbbb');
  });
});
