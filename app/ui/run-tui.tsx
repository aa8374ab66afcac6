/**
 * Starts the terminal interface on a TTY and runs it until the session ends: wires the vault, the
 * effect runner, the store and the Ink app together, turns Ctrl-C and termination signals into
 * `interrupt` events (the reducer stops safely), erases the screen when the flow asks, and prints
 * the end-of-session summary after the interface is gone. Returns the exit code.
 */
import React from 'react';
import { render, type Instance } from 'ink';
import { SecretVault } from '../ceremony/secret-vault.ts';
import { EffectRunner, type CardConnection } from '../ceremony/effect-runner.ts';
import { CeremonyStore } from '../ceremony/ceremony-store.ts';
import { initialState } from '../ceremony/state.ts';
import { App } from './App.tsx';
import { themeFor } from './theme.ts';

/** Erase display, erase scrollback, cursor home. */
export const CLEAR_SCREEN = '\x1b[2J\x1b[3J\x1b[H';

export interface RunTuiOptions {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  openCard(): Promise<CardConnection>;
  /** tests only: fewer KDF iterations than sc-hsm-tool's 10 000 000 */
  testOnlyKdfIterations?: number;
}

export async function runTui(o: RunTuiOptions): Promise<number> {
  const vault = new SecretVault();
  let ink: Instance | undefined;
  let finish!: (r: { code: number; summary: string[] }) => void;
  const ended = new Promise<{ code: number; summary: string[] }>((res) => {
    finish = res;
  });
  const runner = new EffectRunner({
    vault,
    cwd: o.cwd,
    openCard: o.openCard,
    clearScreen: () => {
      ink?.clear();
      o.stdout.write(CLEAR_SCREEN);
    },
    exit: (code, summary) => finish({ code, summary }),
    ...(o.testOnlyKdfIterations !== undefined ? { testOnlyKdfIterations: o.testOnlyKdfIterations } : {}),
  });
  const store = new CeremonyStore({ state: initialState({ cwd: o.cwd }), vault, runner });
  const onSigint = () => store.dispatch({ type: 'interrupt', signal: 'SIGINT' });
  const onSigterm = () => store.dispatch({ type: 'interrupt', signal: 'SIGTERM' });
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  try {
    ink = render(<App store={store} theme={themeFor(o.env)} />, { stdin: o.stdin, stdout: o.stdout, stderr: o.stderr, exitOnCtrlC: false, patchConsole: true });
    store.dispatch({ type: 'start' });
    const { code, summary } = await ended;
    // erase the last frame, so what stays on the terminal is the log of finished steps and the summary
    ink.clear();
    ink.unmount();
    await ink.waitUntilExit().catch(() => undefined);
    o.stdout.write(summary.join('\n') + '\n');
    return code;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    await runner.close();
  }
}
