/**
 * Bridge from a simulated card to vsmartcard's vpcd, the pcsc-lite reader driver that exposes a
 * TCP socket per virtual reader (vpcd listens; this is the card side, "vicc"). With it the real
 * pcscd — and OpenSC's sc-hsm-tool, pkcs15-tool, pkcs11-tool on top — see the simulator as a
 * card in reader "Virtual PCD 00 00" (port 35963) or "Virtual PCD 00 01" (35964).
 *
 * Wire format (vsmartcard vpcd protocol): every message is a 2-byte big-endian length and a
 * payload. A 1-byte payload from vpcd is a control code — 0 power off, 1 power on, 2 reset, 4 get
 * ATR — and only "get ATR" is answered (with the ATR). A longer payload is a command APDU and is
 * answered with the response APDU.
 *
 * When vpcd is not listening (pcscd not started yet, restarted) the bridge retries with
 * exponential backoff until stop(). It never logs APDU data (PINs and shares travel in it).
 */

import { Socket } from 'node:net';
import { toHex } from '../../protocol/bytes.ts';
import type { SimulatedCard } from './card-os.ts';
import type { ApduRecorder } from './faults.ts';

/** Default vpcd endpoint: reader "Virtual PCD 00 00". */
export const VPCD_DEFAULT_HOST = '127.0.0.1';
export const VPCD_DEFAULT_PORT = 35963;

/** Control codes vpcd sends as 1-byte payloads. */
export const VPCD_CTRL_OFF = 0;
export const VPCD_CTRL_ON = 1;
export const VPCD_CTRL_RESET = 2;
export const VPCD_CTRL_ATR = 4;

/** Options for a bridge. */
export interface VpcdBridgeOptions {
  host?: string;
  port?: number;
  /** status lines (connected, disconnected, retrying); no APDU data is ever passed */
  log?: (line: string) => void;
  /** also log each command header (CLA INS P1 P2) and status word */
  traceHeaders?: boolean;
  /** first retry delay in ms (default 200), doubled up to maxRetryMs (default 5000) */
  retryMs?: number;
  maxRetryMs?: number;
  recorder?: ApduRecorder;
}

/**
 * Parses `HOST:PORT`, `HOST`, `:PORT` or `PORT` (defaults 127.0.0.1 and 35963).
 *
 * @throws {RangeError} for a port outside 1..65535 or an empty host
 */
export function parseVpcdAddress(text: string | undefined): { host: string; port: number } {
  if (text === undefined || text === '') return { host: VPCD_DEFAULT_HOST, port: VPCD_DEFAULT_PORT };
  let host = VPCD_DEFAULT_HOST;
  let portText: string | undefined;
  const m = /^(.*):(\d+)$/.exec(text);
  if (/^\d+$/.test(text)) portText = text;
  else if (m) {
    host = m[1] === '' ? VPCD_DEFAULT_HOST : m[1]!.replace(/^\[(.*)\]$/, '$1');
    portText = m[2];
  } else host = text;
  const port = portText === undefined ? VPCD_DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port out of range in ${JSON.stringify(text)}`);
  if (host.length === 0) throw new RangeError(`empty host in ${JSON.stringify(text)}`);
  return { host, port };
}

/** A running (or retrying) connection between one card and one vpcd reader. */
export class VpcdBridge {
  readonly card: SimulatedCard;
  readonly host: string;
  readonly port: number;
  readonly #log: (line: string) => void;
  readonly #trace: boolean;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  readonly #recorder: ApduRecorder | undefined;
  #socket: Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #stopped = true;
  #connected = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #delay: number;
  #waiters: (() => void)[] = [];
  #attached = false;
  #attachWaiters: (() => void)[] = [];
  /** APDUs answered since start (for status output and tests). */
  apduCount = 0;

  constructor(card: SimulatedCard, options: VpcdBridgeOptions = {}) {
    this.card = card;
    this.host = options.host ?? VPCD_DEFAULT_HOST;
    this.port = options.port ?? VPCD_DEFAULT_PORT;
    this.#log = options.log ?? (() => {});
    this.#trace = options.traceHeaders ?? false;
    this.#retryMs = options.retryMs ?? 200;
    this.#maxRetryMs = options.maxRetryMs ?? 5000;
    this.#recorder = options.recorder;
    this.#delay = this.#retryMs;
  }

  /** True while a TCP connection to vpcd is open. */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * True once vpcd has talked to this connection (power on / ATR request). A TCP connection alone
   * is not enough: vpcd serves one card per reader, so a second card's connection waits in the
   * listen backlog until the first one leaves.
   */
  get attached(): boolean {
    return this.#attached;
  }

  /** Resolves once vpcd has sent its first message on the current connection. */
  waitAttached(timeoutMs = 10000): Promise<void> {
    if (this.#attached) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#attachWaiters = this.#attachWaiters.filter((w) => w !== done);
        reject(new Error(`vpcd at ${this.host}:${this.port} did not talk to the card within ${timeoutMs} ms (another card in that reader?)`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.#attachWaiters.push(done);
    });
  }

  /** Starts connecting (and reconnecting) until stop(). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /** Resolves once connected (immediately if already), or rejects after `timeoutMs`. */
  waitConnected(timeoutMs = 10000): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(new Error(`vpcd at ${this.host}:${this.port} not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  /** Disconnects (the reader then reports the card removed) and stops retrying. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const s = this.#socket;
    this.#socket = undefined;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 500).unref();
      });
    }
    this.#connected = false;
    this.#attached = false;
  }

  #connect(): void {
    if (this.#stopped) return;
    const s = new Socket();
    this.#socket = s;
    this.#buffer = Buffer.alloc(0);
    s.setNoDelay(true);
    s.on('connect', () => {
      this.#connected = true;
      this.#delay = this.#retryMs;
      this.card.powerOn();
      this.#log(`connected to vpcd at ${this.host}:${this.port}`);
      for (const w of this.#waiters.splice(0)) w();
    });
    s.on('data', (chunk: Buffer) => this.#onData(s, chunk));
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.#connected) return; // connection refused etc.: 'close' follows and retries
      this.#log(`vpcd connection error: ${e.code ?? e.message}`);
    });
    s.on('close', () => {
      const was = this.#connected;
      this.#connected = false;
      this.#attached = false;
      if (this.#socket === s) this.#socket = undefined;
      if (this.#stopped) return;
      if (was) this.#log(`vpcd at ${this.host}:${this.port} closed the connection; reconnecting`);
      this.card.powerOff();
      this.#retryTimer = setTimeout(() => this.#connect(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, this.#maxRetryMs);
    });
    s.connect(this.port, this.host);
  }

  #onData(s: Socket, chunk: Buffer): void {
    if (!this.#attached) {
      this.#attached = true;
      for (const w of this.#attachWaiters.splice(0)) w();
    }
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const n = this.#buffer.readUInt16BE(0);
      if (this.#buffer.length < 2 + n) return;
      const payload = new Uint8Array(this.#buffer.subarray(2, 2 + n));
      this.#buffer = this.#buffer.subarray(2 + n);
      const answer = this.#handle(payload);
      if (answer) this.#send(s, answer);
    }
  }

  /** The answer to one vpcd message, or undefined for control codes that get none. */
  #handle(payload: Uint8Array): Uint8Array | undefined {
    if (payload.length === 1) {
      switch (payload[0]) {
        case VPCD_CTRL_OFF:
          this.card.powerOff();
          return undefined;
        case VPCD_CTRL_ON:
          this.card.powerOn();
          return undefined;
        case VPCD_CTRL_RESET:
          this.card.reset();
          return undefined;
        case VPCD_CTRL_ATR:
          return this.card.atr;
        default:
          this.#log(`ignoring unknown vpcd control code ${payload[0]}`);
          return undefined;
      }
    }
    if (payload.length === 0) return undefined;
    if (!this.card.powered) this.card.powerOn(); // vpcd sent an APDU without power-on: be lenient
    let response: Uint8Array;
    try {
      response = this.card.process(payload);
    } catch (e) {
      this.#log(`simulator failed on a command: ${(e as Error).message}`);
      response = Uint8Array.of(0x6f, 0x00);
    }
    this.apduCount++;
    this.#recorder?.record(payload, response);
    if (this.#trace) {
      this.#log(`APDU ${toHex(payload.subarray(0, 4), ' ')} -> SW ${toHex(response.subarray(response.length - 2), '')}`);
    }
    return response;
  }

  #send(s: Socket, data: Uint8Array): void {
    const frame = Buffer.alloc(2 + data.length);
    frame.writeUInt16BE(data.length, 0);
    frame.set(data, 2);
    s.write(frame);
  }
}
