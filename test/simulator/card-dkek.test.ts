/**
 * DKEK on the simulated card: share import from pending to complete with the fixture shares giving
 * the fixture KCVs, one share too many (6986), cards without DKEK and with a random DKEK, and the
 * pico flavor's quirks (KCV zero outside a PIN session, commit at VERIFY, loss on restart).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex } from '../../protocol/bytes.ts';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { cmd, dkekStatus, expectSw, fixtures, importShare, initCard, initializeApdu, login, newCard, SELECT_APPLET, shareOf, verifyPin, wrapKey, keygenEcApdu } from './helpers.ts';
import { ecCurveByName } from '../../protocol/dkek/ec-curve.ts';

const kcvOf = (status: Uint8Array): string => toHex(status.subarray(2, 10)).toUpperCase();

describe('DKEK shares (sc-hsm flavor)', () => {
  for (const d of fixtures.dkeks) {
    it(`"${d.name}": pending → complete gives the fixture KCV ${d.kcv}`, () => {
      const card = newCard();
      initCard(card, { dkekShares: d.shares.length });
      let status = expectSw(card, dkekStatus(), 0x9000);
      assert.deepEqual([...status], [d.shares.length, d.shares.length, 0, 0, 0, 0, 0, 0, 0, 0], 'nothing imported yet');
      d.shares.forEach((file, i) => {
        status = expectSw(card, importShare(shareOf(file)), 0x9000, `share ${file}`);
        assert.equal(status[0], d.shares.length);
        assert.equal(status[1], d.shares.length - i - 1, 'outstanding');
        if (i < d.shares.length - 1) assert.equal(kcvOf(status), '0000000000000000', 'no KCV while pending');
      });
      assert.equal(kcvOf(status), d.kcv, 'KCV in the last import answer');
      card.reset();
      expectSw(card, SELECT_APPLET, 0x9000);
      assert.equal(kcvOf(expectSw(card, dkekStatus(), 0x9000)), d.kcv, 'sc-hsm: real KCV without any login');
    });
  }

  it('order of shares does not matter', () => {
    const card = newCard();
    initCard(card, { dkekShares: 3 });
    for (const f of ['s4.pbe', 's2.pbe', 's3.pbe']) expectSw(card, importShare(shareOf(f)), 0x9000);
    assert.equal(kcvOf(expectSw(card, dkekStatus(), 0x9000)), fixtures.dkeks.find((x) => x.name === 'three shares')!.kcv);
  });

  it('one share too many answers 6986 and changes nothing', () => {
    const card = newCard();
    initCard(card, { dkekShares: 1 });
    expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
    const before = card.snapshot();
    expectSw(card, importShare(shareOf('s2.pbe')), 0x6986);
    assert.deepEqual(card.snapshot(), before);
    assert.equal(kcvOf(expectSw(card, dkekStatus(), 0x9000)), '1D1083E78237E99D');
  });

  it('needs no PIN, refuses wrong lengths (6700), key domains (6A81) and an uninitialised card (6985)', () => {
    const fresh = newCard();
    expectSw(fresh, SELECT_APPLET, 0x9000);
    expectSw(fresh, dkekStatus(), 0x6985);
    const card = newCard();
    initCard(card, { dkekShares: 2 });
    expectSw(card, cmd(0x80, 0x52, 0, 0, new Uint8Array(31), 256), 0x6700);
    expectSw(card, cmd(0x80, 0x52, 1, 0, Uint8Array.of(2)), 0x6a81);
    expectSw(card, cmd(0x80, 0x52, 0, 1), 0x6a86);
  });

  it('a card initialised without tag 92 reports 00 00 and a zero KCV, refuses shares (6986) and WRAP (6A88)', () => {
    const card = newCard();
    initCard(card);
    assert.equal(toHex(expectSw(card, dkekStatus(), 0x9000)), '00'.repeat(10));
    expectSw(card, importShare(shareOf('s1.pbe')), 0x6986);
    login(card);
    expectSw(card, keygenEcApdu(1, ecCurveByName('P-256')), 0x9000);
    expectSw(card, wrapKey(1), 0x6a88);
  });

  it('--dkek-shares 0 makes a random DKEK: sc-hsm reports 0 shares and its KCV; pico 1 share', () => {
    const card = newCard();
    initCard(card, { dkekShares: 0 });
    const s = expectSw(card, dkekStatus(), 0x9000);
    assert.deepEqual([s[0], s[1]], [0, 0]);
    assert.notEqual(kcvOf(s), '0000000000000000');
    assert.equal(kcvOf(s), toHex(card.dkekKcvForTests()!).toUpperCase());
    const pico = newCard('pico');
    initCard(pico, { dkekShares: 0 });
    const p = expectSw(pico, dkekStatus(), 0x9000);
    assert.deepEqual([p[0], p[1]], [1, 0]);
    assert.equal(kcvOf(p), '0000000000000000', 'pico: zero outside a PIN session');
  });
});

describe('DKEK shares (pico flavor, firmware 6.6 behaviour)', () => {
  it('KCV reads as zeros until the user PIN is verified in the same session (fixture trace)', () => {
    const card = newCard('pico');
    initCard(card, { dkekShares: 3 });
    for (const f of ['s2.pbe', 's3.pbe', 's4.pbe']) expectSw(card, importShare(shareOf(f)), 0x9000);
    const before = expectSw(card, dkekStatus(), 0x9000);
    assert.equal(toHex(before), '03000000000000000000', 'as the trace: 03 00 + zeros');
    expectSw(card, verifyPin(), 0x9000);
    assert.equal(kcvOf(expectSw(card, dkekStatus(), 0x9000)), '0767001241A0CB44');
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    assert.equal(kcvOf(expectSw(card, dkekStatus(), 0x9000)), '0000000000000000', 'a new session hides it again');
  });

  it('the last share is only committed at the next successful VERIFY: WRAP answers 6A88 until then', () => {
    const card = newCard('pico');
    initCard(card, { dkekShares: 1 });
    expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
    assert.equal(card.dkekKcvForTests(), undefined, 'pending commit');
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, verifyPin(), 0x9000);
    assert.equal(toHex(card.dkekKcvForTests()!).toUpperCase(), '1D1083E78237E99D', 'committed by VERIFY');
  });

  it('a device restart before the commit silently replaces the DKEK (wrong KCV, no error)', () => {
    const card = newCard('pico');
    initCard(card, { dkekShares: 1 });
    expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
    const rebooted = SimulatedCard.fromState(card.snapshot());
    rebooted.powerOn();
    expectSw(rebooted, SELECT_APPLET, 0x9000);
    expectSw(rebooted, verifyPin(), 0x9000);
    const status = expectSw(rebooted, dkekStatus(), 0x9000);
    assert.deepEqual([status[0], status[1]], [1, 0], 'still reports complete');
    assert.notEqual(kcvOf(status), '1D1083E78237E99D', 'but under another key');
    assert.notEqual(kcvOf(status), '0000000000000000');
  });

  it('a share imported inside a PIN session is committed at once', () => {
    const card = newCard('pico');
    initCard(card, { dkekShares: 1 });
    expectSw(card, verifyPin(), 0x9000);
    assert.equal(kcvOf(expectSw(card, importShare(shareOf('s1.pbe')), 0x9000)), '1D1083E78237E99D');
    const rebooted = SimulatedCard.fromState(card.snapshot());
    assert.equal(toHex(rebooted.dkekKcvForTests()!).toUpperCase(), '1D1083E78237E99D', 'survives a restart');
  });

  it('sc-hsm flavor: a restart keeps the DKEK', () => {
    const card = newCard();
    initCard(card, { dkekShares: 1 });
    expectSw(card, importShare(shareOf('s1.pbe')), 0x9000);
    const rebooted = SimulatedCard.fromState(card.snapshot());
    assert.equal(toHex(rebooted.dkekKcvForTests()!).toUpperCase(), '1D1083E78237E99D');
  });
});

describe('the trace import answers', () => {
  it('pico: INITIALIZE with 92 01 03, then s2/s3/s4 answer 03 02, 03 01, 03 00 + zeros', () => {
    const card = newCard('pico');
    expectSw(card, SELECT_APPLET, 0x9000);
    expectSw(card, initializeApdu({ dkekShares: 3 }), 0x9000);
    card.reset();
    expectSw(card, SELECT_APPLET, 0x9000);
    const answers = ['s2.pbe', 's3.pbe', 's4.pbe'].map((f) => toHex(expectSw(card, importShare(shareOf(f)), 0x9000)));
    assert.deepEqual(answers, ['03020000000000000000', '03010000000000000000', '03000000000000000000']);
  });
});
