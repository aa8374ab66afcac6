/**
 * The custodian's end of the link (docs/protocol.md §6): a WebSocket to the coordinator, the
 * channel handshake as CPace initiator, then sealed frames both ways.
 *
 * Rules from docs/protocol-channel.md that this module keeps:
 * - one binary WebSocket message per handshake message and per frame;
 * - no Origin header (the coordinator refuses browsers, and we are not one);
 * - a code is used for one attempt only: any failure ends the connection and is reported, never
 *   retried (each retry would give an attacker posing as the coordinator another guess);
 * - any frame that fails to open or validate ends the connection.
 */

import WebSocket from 'ws';
import { CustodianHandshake, type ChannelSession } from '../protocol/channel/handshake.ts';
import type { JoinCode } from '../protocol/channel/join-code.ts';
import { CeremonyError, isCeremonyError, usageError } from '../protocol/errors.ts';
import type { Rng } from '../protocol/random.ts';
import type { CoordinatorMessage } from '../protocol/wire/coordinator-messages.ts';
import type { CustodianMessage } from '../protocol/wire/custodian-messages.ts';
import { openCoordinatorFrame, sealMessage, wipeMessage } from '../protocol/wire/message-codec.ts';
import { wireError, WireErrorCode } from '../protocol/wire/wire-error.ts';
import { WIRE_MAX_MESSAGE_BYTES, WIRE_MAX_PLAINTEXT_BYTES, WIRE_PATH, WIRE_VERSION } from '../protocol/wire/wire-version.ts';

export interface ConnectOptions {
  /** the coordinator's URL as shown on its screen, e.g. ws://127.0.0.1:41234/v1 */
  url: string;
  /** the join code (the handshake copies it; the caller wipes it) */
  code: JoinCode;
  /** program and version for the hello, e.g. `hsm-custodian 0.1.0` */
  client: string;
  rng?: Rng;
  /** from connecting to an established channel (default 15 s) */
  timeoutMs?: number;
  /** benchmark hook: the WebSocket is open (TCP and HTTP upgrade done); the handshake starts */
  onSocketOpen?: () => void;
}

/**
 * Checks and normalises the coordinator URL: `ws://HOST:PORT/v1` (the path may be left out).
 *
 * @throws CeremonyError usage BAD_URL
 */
export function normaliseUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw usageError('BAD_URL', 'the coordinator URL does not parse', { hint: 'copy it exactly as the coordinator screen shows it, e.g. ws://192.0.2.7:41234/v1' });
  }
  if (u.protocol !== 'ws:') {
    throw usageError('BAD_URL', `the coordinator URL must start with ws://, not ${u.protocol}//`, {
      hint: 'the channel is encrypted and authenticated by the join code itself; copy the URL from the coordinator screen',
    });
  }
  if (u.pathname === '/' || u.pathname === '') u.pathname = WIRE_PATH;
  if (u.username || u.password || u.search || u.hash) {
    throw usageError('BAD_URL', 'the coordinator URL must not carry a user, a query or a fragment', { hint: 'copy it exactly as the coordinator screen shows it' });
  }
  return u.toString();
}

function bytesOf(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data).slice();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

function httpRefusal(status: number, url: string): CeremonyError {
  if (status === 403) return wireError(WireErrorCode.ORIGIN_REFUSED, 'the coordinator refused the connection (403)');
  if (status === 404) return wireError(WireErrorCode.BAD_PATH, `the coordinator at ${url} does not speak protocol ${WIRE_PATH} (404)`);
  if (status === 503) return wireError(WireErrorCode.SERVER_FULL, 'the coordinator has too many connections open (503)');
  return wireError(WireErrorCode.CONNECTION_LOST, `the coordinator answered HTTP ${status} instead of opening the channel`);
}

/**
 * An established, authenticated channel to the coordinator.
 */
export class CustodianConnection {
  /** the slot (nameplate) this connection belongs to */
  readonly slot: number;
  /** six digits to compare with the coordinator screen */
  readonly sas: string;
  readonly transcriptHash: Uint8Array;
  #handler: ((m: CoordinatorMessage) => void) | null = null;
  #queue: CoordinatorMessage[] = [];
  #closeHandler: ((error: CeremonyError | null) => void) | null = null;
  #ended: { error: CeremonyError | null } | null = null;
  #failure: CeremonyError | null = null;

  private constructor(
    private readonly ws: WebSocket,
    private readonly channel: ChannelSession,
  ) {
    this.slot = channel.nameplate;
    this.sas = channel.sas;
    this.transcriptHash = channel.transcriptHash;
    ws.on('message', (data, isBinary) => this.#onFrame(bytesOf(data), isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.#end(code, reason.toString('utf8')));
    ws.on('error', () => undefined); // 'close' follows
  }

  /**
   * Connects, runs the handshake and sends the hello. Resolves once the channel is established.
   *
   * @throws CeremonyError BAD_URL; WIRE_ORIGIN_REFUSED / WIRE_BAD_PATH / WIRE_SERVER_FULL /
   *   WIRE_CONNECTION_LOST for refused or failed connections; WIRE_HANDSHAKE_TIMEOUT; every
   *   CHANNEL_* handshake failure (CHANNEL_CONFIRM_FAILED when the codes differ,
   *   CHANNEL_PEER_ABORTED with reason unknown-nameplate when the code was already used)
   */
  static open(options: ConnectOptions): Promise<CustodianConnection> {
    const url = normaliseUrl(options.url);
    const handshake = new CustodianHandshake({
      code: options.code,
      ...(options.rng ? { rng: options.rng } : {}),
      frameOptions: { maxPlaintext: WIRE_MAX_PLAINTEXT_BYTES },
    });
    return new Promise((resolve, reject) => {
      let settled = false;
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: WIRE_MAX_MESSAGE_BYTES, handshakeTimeout: options.timeoutMs ?? 15_000 });
      const timer = setTimeout(() => fail(wireError(WireErrorCode.HANDSHAKE_TIMEOUT, 'the coordinator did not complete the join in time')), options.timeoutMs ?? 15_000);
      const fail = (e: CeremonyError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('message');
        ws.on('error', () => undefined);
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
        reject(e);
      };
      ws.on('unexpected-response', (_req, res) => fail(httpRefusal(res.statusCode ?? 0, url)));
      ws.on('error', (e: NodeJS.ErrnoException) => {
        fail(wireError(WireErrorCode.CONNECTION_LOST, `cannot reach the coordinator at ${url}: ${e.code ?? 'connection failed'}`));
      });
      ws.on('close', () => fail(wireError(WireErrorCode.CONNECTION_LOST, 'the coordinator closed the connection during the join')));
      ws.on('open', () => {
        options.onSocketOpen?.();
        try {
          ws.send(handshake.start(), { binary: true });
        } catch (e) {
          fail(isCeremonyError(e) ? e : wireError(WireErrorCode.CONNECTION_LOST, 'the join could not start'));
        }
      });
      ws.on('message', (data, isBinary) => {
        if (settled) return;
        if (!isBinary) {
          fail(wireError(WireErrorCode.TEXT_MESSAGE, 'the coordinator sent a text message'));
          return;
        }
        const step = handshake.receive(bytesOf(data));
        if (step.send) ws.send(step.send, { binary: true });
        if (step.status === 'failed') {
          fail(step.error);
          return;
        }
        if (step.status === 'established') {
          settled = true;
          clearTimeout(timer);
          ws.removeAllListeners('message');
          ws.removeAllListeners('close');
          ws.removeAllListeners('error');
          ws.removeAllListeners('unexpected-response');
          const conn = new CustodianConnection(ws, step.session);
          conn.send({ type: 'hello', protocol: WIRE_VERSION, client: options.client });
          resolve(conn);
        }
      });
    });
  }

  /** Sets the handler for coordinator messages; queued ones are delivered at once. */
  set onMessage(handler: (m: CoordinatorMessage) => void) {
    this.#handler = handler;
    const queued = this.#queue;
    this.#queue = [];
    for (const m of queued) handler(m);
  }

  /** Sets the handler called once when the connection ends: null for a normal close, else why. */
  set onClose(handler: (error: CeremonyError | null) => void) {
    this.#closeHandler = handler;
    if (this.#ended) handler(this.#ended.error);
  }

  /** True until the connection ended. */
  get open(): boolean {
    return this.#ended === null;
  }

  /** Seals and sends a message; does nothing after the end. Wipes nothing: the caller owns `message`. */
  send(message: CustodianMessage): void {
    if (this.#ended !== null) return;
    this.ws.send(sealMessage(this.channel.sealer, message), { binary: true });
  }

  /** Closes the connection normally. */
  close(): void {
    if (this.#ended !== null) return;
    this.ws.close(1000, 'done');
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  #onFrame(bytes: Uint8Array, isBinary: boolean): void {
    if (this.#ended !== null || this.#failure !== null) return;
    if (!isBinary) {
      this.#fail(wireError(WireErrorCode.TEXT_MESSAGE, 'the coordinator sent a text message'));
      return;
    }
    let message: CoordinatorMessage;
    try {
      message = openCoordinatorFrame(this.channel.opener, bytes);
    } catch (e) {
      this.#fail(isCeremonyError(e) ? e : wireError(WireErrorCode.MALFORMED, 'a frame from the coordinator could not be processed'));
      return;
    }
    if (message.type === 'error') {
      this.#failure = new CeremonyError('device', message.code, `the coordinator closed the connection: ${message.message}`, { hint: message.hint });
      return;
    }
    if (this.#handler) this.#handler(message);
    else this.#queue.push(message);
  }

  #fail(error: CeremonyError): void {
    this.#failure = error;
    this.ws.terminate();
  }

  #end(code: number, reason: string): void {
    if (this.#ended !== null) return;
    this.channel.dispose();
    for (const m of this.#queue) wipeMessage(m);
    this.#queue = [];
    let error: CeremonyError | null = this.#failure;
    if (error === null && code !== 1000) {
      error = wireError(WireErrorCode.CONNECTION_LOST, `the connection to the coordinator ended (${code}${reason ? ` ${reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 80)}` : ''})`);
    }
    this.#ended = { error };
    this.#closeHandler?.(error);
  }
}
