/**
 * The channel handshake as two pure state machines, one per role (docs/protocol-channel.md §8).
 * They never touch a socket or a clock: the caller feeds received bytes to `receive()` and sends
 * whatever the returned step says; timeouts are the caller's business.
 *
 * ```
 * custodian (A, initiator)                        coordinator (B, responder)
 *   start()          ── hello(v, nameplate, sid, commit, Ya) ──▶  receive(): look up code, CPace
 *   receive()        ◀── reply(v, Yb) ─────────────────────────
 *   CPace, keys      ── custodian-confirm(nonce, tagA) ────────▶  verify tagA, then commitment
 *   receive()        ◀── coordinator-confirm(tagB) ────────────   (only after tagA verified)
 *   verify tagB → established, SAS                                 established, SAS
 * ```
 *
 * Order of confirmation: the custodian proves knowledge of the code first, and the coordinator sends
 * anything derived from ISK only after that proof verified. So a party that does not know the code
 * gets, per hello, one yes/no answer from the coordinator and nothing to test further guesses
 * against offline (docs/protocol-channel.md §8.3).
 */

import { equalBytes, utf8, wipe } from '../bytes.ts';
import { isCeremonyError, type CeremonyError } from '../errors.ts';
import { FrameOpener, FrameSealer, type FrameOptions } from './aead-frame.ts';
import { channelError, ChannelErrorCode } from './channel-error.ts';
import { LABEL_PREFIX } from './channel-version.ts';
import { cpaceIsk, cpaceShare, lvCat } from './cpace.ts';
import {
  decodeHandshakeMessage,
  encodeAbort,
  encodeCoordinatorConfirm,
  encodeCustodianConfirm,
  encodeCustodianConfirmBody,
  encodeHello,
  encodeReply,
  HELLO_AD_BYTES,
  NONCE_BYTES,
  REPLY_AD_BYTES,
  SID_BYTES,
  type AbortReasonName,
  type HandshakeMessage,
} from './handshake-messages.ts';
import { joinCodePrs, type JoinCode } from './join-code.ts';
import {
  confirmationTag,
  deriveChannelKeys,
  sasCommitment,
  shortAuthenticationString,
  transcriptHash,
  verifyConfirmationTag,
  wipeChannelKeys,
  type ChannelKeys,
} from './key-schedule.ts';
import { defaultRng, drawBytes, type Rng } from '../random.ts';
import type { ChannelRole } from './roles.ts';

/**
 * CPace's channel identifier: both role identities, initiator first (draft-irtf-cfrg-cpace-21,
 * "Guidance regarding party identifier integration"). A message relayed to a party of the same role
 * therefore never yields a matching key.
 */
export const CHANNEL_CI: Uint8Array = lvCat(
  utf8(`${LABEL_PREFIX}custodian`),
  utf8(`${LABEL_PREFIX}coordinator`),
);

/** An established channel: what both sides keep after the handshake. */
export interface ChannelSession {
  readonly role: ChannelRole;
  /** the custodian slot this channel belongs to */
  readonly nameplate: number;
  /** six digits both screens show; the people compare them aloud */
  readonly sas: string;
  /** SHA-256 transcript hash over all four handshake messages; public, for the ceremony log */
  readonly transcriptHash: Uint8Array;
  /** encrypts what this side sends */
  readonly sealer: FrameSealer;
  /** decrypts what the peer sends */
  readonly opener: FrameOpener;
  /** wipes both traffic keys */
  dispose(): void;
}

/** What one handshake step asks the caller to do. */
export type HandshakeStep =
  /** send `send` and wait for the next message */
  | { status: 'continue'; send: Uint8Array }
  /** send `send` if not null; the channel is up */
  | { status: 'established'; send: Uint8Array | null; session: ChannelSession }
  /** send `send` (an abort) if not null, then close the connection; `error` says why */
  | { status: 'failed'; send: Uint8Array | null; error: CeremonyError };

/** Options shared by both roles. */
export interface HandshakeOptions {
  /** random bytes (default `crypto.getRandomValues`) */
  rng?: Rng;
  /** frame limits for the resulting session */
  frameOptions?: FrameOptions;
}

export interface CustodianHandshakeOptions extends HandshakeOptions {
  /** the code the custodian typed (parseJoinCode); the handshake copies what it needs */
  code: JoinCode;
}

export interface CoordinatorHandshakeOptions extends HandshakeOptions {
  /**
   * Returns the live join code for a nameplate, or null if there is none. Called at most once per
   * handshake, when the hello arrives. The caller MUST retire that code as soon as it is returned
   * (one hello per code, whatever the outcome), which is what limits an attacker to one online
   * guess per code (docs/protocol-channel.md §4.3).
   */
  resolveCode: (nameplate: number) => JoinCode | null;
}

const ABORT_REASON_BY_CODE: Partial<Record<string, AbortReasonName>> = {
  [ChannelErrorCode.BAD_MESSAGE]: 'bad-message',
  [ChannelErrorCode.UNEXPECTED_MESSAGE]: 'unexpected-message',
  [ChannelErrorCode.UNSUPPORTED_VERSION]: 'unsupported-version',
  [ChannelErrorCode.UNKNOWN_NAMEPLATE]: 'unknown-nameplate',
  [ChannelErrorCode.BAD_POINT]: 'bad-point',
  [ChannelErrorCode.CONFIRM_FAILED]: 'confirm-failed',
  [ChannelErrorCode.COMMITMENT_MISMATCH]: 'commitment-mismatch',
};

const PEER_ABORT_TEXT: Record<AbortReasonName | 'unknown', string> = {
  'bad-message': 'sent a malformed handshake message',
  'unexpected-message': 'received a message it did not expect',
  'unsupported-version': 'does not speak this channel protocol version',
  'unknown-nameplate': 'has no live join code for this slot (unknown, or already used)',
  'bad-point': 'received an invalid CPace share',
  'confirm-failed': 'could not confirm the key: the join codes differ',
  'commitment-mismatch': 'saw a SAS nonce that does not match its commitment',
  internal: 'failed internally',
  unknown: 'aborted for a reason this version does not know',
};

/** Turns a received abort into the error this side reports. The abort is unauthenticated: it can
 * only ever make the handshake fail, never succeed. */
function peerAborted(peer: ChannelRole, reason: AbortReasonName | 'unknown'): CeremonyError {
  return channelError(
    ChannelErrorCode.PEER_ABORTED,
    `the ${peer} aborted the handshake: it ${PEER_ABORT_TEXT[reason]}`,
    { reason },
    reason === 'confirm-failed' ? 'check' : 'device',
  );
}

function unexpected(got: HandshakeMessage['type'], want: string): CeremonyError {
  return channelError(
    ChannelErrorCode.UNEXPECTED_MESSAGE,
    `received a ${got} message while waiting for a ${want}`,
    { got, want },
  );
}

function stateError(message: string): CeremonyError {
  return channelError(ChannelErrorCode.HANDSHAKE_STATE, message);
}

function makeSession(
  role: ChannelRole,
  nameplate: number,
  sas: string,
  th: Uint8Array,
  keys: ChannelKeys,
  frameOptions: FrameOptions,
): ChannelSession {
  const mine = role === 'custodian' ? keys.custodianToCoordinator : keys.coordinatorToCustodian;
  const theirs = role === 'custodian' ? keys.coordinatorToCustodian : keys.custodianToCoordinator;
  const sealer = new FrameSealer(mine, role, frameOptions);
  const opener = new FrameOpener(theirs, role === 'custodian' ? 'coordinator' : 'custodian', frameOptions);
  return Object.freeze({
    role,
    nameplate,
    sas,
    transcriptHash: th,
    sealer,
    opener,
    dispose() {
      sealer.dispose();
      opener.dispose();
    },
  });
}

/** Shared bookkeeping: a step that fails wipes everything and sends the matching abort. */
abstract class HandshakeBase {
  protected keys: ChannelKeys | null = null;
  protected done = false;
  protected readonly rng: Rng;
  protected readonly frameOptions: FrameOptions;

  constructor(options: HandshakeOptions) {
    this.rng = options.rng ?? defaultRng;
    if (typeof this.rng !== 'function') throw new TypeError('rng must be a function (n) => Uint8Array');
    this.frameOptions = options.frameOptions ?? {};
  }

  /** True once the handshake has established or failed; `receive` then throws. */
  get finished(): boolean {
    return this.done;
  }

  protected fail(error: unknown, peerAbort: boolean): HandshakeStep {
    this.done = true;
    this.wipeState();
    const err = isCeremonyError(error)
      ? error
      : channelError(ChannelErrorCode.INTERNAL, 'the channel handshake failed unexpectedly', {
          error: error instanceof Error ? error.name : typeof error,
        });
    const reason = ABORT_REASON_BY_CODE[err.code] ?? 'internal';
    return { status: 'failed', send: peerAbort ? null : encodeAbort(reason), error: err };
  }

  protected wipeState(): void {
    if (this.keys !== null) wipeChannelKeys(this.keys);
    this.keys = null;
  }

  /**
   * Feeds one received message. Errors the peer can cause come back as a `failed` step (with an
   * abort to send), never as a throw.
   *
   * @throws CeremonyError CHANNEL_HANDSHAKE_STATE if called after the handshake finished or before
   *   `start()` (custodian)
   */
  receive(message: Uint8Array): HandshakeStep {
    if (this.done) throw stateError('the handshake has already finished');
    let decoded: HandshakeMessage;
    try {
      decoded = decodeHandshakeMessage(message);
    } catch (e) {
      return this.fail(e, false);
    }
    if (decoded.type === 'abort') return this.fail(peerAborted(this.peer, decoded.reason), true);
    try {
      return this.step(decoded);
    } catch (e) {
      if (isCeremonyError(e) && e.code === ChannelErrorCode.HANDSHAKE_STATE) throw e;
      return this.fail(e, false);
    }
  }

  protected abstract readonly peer: ChannelRole;
  protected abstract step(message: Exclude<HandshakeMessage, { type: 'abort' }>): HandshakeStep;
}

/**
 * The custodian's side (CPace initiator A). Usage: `send(start())`, then for each received message
 * `receive(bytes)` until the step is `established` or `failed`.
 */
export class CustodianHandshake extends HandshakeBase {
  protected readonly peer = 'coordinator' as const;
  #prs: Uint8Array;
  #nameplate: number;
  #state: 'new' | 'awaiting-reply' | 'awaiting-confirm' = 'new';
  #scalar: bigint | null = null;
  #sid: Uint8Array | null = null;
  #nonce: Uint8Array | null = null;
  #hello: Uint8Array | null = null;
  #messages: Uint8Array[] = [];
  #sas = '';

  /**
   * @throws TypeError if the code or rng is of the wrong type
   */
  constructor(options: CustodianHandshakeOptions) {
    super(options);
    this.#prs = joinCodePrs(options.code);
    this.#nameplate = options.code.nameplate;
  }

  /**
   * Builds the hello: draws sid and the SAS nonce, commits to the nonce, computes Ya.
   *
   * @returns the hello message to send
   * @throws CeremonyError CHANNEL_HANDSHAKE_STATE if called twice
   * @throws TypeError / RangeError if the rng breaks its contract
   */
  start(): Uint8Array {
    if (this.#state !== 'new' || this.done) throw stateError('start() may be called once, first');
    const sid = drawBytes(this.rng, SID_BYTES);
    const nonce = drawBytes(this.rng, NONCE_BYTES);
    const { scalar, share } = cpaceShare({ prs: this.#prs, ci: CHANNEL_CI, sid }, this.rng);
    wipe(this.#prs); // the generator is computed; the code is no longer needed
    const hello = encodeHello({
      nameplate: this.#nameplate,
      sid,
      commitment: sasCommitment(nonce),
      Ya: share,
    });
    this.#scalar = scalar;
    this.#sid = sid;
    this.#nonce = nonce;
    this.#hello = hello;
    this.#messages = [hello];
    this.#state = 'awaiting-reply';
    return hello.slice();
  }

  override receive(message: Uint8Array): HandshakeStep {
    if (this.#state === 'new' && !this.done) throw stateError('call start() before receive()');
    return super.receive(message);
  }

  protected step(m: Exclude<HandshakeMessage, { type: 'abort' }>): HandshakeStep {
    if (this.#state === 'awaiting-reply') {
      if (m.type !== 'reply') throw unexpected(m.type, 'reply');
      const hello = this.#hello!;
      const reply = encodeReply(m.Yb);
      const isk = cpaceIsk({
        scalar: this.#scalar!,
        peerShare: m.Yb,
        sid: this.#sid!,
        Ya: hello.subarray(HELLO_AD_BYTES),
        ADa: hello.subarray(0, HELLO_AD_BYTES),
        Yb: m.Yb,
        ADb: reply.subarray(0, REPLY_AD_BYTES),
      });
      this.#scalar = null;
      try {
        this.keys = deriveChannelKeys(isk, transcriptHash(hello, reply));
      } finally {
        wipe(isk);
      }
      const body = encodeCustodianConfirmBody(this.#nonce!);
      const thA = transcriptHash(hello, reply, body);
      const confirm = encodeCustodianConfirm(this.#nonce!, confirmationTag('custodian', this.keys, thA));
      this.#sas = shortAuthenticationString(this.keys, thA);
      this.#messages = [hello, reply, confirm];
      this.#state = 'awaiting-confirm';
      return { status: 'continue', send: confirm.slice() };
    }
    // awaiting-confirm
    if (m.type !== 'coordinator-confirm') throw unexpected(m.type, 'coordinator-confirm');
    const thB = transcriptHash(...this.#messages);
    if (!verifyConfirmationTag('coordinator', this.keys!, thB, m.tag)) {
      throw channelError(
        ChannelErrorCode.CONFIRM_FAILED,
        'the coordinator could not prove it knows the join code',
      );
    }
    const th = transcriptHash(...this.#messages, encodeCoordinatorConfirm(m.tag));
    const session = makeSession('custodian', this.#nameplate, this.#sas, th, this.keys!, this.frameOptions);
    this.done = true;
    this.wipeState();
    return { status: 'established', send: null, session };
  }

  protected override wipeState(): void {
    super.wipeState();
    wipe(this.#prs, this.#nonce);
    this.#scalar = null;
  }
}

/**
 * The coordinator's side (CPace responder B), one instance per incoming connection. Usage: for each
 * received message `receive(bytes)`, send what the step says, until `established` or `failed`.
 */
export class CoordinatorHandshake extends HandshakeBase {
  protected readonly peer = 'custodian' as const;
  #resolveCode: (nameplate: number) => JoinCode | null;
  #state: 'awaiting-hello' | 'awaiting-confirm' = 'awaiting-hello';
  #nameplate = 0;
  #commitment: Uint8Array | null = null;
  #hello: Uint8Array | null = null;
  #reply: Uint8Array | null = null;

  /**
   * @throws TypeError if `resolveCode` or `rng` is not a function
   */
  constructor(options: CoordinatorHandshakeOptions) {
    super(options);
    if (typeof options.resolveCode !== 'function') throw new TypeError('resolveCode must be a function');
    this.#resolveCode = options.resolveCode;
  }

  protected step(m: Exclude<HandshakeMessage, { type: 'abort' }>): HandshakeStep {
    if (this.#state === 'awaiting-hello') {
      if (m.type !== 'hello') throw unexpected(m.type, 'hello');
      this.#nameplate = m.nameplate;
      const code = this.#resolveCode(m.nameplate);
      if (code === null || code === undefined) {
        throw channelError(
          ChannelErrorCode.UNKNOWN_NAMEPLATE,
          `no live join code for slot ${m.nameplate} (unknown, or already used)`,
          { nameplate: m.nameplate },
        );
      }
      if (code.nameplate !== m.nameplate) {
        throw new TypeError('resolveCode returned a code for another nameplate');
      }
      const prs = joinCodePrs(code);
      let share;
      try {
        share = cpaceShare({ prs, ci: CHANNEL_CI, sid: m.sid }, this.rng);
      } finally {
        wipe(prs);
      }
      const hello = encodeHello({ nameplate: m.nameplate, sid: m.sid, commitment: m.commitment, Ya: m.Ya });
      const reply = encodeReply(share.share);
      const isk = cpaceIsk({
        scalar: share.scalar,
        peerShare: m.Ya,
        sid: m.sid,
        Ya: m.Ya,
        ADa: hello.subarray(0, HELLO_AD_BYTES),
        Yb: share.share,
        ADb: reply.subarray(0, REPLY_AD_BYTES),
      });
      try {
        this.keys = deriveChannelKeys(isk, transcriptHash(hello, reply));
      } finally {
        wipe(isk);
      }
      this.#commitment = m.commitment;
      this.#hello = hello;
      this.#reply = reply;
      this.#state = 'awaiting-confirm';
      return { status: 'continue', send: reply.slice() };
    }
    // awaiting-confirm
    if (m.type !== 'custodian-confirm') throw unexpected(m.type, 'custodian-confirm');
    const hello = this.#hello!;
    const reply = this.#reply!;
    const thA = transcriptHash(hello, reply, encodeCustodianConfirmBody(m.nonce));
    // First the tag: it proves the custodian knows the code. Only then anything derived from ISK
    // (the commitment check's outcome, our tag) is revealed.
    if (!verifyConfirmationTag('custodian', this.keys!, thA, m.tag)) {
      throw channelError(
        ChannelErrorCode.CONFIRM_FAILED,
        `the custodian on slot ${this.#nameplate} could not prove it knows the join code`,
        { nameplate: this.#nameplate },
      );
    }
    const expected = sasCommitment(m.nonce);
    if (!equalBytes(expected, this.#commitment!)) {
      throw channelError(
        ChannelErrorCode.COMMITMENT_MISMATCH,
        'the custodian revealed a SAS nonce that does not match its commitment',
        { nameplate: this.#nameplate },
      );
    }
    const confirmA = encodeCustodianConfirm(m.nonce, m.tag);
    const thB = transcriptHash(hello, reply, confirmA);
    const confirmB = encodeCoordinatorConfirm(confirmationTag('coordinator', this.keys!, thB));
    const sas = shortAuthenticationString(this.keys!, thA);
    const th = transcriptHash(hello, reply, confirmA, confirmB);
    const session = makeSession('coordinator', this.#nameplate, sas, th, this.keys!, this.frameOptions);
    this.done = true;
    this.wipeState();
    return { status: 'established', send: confirmB, session };
  }
}
