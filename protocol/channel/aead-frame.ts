/**
 * AEAD framing of the custodian channel (docs/protocol-channel.md §7): ChaCha20-Poly1305 (RFC 8439)
 * with one key per direction and a strictly incrementing 64-bit counter per direction.
 *
 * Frame layout (all integers big-endian):
 *
 * ```
 * offset  size  field
 * 0       1     version     CHANNEL_VERSION (0x01)
 * 1       1     direction   0x01 custodian → coordinator, 0x02 coordinator → custodian
 * 2       8     counter     0, 1, 2, … per direction
 * 10      n     ciphertext  n = plaintext length
 * 10+n    16    tag         Poly1305
 * ```
 *
 * nonce = 0x00000000 || counter (12 bytes); associated data = bytes 0..9 (the header), so version,
 * direction and counter are all authenticated.
 *
 * The counter travels in the clear so a receiver can say *why* a frame is unacceptable, but a
 * counter error is only reported for a frame that authenticates under its own counter (a genuine old
 * or future frame). Any other damage is CHANNEL_DECRYPT_FAILED. After any failure an opener is dead.
 */

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { wipe } from '../bytes.ts';
import { channelError, ChannelErrorCode } from './channel-error.ts';
import { isCeremonyError, type CeremonyError } from '../errors.ts';
import { CHANNEL_VERSION } from './channel-version.ts';
import { assertRole, directionByte, type ChannelRole } from './roles.ts';

/** Bytes before the ciphertext: version, direction, counter. */
export const FRAME_HEADER_BYTES = 10;

/** Poly1305 tag length. */
export const FRAME_TAG_BYTES = 16;

/** Default largest plaintext per frame: 64 KiB, far above any ceremony message. */
export const DEFAULT_MAX_PLAINTEXT = 64 * 1024;

/** Default counter limit: the 64-bit counter space. */
export const DEFAULT_COUNTER_LIMIT = 1n << 64n;

/** Options shared by sealer and opener. */
export interface FrameOptions {
  /** largest plaintext per frame in bytes (default 64 KiB) */
  maxPlaintext?: number;
  /**
   * Number of frames this direction may carry: counters run 0 … limit-1 (default 2^64). Lower it to
   * force a re-handshake sooner; tests use it to reach exhaustion.
   */
  counterLimit?: bigint;
}

function checkOptions(options: FrameOptions): { maxPlaintext: number; counterLimit: bigint } {
  const maxPlaintext = options.maxPlaintext ?? DEFAULT_MAX_PLAINTEXT;
  const counterLimit = options.counterLimit ?? DEFAULT_COUNTER_LIMIT;
  if (!Number.isSafeInteger(maxPlaintext) || maxPlaintext < 0) {
    throw new RangeError('maxPlaintext must be a non-negative integer');
  }
  if (typeof counterLimit !== 'bigint') throw new TypeError('counterLimit must be a bigint');
  if (counterLimit < 1n || counterLimit > DEFAULT_COUNTER_LIMIT) {
    throw new RangeError('counterLimit must be in [1, 2^64]');
  }
  return { maxPlaintext, counterLimit };
}

function checkKey(key: unknown): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new TypeError('key must be a Uint8Array');
  if (key.length !== 32) throw new RangeError(`key must be 32 bytes, got ${key.length}`);
  return key.slice(); // own a copy so dispose() can wipe it without touching the caller's
}

function header(sender: ChannelRole, counter: bigint): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER_BYTES);
  h[0] = CHANNEL_VERSION;
  h[1] = directionByte(sender);
  new DataView(h.buffer).setBigUint64(2, counter, false);
  return h;
}

function nonceFor(counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, counter, false);
  return n;
}

/**
 * Encrypts outgoing frames for one direction. Each call to {@link FrameSealer.seal} uses the next
 * counter; the sealer refuses to reuse one.
 */
export class FrameSealer {
  readonly sender: ChannelRole;
  readonly maxPlaintext: number;
  readonly counterLimit: bigint;
  #key: Uint8Array;
  #next = 0n;
  #closed = false;

  /**
   * @param key - this direction's 32-byte traffic key (copied; wipe yours when done)
   * @param sender - the role that sends with this sealer
   * @throws TypeError / RangeError for arguments of the wrong type or size
   */
  constructor(key: Uint8Array, sender: ChannelRole, options: FrameOptions = {}) {
    assertRole(sender, 'sender');
    const o = checkOptions(options);
    this.maxPlaintext = o.maxPlaintext;
    this.counterLimit = o.counterLimit;
    this.#key = checkKey(key);
    this.sender = sender;
  }

  /** The counter the next frame will carry. */
  get nextCounter(): bigint {
    return this.#next;
  }

  /**
   * Seals one plaintext into a frame.
   *
   * @throws CeremonyError CHANNEL_FRAME_TOO_LARGE (kind usage) if the plaintext exceeds the limit;
   *   the sealer stays usable
   * @throws CeremonyError CHANNEL_COUNTER_EXHAUSTED once the counter limit is reached; the sealer
   *   is then closed
   * @throws CeremonyError CHANNEL_CLOSED after exhaustion or {@link FrameSealer.dispose}
   * @throws TypeError if `plaintext` is not a Uint8Array
   */
  seal(plaintext: Uint8Array): Uint8Array {
    if (this.#closed) throw channelError(ChannelErrorCode.CLOSED, 'the frame sealer is closed');
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
    if (plaintext.length > this.maxPlaintext) {
      throw channelError(
        ChannelErrorCode.FRAME_TOO_LARGE,
        `message of ${plaintext.length} bytes exceeds the frame limit of ${this.maxPlaintext} bytes`,
        { length: plaintext.length, limit: this.maxPlaintext },
        'usage',
      );
    }
    if (this.#next >= this.counterLimit) {
      this.dispose();
      throw channelError(
        ChannelErrorCode.COUNTER_EXHAUSTED,
        'the channel has sent its maximum number of frames',
        { limit: this.counterLimit.toString() },
      );
    }
    const counter = this.#next;
    this.#next = counter + 1n;
    const h = header(this.sender, counter);
    const sealed = chacha20poly1305(this.#key, nonceFor(counter), h).encrypt(plaintext);
    const frame = new Uint8Array(FRAME_HEADER_BYTES + sealed.length);
    frame.set(h, 0);
    frame.set(sealed, FRAME_HEADER_BYTES);
    return frame;
  }

  /** Wipes the key; every later `seal` fails with CHANNEL_CLOSED. */
  dispose(): void {
    this.#closed = true;
    wipe(this.#key);
  }
}

/**
 * Decrypts incoming frames for one direction, accepting only the next counter. The first failure of
 * any kind closes the opener for good: a channel that has seen tampering is never trusted again.
 */
export class FrameOpener {
  /** the role whose frames this opener accepts */
  readonly sender: ChannelRole;
  readonly maxPlaintext: number;
  readonly counterLimit: bigint;
  #key: Uint8Array;
  #expected = 0n;
  #failure: CeremonyError | null = null;
  #disposed = false;

  /**
   * @param key - the peer's 32-byte traffic key (copied; wipe yours when done)
   * @param sender - the role whose frames this opener accepts
   * @throws TypeError / RangeError for arguments of the wrong type or size
   */
  constructor(key: Uint8Array, sender: ChannelRole, options: FrameOptions = {}) {
    assertRole(sender, 'sender');
    const o = checkOptions(options);
    this.maxPlaintext = o.maxPlaintext;
    this.counterLimit = o.counterLimit;
    this.#key = checkKey(key);
    this.sender = sender;
  }

  /** The counter the next acceptable frame must carry. */
  get expectedCounter(): bigint {
    return this.#expected;
  }

  /** True once a call failed or the opener was disposed. */
  get dead(): boolean {
    return this.#failure !== null || this.#disposed;
  }

  /** The failure that killed this opener, if any (public data only). */
  get failure(): CeremonyError | null {
    return this.#failure;
  }

  /**
   * Opens one frame and returns its plaintext (owned by the caller).
   *
   * @throws CeremonyError CHANNEL_BAD_FRAME, CHANNEL_FRAME_TOO_LARGE, CHANNEL_DECRYPT_FAILED,
   *   CHANNEL_REPLAY, CHANNEL_OUT_OF_ORDER or CHANNEL_COUNTER_EXHAUSTED; after the first of these
   *   (or after dispose) every call throws CHANNEL_CLOSED
   */
  open(frame: Uint8Array): Uint8Array {
    if (this.dead) {
      throw channelError(
        ChannelErrorCode.CLOSED,
        'the frame opener is closed after an earlier failure',
        this.#failure === null ? { after: 'dispose' } : { after: this.#failure.code },
      );
    }
    try {
      return this.#open(frame);
    } catch (e) {
      // Anything thrown here kills the opener. Non-CeremonyErrors (a TypeError for a non-array, or
      // a defect) are wrapped so the caller sees one error type from the wire side.
      const err = isCeremonyError(e)
        ? e
        : channelError(ChannelErrorCode.BAD_FRAME, 'the frame could not be processed', undefined);
      this.#failure = err;
      wipe(this.#key);
      throw err;
    }
  }

  #open(frame: Uint8Array): Uint8Array {
    if (!(frame instanceof Uint8Array)) {
      throw channelError(ChannelErrorCode.BAD_FRAME, 'the frame is not a byte array');
    }
    if (frame.length < FRAME_HEADER_BYTES + FRAME_TAG_BYTES) {
      throw channelError(
        ChannelErrorCode.BAD_FRAME,
        `the frame is ${frame.length} bytes, shorter than header and tag`,
        { length: frame.length },
      );
    }
    const plaintextLength = frame.length - FRAME_HEADER_BYTES - FRAME_TAG_BYTES;
    if (plaintextLength > this.maxPlaintext) {
      throw channelError(
        ChannelErrorCode.FRAME_TOO_LARGE,
        `the frame carries ${plaintextLength} bytes, over the limit of ${this.maxPlaintext}`,
        { length: plaintextLength, limit: this.maxPlaintext },
      );
    }
    if (frame[0] !== CHANNEL_VERSION || frame[1] !== directionByte(this.sender)) {
      throw channelError(
        ChannelErrorCode.BAD_FRAME,
        'the frame header names another protocol version or direction',
        { version: frame[0], direction: frame[1] },
      );
    }
    if (this.#expected >= this.counterLimit) {
      throw channelError(
        ChannelErrorCode.COUNTER_EXHAUSTED,
        'the peer has sent its maximum number of frames',
        { limit: this.counterLimit.toString() },
      );
    }
    const h = frame.subarray(0, FRAME_HEADER_BYTES);
    const counter = new DataView(frame.buffer, frame.byteOffset, frame.length).getBigUint64(2, false);
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(this.#key, nonceFor(counter), h).decrypt(
        frame.subarray(FRAME_HEADER_BYTES),
      );
    } catch {
      throw channelError(
        ChannelErrorCode.DECRYPT_FAILED,
        'a frame failed authentication (tampered or corrupted)',
      );
    }
    if (counter !== this.#expected) {
      wipe(plaintext);
      const replay = counter < this.#expected;
      throw channelError(
        replay ? ChannelErrorCode.REPLAY : ChannelErrorCode.OUT_OF_ORDER,
        replay
          ? `frame ${counter} arrived again (expected frame ${this.#expected})`
          : `frame ${counter} arrived before frame ${this.#expected} (frames lost or reordered)`,
        { counter: counter.toString(), expected: this.#expected.toString() },
      );
    }
    this.#expected = counter + 1n;
    return plaintext;
  }

  /** Wipes the key; every later `open` fails with CHANNEL_CLOSED. */
  dispose(): void {
    this.#disposed = true;
    wipe(this.#key);
  }
}
