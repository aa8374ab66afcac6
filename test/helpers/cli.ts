/**
 * Runs `hsm-ceremony` in-process with captured output, so command tests need no build and no
 * subprocess. Every test that plants secrets should pass all captured text to `assertNoSecrets`.
 */
import { PassThrough } from 'node:stream';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../app/cli/main.ts';
import type { CliIo } from '../../app/cli/command.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const stdin = new PassThrough();
  stdin.end();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const io: CliIo = { stdin, stdout, stderr, env: opts.env ?? {}, cwd: opts.cwd ?? process.cwd() };
  const code = await main(argv, io);
  return { code, stdout: out, stderr: err };
}

export function tempDir(prefix = 'hsm-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a file readable by its owner only and returns its path. */
export function secretFile(dir: string, name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, 0o600);
  return p;
}

/** Fails if any planted secret (as text or as lowercase/uppercase hex of its bytes) appears in any output. */
export function assertNoSecrets(outputs: string[], secrets: (string | Uint8Array)[]): void {
  for (const s of secrets) {
    const needles = typeof s === 'string' ? [s] : [Buffer.from(s).toString('hex'), Buffer.from(s).toString('hex').toUpperCase()];
    for (const o of outputs) for (const n of needles) assert.ok(!o.includes(n), `a planted secret appeared in output: …${o.slice(Math.max(0, o.indexOf(n) - 20), o.indexOf(n))}<secret>`);
  }
}

export const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url).pathname;

/** Every file below `dir` (recursively), to search what a run wrote for planted secrets. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesBelow(p));
    else out.push(p);
  }
  return out;
}
