/**
 * The custodian terminal: prompts, the large SAS, a progress bar, clearing the screen.
 *
 * Rules for this module (after age's tui.go):
 * - a secret is read with echo off, into a Uint8Array the caller owns and wipes; it is never
 *   turned into a string, echoed, or logged;
 * - every prompt can be aborted (the coordinator cancelled the request, the connection dropped,
 *   Ctrl-C): the half-typed bytes are wiped and the prompt rejects, nothing is sent;
 * - anything secret shown on screen (a new password share) is cleared afterwards;
 * - messages: lowercase, no final period, no secrets.
 */

import type { Readable, Writable } from 'node:stream';
import { incomplete, usageError } from '../protocol/errors.ts';

export interface TerminalIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable;
}

/** True when a person can type at this terminal. */
export function isInteractive(io: TerminalIo): boolean {
  return io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
}

/** Erases the screen and its scrollback (for a secret that was shown). */
export const CLEAR_SCREEN = '\x1b[2J\x1b[3J\x1b[H';

export interface ReadOptions {
  /** echo off (secrets) */
  hidden: boolean;
  /** longest input in characters (default 127, sc-hsm-tool's prompt limit) */
  maxLength?: number;
  /** aborting wipes what was typed and rejects with CANCELLED */
  signal?: AbortSignal;
}

/**
 * Reads one line as bytes. Backspace, Ctrl-U and escape sequences (arrow keys) are handled; Enter
 * ends the line; Ctrl-C, Ctrl-D on an empty line, or `signal` abort it.
 *
 * @throws CeremonyError usage NO_TTY without a terminal; incomplete CANCELLED when aborted;
 *   usage SECRET_TOO_LONG beyond maxLength
 */
export function readLine(io: TerminalIo, prompt: string, o: ReadOptions): Promise<Uint8Array> {
  if (!isInteractive(io)) {
    return Promise.reject(
      usageError('NO_TTY', 'input is needed but there is no terminal to type it on', {
        hint: 'pass the matching --*-file option (hsm-custodian join --help)',
      }),
    );
  }
  const max = o.maxLength ?? 127;
  const stdin = io.stdin;
  const buf = new Uint8Array(max * 4 + 8);
  let n = 0;
  let esc = 0;
  io.stdout.write(prompt);
  return new Promise<Uint8Array>((resolve, reject) => {
    let done = false;
    const finish = (error: Error | null) => {
      if (done) return;
      done = true;
      stdin.removeListener('data', onData);
      o.signal?.removeEventListener('abort', onAbort);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stdout.write('\n');
      if (error) {
        buf.fill(0);
        reject(error);
        return;
      }
      const out = buf.slice(0, n);
      buf.fill(0);
      resolve(out);
    };
    const onAbort = () => finish(incomplete('CANCELLED', 'the prompt was cancelled; what was typed is discarded', { hint: 'nothing was sent' }));
    const chars = () => {
      let c = 0;
      for (let i = 0; i < n; i++) if ((buf[i]! & 0xc0) !== 0x80) c++;
      return c;
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const c of chunk) {
          if (esc === 1) {
            esc = c === 0x5b || c === 0x4f ? 2 : 0;
            continue;
          }
          if (esc === 2) {
            if (c >= 0x40 && c <= 0x7e) esc = 0;
            continue;
          }
          if (c === 0x0d || c === 0x0a) return finish(null);
          if (c === 0x03 || (c === 0x04 && n === 0)) {
            return finish(incomplete('CANCELLED', 'cancelled at the prompt; what was typed is discarded', { hint: 'nothing was sent' }));
          }
          if (c === 0x1b) esc = 1;
          else if (c === 0x7f || c === 0x08) {
            while (n > 0 && (buf[n - 1]! & 0xc0) === 0x80) buf[--n] = 0;
            if (n > 0) {
              buf[--n] = 0;
              if (!o.hidden) io.stdout.write('\b \b');
            }
          } else if (c === 0x15) {
            if (!o.hidden) io.stdout.write('\b \b'.repeat(chars()));
            buf.fill(0);
            n = 0;
          } else if (c >= 0x20 || c === 0x09) {
            if (n >= buf.length) continue;
            buf[n++] = c;
            if (!o.hidden && (c & 0xc0) !== 0x80) io.stdout.write(c < 0x80 ? String.fromCharCode(c) : '*');
          }
        }
      } finally {
        chunk.fill(0);
      }
      if (chars() > max) {
        finish(usageError('SECRET_TOO_LONG', `that is longer than ${max} characters`, { hint: 'type it again' }));
      }
    };
    if (o.signal?.aborted) {
      onAbort();
      return;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Asks a yes/no question; only y or yes (any case) is yes. */
export async function confirm(io: TerminalIo, question: string, signal?: AbortSignal): Promise<boolean> {
  const answer = await readLine(io, `${question} [y/N] `, { hidden: false, maxLength: 8, ...(signal ? { signal } : {}) });
  const text = new TextDecoder().decode(answer).trim().toLowerCase();
  return text === 'y' || text === 'yes';
}

// A 5-row font for the SAS digits, drawn with full blocks.
const FONT: Record<string, string[]> = {
  '0': ['█████', '█   █', '█   █', '█   █', '█████'],
  '1': ['  ██ ', ' ███ ', '  ██ ', '  ██ ', ' ████'],
  '2': ['█████', '    █', '█████', '█    ', '█████'],
  '3': ['█████', '    █', ' ████', '    █', '█████'],
  '4': ['█   █', '█   █', '█████', '    █', '    █'],
  '5': ['█████', '█    ', '█████', '    █', '█████'],
  '6': ['█████', '█    ', '█████', '█   █', '█████'],
  '7': ['█████', '    █', '   █ ', '  █  ', '  █  '],
  '8': ['█████', '█   █', '█████', '█   █', '█████'],
  '9': ['█████', '█   █', '█████', '    █', '█████'],
};

/**
 * The six SAS digits large enough to read from across a table: `123 456` in block letters,
 * followed by the digits in plain text (for screen readers and narrow terminals).
 */
export function bigDigits(sas: string): string {
  if (!/^\d{6}$/.test(sas)) throw new RangeError('the SAS must be six digits');
  const rows: string[] = [];
  for (let r = 0; r < 5; r++) {
    const parts = [...sas].map((d) => FONT[d]![r]!);
    rows.push(`  ${parts.slice(0, 3).join('  ')}     ${parts.slice(3).join('  ')}`);
  }
  return rows.join('\n');
}

export interface ProgressBar {
  update(percent: number): void;
  end(): void;
}

/** A one-line bar on a terminal; without one, a line at 0, 50 and 100 %. */
export function progressBar(io: TerminalIo, label: string): ProgressBar {
  const tty = io.stdout.isTTY === true;
  let last = -1;
  return {
    update(percent) {
      const p = Math.max(0, Math.min(100, Math.floor(percent)));
      if (p === last) return;
      if (tty) {
        const width = 30;
        const filled = Math.round((p / 100) * width);
        io.stdout.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(p).padStart(3)} %`);
      } else if (last < 0 || Math.floor(p / 50) > Math.floor(last / 50)) {
        io.stdout.write(`${label}: ${p} %\n`);
      }
      last = p;
    },
    end() {
      if (tty && last >= 0) io.stdout.write('\n');
    },
  };
}
