/**
 * The DKEK share file (`.pbe`) written and read by sc-hsm-tool `--create-dkek-share` /
 * `--import-dkek-share` (spec §1; the normative description is docs/dkek-share-format.md):
 *
 *   offset 0   8 bytes   "Salted__"
 *   offset 8   8 bytes   salt
 *   offset 16  48 bytes  AES-256-CBC(key, iv, share(32) || 16 x 0x10)
 *
 * with (key, iv) = EVP_BytesToKey(aes-256-cbc, md5, salt, password, 10 000 000).
 *
 * The key derivation is passed in (`ShareFileKdf`) so that interactive programs run it in a worker
 * (`deriveShareFileKey`, derive.ts) while tests and scripts use `shareFileKdfSync` with any
 * iteration count. Nothing here does IO.
 */
import { cbc } from '@noble/ciphers/aes.js';
import { concatBytes, equalBytes, wipe } from '../bytes.ts';
import { checkFailed, usageError } from '../errors.ts';
import { SHARE_FILE_KDF_ITERATIONS, SHARE_FILE_SALT_LENGTH, evpBytesToKey } from './md5-chain.ts';
import type { DerivedKey, EvpBytesToKeyOptions } from './md5-chain.ts';

/** Size of every share file sc-hsm-tool writes, and the only size accepted here. */
export const SHARE_FILE_LENGTH = 64;
/** Size of a DKEK share. */
export const DKEK_SHARE_LENGTH = 32;
/** The first 8 bytes of a share file: ASCII "Salted__" (the `openssl enc` magic). */
export const SHARE_FILE_MAGIC = new Uint8Array([0x53, 0x61, 0x6c, 0x74, 0x65, 0x64, 0x5f, 0x5f]);

const CIPHERTEXT_LENGTH = 48;
const PAD_BYTE = 0x10;

/**
 * The key derivation for one share file: given the password and the file's 8-byte salt, the AES
 * key (32 bytes) and IV (16 bytes). It may be synchronous or return a Promise. The functions in
 * this module take ownership of the returned key and iv and wipe them, so a KDF must return fresh
 * arrays on every call. It must not keep or modify `password` or `salt`.
 */
export type ShareFileKdf = (password: Uint8Array, salt: Uint8Array) => DerivedKey | Promise<DerivedKey>;

/**
 * The derivation on the calling thread (blocks it for seconds at the full count). For tests,
 * scripts and the benchmark; interactive code passes `(pw, salt) => deriveShareFileKey(pw, salt,
 * {onProgress, signal})` instead.
 * @param iterations per chain; the real files always use SHARE_FILE_KDF_ITERATIONS
 */
export function shareFileKdfSync(
  iterations: number = SHARE_FILE_KDF_ITERATIONS,
  opts: EvpBytesToKeyOptions = {},
): ShareFileKdf {
  return (password, salt) => evpBytesToKey(password, salt, iterations, opts);
}

/** The public parts of a share file. Both arrays are copies. */
export interface ParsedShareFile {
  salt: Uint8Array;
  ciphertext: Uint8Array;
}

/**
 * Splits a share file into salt and ciphertext after checking its size and magic.
 *
 * Size rule: exactly 64 bytes. sc-hsm-tool reads the first 64 bytes and ignores anything after;
 * we reject longer files instead, because sc-hsm-tool never writes them and a longer file is a
 * different or damaged file (an appended newline from a text-mode copy, two files concatenated)
 * that deserves a look before its share goes into a card (docs/dkek-share-format.md §6.1).
 *
 * @throws {TypeError} if `file` is not a Uint8Array
 * @throws {CeremonyError} SHARE_FILE_SIZE (kind 'usage') unless the file is exactly 64 bytes
 * @throws {CeremonyError} SHARE_FILE_MAGIC (kind 'usage') if it does not start with "Salted__"
 */
export function parseShareFile(file: Uint8Array): ParsedShareFile {
  if (!(file instanceof Uint8Array)) throw new TypeError('file must be a Uint8Array');
  if (file.length !== SHARE_FILE_LENGTH) {
    throw usageError(
      'SHARE_FILE_SIZE',
      `not a DKEK share file: ${file.length} bytes instead of ${SHARE_FILE_LENGTH}`,
      {
        hint:
          file.length > SHARE_FILE_LENGTH
            ? 'sc-hsm-tool writes exactly 64 bytes; use the original file, not a copy with bytes added'
            : 'the file is truncated or is not a share file; use the original .pbe file',
        detail: { length: file.length },
      },
    );
  }
  if (!equalBytes(file.subarray(0, 8), SHARE_FILE_MAGIC)) {
    throw usageError('SHARE_FILE_MAGIC', 'not a DKEK share file (it does not start with "Salted__")', {
      hint: 'choose the .pbe file written by sc-hsm-tool --create-dkek-share or hsm-ceremony',
    });
  }
  return { salt: file.slice(8, 16), ciphertext: file.slice(16, SHARE_FILE_LENGTH) };
}

function checkPassword(password: unknown): asserts password is Uint8Array {
  if (!(password instanceof Uint8Array)) throw new TypeError('password must be a Uint8Array');
}

async function deriveChecked(kdf: ShareFileKdf, password: Uint8Array, salt: Uint8Array): Promise<DerivedKey> {
  if (typeof kdf !== 'function') throw new TypeError('kdf must be a function');
  const { key, iv } = await kdf(password, salt);
  if (!(key instanceof Uint8Array) || key.length !== 32 || !(iv instanceof Uint8Array) || iv.length !== 16) {
    wipe(key instanceof Uint8Array ? key : null, iv instanceof Uint8Array ? iv : null);
    throw new RangeError('kdf must return a 32-byte key and a 16-byte iv');
  }
  return { key, iv };
}

/**
 * Encrypts a DKEK share into the 64 bytes of a share file, exactly as sc-hsm-tool does.
 *
 * Ownership: `share`, `password` and `salt` stay the caller's (not wiped); the derived key and IV
 * and the padded plaintext are wiped here. sc-hsm-tool takes salt and share from the card's GET
 * CHALLENGE; the caller decides where they come from (see `createShareFile` for an rng).
 *
 * @throws {TypeError} if an argument has the wrong type
 * @throws {RangeError} if `share` is not 32 bytes or `salt` is not 8 bytes
 * @throws whatever `kdf` throws (e.g. KDF_CANCELLED)
 */
export async function encryptShareFile(
  share: Uint8Array,
  password: Uint8Array,
  salt: Uint8Array,
  kdf: ShareFileKdf,
): Promise<Uint8Array> {
  if (!(share instanceof Uint8Array)) throw new TypeError('share must be a Uint8Array');
  if (share.length !== DKEK_SHARE_LENGTH) {
    throw new RangeError(`share must be ${DKEK_SHARE_LENGTH} bytes, got ${share.length}`);
  }
  checkPassword(password);
  if (!(salt instanceof Uint8Array)) throw new TypeError('salt must be a Uint8Array');
  if (salt.length !== SHARE_FILE_SALT_LENGTH) {
    throw new RangeError(`salt must be ${SHARE_FILE_SALT_LENGTH} bytes, got ${salt.length}`);
  }
  const { key, iv } = await deriveChecked(kdf, password, salt);
  const plaintext = new Uint8Array(CIPHERTEXT_LENGTH);
  try {
    plaintext.set(share);
    plaintext.fill(PAD_BYTE, DKEK_SHARE_LENGTH); // PKCS#7: a full block of sixteen 0x10 bytes
    const ciphertext = cbc(key, iv, { disablePadding: true }).encrypt(plaintext);
    return concatBytes(SHARE_FILE_MAGIC, salt, ciphertext);
  } finally {
    wipe(key, iv, plaintext);
  }
}

/**
 * Decrypts a share file and returns its 32-byte DKEK share (the caller owns it and must wipe it).
 *
 * The passphrase check is strict: all 16 bytes after the share must be 0x10, the only padding
 * sc-hsm-tool ever writes. sc-hsm-tool accepts any valid PKCS#7 padding, which lets about 1 wrong
 * passphrase in 256 through and imports a garbage share (spec §1); we do not.
 *
 * @throws {TypeError} if `file` or `password` is not a Uint8Array
 * @throws {CeremonyError} SHARE_FILE_SIZE or SHARE_FILE_MAGIC (kind 'usage'), see parseShareFile
 * @throws {CeremonyError} WRONG_PASSPHRASE (kind 'check') if the padding is not 16 x 0x10
 * @throws whatever `kdf` throws (e.g. KDF_CANCELLED)
 */
export async function decryptShareFile(file: Uint8Array, password: Uint8Array, kdf: ShareFileKdf): Promise<Uint8Array> {
  const { salt, ciphertext } = parseShareFile(file);
  checkPassword(password);
  const { key, iv } = await deriveChecked(kdf, password, salt);
  let plaintext: Uint8Array | undefined;
  try {
    plaintext = cbc(key, iv, { disablePadding: true }).decrypt(ciphertext);
    let bad = 0;
    for (let i = DKEK_SHARE_LENGTH; i < CIPHERTEXT_LENGTH; i++) bad |= plaintext[i]! ^ PAD_BYTE;
    if (bad !== 0) {
      throw checkFailed('WRONG_PASSPHRASE', 'wrong passphrase (the share file did not decrypt)', {
        hint: 'type the passphrase again exactly as it was set; it is case-sensitive',
      });
    }
    return plaintext.slice(0, DKEK_SHARE_LENGTH);
  } finally {
    wipe(key, iv, plaintext);
  }
}

/** A new share file and the share inside it. */
export interface CreatedShareFile {
  /** the 64-byte .pbe file */
  file: Uint8Array;
  /** the 32-byte DKEK share; the caller owns it and must wipe it */
  share: Uint8Array;
}

export interface CreateShareFileOptions {
  /** the key derivation (default: shareFileKdfSync() at the full count, on this thread) */
  kdf?: ShareFileKdf;
  /** randomness; called as rng(8) for the salt, then rng(32) for the share */
  rng?: (n: number) => Uint8Array;
}

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/**
 * A new random DKEK share encrypted under `password`: salt = rng(8), then share = rng(32) (the
 * order sc-hsm-tool draws them from the card). Password policy (minimum length, confirmation) is
 * the caller's: sc-hsm-tool itself accepts any password given on the command line.
 *
 * @throws {TypeError} if `password` is not a Uint8Array or rng returns something else
 * @throws {RangeError} if rng returns the wrong number of bytes
 * @throws whatever `kdf` throws (e.g. KDF_CANCELLED)
 */
export async function createShareFile(password: Uint8Array, opts: CreateShareFileOptions = {}): Promise<CreatedShareFile> {
  checkPassword(password);
  const rng = opts.rng ?? defaultRng;
  const kdf = opts.kdf ?? shareFileKdfSync();
  const salt = rng(SHARE_FILE_SALT_LENGTH);
  const share = rng(DKEK_SHARE_LENGTH);
  try {
    const file = await encryptShareFile(share, password, salt, kdf);
    return { file, share };
  } catch (e) {
    wipe(share);
    throw e;
  }
}
