/**
 * SimulatorTransport with fault injection: a card removed before or after processing a command
 * (CARD_REMOVED, kind device), scripted status words for chosen INS, delays, and the APDU
 * recorder (which never keeps PINs or shares unless told to).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import { ApduRecorder, FaultInjector } from '../../app/simulator/faults.ts';
import { SIMULATOR_READER, SimulatorTransport } from '../../app/simulator/transport.ts';
import { importShare, initCard, newCard, SELECT_APPLET, shareOf, verifyPin } from './helpers.ts';

const isRemoved = (e: unknown): boolean => e instanceof CeremonyError && e.code === 'CARD_REMOVED' && e.kind === 'device' && typeof e.hint === 'string';
const sw = (r: Uint8Array): string => toHex(r.subarray(r.length - 2));

describe('SimulatorTransport', () => {
  it('reports itself as a virtual simulator reader with the SmartCard-HSM ATR', async () => {
    const t = new SimulatorTransport(newCard());
    assert.deepEqual({ ...t.info, atr: toHex(t.info.atr) }, { kind: 'simulator', reader: SIMULATOR_READER, virtual: true, atr: '3bfe1800008131fe458031815448534d31738021408107fa' });
    assert.equal(sw(await t.transmit(fromHex(SELECT_APPLET))), '9000');
    await t.close();
    await t.close();
    await assert.rejects(t.transmit(fromHex(SELECT_APPLET)), (e: unknown) => e instanceof CeremonyError && e.code === 'TRANSMIT_FAILED');
  });

  it('refuses overlapping transmits like a real reader would serialise them', async () => {
    const t = new SimulatorTransport(newCard(), { faults: new FaultInjector([{ action: { kind: 'delay', ms: 20 } }]) });
    const first = t.transmit(fromHex(SELECT_APPLET));
    await assert.rejects(t.transmit(fromHex(SELECT_APPLET)), (e: unknown) => e instanceof CeremonyError && e.code === 'TRANSMIT_FAILED');
    assert.equal(sw(await first), '9000');
  });
});

describe('card removed mid-command', () => {
  it("'before': the command never reaches the card; every later transmit fails until the card is inserted", async () => {
    const card = newCard();
    initCard(card, { dkekShares: 2 });
    const t = new SimulatorTransport(card, { faults: new FaultInjector([{ ins: 0x52, action: { kind: 'remove', when: 'before' } }]) });
    await t.transmit(fromHex(SELECT_APPLET));
    await assert.rejects(t.transmit(importShare(shareOf('s1.pbe'))), isRemoved);
    assert.equal(t.cardRemoved, true);
    await assert.rejects(t.transmit(fromHex(SELECT_APPLET)), isRemoved);
    t.insertCard();
    await t.transmit(fromHex(SELECT_APPLET));
    const status = await t.transmit(fromHex('8052000000'));
    assert.equal(toHex(status.subarray(0, 2)), '0202', 'the share was not imported');
  });

  it("'after': the card carries the command out but the answer is lost; the session is gone", async () => {
    const card = newCard();
    initCard(card, { dkekShares: 2 });
    const t = new SimulatorTransport(card, { faults: new FaultInjector([{ ins: 0x52, nth: 2, action: { kind: 'remove', when: 'after' } }]) });
    await t.transmit(fromHex(SELECT_APPLET));
    await t.transmit(verifyPin());
    await t.transmit(fromHex('8052000000')); // 1st 0x52: status, not faulted
    await assert.rejects(t.transmit(importShare(shareOf('s1.pbe'))), isRemoved);
    t.insertCard();
    await t.transmit(fromHex(SELECT_APPLET));
    assert.equal(sw(await t.transmit(fromHex('00200081'))), '63c3', 'removal ended the PIN session');
    const status = await t.transmit(fromHex('8052000000'));
    assert.equal(toHex(status.subarray(0, 2)), '0201', 'the share WAS imported');
  });
});

describe('scripted status words and delays', () => {
  it('answers a chosen INS with a scripted SW, without processing unless asked', async () => {
    const card = newCard();
    initCard(card, { dkekShares: 1 });
    const faults = new FaultInjector([
      { ins: 0x52, times: 1, action: { kind: 'sw', sw: 0x6a88 } },
      { ins: 0x52, nth: 3, action: { kind: 'sw', sw: 0x6f00, process: true } },
    ]);
    const t = new SimulatorTransport(card, { faults });
    await t.transmit(fromHex(SELECT_APPLET));
    assert.equal(sw(await t.transmit(importShare(shareOf('s1.pbe')))), '6a88', 'scripted');
    assert.equal(toHex(await t.transmit(fromHex('8052000000'))), '01010000000000000000' + '9000', 'not processed: still 1 outstanding');
    assert.equal(toHex(await t.transmit(importShare(shareOf('s1.pbe')))), '6f00', 'processed, answer replaced');
    assert.equal(toHex((await t.transmit(fromHex('8052000000'))).subarray(0, 2)), '0100', 'the share went in');
    const data = new FaultInjector([{ ins: 0x84, action: { kind: 'sw', sw: 0x9000, data: Uint8Array.of(1, 2, 3) } }]);
    const t2 = new SimulatorTransport(newCard(), { faults: data });
    await t2.transmit(fromHex(SELECT_APPLET));
    assert.equal(toHex(await t2.transmit(fromHex('0084000008'))), '0102039000');
  });

  it('delays go through the injectable sleep', async () => {
    const slept: number[] = [];
    const t = new SimulatorTransport(newCard(), {
      faults: new FaultInjector([{ ins: 0xa4, action: { kind: 'delay', ms: 1500 } }]),
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    await t.transmit(fromHex(SELECT_APPLET));
    await t.transmit(fromHex(SELECT_APPLET));
    assert.deepEqual(slept, [1500, 1500]);
  });

  it('matches custom predicates and validates rules', () => {
    const f = new FaultInjector([{ match: (c) => c[0] === 0x80, action: { kind: 'sw', sw: 0x6985 } }]);
    assert.equal(f.decide(fromHex('8052000000')).length, 1);
    assert.equal(f.decide(fromHex('00A4040000')).length, 0);
    assert.throws(() => f.add({ action: { kind: 'sw', sw: 0x1234 } }), RangeError);
    assert.throws(() => f.add({ nth: 0, action: { kind: 'delay', ms: 1 } }), RangeError);
    assert.throws(() => f.add({ action: { kind: 'delay', ms: -1 } }), RangeError);
    f.clear();
    assert.equal(f.decide(fromHex('8052000000')).length, 0);
  });
});

describe('ApduRecorder', () => {
  it('records commands and answers, redacting PINs and shares by default', async () => {
    const card = newCard();
    initCard(card, { dkekShares: 1 });
    const rec = new ApduRecorder();
    const t = new SimulatorTransport(card, { recorder: rec, faults: new FaultInjector([{ ins: 0x84, action: { kind: 'remove', when: 'before' } }]) });
    await t.transmit(fromHex(SELECT_APPLET));
    await t.transmit(verifyPin());
    await t.transmit(importShare(shareOf('s1.pbe')));
    await assert.rejects(t.transmit(fromHex('0084000008')));
    assert.equal(rec.exchanges.length, 4);
    assert.equal(toHex(rec.exchanges[1]!.command), '0020008106' + '2a'.repeat(6), 'PIN redacted');
    assert.equal(toHex(rec.exchanges[2]!.command), '8052000020' + '2a'.repeat(32) + '00', 'share redacted, Le kept');
    assert.equal(rec.exchanges[3]!.error, 'CARD_REMOVED');
    const text = rec.toText();
    assert.match(text, /^APDU: 00 A4 04 00 0B E8 2B/);
    assert.doesNotMatch(text, /36 34 38 32 31 39/, 'the PIN never appears');
    const raw = new ApduRecorder({ redact: false });
    raw.record(verifyPin(), Uint8Array.of(0x90, 0));
    assert.equal(toHex(raw.exchanges[0]!.command), toHex(verifyPin()));
    raw.clear();
    assert.equal(raw.exchanges.length, 0);
  });
});
