/**
 * Writes a file that must not exist yet, all or nothing: the bytes go to a temporary file in the
 * same folder, are fsync'd, and are then hard-linked to the final name, which fails if that name
 * exists (so no file is ever overwritten, even in a race), and the temporary name is removed. A
 * crash leaves at most a `.name.tmp-*` file, never a half-written output.
 */
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { usageError } from '../../protocol/errors.ts';

export function assertAbsent(path: string): void {
  if (existsSync(path)) {
    throw usageError('OUTPUT_EXISTS', `${path} already exists and will not be overwritten`, {
      hint: 'choose another file name, or move the existing file away first',
    });
  }
}

export function writeNewFile(path: string, data: Uint8Array, mode = 0o600): void {
  assertAbsent(path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (e) {
    throw usageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'check that the folder exists and is writable',
    });
  }
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    linkSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') assertAbsent(path);
    throw usageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  unlinkSync(tmp);
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // directory fsync is best effort (not supported on every filesystem)
  }
}
