/**
 * Building blocks for the reducer tests: run a list of events through `reduce` and collect the
 * effects, and public device readings in the shapes the runner reports.
 */
import { reduce } from '../../app/ceremony/reducer.ts';
import { initialState, type CeremonyState } from '../../app/ceremony/state.ts';
import type { CeremonyEvent } from '../../app/ceremony/events.ts';
import type { Effect } from '../../app/ceremony/effects.ts';
import type { DeviceView, JobSpec } from '../../app/ceremony/jobs.ts';
import type { SecretFacts, SecretKind } from '../../app/ceremony/secret-facts.ts';

export interface Run {
  state: CeremonyState;
  effects: Effect[];
}

/** Folds events into the state, collecting every effect. */
export function run(events: CeremonyEvent[], from: CeremonyState = initialState({ cwd: '/ceremony' })): Run {
  let state = from;
  const effects: Effect[] = [];
  for (const e of events) {
    const t = reduce(state, e);
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}

/** Continues a run. */
export function more(r: Run, events: CeremonyEvent[]): Run {
  const n = run(events, r.state);
  return { state: n.state, effects: [...r.effects, ...n.effects] };
}

/** The id and spec of the last job of `kind` started in `r`. */
export function lastJob<K extends JobSpec['kind']>(r: Run, kind: K): { id: number; job: Extract<JobSpec, { kind: K }> } {
  for (let i = r.effects.length - 1; i >= 0; i--) {
    const e = r.effects[i]!;
    if (e.type === 'start-job' && e.job.kind === kind) return { id: e.id, job: e.job as Extract<JobSpec, { kind: K }> };
  }
  throw new Error(`no ${kind} job was started`);
}

export function jobsStarted(r: Run, kind: JobSpec['kind']): number[] {
  return r.effects.filter((e): e is Extract<Effect, { type: 'start-job' }> => e.type === 'start-job' && e.job.kind === kind).map((e) => e.id);
}

export function wiped(r: Run): number[] {
  return r.effects.flatMap((e) => (e.type === 'wipe' ? e.refs : []));
}

/** Facts of a secret that obeys its rule. */
export function okFacts(kind: SecretKind, bytes = 8, matches?: boolean): SecretFacts {
  return { kind, bytes, chars: bytes, ok: true, advice: [], ...(matches === undefined ? {} : { matches }) };
}

export function device(o: { initialized?: boolean; dkek?: { total: number; outstanding: number; kcv: string | null } | null; keyRefs?: number[]; loggedIn?: boolean } = {}): DeviceView {
  const initialized = o.initialized ?? true;
  const keyRefs = o.keyRefs ?? [];
  return {
    description: 'built-in simulator (test)',
    simulated: true,
    virtual: true,
    status: {
      version: '4.1',
      options: 1,
      userPinResetWithSoPin: true,
      transportPinMode: false,
      initialized,
      soPin: { state: initialized ? 'not-verified' : 'not-initialized', triesLeft: initialized ? 15 : null },
      userPin: { state: initialized ? (o.loggedIn ? 'verified' : 'not-verified') : 'not-initialized', triesLeft: initialized ? 3 : null },
      loggedIn: o.loggedIn ?? false,
      dkek: o.dkek === undefined ? (initialized ? { total: 1, outstanding: 0, kcv: '1D1083E78237E99D' } : null) : o.dkek,
      keys: keyRefs.length,
      keyRefs,
      deviceKey: true,
      label: null,
    },
  };
}

/** A session that started and read `d`: at the menu. */
export function atMenu(d: DeviceView = device()): Run {
  const r = run([{ type: 'start' }]);
  return more(r, [{ type: 'job-done', id: lastJob(r, 'read-status').id, result: { kind: 'read-status', device: d } }]);
}
