/**
 * Helpers for the network tests: an in-process coordinator (CeremonyRunner over the simulator,
 * listening on loopback), and a raw attacker client that speaks the handshake itself so a test can
 * replay, reorder, flip or forge frames.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import WebSocket from 'ws';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { CeremonyRunner } from '../../app/net/ceremony-runner.ts';
import type { HostedCeremonyConfig } from '../../app/net/hosted-ceremony.ts';
import { fromHex, utf8 } from '../../protocol/bytes.ts';
import { CustodianHandshake, type ChannelSession } from '../../protocol/channel/handshake.ts';
import { formatJoinCode, parseJoinCode } from '../../protocol/channel/join-code.ts';
import { shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import type { CoordinatorMessage } from '../../protocol/wire/coordinator-messages.ts';
import type { CustodianMessage } from '../../protocol/wire/custodian-messages.ts';
import { openCoordinatorFrame, sealMessage } from '../../protocol/wire/message-codec.ts';
import type { PublicEvent } from '../../protocol/wire/public-events.ts';
import { WIRE_MAX_PLAINTEXT_BYTES } from '../../protocol/wire/wire-version.ts';

export const REPO = new URL('../../', import.meta.url).pathname;
export const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export interface Coordinator {
  runner: CeremonyRunner;
  hsm: SmartCardHsm;
  url: string;
  /** the latest code of each slot, as shown on the coordinator screen */
  codes: Map<number, string>;
  events: PublicEvent[];
  notes: string[];
  done: Promise<number>;
  /** public facts that no attack may change */
  snapshot(): Promise<Record<string, unknown>>;
  waitFor(pred: (e: PublicEvent) => boolean, what: string, ms?: number): Promise<PublicEvent>;
}

/**
 * A coordinator for `names` custodians importing passphrase shares into a simulated card that
 * expects `dkekShares` shares.
 */
export async function startCoordinator(o: { names: string[]; dkekShares?: number; server?: { handshakeTimeoutMs?: number; idleTimeoutMs?: number; maxConnections?: number }; config?: Partial<HostedCeremonyConfig> }): Promise<Coordinator> {
  const card = SimulatedCard.create({ seed: Uint8Array.of(7) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  const dkekShares = o.dkekShares ?? o.names.length;
  await hsm.initialize({ soPin: utf8('3537363231383830'), userPin: utf8('648219'), dkekShares });
  const codes = new Map<number, string>();
  const events: PublicEvent[] = [];
  const notes: string[] = [];
  const listeners = new Set<() => void>();
  const runner = new CeremonyRunner({
    config: {
      slots: o.names.map((name, i) => ({ slot: i + 1, name, roles: ['custodian'] })),
      plan: { mode: 'import-passphrase', shares: o.names.length, initialize: null, pwdShares: null, expectedKcv: null },
      initialize: null,
      securityOfficer: null,
      shareFiles: {},
      pwdShares: null,
      joinTimeoutMs: 600_000,
      resumed: [],
      ...o.config,
    },
    hsm,
    deviceDescription: 'simulator',
    local: { soPin: async () => utf8('3537363231383830'), newPin: async () => utf8('648219'), pin: async () => utf8('648219') },
    expectKcv: null,
    pwdFile: null,
    kdf: () => shareFileKdfSync(1),
    confirmDestroy: () => false,
    view: {
      event: (e) => {
        events.push(e);
        for (const l of listeners) l();
      },
      code: (slot, code) => codes.set(slot.slot, formatJoinCode(code)),
      note: (t) => notes.push(t),
    },
    codesOut: null,
    listen: { host: '127.0.0.1', port: 0 },
    ...(o.server ? { server: o.server } : {}),
  });
  const done = runner.run();
  for (let i = 0; i < 200 && runner.url === ''; i++) await new Promise((r) => setTimeout(r, 10));
  const waitFor = (pred: (e: PublicEvent) => boolean, what: string, ms = 5000) =>
    new Promise<PublicEvent>((resolve, reject) => {
      const seen = events.find(pred);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const check = () => {
        const e = events.find(pred);
        if (e) {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(e);
        }
      };
      listeners.add(check);
    });
  await waitFor((e) => e.type === 'card', 'the card status');
  return {
    runner,
    hsm,
    url: runner.url,
    codes,
    events,
    notes,
    done,
    waitFor,
    async snapshot() {
      const w = runner.world;
      const status = await hsm.dkekStatus();
      return {
        phase: w.ceremony.phase,
        planned: w.ceremony.planned,
        imported: w.ceremony.importedThisRun,
        importing: w.ceremony.importing,
        fingerprints: w.ceremony.fingerprints.slice(),
        shares: w.slots.map((s) => s.share),
        vault: runner.vault.size,
        cardOutstanding: status.outstanding,
        outcome: w.ceremony.outcome,
      };
    },
  };
}

/** An attacker-controlled client: raw WebSocket plus the handshake, so it can misuse the channel. */
export interface RawClient {
  ws: WebSocket;
  session: ChannelSession | null;
  /** decoded coordinator messages */
  messages: CoordinatorMessage[];
  /** resolves with the close code */
  closed: Promise<number>;
  seal(m: CustodianMessage): Uint8Array;
  sendRaw(bytes: Uint8Array | string, binary?: boolean): void;
  waitMessage(pred: (m: CoordinatorMessage) => boolean, ms?: number): Promise<CoordinatorMessage>;
}

/** Opens a raw WebSocket (optionally with headers) and resolves once it is open. */
export async function rawSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  ws.on('error', () => undefined);
  await once(ws, 'open');
  return ws;
}

/**
 * Joins like hsm-custodian but keeps the keys: runs the handshake (with `codeText`), sends hello,
 * and records every message. With `established: false` the promise resolves once the handshake
 * failed instead (the abort received is in `abort`).
 */
export async function rawJoin(url: string, codeText: string, o: { hello?: boolean } = {}): Promise<RawClient & { failure: string | null }> {
  const ws = await rawSocket(url);
  const hs = new CustodianHandshake({ code: parseJoinCode(codeText), frameOptions: { maxPlaintext: WIRE_MAX_PLAINTEXT_BYTES } });
  const messages: CoordinatorMessage[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  const client: RawClient & { failure: string | null } = {
    ws,
    session: null,
    messages,
    closed,
    failure: null,
    seal: (m) => sealMessage(client.session!.sealer, m),
    sendRaw: (bytes, binary = true) => ws.send(bytes, { binary }),
    waitMessage: (pred, ms = 5000) =>
      new Promise((resolve, reject) => {
        const hit = messages.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(() => reject(new Error('timed out waiting for a coordinator message')), ms);
        const check = () => {
          const m = messages.find(pred);
          if (m) {
            clearTimeout(t);
            waiters.delete(check);
            resolve(m);
          }
        };
        waiters.add(check);
      }),
  };
  await new Promise<void>((resolve) => {
    ws.on('close', () => resolve());
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      if (client.session === null) {
        const step = hs.receive(bytes);
        if (step.send) ws.send(step.send);
        if (step.status === 'failed') {
          client.failure = step.error.code + (step.error.detail?.reason ? `:${String(step.error.detail.reason)}` : '');
          resolve();
        } else if (step.status === 'established') {
          client.session = step.session;
          if (o.hello !== false) ws.send(sealMessage(step.session.sealer, { type: 'hello', protocol: 1, client: 'attacker' }));
          resolve();
        }
        return;
      }
      try {
        messages.push(openCoordinatorFrame(client.session.opener, bytes));
      } catch {
        // an attacker does not care
      }
      for (const w of waiters) w();
    });
    ws.send(hs.start());
  });
  return client;
}

/** A different valid code for the same slot (one word changed). */
export function wrongCode(code: string): string {
  const parts = code.split('-');
  parts[1] = parts[1] === 'album' ? 'anchor' : 'album';
  return parts.join('-');
}

/** Waits until `pred()` holds, polling. */
export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const SHARE_S1 = fromHex('76f4a78ce1fa513b81008114be860db363a54c296aa535a78f820e266eda498e');

/** Runs a program under tsx and collects everything it prints. */
export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number>;
}

export function runProgram(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Proc {
  const child = spawn(process.execPath, ['--import', TSX, ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number>((r) => child.on('exit', (code, signal) => r(code ?? (signal ? 128 : -1))));
  return { child, out: () => out, err: () => err, exit };
}
