/**
 * The five handshake messages of the custodian channel and their byte layouts
 * (docs/protocol-channel.md §5.1). Binary, fixed length per type, first byte = type:
 *
 * ```
 * C→K hello                01 | version | nameplate u16 | sid[16] | commitment[32] | Ya[32]   84 bytes
 * K→C reply                02 | version | Yb[32]                                                34 bytes
 * C→K custodian-confirm    03 | nonce[32] | tag[32]                                             65 bytes
 * K→C coordinator-confirm  04 | tag[32]                                                         33 bytes
 * either abort             7f | reason                                                           2 bytes
 * ```
 *
 * (C = custodian, K = coordinator.) Decoding is strict: unknown types, wrong lengths, nameplates
 * outside 1–999 and non-v1 versions are rejected, so nothing unparsed reaches the cryptography.
 */

import { channelError, ChannelErrorCode } from './channel-error.ts';
import { CHANNEL_VERSION } from './channel-version.ts';
import { CPACE_ELEMENT_BYTES } from './cpace.ts';
import { MAX_NAMEPLATE, MIN_NAMEPLATE } from './join-code.ts';

/** Message type bytes. */
export const MessageType = {
  hello: 0x01,
  reply: 0x02,
  custodianConfirm: 0x03,
  coordinatorConfirm: 0x04,
  abort: 0x7f,
} as const;

/** CPace session identifier length (chosen by the custodian, sent in the hello). */
export const SID_BYTES = 16;
/** SAS nonce, commitment and confirmation tag length. */
export const NONCE_BYTES = 32;
export const TAG_BYTES = 32;

export const HELLO_BYTES = 4 + SID_BYTES + NONCE_BYTES + CPACE_ELEMENT_BYTES; // 84
export const REPLY_BYTES = 2 + CPACE_ELEMENT_BYTES; // 34
export const CUSTODIAN_CONFIRM_BYTES = 1 + NONCE_BYTES + TAG_BYTES; // 65
export const COORDINATOR_CONFIRM_BYTES = 1 + TAG_BYTES; // 33
export const ABORT_BYTES = 2;

/**
 * CPace's associated data is the message without its public share: ADa = hello[0..52),
 * ADb = reply[0..2). So every byte of both messages enters ISK.
 */
export const HELLO_AD_BYTES = HELLO_BYTES - CPACE_ELEMENT_BYTES; // 52
export const REPLY_AD_BYTES = REPLY_BYTES - CPACE_ELEMENT_BYTES; // 2

/** Why a party aborted; the wire byte of each reason (docs/protocol-channel.md §5.1). */
export const AbortReason = {
  'bad-message': 0x01,
  'unexpected-message': 0x02,
  'unsupported-version': 0x03,
  'unknown-nameplate': 0x04,
  'bad-point': 0x05,
  'confirm-failed': 0x06,
  'commitment-mismatch': 0x07,
  internal: 0x08,
} as const;

export type AbortReasonName = keyof typeof AbortReason;

export interface HelloMessage {
  type: 'hello';
  version: number;
  nameplate: number;
  sid: Uint8Array;
  commitment: Uint8Array;
  Ya: Uint8Array;
}
export interface ReplyMessage {
  type: 'reply';
  version: number;
  Yb: Uint8Array;
}
export interface CustodianConfirmMessage {
  type: 'custodian-confirm';
  nonce: Uint8Array;
  tag: Uint8Array;
}
export interface CoordinatorConfirmMessage {
  type: 'coordinator-confirm';
  tag: Uint8Array;
}
export interface AbortMessage {
  type: 'abort';
  /** the reason's name, or 'unknown' for a byte this version does not know */
  reason: AbortReasonName | 'unknown';
}

export type HandshakeMessage =
  | HelloMessage
  | ReplyMessage
  | CustodianConfirmMessage
  | CoordinatorConfirmMessage
  | AbortMessage;

function fixed(value: Uint8Array, length: number, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  return value;
}

/**
 * Encodes a hello.
 *
 * @throws TypeError / RangeError for fields of the wrong type or size
 */
export function encodeHello(m: Omit<HelloMessage, 'type' | 'version'>): Uint8Array {
  if (!Number.isInteger(m.nameplate) || m.nameplate < MIN_NAMEPLATE || m.nameplate > MAX_NAMEPLATE) {
    throw new RangeError(`nameplate must be an integer from ${MIN_NAMEPLATE} to ${MAX_NAMEPLATE}`);
  }
  const out = new Uint8Array(HELLO_BYTES);
  out[0] = MessageType.hello;
  out[1] = CHANNEL_VERSION;
  out[2] = m.nameplate >> 8;
  out[3] = m.nameplate & 0xff;
  out.set(fixed(m.sid, SID_BYTES, 'sid'), 4);
  out.set(fixed(m.commitment, NONCE_BYTES, 'commitment'), 4 + SID_BYTES);
  out.set(fixed(m.Ya, CPACE_ELEMENT_BYTES, 'Ya'), 4 + SID_BYTES + NONCE_BYTES);
  return out;
}

/** Encodes a reply. @throws TypeError / RangeError if `Yb` is not 32 bytes */
export function encodeReply(Yb: Uint8Array): Uint8Array {
  const out = new Uint8Array(REPLY_BYTES);
  out[0] = MessageType.reply;
  out[1] = CHANNEL_VERSION;
  out.set(fixed(Yb, CPACE_ELEMENT_BYTES, 'Yb'), 2);
  return out;
}

/**
 * The custodian-confirm message without its tag (`03 | nonce`): what the custodian's tag covers.
 *
 * @throws TypeError / RangeError if `nonce` is not 32 bytes
 */
export function encodeCustodianConfirmBody(nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + NONCE_BYTES);
  out[0] = MessageType.custodianConfirm;
  out.set(fixed(nonce, NONCE_BYTES, 'nonce'), 1);
  return out;
}

/** Encodes a custodian-confirm. @throws TypeError / RangeError for fields of the wrong size */
export function encodeCustodianConfirm(nonce: Uint8Array, tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(CUSTODIAN_CONFIRM_BYTES);
  out.set(encodeCustodianConfirmBody(nonce), 0);
  out.set(fixed(tag, TAG_BYTES, 'tag'), 1 + NONCE_BYTES);
  return out;
}

/** Encodes a coordinator-confirm. @throws TypeError / RangeError if `tag` is not 32 bytes */
export function encodeCoordinatorConfirm(tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(COORDINATOR_CONFIRM_BYTES);
  out[0] = MessageType.coordinatorConfirm;
  out.set(fixed(tag, TAG_BYTES, 'tag'), 1);
  return out;
}

/** Encodes an abort. @throws RangeError for an unknown reason */
export function encodeAbort(reason: AbortReasonName): Uint8Array {
  const byte = AbortReason[reason];
  if (byte === undefined) throw new RangeError(`unknown abort reason ${String(reason)}`);
  return Uint8Array.of(MessageType.abort, byte);
}

function badMessage(message: string, detail?: Record<string, unknown>) {
  return channelError(ChannelErrorCode.BAD_MESSAGE, message, detail);
}

function expectLength(bytes: Uint8Array, length: number, name: string): void {
  if (bytes.length !== length) {
    throw badMessage(`the ${name} message is ${bytes.length} bytes, expected ${length}`, {
      message: name,
      length: bytes.length,
    });
  }
}

function checkVersion(bytes: Uint8Array, name: string): void {
  if (bytes.length >= 2 && bytes[1] !== CHANNEL_VERSION) {
    throw channelError(
      ChannelErrorCode.UNSUPPORTED_VERSION,
      `the peer's ${name} uses channel protocol version ${bytes[1]}, this program speaks version ${CHANNEL_VERSION}`,
      { version: bytes[1], supported: CHANNEL_VERSION },
    );
  }
}

/**
 * Decodes one handshake message. Returned fields are copies, independent of `bytes`.
 *
 * @throws CeremonyError CHANNEL_BAD_MESSAGE for an unknown type, a wrong length or a bad field
 * @throws CeremonyError CHANNEL_UNSUPPORTED_VERSION for a hello or reply of another version
 */
export function decodeHandshakeMessage(bytes: Uint8Array): HandshakeMessage {
  if (!(bytes instanceof Uint8Array)) throw badMessage('the handshake message is not a byte array');
  if (bytes.length === 0) throw badMessage('the handshake message is empty');
  const at = (off: number, len: number) => bytes.slice(off, off + len);
  switch (bytes[0]) {
    case MessageType.hello: {
      checkVersion(bytes, 'hello');
      expectLength(bytes, HELLO_BYTES, 'hello');
      const nameplate = (bytes[2]! << 8) | bytes[3]!;
      if (nameplate < MIN_NAMEPLATE || nameplate > MAX_NAMEPLATE) {
        throw badMessage(`the hello names nameplate ${nameplate}, outside ${MIN_NAMEPLATE}–${MAX_NAMEPLATE}`, {
          nameplate,
        });
      }
      return {
        type: 'hello',
        version: bytes[1]!,
        nameplate,
        sid: at(4, SID_BYTES),
        commitment: at(4 + SID_BYTES, NONCE_BYTES),
        Ya: at(4 + SID_BYTES + NONCE_BYTES, CPACE_ELEMENT_BYTES),
      };
    }
    case MessageType.reply:
      checkVersion(bytes, 'reply');
      expectLength(bytes, REPLY_BYTES, 'reply');
      return { type: 'reply', version: bytes[1]!, Yb: at(2, CPACE_ELEMENT_BYTES) };
    case MessageType.custodianConfirm:
      expectLength(bytes, CUSTODIAN_CONFIRM_BYTES, 'custodian-confirm');
      return { type: 'custodian-confirm', nonce: at(1, NONCE_BYTES), tag: at(1 + NONCE_BYTES, TAG_BYTES) };
    case MessageType.coordinatorConfirm:
      expectLength(bytes, COORDINATOR_CONFIRM_BYTES, 'coordinator-confirm');
      return { type: 'coordinator-confirm', tag: at(1, TAG_BYTES) };
    case MessageType.abort: {
      expectLength(bytes, ABORT_BYTES, 'abort');
      const entry = Object.entries(AbortReason).find(([, b]) => b === bytes[1]);
      return { type: 'abort', reason: entry === undefined ? 'unknown' : (entry[0] as AbortReasonName) };
    }
    default:
      throw badMessage(`unknown handshake message type 0x${bytes[0]!.toString(16).padStart(2, '0')}`, {
        type: bytes[0],
      });
  }
}
