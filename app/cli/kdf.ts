/** The share-file key derivation as the commands run it: in a worker, with a progress line. */
import type { CliIo } from './command.ts';
import { progressLine } from './progress.ts';
import { deriveShareFileKey } from '../../protocol/dkek/derive.ts';
import type { ShareFileKdf } from '../../protocol/dkek/share-file.ts';

export function workerKdf(io: CliIo, label: string, signal: AbortSignal): ShareFileKdf {
  return async (password, salt) => {
    const bar = progressLine(io, label);
    try {
      return await deriveShareFileKey(password, salt, { signal, onProgress: (d, t) => bar.update(d, t) });
    } finally {
      bar.end();
    }
  };
}
