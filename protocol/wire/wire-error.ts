/**
 * Error codes of the ceremony wire protocol (docs/protocol.md §8). Two groups, as in the MCP SDK:
 *
 * - **wire codes** travel in an `error` message (K→C) before the coordinator closes the
 *   connection, or are reported locally by the side that detected the problem;
 * - **transport codes** (`WIRE_ORIGIN_REFUSED`, `WIRE_SERVER_FULL`, …) are HTTP answers to the
 *   WebSocket upgrade, and the client turns them into the same CeremonyError codes.
 *
 * Every code is a `CeremonyError` with a stable kind (exit code) and a hint. Messages are lowercase,
 * name what was wrong (a message type, a field path), and never quote a received value: a field
 * that failed validation may hold a secret.
 */

import { CeremonyError, type ErrorKind } from '../errors.ts';

/** Stable wire error codes. */
export const WireErrorCode = {
  /** a frame's plaintext is not UTF-8 JSON, or nests too deeply */
  MALFORMED: 'WIRE_MALFORMED',
  /** the message has no `type`, or one this version does not know */
  UNKNOWN_TYPE: 'WIRE_UNKNOWN_TYPE',
  /** the message carries a field its type does not define */
  UNKNOWN_FIELD: 'WIRE_UNKNOWN_FIELD',
  /** a field is missing, of the wrong type, or out of range */
  BAD_FIELD: 'WIRE_BAD_FIELD',
  /** the first message is not a hello, or names another protocol version */
  UNSUPPORTED_VERSION: 'WIRE_UNSUPPORTED_VERSION',
  /** a well-formed message the receiver's state does not allow (wrong order, unknown request) */
  UNEXPECTED_MESSAGE: 'WIRE_UNEXPECTED_MESSAGE',
  /** a WebSocket text message (the protocol is binary only) */
  TEXT_MESSAGE: 'WIRE_TEXT_MESSAGE',
  /** the peer did not finish the channel handshake in time */
  HANDSHAKE_TIMEOUT: 'WIRE_HANDSHAKE_TIMEOUT',
  /** nothing arrived from the peer (not even a WebSocket pong) for too long */
  IDLE_TIMEOUT: 'WIRE_IDLE_TIMEOUT',
  /** the upgrade request carried an Origin header: a browser, never hsm-custodian */
  ORIGIN_REFUSED: 'WIRE_ORIGIN_REFUSED',
  /** the upgrade request named another path (another protocol version, or not a ceremony) */
  BAD_PATH: 'WIRE_BAD_PATH',
  /** the coordinator has reached its connection cap */
  SERVER_FULL: 'WIRE_SERVER_FULL',
  /** the connection failed or closed before the ceremony was over */
  CONNECTION_LOST: 'WIRE_CONNECTION_LOST',
  /** the coordinator ended the ceremony (finished, failed or cancelled) */
  CEREMONY_OVER: 'WIRE_CEREMONY_OVER',
} as const;

export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

const HINTS: Record<WireErrorCode, string> = {
  WIRE_MALFORMED: 'make sure both sides run the same hsm-ceremony version, then rejoin with a new code',
  WIRE_UNKNOWN_TYPE: 'make sure both sides run the same hsm-ceremony version, then rejoin with a new code',
  WIRE_UNKNOWN_FIELD: 'make sure both sides run the same hsm-ceremony version, then rejoin with a new code',
  WIRE_BAD_FIELD: 'make sure both sides run the same hsm-ceremony version, then rejoin with a new code',
  WIRE_UNSUPPORTED_VERSION: 'install the same hsm-ceremony version on the coordinator and the custodian',
  WIRE_UNEXPECTED_MESSAGE: 'rejoin with a new join code from the coordinator',
  WIRE_TEXT_MESSAGE: 'connect with hsm-custodian; the ceremony protocol is binary',
  WIRE_HANDSHAKE_TIMEOUT: 'ask the coordinator for a new join code and join again',
  WIRE_IDLE_TIMEOUT: 'check the network between the two machines, then rejoin with a new code',
  WIRE_ORIGIN_REFUSED: 'join with hsm-custodian; web browsers are refused on purpose',
  WIRE_BAD_PATH: 'use the URL exactly as the coordinator screen shows it, e.g. ws://192.0.2.7:41234/v1',
  WIRE_SERVER_FULL: 'too many connections are open; wait a moment and join again, or tell the coordinator',
  WIRE_CONNECTION_LOST: 'ask the coordinator for a new join code and join again; nothing already imported is lost',
  WIRE_CEREMONY_OVER: 'the ceremony has ended; read the coordinator screen for the outcome',
};

const KINDS: Record<WireErrorCode, ErrorKind> = {
  WIRE_MALFORMED: 'device',
  WIRE_UNKNOWN_TYPE: 'device',
  WIRE_UNKNOWN_FIELD: 'device',
  WIRE_BAD_FIELD: 'device',
  WIRE_UNSUPPORTED_VERSION: 'device',
  WIRE_UNEXPECTED_MESSAGE: 'device',
  WIRE_TEXT_MESSAGE: 'device',
  WIRE_HANDSHAKE_TIMEOUT: 'device',
  WIRE_IDLE_TIMEOUT: 'device',
  WIRE_ORIGIN_REFUSED: 'usage',
  WIRE_BAD_PATH: 'usage',
  WIRE_SERVER_FULL: 'device',
  WIRE_CONNECTION_LOST: 'device',
  WIRE_CEREMONY_OVER: 'incomplete',
};

/** True for one of the {@link WireErrorCode} values. */
export function isWireErrorCode(code: string): code is WireErrorCode {
  return Object.hasOwn(HINTS, code);
}

/**
 * Builds the CeremonyError for a wire failure, with the code's kind and hint.
 *
 * @param message - lowercase, no final period, never a received value
 * @param detail - public machine-readable detail (a field path, a type name), never secrets
 */
export function wireError(code: WireErrorCode, message: string, detail?: Record<string, unknown>): CeremonyError {
  return new CeremonyError(KINDS[code], code, message, {
    hint: HINTS[code],
    ...(detail === undefined ? {} : { detail }),
  });
}

/** WebSocket close codes the coordinator uses (RFC 6455 §7.4: 4000–4999 are private use). */
export const CloseCode = {
  /** the ceremony finished; the connection is no longer needed */
  normal: 1000,
  /** the coordinator is shutting down (cancelled, failed) */
  goingAway: 1001,
  /** a protocol violation: a wire error was sent first */
  protocolError: 4400,
  /** a channel failure (bad frame, replay, forgery): nothing is sent on a dead channel */
  channelFailure: 4401,
  /** the handshake did not complete (failed or timed out) */
  handshakeFailed: 4403,
  /** idle or handshake timeout */
  timeout: 4408,
} as const;
