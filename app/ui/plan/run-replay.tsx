/** Renders the replay view on the command's terminal until the viewer quits. */
import React from 'react';
import { render } from 'ink';
import type { CliIo } from '../../cli/command.ts';
import type { ReplayModel } from '../../run/replay-model.ts';
import { ReplayView } from './ReplayView.tsx';

export async function runReplayView(model: ReplayModel, io: CliIo, speed: number): Promise<void> {
  const ink = render(<ReplayView model={model} speed={speed} />, {
    stdin: io.stdin as NodeJS.ReadStream,
    stdout: io.stdout as NodeJS.WriteStream,
    stderr: io.stderr as NodeJS.WriteStream,
    exitOnCtrlC: false,
  });
  await ink.waitUntilExit();
}
