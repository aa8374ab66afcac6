/**
 * hsm-ceremony's entry point: finds the subcommand, runs it, and turns every failure into one
 * clear message and an exit code (README, "Exit codes"). User errors never print a stack trace; a
 * bug prints its message and asks to be reported, and never any secret (errors carry none).
 */
import { allowInteractiveInk } from './interactive-ink.ts';
import type { CliIo, Command } from './command.ts';
import { commands } from './commands/index.ts';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { isCeremonyError, EXIT_CODES, usageError } from '../../protocol/errors.ts';
import { VERSION } from '../version.ts';

const PROGRAM = 'hsm-ceremony';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return [
    `${PROGRAM} ${VERSION}: DKEK key ceremonies for SmartCard-HSM, Nitrokey HSM and Pico HSM`,
    '',
    `usage: ${PROGRAM} <command> [options]     (${PROGRAM} <command> --help for details)`,
    `       ${PROGRAM} [--sim | --reader NAME]   the interactive interface (on a terminal)`,
    '',
    'commands:',
    ...lines,
    '',
    'Secrets are never taken from the command line: they are typed (hidden) or read from files',
    'given with --secrets-file and the --*-file options. Exit codes: 0 ok, 1 a check failed,',
    '2 usage or unusable input, 3 device or connection error, 4 incomplete or cancelled.',
  ].join('\n');
}

export function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const command of commands) {
    const n = command.path.length;
    if (argv.length >= n && command.path.every((w, i) => argv[i] === w)) {
      if (!best || n > best.command.path.length) best = { command, rest: argv.slice(n) };
    }
  }
  return best;
}

/** Options of the interactive interface (`hsm-ceremony [--sim | --reader NAME] …` with no command). */
const INTERACTIVE_OPTIONS = {
  sim: { type: 'boolean' },
  reader: { type: 'string' },
  'sim-state': { type: 'string' },
  flavor: { type: 'string' },
} as const;

/** True when argv names no command, only options of the interactive interface. */
export function isInteractiveInvocation(argv: string[]): boolean {
  if (argv.length === 0) return true;
  const first = argv[0]!;
  return first.startsWith('--') && !['--help', '--version'].includes(first);
}

/**
 * Opens the terminal interface (app/ui) when stdin and stdout are a terminal; refuses otherwise.
 * The interface and its dependencies (Ink, React) are loaded only here, so the plain commands
 * start without them.
 */
async function interactive(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: INTERACTIVE_OPTIONS });
  if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
    io.stderr.write(`${PROGRAM}: error: the interactive interface needs a terminal, and ${io.stdin.isTTY === true ? 'stdout' : 'stdin'} is not one\n`);
    io.stderr.write(`${PROGRAM}: hint: in scripts run a command instead (e.g. "${PROGRAM} status --json"); "${PROGRAM} --help" lists them\n`);
    return EXIT_CODES.usage;
  }
  const flavor = values.flavor;
  if (flavor !== undefined && flavor !== 'sc-hsm' && flavor !== 'pico') {
    throw usageError('BAD_FLAVOR', `--flavor takes sc-hsm or pico, got "${flavor}"`, { hint: 'sc-hsm imitates a CardContact SmartCard-HSM, pico a Pico HSM' });
  }
  if (!values.sim && (values['sim-state'] !== undefined || flavor !== undefined)) {
    throw usageError('USAGE', '--sim-state and --flavor go with --sim', { hint: 'add --sim to use the built-in simulator' });
  }
  allowInteractiveInk();
  const [{ runTui }, { openCardConnection }] = await Promise.all([import('../ui/run-tui.tsx'), import('../ceremony/device-connection.ts')]);
  const device = {
    ...(values.sim ? { sim: true } : {}),
    ...(values.reader !== undefined ? { reader: values.reader } : {}),
    ...(values['sim-state'] !== undefined ? { simState: resolve(io.cwd, values['sim-state']) } : {}),
    ...(flavor !== undefined ? { flavor: flavor as 'sc-hsm' | 'pico' } : {}),
  };
  return runTui({
    stdin: io.stdin as NodeJS.ReadStream,
    stdout: io.stdout as NodeJS.WriteStream,
    stderr: io.stderr as NodeJS.WriteStream,
    env: io.env,
    cwd: io.cwd,
    openCard: () => openCardConnection(device),
  });
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  if (isInteractiveInvocation(argv)) {
    try {
      return await interactive(argv, io);
    } catch (e) {
      return reportError(e, io);
    }
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout.write(overview() + '\n');
    return EXIT_CODES.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.stdout.write(`${PROGRAM} ${VERSION}\n`);
    return EXIT_CODES.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    io.stderr.write(`${PROGRAM}: error: unknown command "${argv.slice(0, 2).join(' ')}"\n`);
    io.stderr.write(`${PROGRAM}: hint: run "${PROGRAM} --help" for the list of commands\n`);
    return EXIT_CODES.usage;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    io.stdout.write(found.command.help.trimEnd() + '\n');
    return EXIT_CODES.ok;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}

export function reportError(e: unknown, io: CliIo): number {
  if (isCeremonyError(e)) {
    io.stderr.write(`${PROGRAM}: error: ${e.message}\n`);
    if (e.hint) io.stderr.write(`${PROGRAM}: hint: ${e.hint}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')) {
    io.stderr.write(`${PROGRAM}: error: ${err.message.split('\n')[0]}\n`);
    io.stderr.write(`${PROGRAM}: hint: add --help to the command to see its options\n`);
    return EXIT_CODES.usage;
  }
  io.stderr.write(`${PROGRAM}: internal error (this is a bug in ${PROGRAM}): ${err?.message ?? String(e)}\n`);
  if (io.env.HSM_CEREMONY_DEBUG === '1' && err?.stack) io.stderr.write(err.stack + '\n');
  io.stderr.write(`${PROGRAM}: hint: nothing secret is printed here; please report it with the command you ran\n`);
  return EXIT_CODES.bug;
}

const isEntryPoint = (() => {
  const arg = process.argv[1] ?? '';
  return /hsm-ceremony(\.js)?$/.test(arg) || arg.endsWith('app/cli/main.ts');
})();

if (isEntryPoint) {
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  process.on('uncaughtException', (e) => process.exit(reportError(e, io)));
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = reportError(e, io);
    },
  );
}
