/**
 * The run view's store: holds the view state (run-view-model.ts), lets the Ink view subscribe,
 * and performs the reducer's effects — operator inputs go to the plan runner through `RunControl`,
 * an interrupt aborts the run's signal, and a cancelled prompt is rejected. It also is the
 * `RunPrompter` the terminal secrets source (tty-run-secrets.ts) asks through: a prompt is shown,
 * and what is typed goes back to the asker, never into the view state.
 */
import { incomplete } from '../../../protocol/errors.ts';
import type { RunControl } from '../../run/plan-runner.ts';
import type { RunInput, RunState } from '../../run/run-machine.ts';
import type { TranscriptEvent } from '../../transcript/event.ts';
import { runViewStep, type Ask, type RunViewEvent, type RunViewState } from './run-view-model.ts';

/** What the terminal secrets source needs from the screen. */
export interface RunPrompter {
  /** shows a hidden-input prompt; resolves with the typed bytes (the caller wipes them) */
  secret(ask: DistributiveOmit<Extract<Ask, { kind: 'secret' }>, 'id' | 'kind'>): Promise<Uint8Array>;
  /** a line of public text (a share ID, the prime, a sign-off name or reason) */
  text(ask: DistributiveOmit<Extract<Ask, { kind: 'text' }>, 'id' | 'kind'>): Promise<string>;
  /** a sign-off answer for one person: what they typed */
  signOff(ask: DistributiveOmit<Extract<Ask, { kind: 'sign-off' }>, 'id' | 'kind'>): Promise<string>;
  /** a password share handed to its custodian; resolves when they confirm they wrote it down */
  reveal(ask: DistributiveOmit<Extract<Ask, { kind: 'reveal' }>, 'id' | 'kind' | 'stage'>, lines: string[]): Promise<void>;
  /** erase the terminal, scrollback included */
  clearScreen(): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Waiting {
  id: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class RunViewStore implements RunControl, RunPrompter {
  #state: RunViewState;
  readonly #listeners = new Set<() => void>();
  readonly #queue: RunInput[] = [];
  #wake: ((i: RunInput) => void) | null = null;
  #waiting: Waiting | null = null;
  #ids = 0;
  /** the lines of the share on screen now (never in the view state) */
  #revealLines: string[] | null = null;
  readonly #interrupt: AbortController;
  readonly #clear: () => void;

  constructor(state: RunViewState, o: { interrupt: AbortController; clearScreen?: () => void }) {
    this.#state = state;
    this.#interrupt = o.interrupt;
    this.#clear = o.clearScreen ?? (() => undefined);
    o.interrupt.signal.addEventListener('abort', () => {
      // a prompt a step waits on is released; a paused run is woken with the abort
      this.#rejectWaiting(incomplete('CANCELLED', 'interrupted'));
      this.#push({ type: 'abort', reason: 'interrupted by the operator (Ctrl-C)' });
    });
  }

  getState = (): RunViewState => this.#state;

  subscribe = (fn: () => void): (() => void) => {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  };

  dispatch = (ev: RunViewEvent): void => {
    const t = runViewStep(this.#state, ev);
    this.#state = t.state;
    for (const e of t.effects) {
      if (e.type === 'control') this.#push(e.input);
      else if (e.type === 'interrupt') this.#interrupt.abort();
      else if (e.type === 'cancel-ask') this.#rejectWaiting(incomplete('CANCELLED', `the operator aborted the ceremony: ${e.reason}`));
    }
    for (const l of this.#listeners) l();
  };

  /** For the runner's onState. */
  onRunState = (s: RunState): void => this.dispatch({ type: 'run-state', state: s });
  onTranscript = (e: TranscriptEvent): void => this.dispatch({ type: 'transcript', event: e });
  onProgress = (text: string): void => this.dispatch({ type: 'progress', text });

  // RunControl

  take(): RunInput[] {
    return this.#queue.splice(0);
  }

  next(): Promise<RunInput> {
    const first = this.#queue.shift();
    if (first) return Promise.resolve(first);
    if (this.#interrupt.signal.aborted) return Promise.resolve({ type: 'abort', reason: 'interrupted by the operator (Ctrl-C)' });
    return new Promise((res) => {
      this.#wake = res;
    });
  }

  #push(i: RunInput): void {
    if (this.#wake) {
      const w = this.#wake;
      this.#wake = null;
      w(i);
    } else this.#queue.push(i);
  }

  // RunPrompter

  #ask<T>(ask: Ask): Promise<T> {
    if (this.#interrupt.signal.aborted) return Promise.reject(incomplete('CANCELLED', 'interrupted'));
    return new Promise<T>((resolve, reject) => {
      this.#waiting = { id: ask.id, resolve: resolve as (v: unknown) => void, reject };
      this.dispatch({ type: 'ask', ask });
    });
  }

  #rejectWaiting(e: unknown): void {
    const w = this.#waiting;
    if (!w) return;
    this.#waiting = null;
    this.#revealLines = null;
    w.reject(e);
    this.dispatch({ type: 'answered', id: w.id });
  }

  /** The answer to the prompt `id` (from the input component). Stale answers are dropped (and wiped). */
  reply(id: number, value: Uint8Array | string | null): void {
    const w = this.#waiting;
    if (!w || w.id !== id) {
      if (value instanceof Uint8Array) value.fill(0);
      return;
    }
    this.#waiting = null;
    this.dispatch({ type: 'answered', id });
    w.resolve(value);
  }

  /** The share lines of the reveal prompt `id` while it shows (for ShareReveal). */
  revealLines(id: number): string[] | null {
    const a = this.#state.ask;
    return a?.kind === 'reveal' && a.id === id && a.stage === 'show' ? this.#revealLines : null;
  }

  /** The custodian has taken the seat: show the share. */
  showReveal(id: number): void {
    const a = this.#state.ask;
    if (a?.kind === 'reveal' && a.id === id && a.stage === 'handover') this.dispatch({ type: 'ask', ask: { ...a, stage: 'show' } });
  }

  secret(a: DistributiveOmit<Extract<Ask, { kind: 'secret' }>, 'id' | 'kind'>): Promise<Uint8Array> {
    return this.#ask({ ...a, kind: 'secret', id: ++this.#ids });
  }

  text(a: DistributiveOmit<Extract<Ask, { kind: 'text' }>, 'id' | 'kind'>): Promise<string> {
    return this.#ask({ ...a, kind: 'text', id: ++this.#ids });
  }

  signOff(a: DistributiveOmit<Extract<Ask, { kind: 'sign-off' }>, 'id' | 'kind'>): Promise<string> {
    return this.#ask({ ...a, kind: 'sign-off', id: ++this.#ids });
  }

  async reveal(a: DistributiveOmit<Extract<Ask, { kind: 'reveal' }>, 'id' | 'kind' | 'stage'>, lines: string[]): Promise<void> {
    this.#revealLines = lines;
    try {
      await this.#ask({ ...a, kind: 'reveal', id: ++this.#ids, stage: 'handover' });
    } finally {
      this.#revealLines = null;
      this.clearScreen();
    }
  }

  clearScreen(): void {
    this.#clear();
  }
}
