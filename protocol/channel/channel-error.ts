/**
 * Error codes of the custodian channel (docs/protocol-channel.md §9). Every failure the network
 * peer or the person typing the join code can cause is a `CeremonyError` with one of these stable
 * codes; messages are lowercase, name what was wrong, and never contain key material or the code.
 */

import { CeremonyError, type ErrorKind } from '../errors.ts';

/** Stable error codes, one per distinct failure (docs/protocol-channel.md §9). */
export const ChannelErrorCode = {
  /** a join code did not parse (wrong shape, unknown word, bad nameplate) */
  BAD_JOIN_CODE: 'CHANNEL_BAD_JOIN_CODE',
  /** a handshake message had the wrong type byte, length or field */
  BAD_MESSAGE: 'CHANNEL_BAD_MESSAGE',
  /** a well-formed handshake message arrived in a state that does not expect it */
  UNEXPECTED_MESSAGE: 'CHANNEL_UNEXPECTED_MESSAGE',
  /** the peer speaks a channel protocol version we do not */
  UNSUPPORTED_VERSION: 'CHANNEL_UNSUPPORTED_VERSION',
  /** the hello named a nameplate with no live join code (unknown, or already used) */
  UNKNOWN_NAMEPLATE: 'CHANNEL_UNKNOWN_NAMEPLATE',
  /** a CPace share was not a valid ristretto255 encoding, or K was the identity */
  BAD_POINT: 'CHANNEL_BAD_POINT',
  /** the peer's key-confirmation tag did not verify: different join codes, or an attacker */
  CONFIRM_FAILED: 'CHANNEL_CONFIRM_FAILED',
  /** the custodian's revealed SAS nonce does not match its commitment in the hello */
  COMMITMENT_MISMATCH: 'CHANNEL_COMMITMENT_MISMATCH',
  /** the peer sent an abort message */
  PEER_ABORTED: 'CHANNEL_PEER_ABORTED',
  /** a handshake method was called in the wrong state (a defect in the caller) */
  HANDSHAKE_STATE: 'CHANNEL_HANDSHAKE_STATE',
  /** a frame is shorter than header plus tag, or its header names another version or direction */
  BAD_FRAME: 'CHANNEL_BAD_FRAME',
  /** a frame (or a plaintext to seal) is larger than the configured limit */
  FRAME_TOO_LARGE: 'CHANNEL_FRAME_TOO_LARGE',
  /** a frame failed authentication (tampered, wrong key, or corrupted) */
  DECRYPT_FAILED: 'CHANNEL_DECRYPT_FAILED',
  /** an authentic frame carried a counter below the expected one (replayed) */
  REPLAY: 'CHANNEL_REPLAY',
  /** an authentic frame carried a counter above the expected one (frames dropped or reordered) */
  OUT_OF_ORDER: 'CHANNEL_OUT_OF_ORDER',
  /** the direction's frame counter reached its limit; a new channel is needed */
  COUNTER_EXHAUSTED: 'CHANNEL_COUNTER_EXHAUSTED',
  /** an unexpected exception inside the handshake (a defect, or an rng that broke its contract) */
  INTERNAL: 'CHANNEL_INTERNAL',
  /** the sealer or opener is dead (after an earlier failure, or disposed) */
  CLOSED: 'CHANNEL_CLOSED',
} as const;

export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

/** Hints shown under the message, one per code (what the person should do next). */
const HINTS: Record<ChannelErrorCode, string> = {
  CHANNEL_BAD_JOIN_CODE:
    'type the join code exactly as the coordinator screen shows it, e.g. 3-tango-orbit-lemon',
  CHANNEL_BAD_MESSAGE: 'make sure both sides run the same hsm-ceremony version, then rejoin with a new code',
  CHANNEL_UNEXPECTED_MESSAGE: 'rejoin with a new join code from the coordinator',
  CHANNEL_UNSUPPORTED_VERSION: 'install the same hsm-ceremony version on the coordinator and the custodian',
  CHANNEL_UNKNOWN_NAMEPLATE:
    'each join code works once; ask the coordinator to show a new code for this custodian slot',
  CHANNEL_BAD_POINT: 'someone on the network may be interfering; rejoin with a new join code',
  CHANNEL_CONFIRM_FAILED:
    'the join codes did not match (a typo, or someone on the network guessing); ask the coordinator for a new code',
  CHANNEL_COMMITMENT_MISMATCH: 'someone on the network may be interfering; rejoin with a new join code',
  CHANNEL_PEER_ABORTED: 'read the message on the other screen, then rejoin with a new join code',
  CHANNEL_HANDSHAKE_STATE: 'this is a bug in hsm-ceremony; please report it',
  CHANNEL_BAD_FRAME: 'the connection is corrupted or tampered with; rejoin with a new join code',
  CHANNEL_FRAME_TOO_LARGE: 'the message exceeds the channel frame limit; rejoin with a new join code',
  CHANNEL_DECRYPT_FAILED:
    'the connection was tampered with or corrupted; rejoin with a new join code and compare the SAS digits',
  CHANNEL_REPLAY: 'someone on the network replayed a message; rejoin with a new join code',
  CHANNEL_OUT_OF_ORDER: 'messages were lost or reordered; rejoin with a new join code',
  CHANNEL_COUNTER_EXHAUSTED: 'the channel carried its maximum number of frames; rejoin with a new join code',
  CHANNEL_INTERNAL: 'this is a bug in hsm-ceremony; please report it',
  CHANNEL_CLOSED: 'the secure channel is closed; rejoin with a new join code',
};

/** Which exit-code kind each code belongs to (protocol/errors.ts). */
const KINDS: Record<ChannelErrorCode, ErrorKind> = {
  CHANNEL_BAD_JOIN_CODE: 'usage',
  CHANNEL_BAD_MESSAGE: 'device',
  CHANNEL_UNEXPECTED_MESSAGE: 'device',
  CHANNEL_UNSUPPORTED_VERSION: 'device',
  CHANNEL_UNKNOWN_NAMEPLATE: 'check',
  CHANNEL_BAD_POINT: 'check',
  CHANNEL_CONFIRM_FAILED: 'check',
  CHANNEL_COMMITMENT_MISMATCH: 'check',
  CHANNEL_PEER_ABORTED: 'device',
  CHANNEL_HANDSHAKE_STATE: 'bug',
  CHANNEL_BAD_FRAME: 'check',
  CHANNEL_FRAME_TOO_LARGE: 'check',
  CHANNEL_DECRYPT_FAILED: 'check',
  CHANNEL_REPLAY: 'check',
  CHANNEL_OUT_OF_ORDER: 'check',
  CHANNEL_COUNTER_EXHAUSTED: 'device',
  CHANNEL_INTERNAL: 'bug',
  CHANNEL_CLOSED: 'device',
};

/**
 * Builds the `CeremonyError` for a channel failure with the code's kind and hint.
 *
 * @param code - one of {@link ChannelErrorCode}
 * @param message - lowercase, no final period, no secrets
 * @param detail - public machine-readable detail (never secrets)
 * @param kind - overrides the code's default kind (used for peer aborts, whose kind follows the
 *   reason the peer gave)
 */
export function channelError(
  code: ChannelErrorCode,
  message: string,
  detail?: Record<string, unknown>,
  kind?: ErrorKind,
): CeremonyError {
  return new CeremonyError(kind ?? KINDS[code], code, message, {
    hint: HINTS[code],
    ...(detail === undefined ? {} : { detail }),
  });
}
