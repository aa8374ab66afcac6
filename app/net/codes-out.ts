/**
 * `host --codes-out DIR`: each slot's current join code in `DIR/<name>.code` (mode 0600), for
 * scripts and tests that start custodians with `--code-file`. Written when the server listens and
 * rewritten whenever the slot's code is reissued; removed when the ceremony ends.
 *
 * The file is replaced atomically (temporary file in the same folder, then rename), so a reader
 * sees the old code or the new one, never half of one. The code goes from its bytes to the file
 * without becoming a string.
 */

import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { JoinCode } from '../../protocol/channel/join-code.ts';
import { usageError } from '../../protocol/errors.ts';

/**
 * Checks that DIR exists and is a folder.
 *
 * @throws CeremonyError usage OUTPUT_DIR_MISSING
 */
export function checkCodesDir(dir: string): void {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw usageError('OUTPUT_DIR_MISSING', `${dir} is not a folder`, { hint: 'create it first (mode 0700) or drop --codes-out' });
  }
}

/** The path of a slot's code file. */
export function codeFilePath(dir: string, name: string): string {
  return join(dir, `${name}.code`);
}

/**
 * Writes (or replaces) `DIR/<name>.code` with the code and a newline, mode 0600.
 *
 * @throws CeremonyError usage OUTPUT_UNWRITABLE when the folder cannot be written
 */
export function writeCodeFile(dir: string, name: string, code: JoinCode): void {
  const path = codeFilePath(dir, name);
  const tmp = join(dir, `.${name}.code.tmp-${randomBytes(6).toString('hex')}`);
  const data = new Uint8Array(code.bytes.length + 1);
  data.set(code.bytes);
  data[code.bytes.length] = 0x0a;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw usageError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'check that the --codes-out folder is writable',
    });
  } finally {
    data.fill(0);
  }
}

/** Removes `DIR/<name>.code` if present (the ceremony is over; the code is dead). */
export function removeCodeFile(dir: string, name: string): void {
  rmSync(codeFilePath(dir, name), { force: true });
}
