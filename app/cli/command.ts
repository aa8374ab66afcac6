/**
 * The shape of every `hsm-ceremony` subcommand. A command parses its own flags (node:util
 * parseArgs, strict), does its work through the pure core and the adapters, writes human output or
 * JSON to `io.stdout`, and returns an exit code; user errors are thrown as CeremonyError and the
 * dispatcher (main.ts) prints them as `hsm-ceremony: error: …` plus `hint: …` lines.
 */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** working directory for relative paths */
  cwd: string;
}

export interface Command {
  /** words after `hsm-ceremony`, e.g. ['share', 'create'] */
  path: string[];
  /** one line for the command list */
  summary: string;
  /** full help text printed for `--help` */
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}
