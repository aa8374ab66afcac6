/**
 * The writer's public-data guard (docs/transcript-format.md §6). Everything in a transcript is
 * public and kept for years, so before an event is encoded the guard refuses:
 *
 * - any byte container (Uint8Array, Buffer, ArrayBuffer, DataView, other typed arrays): in this
 *   codebase secrets live in Uint8Array and nowhere else, so bytes reaching the transcript are
 *   presumed secret; public bytes are written as hex strings on purpose, by name;
 * - any field whose name looks like a secret (`pin`, `soPin`, `passphrase`, `shareValue`, `key`,
 *   … — see app/plan/secret-guard.ts), even when its value looks harmless;
 * - anything canonical JSON cannot hold (undefined, functions, bigint, Map, Date, class instances).
 *
 * A refusal is a bug in the caller (kind `bug`, exit 70): the runner must never try. The message
 * names the field path and never the value.
 */
import { CeremonyError } from '../../protocol/errors.ts';
import { looksSecretName } from '../plan/secret-guard.ts';

const MAX_DEPTH = 16;

function refuse(path: string, why: string): never {
  throw new CeremonyError('bug', 'TRANSCRIPT_REFUSED', `the transcript refused ${path}: ${why}`, {
    hint: 'a transcript holds public data only; this is a bug in the caller, and nothing was written',
  });
}

/**
 * Throws unless `value` (an event's data, or any part of it) is public-looking plain data.
 *
 * @param value the value to check
 * @param path its path, for the message (default `data`)
 * @throws CeremonyError bug TRANSCRIPT_REFUSED naming the first offending field
 */
export function assertPublicData(value: unknown, path = 'data', depth = 0): void {
  if (depth > MAX_DEPTH) refuse(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null) return;
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'number':
      return;
    case 'object':
      break;
    default:
      refuse(path, `a ${typeof value} is not public data`);
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
    refuse(path, 'it holds raw bytes, and secrets live in byte arrays (write public bytes as a hex string)');
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertPublicData(v, `${path}[${i}]`, depth + 1));
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) refuse(path, `a ${(value as object).constructor?.name ?? 'class instance'} is not plain data`);
  for (const [k, v] of Object.entries(value)) {
    const p = `${path}.${k}`;
    if (looksSecretName(k)) refuse(p, 'the field name looks like a secret');
    assertPublicData(v, p, depth + 1);
  }
}
