/**
 * The ceremony key (docs/transcript-format.md §5): an Ed25519 key pair made when a transcript is
 * started (or resumed), held only in memory, never written anywhere. Its public key goes into the
 * transcript and its fingerprint onto every screen and the printed record, so that an auditor can
 * later pin it (`verify --key`) and a re-signed forgery fails.
 *
 * Signatures are plain Ed25519 (RFC 8032) over a domain-separated input, verified strictly
 * (canonical encodings only, no ZIP-215 leniency), so each valid signature has one encoding.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex, utf8, wipe } from '../../protocol/bytes.ts';
import { usageError } from '../../protocol/errors.ts';
import { canonicalJson } from './canonical-json.ts';

/** Byte source for key generation; tests pass a deterministic one. */
export type Rng = (n: number) => Uint8Array;

const defaultRng: Rng = (n) => crypto.getRandomValues(new Uint8Array(n));

/** Prefix of every signed message: the purpose, the format version and a zero byte. */
export const SIGNING_CONTEXT = 'hsm-ceremony/transcript/v1/signature';
/** Label hashed with the public key for its fingerprint. */
export const FINGERPRINT_LABEL = 'hsm-ceremony/ceremony-key/v1';

/**
 * The fingerprint people compare: SHA-256(label || public key), first 16 bytes, as eight groups of
 * four lower-case hex digits (e.g. `9c1e 04aa …`). Twice as long as a share fingerprint, so the
 * two are not confused when read aloud.
 *
 * @throws {RangeError} if `publicKey` is not 32 bytes
 */
export function keyFingerprint(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new RangeError('publicKey must be 32 bytes');
  const h = sha256(concatBytes(utf8(FINGERPRINT_LABEL), publicKey)).slice(0, 16);
  return toHex(h).match(/.{4}/g)!.join(' ');
}

/**
 * What a signature covers: `SIGNING_CONTEXT || 0x00 || canonicalJson(event)`, where `event` is the
 * whole event with `data.signature` left out.
 */
export function signingInput(event: { data: Record<string, unknown> }): Uint8Array {
  const { signature: _omit, ...data } = event.data;
  return concatBytes(utf8(SIGNING_CONTEXT), new Uint8Array([0]), utf8(canonicalJson({ ...event, data })));
}

/**
 * Verifies an Ed25519 signature strictly. Never throws for malformed input; returns false.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** A ceremony key pair. The secret half never leaves this object; `destroy()` wipes it. */
export class CeremonyKey {
  readonly #secret: Uint8Array;
  readonly publicKey: Uint8Array;
  #destroyed = false;

  private constructor(secret: Uint8Array) {
    this.#secret = secret;
    this.publicKey = ed25519.getPublicKey(secret);
  }

  /**
   * Makes a new key from 32 bytes of `rng`.
   *
   * @throws {TypeError} if rng does not return a Uint8Array of 32 bytes
   */
  static generate(rng: Rng = defaultRng): CeremonyKey {
    const seed = rng(32);
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('rng must return a Uint8Array of the requested length');
    const secret = seed.slice();
    wipe(seed);
    return new CeremonyKey(secret);
  }

  get publicKeyHex(): string {
    return toHex(this.publicKey);
  }

  get fingerprint(): string {
    return keyFingerprint(this.publicKey);
  }

  /**
   * Signs `message`.
   *
   * @throws {Error} after destroy()
   */
  sign(message: Uint8Array): Uint8Array {
    if (this.#destroyed) throw new Error('the ceremony key was destroyed');
    return ed25519.sign(message, this.#secret);
  }

  /** Wipes the secret key (JavaScript cannot promise that no copy remains elsewhere). */
  destroy(): void {
    wipe(this.#secret);
    this.#destroyed = true;
  }
}

/** A key an auditor pins: the full public key, or just its fingerprint. */
export interface PinnedKey {
  /** 64 hex digits, when the full key was given */
  publicKey: string | null;
  /** the fingerprint, always (computed from the key when the key was given) */
  fingerprint: string;
}

/**
 * Reads a `--key` value: the 64-hex-digit public key, or the 32-hex-digit fingerprint, in any
 * case, with spaces or colons between digits allowed.
 *
 * @throws CeremonyError usage KEY_MALFORMED
 */
export function parsePinnedKey(text: string): PinnedKey {
  const clean = text.trim().replace(/[\s:]/g, '').toLowerCase();
  if (/^[0-9a-f]{64}$/.test(clean)) return { publicKey: clean, fingerprint: keyFingerprint(fromHex(clean)) };
  if (/^[0-9a-f]{32}$/.test(clean)) return { publicKey: null, fingerprint: clean.match(/.{4}/g)!.join(' ') };
  throw usageError('KEY_MALFORMED', 'the key is neither a 64-digit public key nor a 32-digit fingerprint', {
    hint: 'copy the ceremony key or its fingerprint exactly as the printed record shows it',
  });
}

/** True if the public key (hex) is the pinned one. */
export function matchesPinned(publicKeyHex: string, pinned: PinnedKey): boolean {
  if (pinned.publicKey !== null) return pinned.publicKey === publicKeyHex;
  return keyFingerprint(fromHex(publicKeyHex)) === pinned.fingerprint;
}
