/** Renders the replay view on the command's terminal until the viewer quits. NO_COLOR is honoured. */
import React from 'react';
import { render } from 'ink';
import type { CliIo } from '../../cli/command.ts';
import type { ReplayModel } from '../../run/replay-model.ts';
import { themeFor } from '../theme.ts';
import { ReplayView } from './ReplayView.tsx';

export async function runReplayView(model: ReplayModel, io: CliIo, speed: number, transcript: string): Promise<void> {
  const ink = render(<ReplayView model={model} theme={themeFor(io.env)} speed={speed} transcript={transcript} />, {
    stdin: io.stdin as NodeJS.ReadStream,
    stdout: io.stdout as NodeJS.WriteStream,
    stderr: io.stderr as NodeJS.WriteStream,
    exitOnCtrlC: false,
  });
  await ink.waitUntilExit();
}
