/**
 * hsm-custodian: the program a key custodian runs on their own terminal to join a ceremony hosted
 * with `hsm-ceremony host` (docs/protocol.md). One command: `join URL`.
 */
import { describeFailure, JOIN_HELP, runJoin, CUSTODIAN_CLIENT } from './join-command.ts';
import type { CustodianSession } from './custodian-session.ts';

const PROGRAM = 'hsm-custodian';
const OVERVIEW = `${CUSTODIAN_CLIENT}: join a DKEK key ceremony from your own terminal

usage: hsm-custodian join URL [options]     (hsm-custodian join --help for details)

The coordinator screen shows the URL and your one-time join code.`;

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(OVERVIEW + '\n');
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    process.stdout.write(`${CUSTODIAN_CLIENT}\n`);
    return 0;
  }
  if (argv[0] !== 'join') {
    process.stderr.write(`${PROGRAM}: error: unknown command "${argv[0]}"\n${PROGRAM}: hint: hsm-custodian join URL\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(JOIN_HELP + '\n');
    return 0;
  }
  let session: CustodianSession | undefined;
  const onSignal = () => {
    if (session) session.interrupt();
    else process.exit(4);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runJoin(argv.slice(1), {
      io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
      cwd: process.cwd(),
      onSession: (s) => (session = s),
    });
  } catch (e) {
    return describeFailure(PROGRAM, e, process.stderr);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // the KDF worker and sockets are closed; make sure a stray handle cannot keep us alive
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e) => {
    process.exitCode = describeFailure(PROGRAM, e, process.stderr);
  },
);
