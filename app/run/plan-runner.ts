/**
 * The plan runner's effect runner: drives the step machine (run-machine.ts), executes its
 * `execute` effects with the step executor (step-executor.ts), appends its `record` effects to the
 * transcript and ends the transcript as the machine says (docs/transcript-format.md §7, §9).
 *
 * The operator's inputs (pause, note, skip with a reason, abort) arrive through `RunControl` from a
 * terminal view; a headless run has none, and an interrupt (SIGINT) becomes an abort: the
 * transcript is finished as `aborted` and the caller exits 4.
 */
import { isCeremonyError } from '../../protocol/errors.ts';
import type { TranscriptWriter } from '../transcript/writer.ts';
import type { Actor } from '../transcript/event.ts';
import { initialRunState, runStep, type RunEffect, type RunInput, type RunState, type StepState } from './run-machine.ts';
import { executeStep, type StepContext } from './step-executor.ts';

export interface RunOutcome {
  /** completed, aborted (transcript finished as aborted), or stopped (transcript left incomplete) */
  outcome: 'completed' | 'aborted' | 'stopped';
  state: RunState;
  /** the error that stopped the run */
  error?: unknown;
}

/** Operator inputs from a terminal view; `next()` resolves when one arrives. */
export interface RunControl {
  /** inputs queued since the last call (pause, note, skip, abort, continue) */
  take(): RunInput[];
  /** resolves with the next input while the run is paused */
  next(): Promise<RunInput>;
}

export interface RunPlanOptions {
  ctx: Omit<StepContext, 'record'>;
  writer: TranscriptWriter;
  /** step states from a resumed transcript, one per plan step */
  done?: readonly StepState[];
  /** a terminal view's inputs; absent = headless (a failed step stops the run) */
  control?: RunControl;
  /** called after every transition (for a view) */
  onState?: (s: RunState) => void;
  /** called with the error of a failed step, before the failure is recorded (for a view: its hint) */
  onFailure?: (step: number, error: unknown) => void;
  /**
   * Hosted runs: the (lower-cased) names of people who join over the network; their joins are
   * recorded by the host with the SAS, so the runner does not record them as joined `via: local`.
   */
  networkParticipants?: ReadonlySet<string>;
}

/** Every person the plan names, with the role the transcript gives them. */
export function participants(ctx: Pick<StepContext, 'plan'>): Actor[] {
  const r = ctx.plan.roles;
  const out: Actor[] = [];
  if (r.operator) out.push({ role: 'operator', name: r.operator });
  if (r.securityOfficer) out.push({ role: 'security-officer', name: r.securityOfficer });
  for (const c of r.custodians) if (!out.some((a) => a.name?.toLowerCase() === c.toLowerCase())) out.push({ role: 'custodian', name: c });
  for (const w of r.witnesses ?? []) out.push({ role: 'witness', name: w });
  return out;
}

function cancelled(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (isCeremonyError(e) && (e.code === 'CANCELLED' || e.code === 'KDF_CANCELLED'));
}

/**
 * Runs the plan's remaining steps to the end, or until it is aborted or a step fails headless.
 * Never throws for a step's failure (it is in the outcome); throws only when the transcript
 * itself cannot be written.
 */
export async function runPlan(o: RunPlanOptions): Promise<RunOutcome> {
  const { writer, ctx: base } = o;
  const ctx: StepContext = { ...base, record: (e) => void writer.append(e) };
  let state = initialRunState(
    ctx.plan.steps.map((s) => s.step),
    ctx.operator,
    o.done,
  );
  // every person takes part at the coordinator's terminal in a single-operator run; in a hosted
  // run only those without a terminal of their own do
  const remote = o.networkParticipants;
  for (const a of participants(ctx)) if (!(a.name && remote?.has(a.name.toLowerCase()))) writer.append({ kind: 'custodian-joined', actor: a, data: { via: 'local' } });

  const queue: RunEffect[] = [];
  let failure: unknown;
  const dispatch = (input: RunInput) => {
    const t = runStep(state, input);
    state = t.state;
    queue.push(...t.effects);
    o.onState?.(state);
  };
  const leave = () => {
    for (const a of participants(ctx)) writer.append({ kind: 'custodian-left', actor: a, data: { reason: 'the ceremony ended' } });
  };

  const ended = () => state.phase === 'completed' || state.phase === 'aborted' || state.phase === 'stopped';
  /** An input from a view that lags the run by a moment (continue while running, anything after the end) is dropped. */
  const applicable = (input: RunInput) =>
    !ended() &&
    !(input.type === 'continue' && state.phase === 'running') &&
    !(input.type === 'skip' && (state.current === input.step - 1 || !['pending', 'failed'].includes(state.steps[input.step - 1] ?? '')));
  /**
   * Inputs that arrived while a step ran take effect when it ends: a pause, notes and skips before
   * its result (so a pause stops the run before the next step starts, and a note names the step it
   * was typed during); continue and abort after it (an abort also pauses first, so no further step
   * is started before the transcript is finished as aborted). Returns the inputs for after.
   */
  const settleInputs = (): RunInput[] => {
    const later: RunInput[] = [];
    for (const input of o.control?.take() ?? []) {
      if (input.type === 'abort' || input.type === 'continue') {
        if (input.type === 'abort' && state.phase === 'running') dispatch({ type: 'pause' });
        later.push(input);
      } else if (applicable(input)) dispatch(input);
    }
    return later;
  };

  dispatch({ type: 'start' });
  for (;;) {
    for (const input of o.control?.take() ?? []) if (applicable(input)) dispatch(input);
    const effect = queue.shift();
    if (effect === undefined) {
      if (state.phase === 'paused' && o.control) {
        const input = await o.control.next();
        if (applicable(input)) dispatch(input);
        continue;
      }
      break;
    }
    switch (effect.type) {
      case 'record':
        writer.append(effect.event);
        break;
      case 'execute': {
        if (ctx.signal.aborted) {
          dispatch({ type: 'abort', reason: 'interrupted by the operator (SIGINT)' });
          break;
        }
        let later: RunInput[] = [];
        try {
          await executeStep(ctx, effect.step);
          later = settleInputs();
          dispatch({ type: 'step-succeeded', step: effect.step });
        } catch (e) {
          later = settleInputs();
          if (cancelled(e, ctx.signal)) {
            // the operator's own abort (it released the prompt the step waited on) keeps its reason
            const typed = later.find((i) => i.type === 'abort');
            dispatch(typed ?? { type: 'abort', reason: `interrupted during step ${effect.step}` });
            break;
          }
          failure = e;
          o.onFailure?.(effect.step, e);
          const code = isCeremonyError(e) ? e.code : 'INTERNAL_ERROR';
          const message = isCeremonyError(e) ? e.message : 'an internal error (a bug in hsm-ceremony)';
          dispatch({ type: 'step-failed', step: effect.step, code: /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'STEP_FAILED', message: message.slice(0, 2000), fatal: o.control === undefined });
        }
        for (const input of later) if (applicable(input)) dispatch(input);
        break;
      }
      case 'finish':
        leave();
        writer.finish({ outcome: effect.outcome, ...(effect.reason !== undefined ? { reason: effect.reason } : {}) });
        return { outcome: effect.outcome, state, ...(failure !== undefined ? { error: failure } : {}) };
      case 'stop':
        writer.close();
        return { outcome: 'stopped', state, error: failure };
    }
  }
  writer.close();
  return { outcome: 'stopped', state, error: failure };
}
