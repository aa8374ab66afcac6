/**
 * The hash chain (docs/transcript-format.md §4): each event's `prev` is the SHA-256 of the exact
 * bytes of the line before it (without its line feed); the first event's `prev` is 64 zeros. A
 * changed, removed, inserted or reordered line breaks the link from the line after it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../protocol/bytes.ts';

/** `prev` of the first event. */
export const GENESIS_PREV = '0'.repeat(64);

/**
 * SHA-256 of one line's bytes, without the terminating line feed, as lower-case hex.
 *
 * @throws {TypeError} if `line` is not a Uint8Array
 */
export function lineHash(line: Uint8Array): string {
  if (!(line instanceof Uint8Array)) throw new TypeError('line must be a Uint8Array');
  return toHex(sha256(line));
}
