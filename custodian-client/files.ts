/**
 * The few files a custodian terminal reads and writes: secrets given for automation (first line,
 * as bytes), share files, and a new share file that must never replace an existing one.
 */

import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { wipe } from '../protocol/bytes.ts';
import { usageError } from '../protocol/errors.ts';

/**
 * Reads a whole file as bytes.
 *
 * @throws CeremonyError usage FILE_UNREADABLE
 */
export function readBytes(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(path);
    const out = new Uint8Array(b.length);
    out.set(b);
    b.fill(0);
    return out;
  } catch (e) {
    throw usageError('FILE_UNREADABLE', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check the path and its permissions' });
  }
}

/**
 * A secret file must be readable by its owner only (mode 0600), like every secret file of
 * hsm-ceremony (docs/secrets-file.md).
 *
 * @throws CeremonyError usage SECRETS_FILE_PERMISSIONS / FILE_UNREADABLE
 */
export function assertPrivate(path: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (e) {
    throw usageError('FILE_UNREADABLE', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check the path' });
  }
  if ((mode & 0o077) !== 0) {
    throw usageError('SECRETS_FILE_PERMISSIONS', `the ${what} ${path} can be read by others (mode ${(mode & 0o777).toString(8)})`, { hint: `run: chmod 600 ${path}` });
  }
}

/**
 * The first line of a private file, without its line ending, as bytes the caller wipes.
 *
 * @throws CeremonyError usage FILE_UNREADABLE, SECRETS_FILE_PERMISSIONS, SECRET_EMPTY
 */
export function readSecretLine(path: string, what: string): Uint8Array {
  assertPrivate(path, what);
  const all = readBytes(path, what);
  let end = all.indexOf(0x0a);
  if (end < 0) end = all.length;
  if (end > 0 && all[end - 1] === 0x0d) end--;
  const line = all.slice(0, end);
  wipe(all);
  if (line.length === 0) throw usageError('SECRET_EMPTY', `the ${what} in ${path} is empty`, { hint: 'put it on the first line' });
  return line;
}

/**
 * Writes a file that must not exist yet: temporary file, fsync, then a hard link to the final name
 * (which fails if the name exists, even in a race), so no file is ever overwritten or half written.
 *
 * @throws CeremonyError usage OUTPUT_EXISTS / OUTPUT_UNWRITABLE
 */
export function writeNewFile(path: string, data: Uint8Array, mode = 0o600): void {
  const exists = () =>
    usageError('OUTPUT_EXISTS', `${path} already exists and will not be overwritten`, {
      hint: 'move the existing file away (it may hold another share), then rejoin with a new code',
    });
  if (statSync(path, { throwIfNoEntry: false })) throw exists();
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (e) {
    throw usageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check that the folder exists and is writable' });
  }
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw exists();
    throw usageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  unlinkSync(tmp);
}
