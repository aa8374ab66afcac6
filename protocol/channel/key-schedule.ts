/**
 * Key schedule of the custodian channel (docs/protocol-channel.md §6): from CPace's ISK and the
 * handshake transcript to the two traffic keys, the two key-confirmation tags and the six-digit
 * short authentication string (SAS) both screens show.
 *
 * Everything is HKDF-SHA-256 (RFC 5869) and HMAC-SHA-256 (RFC 2104) with purpose labels
 * `hsm-ceremony/v1/…`, so no two outputs can ever be equal by construction and none can be
 * confused with a key of another protocol.
 */

import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, utf8, wipe } from '../bytes.ts';
import { LABEL_PREFIX } from './channel-version.ts';
import { lvCat } from './cpace.ts';
import { assertRole, type ChannelRole } from './roles.ts';

/** Length of every derived key, tag, nonce and hash here. */
export const KEY_BYTES = 32;

/** Number of SAS digits. */
export const SAS_DIGITS = 6;

/** The purpose labels (docs/protocol-channel.md §6, table "Labels"). ASCII, used as bytes. */
export const Labels = {
  /** traffic key for frames the custodian sends */
  keyCustodianToCoordinator: `${LABEL_PREFIX}key/custodian-to-coordinator`,
  /** traffic key for frames the coordinator sends */
  keyCoordinatorToCustodian: `${LABEL_PREFIX}key/coordinator-to-custodian`,
  /** HMAC key and label of the custodian's confirmation tag */
  confirmCustodian: `${LABEL_PREFIX}confirm/custodian`,
  /** HMAC key and label of the coordinator's confirmation tag */
  confirmCoordinator: `${LABEL_PREFIX}confirm/coordinator`,
  /** HMAC key and label of the SAS */
  sas: `${LABEL_PREFIX}sas`,
  /** hash label of the custodian's commitment to its SAS nonce */
  sasCommit: `${LABEL_PREFIX}sas-commit`,
} as const;

/** The five secrets derived from ISK; each is 32 bytes and owned by the caller, who wipes them. */
export interface ChannelKeys {
  custodianToCoordinator: Uint8Array;
  coordinatorToCustodian: Uint8Array;
  confirmCustodian: Uint8Array;
  confirmCoordinator: Uint8Array;
  sas: Uint8Array;
}

function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
  }
}

/**
 * The transcript hash `SHA-256(lv_cat(m1, m2, …))` over whole handshake messages in the order they
 * were sent. lv_cat keeps the encoding prefix-free, so different message lists never collide.
 *
 * @throws TypeError if a message is not a Uint8Array
 */
export function transcriptHash(...messages: Uint8Array[]): Uint8Array {
  const encoded = lvCat(...messages);
  try {
    return sha256(encoded);
  } finally {
    wipe(encoded);
  }
}

/**
 * Derives the channel keys: `PRK = HKDF-Extract(salt = TH, IKM = ISK)` where TH is the transcript
 * hash of hello and reply, then one `HKDF-Expand(PRK, label, 32)` per key. ISK already binds both
 * messages; the salt repeats the binding so the keys stay tied to the exact bytes on the wire even if
 * a future version changes what CPace's ADa/ADb cover.
 *
 * @param isk - CPace's 64-byte intermediate session key (not wiped here)
 * @param helloReplyHash - `transcriptHash(hello, reply)`, 32 bytes
 * @throws TypeError / RangeError for arguments of the wrong type or size
 */
export function deriveChannelKeys(isk: Uint8Array, helloReplyHash: Uint8Array): ChannelKeys {
  assertBytes(isk, 'isk', 64);
  assertBytes(helloReplyHash, 'helloReplyHash', KEY_BYTES);
  const prk = extract(sha256, isk, helloReplyHash);
  const out = (label: string) => expand(sha256, prk, utf8(label), KEY_BYTES);
  try {
    return {
      custodianToCoordinator: out(Labels.keyCustodianToCoordinator),
      coordinatorToCustodian: out(Labels.keyCoordinatorToCustodian),
      confirmCustodian: out(Labels.confirmCustodian),
      confirmCoordinator: out(Labels.confirmCoordinator),
      sas: out(Labels.sas),
    };
  } finally {
    wipe(prk);
  }
}

/** Zeroes every key in place. */
export function wipeChannelKeys(keys: ChannelKeys): void {
  wipe(
    keys.custodianToCoordinator,
    keys.coordinatorToCustodian,
    keys.confirmCustodian,
    keys.confirmCoordinator,
    keys.sas,
  );
}

/**
 * A key-confirmation tag: `HMAC-SHA-256(confirmKey(role), label(role) || TH)`. The key and the
 * label both name the sending role, so one side's tag can never be reflected back as the other's.
 *
 * @param role - the role that sends the tag
 * @param keys - the channel keys
 * @param th - the transcript hash the tag covers (docs/protocol-channel.md §6)
 * @throws TypeError / RangeError for arguments of the wrong type or size
 */
export function confirmationTag(role: ChannelRole, keys: ChannelKeys, th: Uint8Array): Uint8Array {
  assertRole(role);
  assertBytes(th, 'th', KEY_BYTES);
  const key = role === 'custodian' ? keys.confirmCustodian : keys.confirmCoordinator;
  const label = role === 'custodian' ? Labels.confirmCustodian : Labels.confirmCoordinator;
  assertBytes(key, 'confirmation key', KEY_BYTES);
  return hmac(sha256, key, concatBytes(utf8(label), th));
}

/**
 * Checks a received confirmation tag in constant time.
 *
 * @param role - the role that sent the tag
 * @returns true if it is the expected tag
 * @throws TypeError / RangeError for arguments of the wrong type or size
 */
export function verifyConfirmationTag(
  role: ChannelRole,
  keys: ChannelKeys,
  th: Uint8Array,
  tag: Uint8Array,
): boolean {
  assertBytes(tag, 'tag');
  const expected = confirmationTag(role, keys, th);
  try {
    return tag.length === expected.length && equalBytes(tag, expected);
  } finally {
    wipe(expected);
  }
}

/**
 * The custodian's commitment to its SAS nonce, sent in the hello:
 * `SHA-256("hsm-ceremony/v1/sas-commit" || nonce)`. Revealing the nonce only after the coordinator's
 * reply stops a man in the middle who knows the code from grinding its reply until both screens
 * show the same digits (docs/protocol-channel.md §6.4).
 *
 * @throws TypeError / RangeError if `nonce` is not 32 bytes
 */
export function sasCommitment(nonce: Uint8Array): Uint8Array {
  assertBytes(nonce, 'nonce', KEY_BYTES);
  return sha256(concatBytes(utf8(Labels.sasCommit), nonce));
}

/**
 * The six-digit short authentication string:
 * `S = HMAC-SHA-256(sasKey, "hsm-ceremony/v1/sas" || TH)` where TH covers the revealed nonce, then
 * the first 8 bytes of S as a big-endian integer mod 10^6, left-padded with zeros. The modulo bias
 * is below 2^-44.
 *
 * @param keys - the channel keys (uses `keys.sas`)
 * @param th - the transcript hash through the custodian's revealed nonce, 32 bytes
 * @returns six ASCII digits, e.g. "042917"; public once shown
 * @throws TypeError / RangeError for arguments of the wrong type or size
 */
export function shortAuthenticationString(keys: ChannelKeys, th: Uint8Array): string {
  assertBytes(keys.sas, 'sas key', KEY_BYTES);
  assertBytes(th, 'th', KEY_BYTES);
  const s = hmac(sha256, keys.sas, concatBytes(utf8(Labels.sas), th));
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(s[i]!);
  wipe(s);
  return (n % 10n ** BigInt(SAS_DIGITS)).toString().padStart(SAS_DIGITS, '0');
}
