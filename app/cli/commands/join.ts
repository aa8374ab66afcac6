/**
 * `hsm-ceremony join URL`: the same as `hsm-custodian join URL`, for a custodian who has only
 * hsm-ceremony installed. It runs the custodian program's code unchanged (custodian-client/), so
 * the two can never behave differently.
 */
import type { CliIo, Command } from '../command.ts';
import { JOIN_HELP, runJoin, type JoinRunOptions } from '../../../custodian-client/join-command.ts';
import type { CustodianSession } from '../../../custodian-client/custodian-session.ts';

export const join: Command = {
  path: ['join'],
  summary: 'join a hosted ceremony from this terminal (same as hsm-custodian join)',
  help: JOIN_HELP.replace(/hsm-custodian join/g, 'hsm-ceremony join'),
  async run(argv: string[], io: CliIo): Promise<number> {
    let session: CustodianSession | undefined;
    const onSignal = () => session?.interrupt();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const options: JoinRunOptions = { io, cwd: io.cwd, onSession: (s) => (session = s) };
      return await runJoin(argv, options);
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};
