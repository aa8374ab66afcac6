/**
 * Runs a plan on the terminal: the run view (RunView.tsx) over the plan runner, with the operator's
 * controls going to the runner as `RunControl` inputs and the secrets the secrets file does not
 * answer typed at the view (tty-run-secrets.ts). Every transcript event is shown as a line as it
 * is written. Ctrl-C (in the view, or SIGINT/SIGTERM) interrupts: the run is aborted and the
 * transcript finished as aborted. When the run ends, the end screen stays until the operator
 * closes it; then the end record is printed as plain text, so it stays on the terminal.
 *
 * `host PLAN` runs through the same entry with its own secrets source (people's terminals, the
 * rest asked at this view), its public events as log lines and its people panel (`onStore`), and
 * its step announcements (`onState`, `onEnd`).
 *
 * The caller (app/cli/commands/run.ts) removes CI from the environment before this module (and so
 * Ink) is loaded: Ink renders nothing interactive when it believes it runs in CI.
 */
import React from 'react';
import { render } from 'ink';
import { readFileSync } from 'node:fs';
import { isCeremonyError } from '../../../protocol/errors.ts';
import { runPlan, type RunOutcome } from '../../run/plan-runner.ts';
import type { RunState, StepState } from '../../run/run-machine.ts';
import type { RunSecrets, StepContext } from '../../run/step-executor.ts';
import type { StepKind } from '../../plan/plan-schema.ts';
import type { TranscriptWriter } from '../../transcript/writer.ts';
import type { TranscriptEvent } from '../../transcript/event.ts';
import type { Plan } from '../../plan/plan-schema.ts';
import type { SecretsFile } from '../../cli/secrets-file.ts';
import { CLEAR_SCREEN } from '../run-tui.tsx';
import { themeFor } from '../theme.ts';
import { RunView } from './RunView.tsx';
import { RunViewStore, type RunPrompter } from './run-view-store.ts';
import { TtyRunSecrets } from './tty-run-secrets.ts';
import { endLines, initialRunView, type EndRecord, type RunHeader } from './run-view-model.ts';

export interface RunOnTerminalOptions {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  plan: Plan;
  header: RunHeader;
  writer: TranscriptWriter;
  /** step states from a resumed transcript */
  done?: StepState[] | undefined;
  /** the step context without what this module supplies (secrets, signal, progress) */
  ctx: Omit<StepContext, 'record' | 'secrets' | 'signal' | 'progress'>;
  file?: SecretsFile | undefined;
  verifyCommand: string;
  /** exit code for each outcome (run.ts decides) */
  exitCode(result: RunOutcome): number;
  /**
   * Where secrets and sign-offs come from (default: the secrets file, else typed at the view —
   * TtyRunSecrets). host PLAN routes them to people's own terminals and asks the rest at the view.
   */
  secrets?(o: { ui: RunPrompter; signal: AbortSignal; currentKind(): StepKind | null }): TerminalRunSecrets;
  /** called once the view's store exists, before the run starts: lines and panels of its own (host PLAN) */
  onStore?(store: RunViewStore): void;
  /** called after every runner transition, besides the view's own handling */
  onState?(s: RunState): void;
  /** called when the run has ended, before the end screen waits for the operator */
  onEnd?(result: RunOutcome): void;
  /** hosted runs: people who join over the network (plan-runner.ts `networkParticipants`) */
  networkParticipants?: ReadonlySet<string>;
  /** tests only: Ink's debug rendering (every frame written whole) */
  testOnlyDebug?: boolean;
}

/** A secrets source for the run view: `forget` after a failed step (a mistyped PIN), `wipe` at the end. */
export interface TerminalRunSecrets extends RunSecrets {
  forget(): void;
  wipe(): void;
}

/** The events already in the transcript (a resumed run's history, and its start). */
function readEvents(path: string): TranscriptEvent[] {
  const out: TranscriptEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as TranscriptEvent);
    } catch {
      // a torn last line of a crashed run: the resume already dealt with it
    }
  }
  return out;
}

export async function runPlanOnTerminal(o: RunOnTerminalOptions): Promise<{ result: RunOutcome; end: EndRecord }> {
  const interrupt = new AbortController();
  let clear = () => undefined as void;
  const store = new RunViewStore(initialRunView(o.header, o.plan.steps.map((s) => s.step), o.done), { interrupt, clearScreen: () => clear() });
  for (const e of readEvents(o.writer.path)) store.onTranscript(e);

  // every event the writer writes from now on is shown as it is written
  const writer = o.writer;
  const append = writer.append.bind(writer);
  const finish = writer.finish.bind(writer);
  writer.append = (e) => {
    const ev = append(e);
    store.onTranscript(ev);
    return ev;
  };
  writer.finish = (f) => {
    const ev = finish(f);
    store.onTranscript(ev);
    return ev;
  };

  const currentKind = (): StepKind | null => {
    const s = store.getState();
    return s.current !== null ? s.kinds[s.current]! : null;
  };
  const secrets: TerminalRunSecrets = o.secrets ? o.secrets({ ui: store, signal: interrupt.signal, currentKind }) : new TtyRunSecrets({ ui: store, plan: o.plan, file: o.file, currentKind });
  o.onStore?.(store);
  const onSignal = () => interrupt.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let closed!: () => void;
  const closedP = new Promise<void>((res) => {
    closed = res;
  });
  const ink = render(<RunView store={store} theme={themeFor(o.env)} onClose={() => closed()} />, {
    stdin: o.stdin,
    stdout: o.stdout,
    stderr: o.stderr,
    exitOnCtrlC: false,
    patchConsole: o.testOnlyDebug !== true,
    debug: o.testOnlyDebug === true,
  });
  clear = () => {
    ink.clear();
    o.stdout.write(CLEAR_SCREEN);
  };
  try {
    const result = await runPlan({
      writer,
      ...(o.done ? { done: o.done } : {}),
      ...(o.networkParticipants ? { networkParticipants: o.networkParticipants } : {}),
      control: store,
      ctx: { ...o.ctx, secrets, signal: interrupt.signal, progress: store.onProgress },
      onState: (st) => {
        store.onRunState(st);
        o.onState?.(st);
      },
      onFailure: (step, e) => {
        // a mistyped PIN is asked again on the retry
        secrets.forget();
        store.dispatch({
          type: 'failure',
          failure: isCeremonyError(e)
            ? { step, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
            : { step, code: 'INTERNAL_ERROR', message: 'an internal error (a bug in hsm-ceremony)', hint: 'abort, keep the transcript, and report it' },
        });
      },
    });
    o.onEnd?.(result);
    const s = store.getState();
    const end: EndRecord = {
      outcome: result.outcome,
      reason: result.state.reason,
      transcript: writer.path,
      head: writer.head,
      fingerprint: o.header.fingerprint,
      outputs: s.outputs,
      kcv: s.kcv,
      verifyCommand: o.verifyCommand,
      exitCode: o.exitCode(result),
    };
    store.dispatch({ type: 'ended', end });
    await closedP;
    ink.clear();
    ink.unmount();
    await ink.waitUntilExit().catch(() => undefined);
    o.stdout.write(endLines(end).join('\n') + '\n');
    return { result, end };
  } catch (e) {
    ink.unmount();
    throw e;
  } finally {
    secrets.wipe();
    writer.append = append;
    writer.finish = finish;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
