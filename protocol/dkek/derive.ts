/**
 * The share-file key derivation off the main thread. `evpBytesToKey` at the full count blocks its
 * thread for seconds (docs/dkek-share-format.md §7), which would freeze the TUI, the network
 * session and every timer; here it runs in a node:worker_threads Worker (kdf-worker.ts) that
 * reports progress and can be cancelled. Each call gets its own worker, so two derivations run in
 * parallel on two cores. Together with kdf-worker.ts this is the only IO in protocol/.
 */
import { Worker } from 'node:worker_threads';
import { wipe } from '../bytes.ts';
import { CeremonyError } from '../errors.ts';
import type { ErrorKind } from '../errors.ts';
import {
  DEFAULT_KDF_CHUNK,
  MAX_KDF_ITERATIONS,
  SHARE_FILE_KDF_ITERATIONS,
  SHARE_FILE_SALT_LENGTH,
  kdfCancelled,
} from './md5-chain.ts';
import type { DerivedKey, Md5Engine } from './md5-chain.ts';
import type { KdfWorkerMessage, KdfWorkerRequest } from './kdf-worker.ts';

export interface DeriveShareFileKeyOptions {
  /** Progress in MD5 operations (total = 3 x iterations), called on the calling thread. */
  onProgress?(done: number, total: number): void;
  /** Aborting terminates the worker at once and rejects with KDF_CANCELLED. */
  signal?: AbortSignal;
  /** Iterations per chain; SHARE_FILE_KDF_ITERATIONS (the only value sc-hsm-tool uses) by default. */
  iterations?: number;
  /** Iterations between progress messages (default DEFAULT_KDF_CHUNK, about 5 ms of work). */
  chunk?: number;
  /** MD5 engine inside the worker; 'auto' by default (tests use 'js' to cover the fallback). */
  engine?: Md5Engine;
  /**
   * Ownership of `password`: by default the caller keeps it and must wipe it. With `true` the call
   * takes it over and wipes the caller's array as soon as its bytes are on their way to the worker
   * (before this function returns), so a caller that only needs the password for this derivation
   * holds it for the shortest possible time.
   */
  wipePassword?: boolean;
}

/**
 * How to start kdf-worker: the bundled dist/kdf-worker.js next to the command's bundle, or, when
 * running from the TypeScript sources (tests under `node --import tsx`), kdf-worker.ts. On Node 20
 * tsx installs its loader only on the main thread, so a worker would not understand .ts; a tiny
 * bootstrap registers tsx inside the worker first. The bundle in dist/ never takes that branch and
 * never loads tsx.
 */
function workerEntry(): { entry: string | URL; eval: boolean } {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = new URL('./kdf-worker' + (fromSource ? '.ts' : '.js'), import.meta.url);
  if (!fromSource) return { entry: script, eval: false };
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    return { entry: script, eval: false }; // another TypeScript runtime; let it load the .ts
  }
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); })`;
  return { entry: bootstrap, eval: true };
}

const ERROR_KINDS: readonly string[] = ['check', 'usage', 'device', 'incomplete', 'bug'];

function workerFailed(message: string, cause?: unknown): CeremonyError {
  return new CeremonyError('bug', 'KDF_WORKER_FAILED', message, {
    hint: 'this is a defect in hsm-ceremony; please report it with the command you ran',
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The share file's AES-256-CBC key and IV, `EVP_BytesToKey(aes-256-cbc, md5, salt, password,
 * iterations)` (see md5-chain.ts), computed in a worker thread.
 *
 * Ownership: the password bytes are copied and the copy is transferred (moved, not cloned) to the
 * worker, which wipes it when done; the caller's array is wiped only with `wipePassword: true`.
 * The returned key and iv are fresh arrays the caller must wipe.
 *
 * @throws {TypeError} (as a rejection) if password or salt is not a Uint8Array
 * @throws {RangeError} (as a rejection) if salt is not 8 bytes or iterations/chunk are out of range
 * @throws {CeremonyError} KDF_CANCELLED (kind 'incomplete') when `signal` aborts, before or during
 * @throws {CeremonyError} KDF_WORKER_FAILED (kind 'bug') if the worker cannot start or dies
 */
export async function deriveShareFileKey(
  password: Uint8Array,
  salt: Uint8Array,
  opts: DeriveShareFileKeyOptions = {},
): Promise<DerivedKey> {
  if (!(password instanceof Uint8Array)) throw new TypeError('password must be a Uint8Array');
  if (!(salt instanceof Uint8Array)) throw new TypeError('salt must be a Uint8Array');
  if (salt.length !== SHARE_FILE_SALT_LENGTH) {
    throw new RangeError(`salt must be ${SHARE_FILE_SALT_LENGTH} bytes, got ${salt.length}`);
  }
  const iterations = opts.iterations ?? SHARE_FILE_KDF_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_KDF_ITERATIONS) {
    throw new RangeError(`iterations must be an integer from 1 to ${MAX_KDF_ITERATIONS}, got ${iterations}`);
  }
  const chunk = opts.chunk ?? DEFAULT_KDF_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  const { signal, onProgress } = opts;
  if (signal?.aborted) {
    if (opts.wipePassword) wipe(password);
    throw kdfCancelled();
  }

  const request: KdfWorkerRequest = {
    // Plain Uint8Array copies: slice() keeps the caller's species, and a Buffer-species copy can
    // share or expose an ArrayBuffer whose transfer would detach the caller's own array.
    password: copyBytes(password),
    salt: copyBytes(salt),
    iterations,
    chunk,
    engine: opts.engine ?? 'auto',
  };
  if (opts.wipePassword) wipe(password);

  return new Promise<DerivedKey>((resolve, reject) => {
    let settled = false;
    let worker: Worker;
    try {
      const { entry, eval: isEval } = workerEntry();
      worker = new Worker(entry, {
        eval: isEval,
        workerData: request,
        transferList: [request.password.buffer as ArrayBuffer],
      });
    } catch (e) {
      wipe(request.password);
      reject(workerFailed('the key derivation worker could not start', e));
      return;
    }

    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      finish(() => {
        void worker.terminate();
        reject(kdfCancelled());
      });
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (m: KdfWorkerMessage) => {
      if (settled) {
        if (m.type === 'result') wipe(m.key, m.iv);
        return;
      }
      switch (m.type) {
        case 'progress':
          if (onProgress === undefined) return;
          try {
            onProgress(m.done, m.total);
          } catch (e) {
            finish(() => {
              void worker.terminate();
              reject(e);
            });
          }
          return;
        case 'result':
          finish(() => resolve({ key: m.key, iv: m.iv }));
          return;
        case 'error':
          finish(() => {
            if (m.kind !== undefined && m.code !== undefined && ERROR_KINDS.includes(m.kind)) {
              reject(new CeremonyError(m.kind as ErrorKind, m.code, m.message, m.hint === undefined ? {} : { hint: m.hint }));
            } else {
              reject(workerFailed(`key derivation failed in the worker: ${m.name}: ${m.message}`));
            }
          });
          return;
        default: {
          const never: never = m;
          finish(() => reject(workerFailed(`unexpected message from the key derivation worker: ${String(never)}`)));
        }
      }
    });
    worker.on('error', (e) => finish(() => reject(workerFailed('the key derivation worker crashed', e))));
    worker.on('exit', (code) =>
      finish(() => reject(workerFailed(`the key derivation worker exited (code ${code}) without a result`))),
    );
  });
}

function copyBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}
