/**
 * Worker-thread entry for the share-file key derivation (derive.ts starts it; scripts/build.mjs
 * bundles it to dist/kdf-worker.js next to the two commands). One worker derives one key, then
 * exits. Together with derive.ts this is the only IO in protocol/: it imports node:worker_threads.
 *
 * Messages to the parent, in order: zero or more `progress`, then exactly one `result` or `error`.
 * The password arrives transferred (this thread owns the only copy) and is wiped here; the key and
 * IV leave transferred, so no copy of them stays in this thread either.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { wipe } from '../bytes.ts';
import { isCeremonyError } from '../errors.ts';
import { evpBytesToKey } from './md5-chain.ts';
import type { Md5Engine } from './md5-chain.ts';

/** What derive.ts passes as `workerData` (the password's buffer is in the transfer list). */
export interface KdfWorkerRequest {
  password: Uint8Array;
  salt: Uint8Array;
  iterations: number;
  chunk: number;
  engine: Md5Engine;
}

/** Messages from the worker to derive.ts. */
export type KdfWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'result'; key: Uint8Array; iv: Uint8Array }
  | { type: 'error'; name: string; message: string; kind?: string; code?: string; hint?: string };

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('kdf-worker must be started as a worker thread (see derive.ts)');
  const post = (m: KdfWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const req = workerData as KdfWorkerRequest;
  try {
    const { key, iv } = evpBytesToKey(req.password, req.salt, req.iterations, {
      chunk: req.chunk,
      engine: req.engine,
      onProgress: (done, total) => post({ type: 'progress', done, total }),
    });
    post({ type: 'result', key, iv }, [key.buffer as ArrayBuffer, iv.buffer as ArrayBuffer]);
  } catch (e) {
    // Errors do not survive structured cloning as CeremonyErrors; send the public fields. Messages
    // never carry secrets (protocol/errors.ts), so forwarding them is safe.
    const err = e instanceof Error ? e : new Error(String(e));
    post({
      type: 'error',
      name: err.name,
      message: err.message,
      ...(isCeremonyError(err) ? { kind: err.kind, code: err.code, hint: err.hint } : {}),
    });
  } finally {
    wipe(req.password);
  }
}

main();
