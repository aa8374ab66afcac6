// Ceremony messages: accept and reject cases per type and direction, the bytes-field encoding, and
// a bounded property test that decoding random input only ever fails with a documented wire code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeCoordinatorMessage,
  decodeCustodianMessage,
  encodeMessage,
  openCustodianFrame,
  sealMessage,
} from '../../protocol/wire/message-codec.ts';
import { decodeWireJson, encodeWireJson } from '../../protocol/wire/wire-json.ts';
import { isWireErrorCode } from '../../protocol/wire/wire-error.ts';
import { FrameOpener, FrameSealer } from '../../protocol/channel/aead-frame.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import type { CustodianMessage } from '../../protocol/wire/custodian-messages.ts';
import type { CoordinatorMessage } from '../../protocol/wire/coordinator-messages.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const share = new Uint8Array(32).map((_, i) => i * 7 + 1);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isCeremonyError(e), `expected a CeremonyError, got ${String(e)}`);
    return e.code;
  }
  return 'ACCEPTED';
}

describe('wire JSON', () => {
  it('writes bytes fields as lowercase hex and reads them back as Uint8Array', () => {
    const bytes = encodeWireJson({ type: 'share', request: 1, share });
    const text = new TextDecoder().decode(bytes);
    assert.equal(text, `{"type":"share","request":1,"share":"${Buffer.from(share).toString('hex')}"}`);
    const back = decodeWireJson(bytes);
    assert.ok(back.share instanceof Uint8Array);
    assert.deepEqual(back.share, share);
    assert.ok(bytes.every((b) => b === 0), 'the decoder wipes its input');
  });

  it('refuses bytes outside a bytes field and a bytes field that is not bytes', () => {
    assert.throws(() => encodeWireJson({ type: 'x', other: new Uint8Array(2) }), TypeError);
    assert.throws(() => encodeWireJson({ type: 'share', share: 'abcd' }), TypeError);
    assert.throws(() => encodeWireJson({ type: 'x', n: Number.NaN }), RangeError);
  });

  it('leaves a __proto__ key as a plain field (caught later as unknown)', () => {
    const v = decodeWireJson(enc('{"type":"hello","__proto__":{"x":1}}'));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
  });
});

describe('custodian → coordinator messages', () => {
  const accept: CustodianMessage[] = [
    { type: 'hello', protocol: 1, client: 'hsm-custodian 0.1.0' },
    { type: 'progress', request: 3, percent: 40 },
    { type: 'share', request: 3, share },
    { type: 'pwd-share', request: 4, id: '2', value: enc('9c:15:cc:81:b8:d9:18:7c') },
    { type: 'pwd-share', request: 4, id: '2', value: enc('9c:15'), prime: 'c3:72:ff:83:be:5a:1f:df' },
    { type: 'pins', request: 5, soPin: enc('3537363231383830'), pin: enc('648219') },
    { type: 'pin', request: 6, pin: enc('648219') },
    { type: 'created', request: 7, fingerprint: '0df8 a74f 7388 018e' },
    { type: 'confirmed', request: 8 },
    { type: 'decline', request: 9, code: 'CANCELLED', message: 'the custodian cancelled' },
  ];
  for (const m of accept) {
    it(`accepts ${m.type}`, () => {
      const back = decodeCustodianMessage(encodeMessage(m));
      assert.deepEqual(back, m);
    });
  }

  const reject: [string, string, string][] = [
    ['not JSON', 'hello', 'WIRE_MALFORMED'],
    ['an array', '[1,2]', 'WIRE_MALFORMED'],
    ['trailing garbage', '{"type":"confirmed","request":1} x', 'WIRE_MALFORMED'],
    ['no type', '{"request":1}', 'WIRE_UNKNOWN_TYPE'],
    ['an unknown type', '{"type":"gimme-the-dkek"}', 'WIRE_UNKNOWN_TYPE'],
    ['a coordinator type', '{"type":"welcome"}', 'WIRE_UNKNOWN_TYPE'],
    ['an unknown field', '{"type":"confirmed","request":1,"extra":true}', 'WIRE_UNKNOWN_FIELD'],
    ['a missing field', '{"type":"share","request":1}', 'WIRE_BAD_FIELD'],
    ['a short share', '{"type":"share","request":1,"share":"abcd"}', 'WIRE_BAD_FIELD'],
    ['upper-case hex', `{"type":"share","request":1,"share":"${'AB'.repeat(32)}"}`, 'WIRE_BAD_FIELD'],
    ['a share as a number', '{"type":"share","request":1,"share":5}', 'WIRE_BAD_FIELD'],
    ['request 0', '{"type":"confirmed","request":0}', 'WIRE_BAD_FIELD'],
    ['a fractional request', '{"type":"confirmed","request":1.5}', 'WIRE_BAD_FIELD'],
    ['percent 101', '{"type":"progress","request":1,"percent":101}', 'WIRE_BAD_FIELD'],
    ['a PIN of 5 bytes', '{"type":"pin","request":1,"pin":"3132333435"}', 'WIRE_BAD_FIELD'],
    ['a bad fingerprint', '{"type":"created","request":1,"fingerprint":"0DF8 A74F 7388 018E"}', 'WIRE_BAD_FIELD'],
    ['deep nesting', `{"type":"confirmed","request":1,"x":${'['.repeat(40)}${']'.repeat(40)}}`, 'WIRE_MALFORMED'],
  ];
  for (const [what, text, want] of reject) {
    it(`${want === 'ACCEPTED' ? 'accepts' : 'refuses'} ${what}${want === 'ACCEPTED' ? '' : ` with ${want}`}`, () => {
      assert.equal(code(() => decodeCustodianMessage(enc(text))), want);
    });
  }

  it('refuses invalid UTF-8 with WIRE_MALFORMED', () => {
    const bytes = enc('{"type":"hello","protocol":1,"client":"ab"}');
    bytes[bytes.length - 3] = 0xff;
    assert.equal(code(() => decodeCustodianMessage(bytes)), 'WIRE_MALFORMED');
  });

  it('names the field, never its value, when a secret field is bad', () => {
    const secret = 'ab'.repeat(31);
    try {
      decodeCustodianMessage(enc(`{"type":"share","request":1,"share":"${secret}"}`));
      assert.fail('accepted');
    } catch (e) {
      assert.ok(isCeremonyError(e));
      assert.match(e.message, /bad field share/);
      assert.ok(!e.message.includes(secret) && !JSON.stringify(e.detail).includes(secret));
    }
  });
});

describe('coordinator → custodian messages', () => {
  const accept: CoordinatorMessage[] = [
    {
      type: 'welcome',
      protocol: 1,
      slot: 2,
      name: 'bob',
      roles: ['custodian', 'security-officer'],
      plan: { mode: 'import-pwd-shares', shares: 1, initialize: 1, pwdShares: { threshold: 2, total: 3, fileName: 's3.pbe' }, expectedKcv: 'BC2F5BF870DFEC76' },
      slots: [{ slot: 2, name: 'bob', roles: ['custodian'] }],
    },
    { type: 'request-share', request: 1, fileName: null },
    { type: 'request-share', request: 1, fileName: 'alice.pbe', file: new Uint8Array(64).fill(3) },
    { type: 'request-share', request: 1, fileName: 'alice.pbe', fingerprint: '0df8 a74f 7388 018e' },
    { type: 'request-pwd-share', request: 2, fileName: 's3.pbe', threshold: 2, total: 3, needPrime: true },
    { type: 'request-pins', request: 3, dkekShares: 3 },
    { type: 'request-pin', request: 4 },
    { type: 'request-create', request: 5, fileName: 'alice.pbe', challenge: share },
    { type: 'show-pwd-share', request: 6, fileName: 'x.pbe', prime: 'c3:72', id: 1, value: enc('4f:eb'), threshold: 2, total: 3 },
    { type: 'cancel', request: 7, reason: 'no longer needed' },
    { type: 'result', request: 8, ok: false, code: 'SHARE_ALREADY_IMPORTED', message: 'm', hint: 'h' },
    { type: 'event', event: { type: 'share-imported', slot: 1, name: 'alice', fingerprint: '0df8 a74f 7388 018e', imported: 1, total: 3, outstanding: 2 } },
    { type: 'event', event: { type: 'ceremony-over', outcome: 'done', exitCode: 0, code: null, message: 'ok' } },
    { type: 'error', code: 'WIRE_BAD_FIELD', message: 'm', hint: 'h' },
  ];
  for (const m of accept) {
    it(`accepts ${m.type}${m.type === 'event' ? ` ${m.event.type}` : ''}`, () => {
      assert.deepEqual(decodeCoordinatorMessage(encodeMessage(m)), m);
    });
  }
  const reject: [string, string, string][] = [
    ['an unknown event type', '{"type":"event","event":{"type":"secret-dump"}}', 'WIRE_BAD_FIELD'],
    ['an event with an extra field', '{"type":"event","event":{"type":"warning","code":"X_Y","message":"m","share":"00"}}', 'WIRE_UNKNOWN_FIELD'],
    ['a KCV in lower case', '{"type":"event","event":{"type":"kcv","kcv":"0cd7b68b6e2f3a7e","expected":null,"matches":null}}', 'WIRE_BAD_FIELD'],
    ['a custodian type', '{"type":"share","request":1,"share":"00"}', 'WIRE_UNKNOWN_TYPE'],
    ['a welcome for slot 0', '{"type":"welcome"}', 'WIRE_BAD_FIELD'],
  ];
  for (const [what, text, want] of reject) {
    it(`refuses ${what} with ${want}`, () => {
      assert.equal(code(() => decodeCoordinatorMessage(enc(text))), want);
    });
  }
});

describe('frames', () => {
  it('a sealed message opens to the same message; a replay kills the opener', () => {
    const key = new Uint8Array(32).fill(9);
    const sealer = new FrameSealer(key, 'custodian');
    const opener = new FrameOpener(key, 'custodian');
    const m: CustodianMessage = { type: 'share', request: 1, share };
    const frame = sealMessage(sealer, m);
    assert.deepEqual(openCustodianFrame(opener, frame.slice()), m);
    assert.equal(code(() => openCustodianFrame(opener, frame)), 'CHANNEL_REPLAY');
    assert.equal(code(() => openCustodianFrame(opener, sealMessage(sealer, m))), 'CHANNEL_CLOSED');
  });
});

describe('decoding random input (bounded)', () => {
  it('fails only with documented wire codes, never with anything else', () => {
    const types = ['hello', 'share', 'pwd-share', 'pins', 'pin', 'progress', 'created', 'confirmed', 'decline', 'welcome', 'event', 'x'];
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    const message = fc.record({ type: fc.constantFrom(...types), request: fc.integer({ min: -2, max: 5 }), rest: fc.dictionary(fc.constantFrom('share', 'value', 'pin', 'id', 'protocol', 'client', 'percent', 'event', 'x'), value, { maxKeys: 3 }) });
    fc.assert(
      fc.property(fc.oneof(message.map((m) => JSON.stringify({ type: m.type, request: m.request, ...m.rest })), fc.string(), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'))), (text) => {
        for (const decode of [decodeCustodianMessage, decodeCoordinatorMessage]) {
          const c = code(() => decode(enc(text)));
          assert.ok(c === 'ACCEPTED' || isWireErrorCode(c), `unexpected ${c}`);
        }
      }),
      { numRuns: 3000, seed: 20240601 },
    );
  });
});
