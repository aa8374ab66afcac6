/**
 * The ceremony wire protocol's version (docs/protocol.md §2). It appears twice, on purpose:
 *
 * - in the WebSocket path (`ws://HOST:PORT/v1`), so a coordinator can refuse a client of another
 *   version before any handshake, with an HTTP status a person can read;
 * - in the first message inside the encrypted channel (`hello.protocol`), so the version is also
 *   authenticated: a proxy that rewrites the path cannot make either side speak another version.
 *
 * The channel underneath has its own version (protocol/channel/channel-version.ts); both are 1
 * today and move independently.
 */

/**
 * Revision of the ceremony messages this build speaks (`hello.protocol`, `welcome.protocol`).
 * Revision 2 adds `request-sign-off`/`sign-off` and the encrypted share file in `created`
 * (docs/protocol.md §2). Revisions only add messages and optional fields, so a coordinator accepts
 * any revision from WIRE_MIN_VERSION up to its own and sends a terminal only what its revision knows.
 */
export const WIRE_VERSION = 2;

/** The oldest revision a coordinator accepts (`host PLAN` requires 2). */
export const WIRE_MIN_VERSION = 1;

/** The revision both sides speak: the lower of the two. */
export function agreedVersion(peer: number): number {
  return Math.min(peer, WIRE_VERSION);
}

/**
 * The WebSocket path: the major version of the message layer. Revisions within it are agreed in
 * hello/welcome; a request for any other path is answered 404.
 */
export const WIRE_PATH = '/v1';

/**
 * Largest WebSocket message the coordinator accepts (ws `maxPayload`): 64 KiB. Every handshake
 * message and every frame of a ceremony is far smaller (the largest, a request carrying a 64-byte
 * share file, is under 400 bytes); anything near the limit is an attack or a bug.
 */
export const WIRE_MAX_MESSAGE_BYTES = 64 * 1024;

/** Largest plaintext sealed into one frame: the message limit minus the 26-byte frame overhead. */
export const WIRE_MAX_PLAINTEXT_BYTES = WIRE_MAX_MESSAGE_BYTES - 26;
