/**
 * Where secrets come from: hidden terminal input, a file, a file descriptor. Never argv.
 *
 * Rules for this module: every secret is returned as a Uint8Array the caller owns and wipes; no
 * secret byte is echoed, logged or turned into a string; prompts go to stderr so stdout stays
 * clean for --json.
 */
import { readFileSync, readSync, fstatSync } from 'node:fs';
import type { CliIo } from './command.ts';
import { incomplete, usageError } from '../../protocol/errors.ts';
import { wipe } from '../../protocol/bytes.ts';

/** sc-hsm-tool reads at most 127 characters at its prompt; longer secrets could not be typed there. */
export const MAX_TYPED_SECRET = 127;

export function isInteractive(io: CliIo): boolean {
  return io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
}

/**
 * Reads one line from the terminal with echo off. Backspace, Ctrl-U (clear) and arrow keys work;
 * Ctrl-C and Ctrl-D on an empty line cancel (CeremonyError kind 'incomplete', code CANCELLED).
 * @throws CeremonyError usage NO_TTY when stdin is not a terminal
 */
export function readHidden(io: CliIo, prompt: string, maxLength = MAX_TYPED_SECRET): Promise<Uint8Array> {
  return readLineBytes(io, prompt, { hidden: true, maxLength });
}

/**
 * Reads one line from the terminal as bytes; with `hidden: false` the typed characters are echoed
 * (for public values such as a share ID or the prime).
 */
export function readLineBytes(io: CliIo, prompt: string, opts: { hidden: boolean; maxLength?: number }): Promise<Uint8Array> {
  const maxLength = opts.maxLength ?? MAX_TYPED_SECRET;
  const echo = (s: string) => {
    if (!opts.hidden) io.stderr.write(s);
  };
  if (!isInteractive(io)) {
    return Promise.reject(usageError('NO_TTY', 'a secret is needed but there is no terminal to type it on', {
      hint: 'pass --secrets-file (or the per-item --*-file options); see docs/secrets-file.md',
    }));
  }
  const stdin = io.stdin;
  io.stderr.write(prompt);
  const buf = new Uint8Array(maxLength * 4 + 4);
  let n = 0;
  let escape = 0; // 0 none, 1 after ESC, 2 inside CSI
  return new Promise<Uint8Array>((resolve, reject) => {
    const finish = (err: Error | null) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) {
        buf.fill(0);
        reject(err);
      } else {
        const out = buf.slice(0, n);
        buf.fill(0);
        resolve(out);
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const c of chunk) {
          if (escape === 1) {
            escape = c === 0x5b || c === 0x4f ? 2 : 0;
            continue;
          }
          if (escape === 2) {
            if (c >= 0x40 && c <= 0x7e) escape = 0;
            continue;
          }
          if (c === 0x0d || c === 0x0a) return finish(null);
          if (c === 0x03 || (c === 0x04 && n === 0)) {
            return finish(incomplete('CANCELLED', 'cancelled at the prompt', { hint: 'nothing was changed' }));
          }
          if (c === 0x1b) escape = 1;
          else if (c === 0x7f || c === 0x08) {
            while (n > 0 && (buf[n - 1]! & 0xc0) === 0x80) buf[--n] = 0; // UTF-8 continuation bytes
            if (n > 0) {
              buf[--n] = 0;
              echo('\b \b');
            }
          } else if (c === 0x15) {
            echo('\b \b'.repeat(utf8Length(buf.subarray(0, n))));
            buf.fill(0);
            n = 0;
          } else if (c >= 0x20 || c === 0x09) {
            if (n >= buf.length) continue;
            buf[n++] = c;
            if ((c & 0xc0) !== 0x80) echo(c < 0x80 ? String.fromCharCode(c) : '*');
          }
        }
      } finally {
        chunk.fill(0);
      }
      if (utf8Length(buf.subarray(0, n)) > maxLength) {
        finish(usageError('SECRET_TOO_LONG', `that is longer than ${maxLength} characters`, {
          hint: 'sc-hsm-tool cannot read longer secrets at its prompt; choose a shorter one',
        }));
      }
    };
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

function utf8Length(b: Uint8Array): number {
  let chars = 0;
  for (const x of b) if ((x & 0xc0) !== 0x80) chars++;
  return chars;
}

/** Waits for Enter on the terminal (nothing is read as a secret). Ctrl-C cancels. */
export function waitForEnter(io: CliIo, prompt: string): Promise<void> {
  return readHidden(io, prompt, 4096).then((b) => wipe(b));
}

/**
 * The first line of a file or file descriptor: the bytes as given, without the line ending
 * (LF or CRLF). sc-hsm-tool's --password takes bytes the same way.
 * @throws CeremonyError usage SECRET_SOURCE_UNREADABLE / SECRET_EMPTY
 */
export function readFirstLine(source: { path: string } | { fd: number }, what: string): Uint8Array {
  let all: Uint8Array;
  const label = 'path' in source ? source.path : `file descriptor ${source.fd}`;
  try {
    all = 'path' in source ? readFileSync(source.path) : readAllFromFd(source.fd);
  } catch (e) {
    throw usageError('SECRET_SOURCE_UNREADABLE', `cannot read the ${what} from ${label}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'check the path and its permissions',
    });
  }
  let end = all.indexOf(0x0a);
  if (end < 0) end = all.length;
  if (end > 0 && all[end - 1] === 0x0d) end--;
  // A fresh Uint8Array, not a Buffer: Buffer#slice is a view (the wipe below would zero it) and
  // small Buffers share one pooled ArrayBuffer (transferring one to a worker would detach them all).
  const line = new Uint8Array(end);
  line.set(all.subarray(0, end));
  wipe(all);
  if (line.length === 0) {
    throw usageError('SECRET_EMPTY', `the ${what} in ${label} is empty`, { hint: 'put the secret on the first line' });
  }
  return line;
}

function readAllFromFd(fd: number): Uint8Array {
  fstatSync(fd); // throws EBADF early with a clear code
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(4096);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
    if (total > 1 << 20) break;
  }
  buf.fill(0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
    c.fill(0);
  }
  return out;
}
