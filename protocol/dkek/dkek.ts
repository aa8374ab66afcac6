/**
 * The Device Key Encryption Key (DKEK) of a SmartCard-HSM and the values derived from it:
 * combining shares, the key check value (KCV), the key-blob keys K_ENC / K_MAC, and an audit
 * fingerprint for a single share. Spec: /work/shared/spec/sc-hsm-dkek.md §5,
 * docs/backup-format.md §3.
 *
 * Everything here handles secrets. Inputs are never copied into strings; returned secret buffers
 * belong to the caller, who wipes them (`wipe()` from bytes.ts) when done.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, wipe } from '../bytes.ts';
import { usageError } from '../errors.ts';

/** A DKEK and every DKEK share are 32 bytes (an AES-256 key). */
export const DKEK_LENGTH = 32;
/** A KCV is the first 8 bytes of SHA-256(DKEK). */
export const KCV_LENGTH = 8;

function checkKeyBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== DKEK_LENGTH) {
    throw new RangeError(`${name} must be ${DKEK_LENGTH} bytes, got ${value.length}`);
  }
}

/**
 * DKEK = 32 zero bytes XOR share_1 XOR … XOR share_n (spec §5). The order does not matter, which
 * is why custodians may present their shares in any order. The result is a new buffer; the
 * shares are left untouched.
 *
 * @throws {TypeError} if `shares` is not an array of Uint8Array
 * @throws {RangeError} if it is empty or a share is not 32 bytes
 */
export function combineShares(shares: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array of Uint8Array');
  if (shares.length === 0) throw new RangeError('shares must contain at least one share');
  const dkek = new Uint8Array(DKEK_LENGTH);
  shares.forEach((s, i) => {
    checkKeyBytes(s, `shares[${i}]`);
    for (let j = 0; j < DKEK_LENGTH; j++) dkek[j]! ^= s[j]!;
  });
  return dkek;
}

/**
 * Key check value: SHA-256(dkek)[0..8] (spec §5). This is what the card reports after the last
 * share and what every key blob starts with; it identifies a DKEK without revealing it.
 *
 * @throws {TypeError} if `dkek` is not a Uint8Array
 * @throws {RangeError} if it is not 32 bytes
 */
export function kcv(dkek: Uint8Array): Uint8Array {
  checkKeyBytes(dkek, 'dkek');
  const h = sha256(dkek);
  const out = h.slice(0, KCV_LENGTH);
  wipe(h);
  return out;
}

/**
 * A KCV as sc-hsm-tool prints it: 16 upper-case hex digits, no separators (spec §3).
 *
 * @throws {RangeError} if `value` is not 8 bytes
 */
export function formatKcv(value: Uint8Array): string {
  if (!(value instanceof Uint8Array)) throw new TypeError('kcv must be a Uint8Array');
  if (value.length !== KCV_LENGTH) throw new RangeError(`kcv must be ${KCV_LENGTH} bytes, got ${value.length}`);
  return toHex(value).toUpperCase();
}

/**
 * Parses a KCV typed or pasted by a person: 16 hex digits in any case, optionally grouped with
 * spaces, `:` or `-` (so `1D10 83E7 8237 E99D` and `1d:10:…` both work).
 *
 * @throws {CeremonyError} usage KCV_MALFORMED if it is not exactly 16 hex digits
 */
export function parseKcv(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('kcv text must be a string');
  const clean = text.trim().replace(/[\s:-]/g, '');
  if (!/^[0-9a-fA-F]{16}$/.test(clean)) {
    throw usageError('KCV_MALFORMED', 'key check value is not 16 hex digits', {
      hint: 'copy the KCV exactly as the card or sc-hsm-tool printed it, e.g. 1D1083E78237E99D',
    });
  }
  const out = new Uint8Array(KCV_LENGTH);
  for (let i = 0; i < KCV_LENGTH; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The two AES-256 keys a DKEK protects key blobs with. Both are secrets: wipe them after use. */
export interface BlobKeys {
  /** SHA-256(dkek || 00 00 00 01): encrypts the key material (AES-256-CBC, zero IV) */
  kEnc: Uint8Array;
  /** SHA-256(dkek || 00 00 00 02): authenticates the blob (AES-CMAC) */
  kMac: Uint8Array;
}

/**
 * K_ENC and K_MAC for key blobs (spec §5, docs/backup-format.md §3).
 *
 * @throws {TypeError} if `dkek` is not a Uint8Array
 * @throws {RangeError} if it is not 32 bytes
 */
export function deriveBlobKeys(dkek: Uint8Array): BlobKeys {
  checkKeyBytes(dkek, 'dkek');
  const derive = (counter: number): Uint8Array => {
    const input = concatBytes(dkek, Uint8Array.of(0, 0, 0, counter));
    const k = sha256(input);
    wipe(input);
    return k;
  };
  return { kEnc: derive(1), kMac: derive(2) };
}

/**
 * Domain-separation label for share fingerprints. Changing it changes every fingerprint, so it
 * carries a version.
 */
export const SHARE_FINGERPRINT_LABEL = 'hsm-ceremony/share-fingerprint/v1';

/**
 * The raw 8-byte share fingerprint: SHA-256(label || share)[0..8], label =
 * `hsm-ceremony/share-fingerprint/v1` in ASCII.
 *
 * Why not kcv(share)? A share's KCV is what sc-hsm-tool and the card would show if that share
 * were loaded as the only DKEK share, so it is a value people already compare against the card.
 * A fingerprint with its own label can never be mistaken for (or matched against) a DKEK KCV,
 * and it reveals nothing about the share beyond what a 64-bit hash of a 256-bit random value
 * does. It lets custodians confirm, on the transcript, that the share they hold now is the one
 * they held at creation — without decrypting anything in public.
 *
 * @throws {TypeError} if `share` is not a Uint8Array
 * @throws {RangeError} if it is not 32 bytes
 */
export function shareFingerprintBytes(share: Uint8Array): Uint8Array {
  checkKeyBytes(share, 'share');
  const input = concatBytes(new TextEncoder().encode(SHARE_FINGERPRINT_LABEL), share);
  const h = sha256(input);
  wipe(input);
  const out = h.slice(0, 8);
  wipe(h);
  return out;
}

/**
 * The share fingerprint as shown to people: four groups of four lower-case hex digits separated
 * by spaces, e.g. `3f2a 90c1 7b44 e0d2`. Lower case and grouping make it look unlike a KCV
 * (16 upper-case digits, no spaces), so the two are not confused when read aloud.
 *
 * @throws {TypeError} if `share` is not a Uint8Array
 * @throws {RangeError} if it is not 32 bytes
 */
export function shareFingerprint(share: Uint8Array): string {
  const fp = shareFingerprintBytes(share);
  const hex = toHex(fp);
  return hex.match(/.{4}/g)!.join(' ');
}
