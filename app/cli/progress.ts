/**
 * A one-line progress bar on stderr for the share-file key derivation (seconds long). Only drawn on
 * a terminal; scripts get nothing on stderr but errors.
 */
import type { CliIo } from './command.ts';

export interface ProgressLine {
  update(done: number, total: number): void;
  end(): void;
}

export function progressLine(io: CliIo, label: string): ProgressLine {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  let last = -1;
  return {
    update(done, total) {
      if (!tty) return;
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (pct === last) return;
      last = pct;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      io.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}%`);
    },
    end() {
      if (tty && last >= 0) io.stderr.write('\n');
    },
  };
}

/** An AbortSignal that fires on Ctrl-C (SIGINT) or SIGTERM while `fn` runs. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    return await fn(ac.signal);
  } finally {
    process.removeListener('SIGINT', abort);
    process.removeListener('SIGTERM', abort);
  }
}
