// AEAD framing: round trips, every rejection with its stable code, the "dead after any failure"
// rule, and fuzzing with random frames and bit flips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { toHex, utf8 } from '../../protocol/bytes.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import {
  FRAME_HEADER_BYTES,
  FRAME_TAG_BYTES,
  FrameOpener,
  FrameSealer,
  type FrameOptions,
} from '../../protocol/channel/aead-frame.ts';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);

function pair(options: FrameOptions = {}) {
  return {
    sealer: new FrameSealer(KEY, 'coordinator', options),
    opener: new FrameOpener(KEY, 'coordinator', options),
  };
}

function rejects(fn: () => unknown, code: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCeremonyError(e), `expected CeremonyError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(e.hint, 'every channel error carries a hint');
    assert.equal(e.message[0], e.message[0]!.toLowerCase(), 'messages start lowercase');
    assert.doesNotMatch(e.message, /\.$/);
    return true;
  });
}

test('known answer: first frame of "hello" under a fixed key, checked with node:crypto', () => {
  // Pasted from one run; the node:crypto computation below reproduces it independently.
  const KAT = '01020000000000000000' + 'ee7b5aee8b' + '29bfa47ec7d59d088bbbdfe0329e8e72';
  const frame = new FrameSealer(KEY, 'coordinator').seal(utf8('hello'));
  assert.equal(toHex(frame), KAT);
  const header = Buffer.from('01020000000000000000', 'hex');
  const nonce = Buffer.alloc(12); // 00000000 || counter 0
  const c = createCipheriv('chacha20-poly1305', KEY, nonce, { authTagLength: 16 });
  c.setAAD(header, { plaintextLength: 5 });
  const ct = Buffer.concat([c.update('hello'), c.final(), c.getAuthTag()]);
  assert.equal(Buffer.concat([header, ct]).toString('hex'), KAT);
  const custodianFrame = new FrameSealer(KEY, 'custodian').seal(utf8('hello'));
  assert.equal(toHex(custodianFrame.subarray(0, 2)), '0101');
  // same key, same counter, different associated data: the tags differ
  assert.notEqual(toHex(frame.subarray(-16)), toHex(custodianFrame.subarray(-16)));
});

test('round trip in order, counters advance on both sides', () => {
  const { sealer, opener } = pair();
  for (let i = 0; i < 5; i++) {
    const msg = utf8(`message ${i}`);
    const frame = sealer.seal(msg);
    assert.equal(toHex(opener.open(frame)), toHex(msg));
  }
  assert.equal(sealer.nextCounter, 5n);
  assert.equal(opener.expectedCounter, 5n);
  // the counter sits big-endian in the header
  const f = sealer.seal(new Uint8Array(0));
  assert.equal(toHex(f.subarray(2, 10)), '0000000000000005');
  assert.equal(opener.open(f).length, 0);
});

test('replayed frame: CHANNEL_REPLAY, then the opener is dead', () => {
  const { sealer, opener } = pair();
  const f0 = sealer.seal(utf8('a'));
  const f1 = sealer.seal(utf8('b'));
  opener.open(f0);
  rejects(() => opener.open(f0), 'CHANNEL_REPLAY');
  assert.equal(opener.dead, true);
  rejects(() => opener.open(f1), 'CHANNEL_CLOSED');
});

test('skipped frame: CHANNEL_OUT_OF_ORDER', () => {
  const { sealer, opener } = pair();
  sealer.seal(utf8('lost'));
  const f1 = sealer.seal(utf8('b'));
  rejects(() => opener.open(f1), 'CHANNEL_OUT_OF_ORDER');
  rejects(() => opener.open(f1), 'CHANNEL_CLOSED');
});

test('reordered frames: the later one arriving first is rejected and kills the opener', () => {
  const { sealer, opener } = pair();
  const f0 = sealer.seal(utf8('a'));
  const f1 = sealer.seal(utf8('b'));
  rejects(() => opener.open(f1), 'CHANNEL_OUT_OF_ORDER');
  rejects(() => opener.open(f0), 'CHANNEL_CLOSED');
});

test('a forged counter is a decryption failure, not a replay', () => {
  const { sealer, opener } = pair();
  opener.open(sealer.seal(utf8('a')));
  const f = sealer.seal(utf8('b'));
  f[9] = 0; // claim counter 0 (already seen) — but the frame does not authenticate under it
  rejects(() => opener.open(f), 'CHANNEL_DECRYPT_FAILED');
});

test('wrong key, wrong direction, wrong version', () => {
  const sealer = new FrameSealer(KEY, 'coordinator');
  const frame = sealer.seal(utf8('x'));
  const otherKey = KEY.slice();
  otherKey[0]! ^= 1;
  rejects(() => new FrameOpener(otherKey, 'coordinator').open(frame), 'CHANNEL_DECRYPT_FAILED');
  // a frame reflected back to its sender is refused by direction
  rejects(() => new FrameOpener(KEY, 'custodian').open(frame), 'CHANNEL_BAD_FRAME');
  const v2 = frame.slice();
  v2[0] = 2;
  rejects(() => new FrameOpener(KEY, 'coordinator').open(v2), 'CHANNEL_BAD_FRAME');
});

test('short and oversized frames', () => {
  const { opener } = pair();
  rejects(() => opener.open(new Uint8Array(FRAME_HEADER_BYTES + FRAME_TAG_BYTES - 1)), 'CHANNEL_BAD_FRAME');
  const small = pair({ maxPlaintext: 8 });
  rejects(() => small.sealer.seal(new Uint8Array(9)), 'CHANNEL_FRAME_TOO_LARGE');
  // an oversized plaintext does not burn a counter: the sealer keeps working
  const ok = small.sealer.seal(new Uint8Array(8));
  assert.equal(small.opener.open(ok).length, 8);
  const big = new FrameSealer(KEY, 'coordinator', { maxPlaintext: 9 });
  big.seal(new Uint8Array(0)); // counter 0 (opener already past it)
  const f = big.seal(new Uint8Array(9));
  rejects(() => small.opener.open(f), 'CHANNEL_FRAME_TOO_LARGE');
  rejects(() => small.opener.open(ok), 'CHANNEL_CLOSED');
});

test('counter exhaustion on both sides', () => {
  const { sealer, opener } = pair({ counterLimit: 2n });
  opener.open(sealer.seal(utf8('0')));
  opener.open(sealer.seal(utf8('1')));
  rejects(() => sealer.seal(utf8('2')), 'CHANNEL_COUNTER_EXHAUSTED');
  rejects(() => sealer.seal(utf8('3')), 'CHANNEL_CLOSED');
  // a peer that keeps sending past the limit (its own limit is higher)
  const greedy = new FrameSealer(KEY, 'coordinator', { counterLimit: 3n });
  greedy.seal(utf8('0'));
  greedy.seal(utf8('1'));
  rejects(() => opener.open(greedy.seal(utf8('2'))), 'CHANNEL_COUNTER_EXHAUSTED');
  assert.equal(opener.dead, true);
});

test('the full 64-bit counter space is the default limit', () => {
  const sealer = new FrameSealer(KEY, 'custodian');
  assert.equal(sealer.counterLimit, 1n << 64n);
  assert.throws(() => new FrameSealer(KEY, 'custodian', { counterLimit: (1n << 64n) + 1n }), RangeError);
  assert.throws(() => new FrameSealer(KEY, 'custodian', { counterLimit: 0n }), RangeError);
});

test('dispose wipes and closes; keys are copied, not borrowed', () => {
  const key = KEY.slice();
  const { sealer, opener } = { sealer: new FrameSealer(key, 'custodian'), opener: new FrameOpener(key, 'custodian') };
  key.fill(0); // the caller wiping its copy must not break the channel
  const f = sealer.seal(utf8('still works'));
  assert.equal(new TextDecoder().decode(opener.open(f)), 'still works');
  sealer.dispose();
  opener.dispose();
  rejects(() => sealer.seal(utf8('x')), 'CHANNEL_CLOSED');
  rejects(() => opener.open(f), 'CHANNEL_CLOSED');
});

test('constructor argument checks', () => {
  assert.throws(() => new FrameSealer(new Uint8Array(31), 'custodian'), RangeError);
  assert.throws(() => new FrameOpener('k' as unknown as Uint8Array, 'custodian'), TypeError);
  assert.throws(() => new FrameSealer(KEY, 'nobody' as 'custodian'), TypeError);
  assert.throws(() => new FrameSealer(KEY, 'custodian', { maxPlaintext: -1 }), RangeError);
});

test('property: random message sequences round-trip', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (messages) => {
      const { sealer, opener } = pair();
      for (const m of messages) assert.equal(toHex(opener.open(sealer.seal(m))), toHex(m));
    }),
    { numRuns: 100 },
  );
});

test('property: any single bit flip anywhere in any frame is rejected', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.nat(),
      (messages, which, bit) => {
        const { sealer, opener } = pair();
        const frames = messages.map((m) => sealer.seal(m));
        const target = which % frames.length;
        const f = frames[target]!;
        const pos = bit % (f.length * 8);
        f[pos >> 3]! ^= 1 << (pos & 7);
        for (let i = 0; i < target; i++) opener.open(frames[i]!);
        assert.throws(
          () => opener.open(f),
          (e: unknown) =>
            isCeremonyError(e) &&
            ['CHANNEL_DECRYPT_FAILED', 'CHANNEL_BAD_FRAME', 'CHANNEL_FRAME_TOO_LARGE'].includes(e.code),
        );
        assert.equal(opener.dead, true);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: random garbage never throws anything but CeremonyError, and never opens', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 120 }), { minLength: 1, maxLength: 5 }), (garbage) => {
      const opener = new FrameOpener(KEY, 'custodian');
      for (const g of garbage) {
        try {
          opener.open(g);
          assert.fail('garbage opened');
        } catch (e) {
          assert.ok(isCeremonyError(e), `non-CeremonyError: ${String(e)}`);
        }
      }
    }),
    { numRuns: 300 },
  );
  // even a non-array from a confused caller comes back as a CeremonyError and kills the opener
  const opener = new FrameOpener(KEY, 'custodian');
  rejects(() => opener.open('frame' as unknown as Uint8Array), 'CHANNEL_BAD_FRAME');
  rejects(() => opener.open(new Uint8Array(40)), 'CHANNEL_CLOSED');
});
