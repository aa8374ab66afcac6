/**
 * Drives the real interface — App, store, reducer, effect runner — over an in-process simulated
 * card, through ink's renderer with fake terminal streams (80×24 unless told), and reads unstyled
 * frames. Like ink-testing-library, but with the terminal size under the test's control (resize
 * included) and with helpers that wait for a frame to change instead of sleeping blindly.
 *
 * Every frame ever written is kept, so a test can assert that a planted secret never appeared.
 */
import assert from 'node:assert/strict';
import React from 'react';
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { render, type Instance } from 'ink';
import { App } from '../../app/ui/App.tsx';
import { CeremonyStore } from '../../app/ceremony/ceremony-store.ts';
import { EffectRunner, type CardConnection } from '../../app/ceremony/effect-runner.ts';
import { SecretVault } from '../../app/ceremony/secret-vault.ts';
import { initialState } from '../../app/ceremony/state.ts';
import type { CeremonyEvent } from '../../app/ceremony/events.ts';
import type { Effect } from '../../app/ceremony/effects.ts';
import { SimulatedCard, type Flavor } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { CLEAR_SCREEN } from '../../app/ui/run-tui.tsx';
import { deviceError } from '../../protocol/errors.ts';

export const KEY = {
  enter: '\r',
  escape: '\x1b',
  up: '\x1b[A',
  down: '\x1b[B',
  ctrlC: '\x03',
  ctrlU: '\x15',
  backspace: '\x7f',
  space: ' ',
} as const;

/** A terminal's stdout for Ink: every write kept as a frame. */
export class FakeStdout extends EventEmitter {
  readonly frames: string[] = [];
  readonly isTTY = true;
  constructor(
    public columns = 80,
    public rows = 24,
  ) {
    super();
  }
  write = (chunk: string): boolean => {
    this.frames.push(chunk);
    return true;
  };
}

/** A terminal's stdin for Ink in raw mode; `write` types keys. */
export class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write(data: string): void {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  }
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface SessionOptions {
  /** the card; default a fresh SmartCard-HSM-flavoured one */
  card?: SimulatedCard;
  flavor?: Flavor;
  cwd?: string;
  columns?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  /** KDF iterations (default 1000: fast, and only this program reads the files back) */
  kdfIterations?: number;
  /** the device cannot be opened (offline flows) */
  noDevice?: boolean;
  color?: boolean;
}

export interface Session {
  card: SimulatedCard;
  cwd: string;
  store: CeremonyStore;
  vault: SecretVault;
  runner: EffectRunner;
  stdout: FakeStdout;
  /** every event and its effects, in order */
  steps: { event: CeremonyEvent; effects: Effect[] }[];
  clears: number;
  exited: { code: number; summary: string[] } | null;
  /** the last frame, without escape sequences */
  frame(): string;
  /** all output ever written, without escape sequences */
  everything(): string;
  /** writes keys and lets the interface handle them */
  press(...keys: string[]): Promise<void>;
  /** types text then Enter */
  type(text: string): Promise<void>;
  /** waits until the last frame contains `text` (or matches) */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** waits until no job runs and the frame settled */
  idle(timeoutMs?: number): Promise<void>;
  resize(columns: number, rows: number): Promise<void>;
  close(): Promise<void>;
}

/** Text with every run of whitespace (line breaks of wrapped text included) made one space. */
export const flat = (t: string): string => t.replace(/\s+/g, ' ');

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A simulated card on the in-process transport, applet selected, as the runner wants it. */
export async function simulatorConnection(card: SimulatedCard): Promise<CardConnection> {
  const transport = new SimulatorTransport(card);
  const hsm = new SmartCardHsm(transport);
  const applet = await hsm.selectApplet();
  return { hsm, applet, description: 'built-in simulator (test)', simulated: true, virtual: true, close: () => transport.close() };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'hsm-tui-'));
}

export async function startSession(o: SessionOptions = {}): Promise<Session> {
  const card = o.card ?? SimulatedCard.create({ flavor: o.flavor ?? 'sc-hsm', seed: Uint8Array.of(42) });
  const cwd = o.cwd ?? tempDir();
  const stdout = new FakeStdout(o.columns ?? 80, o.rows ?? 24);
  const stderr = new FakeStdout(o.columns ?? 80, o.rows ?? 24);
  const stdin = new FakeStdin();
  const vault = new SecretVault();
  const steps: Session['steps'] = [];
  const session = {} as Session;
  session.clears = 0;
  session.exited = null;
  const runner = new EffectRunner({
    vault,
    cwd,
    openCard: async () => {
      if (o.noDevice) throw deviceError('NO_CARD', 'no reader holds a card', { hint: 'insert the device' });
      return simulatorConnection(card);
    },
    clearScreen: () => {
      session.clears++;
      stdout.write(CLEAR_SCREEN);
    },
    exit: (code, summary) => {
      session.exited = { code, summary };
    },
    testOnlyKdfIterations: o.kdfIterations ?? 1000,
  });
  const store = new CeremonyStore({ state: initialState({ cwd }), vault, runner, onStep: (event, effects) => steps.push({ event, effects }) });
  const ink: Instance = render(<App store={store} theme={{ color: o.color ?? false }} />, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const frame = () => stripVTControlCharacters(stdout.frames.at(-1) ?? '');
  /**
   * Waits until the interface stopped drawing (no new frame for 30 ms), so the next keys reach the
   * input of the screen now shown: Ink subscribes a new input after React commits it, and keys
   * written before that would be lost.
   */
  const settle = async () => {
    const until = Date.now() + 1000;
    let n = stdout.frames.length;
    let quiet = 0;
    while (quiet < 3 && Date.now() < until) {
      await tick(10);
      if (stdout.frames.length === n) quiet++;
      else {
        n = stdout.frames.length;
        quiet = 0;
      }
    }
  };
  Object.assign(session, {
    card,
    cwd,
    store,
    vault,
    runner,
    stdout,
    steps,
    frame,
    everything: () => stripVTControlCharacters(stdout.frames.join('\n')),
    async press(...keys: string[]) {
      for (const k of keys) {
        stdin.write(k);
        await tick(k === KEY.escape ? 30 : 5);
        await settle();
      }
    },
    async type(text: string) {
      stdin.write(text);
      await tick(5);
      stdin.write(KEY.enter);
      await tick(10);
      await settle();
    },
    async waitFor(text: string | RegExp, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const f = frame();
        if (typeof text === 'string' ? f.includes(text) || flat(f).includes(flat(text)) : text.test(f) || text.test(flat(f))) return f;
        if (Date.now() > until) throw new Error(`timed out waiting for ${String(text)}; last frame:\n${f}`);
        await tick(10);
      }
    },
    async idle(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (runner.running > 0 || store.getState().jobs.length > 0) {
        if (Date.now() > until) throw new Error(`jobs still running: ${JSON.stringify(store.getState().jobs.map((j) => j.label))}\n${frame()}`);
        await tick(10);
      }
      await tick(20);
    },
    async resize(columns: number, rows: number) {
      stdout.columns = columns;
      stdout.rows = rows;
      stdout.emit('resize');
      await tick(20);
    },
    async close() {
      ink.unmount();
      await runner.close();
    },
  });
  store.dispatch({ type: 'start' });
  return session;
}

/** The live region of the last frame: from the device panel down (what a 24-row terminal shows). */
export function liveRegion(s: Session): string[] {
  const lines = s.frame().replace(/\n$/, '').split('\n');
  const top = lines.findIndex((l) => /^ (SIMULATOR|VIRTUAL READER|DEVICE|hsm-ceremony) /.test(l));
  return top < 0 ? lines : lines.slice(top);
}

/** Fails when any planted secret appears in any frame ever written. */
export function assertNeverShown(s: Session, secrets: string[]): void {
  const all = s.everything();
  for (const secret of secrets) {
    if (all.includes(secret)) {
      const at = all.indexOf(secret);
      throw new Error(`a planted secret appeared on screen: …${all.slice(Math.max(0, at - 40), at)}<secret>`);
    }
  }
}

/**
 * A fake 80x24 terminal for an Ink view rendered with `render(…, { stdout, stdin })`: the last
 * whole frame, keys, typed lines, and waits for text (also across wrapped lines).
 */
export function terminal() {
  const stdout = new FakeStdout();
  const stdin = new FakeStdin();
  const frame = () => {
    // the last whole frame (a clear-screen write is not one)
    for (let i = stdout.frames.length - 1; i >= 0; i--) if (stdout.frames[i] !== CLEAR_SCREEN) return stripVTControlCharacters(stdout.frames[i]!);
    return '';
  };
  const settle = async () => {
    let n = stdout.frames.length;
    let quiet = 0;
    const until = Date.now() + 1000;
    while (quiet < 3 && Date.now() < until) {
      await tick(10);
      if (stdout.frames.length === n) quiet++;
      else {
        n = stdout.frames.length;
        quiet = 0;
      }
    }
  };
  return {
    stdout,
    stdin,
    frame,
    everything: () => stripVTControlCharacters(stdout.frames.join('\n')),
    async press(...keys: string[]) {
      for (const k of keys) {
        stdin.write(k);
        await tick(k === KEY.escape ? 30 : 5);
        await settle();
      }
    },
    async type(text: string) {
      await settle();
      stdin.write(text);
      await tick(5);
      stdin.write(KEY.enter);
      await tick(10);
      await settle();
    },
    async waitFor(what: string | RegExp, timeoutMs = 20_000): Promise<string> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const f = frame();
        if (typeof what === 'string' ? f.includes(what) || flat(f).includes(flat(what)) : what.test(f) || what.test(flat(f))) {
          await settle();
          return frame();
        }
        if (Date.now() > until) throw new Error(`timed out waiting for ${String(what)}; last frame:\n${f}`);
        await tick(10);
      }
    },
  };
}

/** Every frame fits an 80x24 terminal: at most 24 rows, no row wider than 80 columns. */
export function assertFits(frames: readonly string[]): void {
  for (const f of frames) {
    if (f === CLEAR_SCREEN) continue;
    const lines = stripVTControlCharacters(f).replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 24, `a frame has ${lines.length} rows:\n${lines.join('\n')}`);
    for (const l of lines) assert.ok([...l].length <= 80, `a row is wider than 80 columns: ${l}`);
  }
}
