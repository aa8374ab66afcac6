/** sc-hsm-tool's INITIALIZE rules (spec §6), enforced before any APDU. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkInitializeOptions,
  encodeInitializeData,
  maxRetryCounterFor,
  parseSoPin,
  type InitializeOptions,
} from '../../app/card/initialize-options.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { toHex, utf8 } from '../../protocol/bytes.ts';
import { ScriptedTransport } from './card-trace.ts';

const SO = utf8('3537363231383830');
const base = (o: Partial<InitializeOptions> = {}): InitializeOptions => ({ userPin: utf8('648219'), soPin: SO, ...o });

function rejects(o: InitializeOptions, code: string): void {
  assert.throws(() => checkInitializeOptions(o), (e: unknown) => {
    assert.equal((e as { code?: string }).code, code);
    assert.equal((e as { kind?: string }).kind, 'usage');
    const msg = (e as Error).message;
    assert.match(msg, /^[a-z]/, 'lowercase message');
    assert.ok(!msg.endsWith('.'));
    assert.ok(!msg.includes('648219') && !msg.includes('3537363231383830'), 'no PIN in the message');
    assert.ok((e as { hint?: string }).hint, 'a hint');
    return true;
  });
}

describe('initialize options', () => {
  it('the exact TLVs of sc-hsm-tool --initialize --dkek-shares 1', () => {
    assert.equal(toHex(encodeInitializeData(base({ dkekShares: 1 }))).toUpperCase(), '80020001810636343832313982083537363231383830910103920101');
  });

  it('dkek shares: omitted → no 92 tag; 0 → random DKEK; 127 → fits', () => {
    assert.ok(!toHex(encodeInitializeData(base())).includes('9201'));
    assert.ok(toHex(encodeInitializeData(base({ dkekShares: null }))).endsWith('910103'));
    assert.ok(toHex(encodeInitializeData(base({ dkekShares: 0 }))).endsWith('920100'));
    assert.ok(toHex(encodeInitializeData(base({ dkekShares: 127 }))).endsWith('92017f'));
    rejects(base({ dkekShares: 128 }), 'DKEK_SHARES_RANGE');
    rejects(base({ dkekShares: -1 }), 'DKEK_SHARES_RANGE');
    rejects(base({ dkekShares: 1.5 }), 'DKEK_SHARES_RANGE');
  });

  it('user PIN must be 6..16 bytes', () => {
    rejects(base({ userPin: utf8('12345') }), 'USER_PIN_LENGTH');
    rejects(base({ userPin: utf8('12345678901234567') }), 'USER_PIN_LENGTH');
    checkInitializeOptions(base({ userPin: utf8('1234567890123456'), retryCounter: 10 }));
    assert.throws(() => checkInitializeOptions(base({ userPin: '648219' as unknown as Uint8Array })), TypeError);
  });

  it('retry counter: default 3; ≤3 for 6 characters, ≤5 for 7, ≤10 otherwise; at least 1', () => {
    assert.deepEqual([6, 7, 8, 16].map(maxRetryCounterFor), [3, 5, 10, 10]);
    checkInitializeOptions(base({ retryCounter: 3 }));
    rejects(base({ retryCounter: 4 }), 'RETRY_COUNTER_RANGE');
    checkInitializeOptions(base({ userPin: utf8('1234567'), retryCounter: 5 }));
    rejects(base({ userPin: utf8('1234567'), retryCounter: 6 }), 'RETRY_COUNTER_RANGE');
    checkInitializeOptions(base({ userPin: utf8('12345678'), retryCounter: 10 }));
    rejects(base({ userPin: utf8('12345678'), retryCounter: 11 }), 'RETRY_COUNTER_RANGE');
    rejects(base({ retryCounter: 0 }), 'RETRY_COUNTER_RANGE');
    assert.ok(toHex(encodeInitializeData(base({ userPin: utf8('12345678'), retryCounter: 10 }))).endsWith('91010a'));
  });

  it('SO-PIN: exactly 16 hex digits, separators between pairs allowed', () => {
    assert.equal(toHex(parseSoPin(utf8('3537363231383830'))), '3537363231383830');
    assert.equal(toHex(parseSoPin(utf8('35:37:36:32:31:38:38:30'))), '3537363231383830');
    assert.equal(toHex(parseSoPin(utf8('35 37 36 32 31 38 38 30'))), '3537363231383830');
    assert.equal(toHex(parseSoPin(utf8('aBcDeF0123456789'))), 'abcdef0123456789');
    for (const bad of ['353736323138383', '35373632313838300', '353736323138383g', '', ':3537363231383830', '3537363231383830:', '3 537363231383830', '35373632 31383830 00']) {
      rejects(base({ soPin: utf8(bad) }), 'SO_PIN_FORMAT');
    }
  });

  it('label: 1..127 UTF-8 bytes', () => {
    checkInitializeOptions(base({ label: 'Ceremony 2026' }));
    rejects(base({ label: '' }), 'LABEL_LENGTH');
    rejects(base({ label: 'x'.repeat(128) }), 'LABEL_LENGTH');
  });

  it('SmartCardHsm.initialize validates before sending anything', async () => {
    const t = new ScriptedTransport([]);
    const hsm = new SmartCardHsm(t);
    for (const o of [base({ userPin: utf8('123') }), base({ soPin: utf8('nothex') }), base({ retryCounter: 9 }), base({ dkekShares: 200 })]) {
      await assert.rejects(hsm.initialize(o), (e: unknown) => (e as { kind?: string }).kind === 'usage');
    }
    t.done();
  });
});
