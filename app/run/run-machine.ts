/**
 * The plan runner's step machine: a pure function `(state, input) → {state, effects}` that turns a
 * plan's steps into the order of work and the transcript events around it (docs/plan-format.md
 * §4, docs/transcript-format.md §7–§9). It does no IO: the effect runner (plan-runner.ts) executes
 * the `execute` effects on the card, writes the `record` effects to the transcript and feeds the
 * outcome back as inputs.
 *
 * Rules it keeps, because the verifier checks them:
 * - steps run in plan order, one at a time, numbered from 1 (step n = steps[n-1]);
 * - every step that starts ends with step-finished (signed by the writer), step-failed, or is
 *   skipped only with a typed reason;
 * - a step that was running when the coordinator crashed is started again after `resumed`, with a
 *   note saying it is redone (transcript-format.md §9);
 * - pausing stops before the next step starts, never in the middle of a card operation.
 */
import type { StepKind } from '../plan/plan-schema.ts';
import type { Actor } from '../transcript/event.ts';
import type { AppendEvent } from '../transcript/writer.ts';

/** Where one plan step stands. */
export type StepState = 'pending' | 'running' | 'finished' | 'skipped' | 'failed';

export type RunPhase = 'ready' | 'running' | 'paused' | 'completed' | 'aborted' | 'stopped';

export interface RunState {
  /** the plan's step kinds, in order */
  kinds: readonly StepKind[];
  /** one per step */
  steps: StepState[];
  /** 0-based index of the step running now, or null */
  current: number | null;
  phase: RunPhase;
  /** the operator's actor (the plan's operator, or an unnamed operator) */
  operator: Actor;
  /** why the run ended, for aborted or stopped runs */
  reason: string | null;
}

/** What the effect runner (or the operator) tells the machine. */
export type RunInput =
  | { type: 'start' }
  | { type: 'step-succeeded'; step: number }
  | { type: 'step-failed'; step: number; code: string; message: string; fatal: boolean }
  | { type: 'skip'; step: number; reason: string }
  | { type: 'note'; text: string; step?: number | null }
  | { type: 'pause' }
  | { type: 'continue' }
  | { type: 'abort'; reason: string };

/** What the machine asks for. */
export type RunEffect =
  | { type: 'record'; event: AppendEvent }
  /** run plan step `step` (1-based) on the card */
  | { type: 'execute'; step: number }
  /** write ceremony-finished and close the transcript */
  | { type: 'finish'; outcome: 'completed' | 'aborted'; reason?: string }
  /** leave the transcript incomplete (a failure that needs a restart) */
  | { type: 'stop'; reason: string };

export interface Transition {
  state: RunState;
  effects: RunEffect[];
}

/**
 * A fresh machine for a plan; `done` gives the state of each step from a resumed transcript (the
 * verifier's summary), so finished and skipped steps are not run again.
 */
export function initialRunState(kinds: readonly StepKind[], operator: Actor, done?: readonly StepState[]): RunState {
  if (done !== undefined && done.length !== kinds.length) throw new RangeError('done must have one entry per plan step');
  return {
    kinds,
    steps: kinds.map((_, i) => done?.[i] ?? 'pending'),
    current: null,
    phase: 'ready',
    operator,
    reason: null,
  };
}

/** 0-based index of the next step to run (pending, failed, or interrupted while running), or -1. */
export function nextStep(s: RunState): number {
  return s.steps.findIndex((st) => st === 'pending' || st === 'failed' || st === 'running');
}

function startNext(s: RunState, effects: RunEffect[]): RunState {
  const i = nextStep(s);
  if (i < 0) {
    effects.push({ type: 'finish', outcome: 'completed' });
    return { ...s, current: null, phase: 'completed' };
  }
  const n = i + 1;
  if (s.steps[i] === 'running') {
    // interrupted by a crash: the verifier allows a running step to start again after `resumed`
    effects.push({ type: 'record', event: { kind: 'note', actor: s.operator, step: n, data: { text: `step ${n} was running when the coordinator stopped; it is run again from its start` } } });
  }
  effects.push({ type: 'record', event: { kind: 'step-started', actor: s.operator, step: n, data: { kind: s.kinds[i]! } } });
  effects.push({ type: 'execute', step: n });
  const steps = s.steps.slice();
  steps[i] = 'running';
  return { ...s, steps, current: i, phase: 'running' };
}

function checkStep(s: RunState, step: number): number {
  if (!Number.isInteger(step) || step < 1 || step > s.kinds.length) throw new RangeError(`step must be 1..${s.kinds.length}`);
  return step - 1;
}

/**
 * The transition function.
 *
 * @throws {RangeError} for a step number outside the plan
 * @throws {Error} for an input that makes no sense in the current phase (a bug in the caller)
 */
export function runStep(s: RunState, input: RunInput): Transition {
  const effects: RunEffect[] = [];
  const ended = s.phase === 'completed' || s.phase === 'aborted' || s.phase === 'stopped';
  if (ended) throw new Error(`the run has ended (${s.phase}); no more ${input.type}`);
  switch (input.type) {
    case 'start':
    case 'continue': {
      if (s.phase === 'running') throw new Error(`${input.type} while a step runs`);
      return { state: startNext(s, effects), effects };
    }
    case 'step-succeeded': {
      const i = checkStep(s, input.step);
      if (s.current !== i) throw new Error(`step ${input.step} is not the step running`);
      effects.push({ type: 'record', event: { kind: 'step-finished', actor: s.operator, step: input.step, data: { kind: s.kinds[i]! } } });
      const steps = s.steps.slice();
      steps[i] = 'finished';
      const next: RunState = { ...s, steps, current: null };
      if (s.phase === 'paused') return { state: next, effects };
      return { state: startNext(next, effects), effects };
    }
    case 'step-failed': {
      const i = checkStep(s, input.step);
      if (s.current !== i) throw new Error(`step ${input.step} is not the step running`);
      effects.push({ type: 'record', event: { kind: 'step-failed', actor: s.operator, step: input.step, data: { kind: s.kinds[i]!, code: input.code, message: input.message } } });
      const steps = s.steps.slice();
      steps[i] = 'failed';
      if (input.fatal) {
        // a headless run cannot ask anyone what to do: the transcript stays open for a restart
        effects.push({ type: 'stop', reason: `step ${input.step} failed: ${input.message}` });
        return { state: { ...s, steps, current: null, phase: 'stopped', reason: input.message }, effects };
      }
      return { state: { ...s, steps, current: null, phase: 'paused' }, effects };
    }
    case 'skip': {
      const i = checkStep(s, input.step);
      if (s.current === i) throw new Error('a running step cannot be skipped; abort it first');
      if (s.steps[i] === 'finished' || s.steps[i] === 'skipped') throw new Error(`step ${input.step} has already ${s.steps[i]}`);
      if (input.reason.trim() === '') throw new Error('a skip needs a typed reason');
      effects.push({ type: 'record', event: { kind: 'step-skipped', actor: s.operator, step: input.step, data: { kind: s.kinds[i]!, reason: input.reason.trim() } } });
      const steps = s.steps.slice();
      steps[i] = 'skipped';
      return { state: { ...s, steps }, effects };
    }
    case 'note': {
      if (input.text.trim() === '') throw new Error('an empty note');
      const step = input.step ?? (s.current !== null ? s.current + 1 : null);
      if (step !== null) checkStep(s, step);
      effects.push({ type: 'record', event: { kind: 'note', actor: s.operator, step, data: { text: input.text.trim() } } });
      return { state: s, effects };
    }
    case 'pause':
      if (s.phase !== 'running' && s.phase !== 'ready') return { state: s, effects };
      return { state: { ...s, phase: 'paused' }, effects };
    case 'abort': {
      const reason = input.reason.trim() || 'aborted by the operator';
      effects.push({ type: 'finish', outcome: 'aborted', reason });
      return { state: { ...s, current: null, phase: 'aborted', reason }, effects };
    }
  }
}
