/**
 * The share-file key derivation: OpenSSL's `EVP_BytesToKey(aes-256-cbc, md5, salt, password,
 * count)` as sc-hsm-tool calls it with count = 10 000 000 (spec §1; docs/dkek-share-format.md §4).
 *
 *   D_1 = MD5^count(password || salt)
 *   D_i = MD5^count(D_{i-1} || password || salt)        i = 2, 3
 *   key = D_1 || D_2 (32 bytes), iv = D_3 (16 bytes)
 *
 * where MD5^count(x) is MD5(x) followed by count - 1 further MD5s of the 16-byte digest. Those
 * repeats are 3 x 10^7 single-block compressions and the whole cost; they run in WebAssembly
 * (`_md5-wasm.ts`) or, where that is unavailable, in specialised plain JavaScript (`_md5.ts`).
 *
 * This function is synchronous and blocks its thread for seconds at the full count. Interactive
 * programs call `deriveShareFileKey` (derive.ts), which runs it in a worker thread.
 */
import { concatBytes, wipe } from '../bytes.ts';
import { CeremonyError, incomplete } from '../errors.ts';
import { md5, md5RepeatJs } from './_md5.ts';
import { WASM_CALL_ITERATIONS, loadMd5RepeatWasm } from './_md5-wasm.ts';

export { md5 } from './_md5.ts';

/** sc-hsm-tool's hard-coded iteration count (`opt_iter`, spec §1); no option changes it. */
export const SHARE_FILE_KDF_ITERATIONS = 10_000_000;

/** Salt length of a share file (spec §1: 8 bytes from GET CHALLENGE). */
export const SHARE_FILE_SALT_LENGTH = 8;

/** Default number of iterations between progress reports and cancellation checks (~5 ms). */
export const DEFAULT_KDF_CHUNK = 65_536;

/** Largest iteration count accepted (a 32-bit signed int, as OpenSSL's `int count`). */
export const MAX_KDF_ITERATIONS = 0x7fffffff;

/** Which implementation of the MD5 repeat loop runs; 'auto' prefers WebAssembly. */
export type Md5Engine = 'auto' | 'wasm' | 'js';

/** The AES-256-CBC key and IV of a share file. The receiver owns both and wipes them. */
export interface DerivedKey {
  /** 32 bytes: D_1 || D_2 */
  key: Uint8Array;
  /** 16 bytes: D_3 */
  iv: Uint8Array;
}

export interface EvpBytesToKeyOptions {
  /**
   * Called with the number of MD5 operations done so far and the total (3 x count): once with 0
   * before starting, then after every chunk, last with done === total. Values never decrease.
   */
  onProgress?(done: number, total: number): void;
  /** Checked before every chunk; when aborted the derivation throws KDF_CANCELLED. */
  signal?: AbortSignal;
  /** Iterations between progress reports and cancellation checks (default DEFAULT_KDF_CHUNK). */
  chunk?: number;
  /** 'auto' (default) uses WebAssembly when available and plain JS otherwise. */
  engine?: Md5Engine;
}

/**
 * The error for a derivation cancelled through an AbortSignal (kind 'incomplete', exit code 4).
 * Exported so the worker wrapper reports cancellation identically.
 */
export function kdfCancelled(): CeremonyError {
  return incomplete('KDF_CANCELLED', 'key derivation cancelled', {
    hint: 'nothing was written or sent; start the step again to derive the key',
  });
}

/** The engine 'auto' resolves to in this thread: 'wasm' unless WebAssembly is unavailable. */
export function defaultMd5Engine(): 'wasm' | 'js' {
  return loadMd5RepeatWasm() === null ? 'js' : 'wasm';
}

/**
 * OpenSSL `EVP_BytesToKey(EVP_aes_256_cbc(), EVP_md5(), salt, password, count)`: the share-file
 * key and IV. Synchronous; see the module comment for the cost.
 *
 * Ownership: `password` and `salt` are read, not kept and not wiped (the caller owns them). All
 * intermediate digests are wiped; the returned key and iv are fresh arrays the caller must wipe.
 *
 * @param password the passphrase bytes exactly as sc-hsm-tool would see them (no normalisation);
 *   may be empty
 * @param salt 8 bytes (bytes 8..15 of the share file)
 * @param count iterations per chain: SHARE_FILE_KDF_ITERATIONS for real files, small in tests
 * @throws {TypeError} if password or salt is not a Uint8Array, or an option has the wrong type
 * @throws {RangeError} if salt is not 8 bytes, count is not an integer in 1..2^31-1, or chunk is
 *   not a positive integer
 * @throws {Error} if engine 'wasm' is requested where WebAssembly is unavailable
 * @throws {CeremonyError} KDF_CANCELLED (kind 'incomplete') when `signal` is aborted
 */
export function evpBytesToKey(
  password: Uint8Array,
  salt: Uint8Array,
  count: number,
  opts: EvpBytesToKeyOptions = {},
): DerivedKey {
  if (!(password instanceof Uint8Array)) throw new TypeError('password must be a Uint8Array');
  if (!(salt instanceof Uint8Array)) throw new TypeError('salt must be a Uint8Array');
  if (salt.length !== SHARE_FILE_SALT_LENGTH) {
    throw new RangeError(`salt must be ${SHARE_FILE_SALT_LENGTH} bytes, got ${salt.length}`);
  }
  if (!Number.isInteger(count) || count < 1 || count > MAX_KDF_ITERATIONS) {
    throw new RangeError(`count must be an integer from 1 to ${MAX_KDF_ITERATIONS}, got ${count}`);
  }
  const chunk = opts.chunk ?? DEFAULT_KDF_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
    throw new TypeError('onProgress must be a function');
  }
  const engine = opts.engine ?? 'auto';
  if (engine !== 'auto' && engine !== 'wasm' && engine !== 'js') {
    throw new TypeError(`engine must be 'auto', 'wasm' or 'js', got ${String(engine)}`);
  }
  const wasm = engine === 'js' ? null : loadMd5RepeatWasm();
  if (engine === 'wasm' && wasm === null) throw new Error('WebAssembly is not available here');

  const { signal, onProgress } = opts;
  const total = 3 * count;
  let done = 0;
  let reported = -1;
  const report = (): void => {
    if (onProgress !== undefined && done !== reported) {
      reported = done;
      onProgress(done, total);
    }
  };
  const checkAbort = (): void => {
    if (signal?.aborted) throw kdfCancelled();
  };

  const out = new Uint8Array(48);
  const digest = new Uint8Array(16);
  try {
    checkAbort();
    report();
    for (let i = 0; i < 3; i++) {
      const input =
        i === 0 ? concatBytes(password, salt) : concatBytes(out.subarray(16 * (i - 1), 16 * i), password, salt);
      const first = md5(input);
      wipe(input);
      digest.set(first);
      wipe(first);
      done += 1;
      let left = count - 1;
      while (left > 0) {
        checkAbort();
        const k = Math.min(chunk, left);
        if (wasm !== null) {
          wasm.digest.set(digest);
          for (let rest = k; rest > 0; rest -= WASM_CALL_ITERATIONS) {
            wasm.iterate(Math.min(rest, WASM_CALL_ITERATIONS));
          }
          digest.set(wasm.digest);
          wipe(wasm.digest);
        } else {
          md5RepeatJs(digest, k);
        }
        left -= k;
        done += k;
        report();
      }
      out.set(digest, 16 * i);
    }
    report();
    return { key: out.slice(0, 32), iv: out.slice(32, 48) };
  } finally {
    wipe(out, digest);
    if (wasm !== null) wipe(wasm.digest);
  }
}
