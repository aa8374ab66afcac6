/**
 * The coordinator's WebSocket server (docs/protocol.md §6). It turns TCP connections into
 * authenticated, encrypted sessions bound to one slot, or drops them. Hardening, in the order a
 * connection meets it:
 *
 * 1. TCP: at most `maxConnections` sockets (`server.maxConnections`); a socket that has not
 *    finished its HTTP upgrade within the handshake timeout is destroyed (slow-loris headers).
 * 2. HTTP upgrade: the path must be `/v1` (404 otherwise); a request carrying an `Origin` header
 *    is a browser and is refused (403), which stops cross-site WebSocket hijacking; a full server
 *    answers 503. Plain HTTP requests get 426.
 * 3. WebSocket: `maxPayload` 64 KiB, no compression (no inflate bombs), binary messages only.
 * 4. Channel handshake (protocol/channel): the code of the hello's nameplate is taken from the
 *    book when the hello arrives, so it admits one hello; a handshake that then fails or stalls
 *    burns it and the ceremony issues a fresh one (`onCodeBurnt`).
 * 5. The first frame must be `hello` with this protocol version; only then is the session handed
 *    to the ceremony (`onSession`). Handshake and hello together must finish within the handshake
 *    timeout.
 * 6. After that, any frame that fails to open (forged, replayed, reordered, reflected) closes the
 *    connection at once without an answer; a frame that opens but does not decode or validate gets
 *    an `error` message, then the connection is closed. Nothing is ever resynchronised.
 * 7. Idle: the server pings every third of the idle timeout; a peer silent for the whole timeout
 *    (not even a pong) is dropped.
 *
 * Nothing here logs a code, a key or a frame's content.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { CoordinatorHandshake, CustodianHandshake, type ChannelSession } from '../../protocol/channel/handshake.ts';
import { generateJoinCode, wipeJoinCode, type JoinCode } from '../../protocol/channel/join-code.ts';
import { isCeremonyError, usageError, type CeremonyError } from '../../protocol/errors.ts';
import type { Rng } from '../../protocol/random.ts';
import type { CoordinatorMessage } from '../../protocol/wire/coordinator-messages.ts';
import type { CustodianMessage } from '../../protocol/wire/custodian-messages.ts';
import { openCustodianFrame, sealMessage, wipeMessage } from '../../protocol/wire/message-codec.ts';
import { CloseCode, wireError, WireErrorCode } from '../../protocol/wire/wire-error.ts';
import { WIRE_MAX_MESSAGE_BYTES, WIRE_MAX_PLAINTEXT_BYTES, WIRE_PATH, WIRE_VERSION, WIRE_MIN_VERSION, agreedVersion } from '../../protocol/wire/wire-version.ts';

/** Defaults, in one place for docs/protocol.md §6. */
export const SERVER_DEFAULTS = {
  maxConnections: 64,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
} as const;

export interface CeremonyServerOptions {
  /** address to listen on; 127.0.0.1 unless the operator opened the LAN */
  host: string;
  /** port; 0 = a free one */
  port: number;
  /** cap on open TCP connections and WebSocket sessions (default 64) */
  maxConnections?: number;
  /** from TCP accept to a validated hello (default 10 s) */
  handshakeTimeoutMs?: number;
  /** silence after which an established peer is dropped (default 60 s) */
  idleTimeoutMs?: number;
  /** randomness for the handshakes */
  rng?: Rng;
  /** the live code for a slot, taken out of the book (JoinCodeBook.take) */
  takeCode(slot: number): JoinCode | null;
  /** a handshake failed after it had taken the slot's code: the code is burnt */
  onCodeBurnt(slot: number, error: CeremonyError): void;
  /** a session is established and said hello */
  onSession(session: SecureSession): void;
  /** one line for the operator about connections that were refused (public facts only) */
  log?(line: string): void;
  /** the oldest message revision accepted in hello (default WIRE_MIN_VERSION; host PLAN needs 2) */
  minVersion?: number;
}

let nextConnectionId = 1;

/**
 * An established, authenticated session bound to one slot. The ceremony sends messages and reads
 * them through it; everything else (framing, keys, pings) stays inside.
 */
export class SecureSession {
  readonly id = nextConnectionId++;
  /** called for every validated message after hello (secrets inside; the receiver owns them) */
  onMessage: (message: CustodianMessage) => void = (m) => wipeMessage(m);
  /** called once when the connection has ended, with a reason for people */
  onClose: (reason: string) => void = () => undefined;
  #closed = false;
  #closeReason: string | null = null;

  constructor(
    readonly slot: number,
    readonly sas: string,
    readonly transcriptHash: Uint8Array,
    readonly client: string,
    /** the message revision both sides speak (the lower of hello.protocol and WIRE_VERSION) */
    readonly protocol: number,
    private readonly channel: ChannelSession,
    private readonly ws: WebSocket,
  ) {}

  /** True until the connection closed. */
  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Seals and sends one message; does nothing once closed. A message too large for a frame is a
   * defect in the coordinator, reported by closing the connection.
   */
  send(message: CoordinatorMessage): void {
    if (this.#closed) return;
    let frame: Uint8Array;
    try {
      frame = sealMessage(this.channel.sealer, message);
    } catch (e) {
      // a defect in the coordinator (a message it should never build); the text names a field, never a value
      this.close(CloseCode.goingAway, `internal error while sealing a ${message.type} message: ${(e as Error).message}`);
      return;
    }
    this.ws.send(frame, { binary: true });
  }

  /**
   * Closes the connection; with `error`, first sends it as an `error` message (only on a channel
   * that is still trusted).
   */
  close(code: number, reason: string, error?: { code: string; message: string; hint: string }): void {
    if (this.#closed) return;
    if (error) this.send({ type: 'error', code: error.code, message: error.message, hint: error.hint });
    this.#closeReason ??= reason;
    this.ws.close(code, reason.slice(0, 120));
    // a peer that never answers the close frame is cut off
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** @internal called by the connection when the socket is gone */
  ended(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channel.dispose();
    this.onClose(this.#closeReason ?? reason);
  }
}

/**
 * One incoming WebSocket from accept to close: handshake, hello, then frames for its session.
 */
class Connection {
  readonly #handshake: CoordinatorHandshake;
  #slot: number | null = null;
  #codeTaken = false;
  #channel: ChannelSession | null = null;
  #session: SecureSession | null = null;
  #done = false;
  #lastSeen = Date.now();
  #handshakeTimer: NodeJS.Timeout;
  #pingTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly server: CeremonyServer,
    private readonly o: Required<Pick<CeremonyServerOptions, 'handshakeTimeoutMs' | 'idleTimeoutMs'>> & CeremonyServerOptions,
  ) {
    this.#handshake = new CoordinatorHandshake({
      ...(o.rng ? { rng: o.rng } : {}),
      frameOptions: { maxPlaintext: WIRE_MAX_PLAINTEXT_BYTES },
      resolveCode: (slot) => {
        this.#slot = slot;
        const code = o.takeCode(slot);
        if (code === null) return null;
        this.#codeTaken = true;
        // The handshake copies the code's bytes synchronously (joinCodePrs) before it returns;
        // wipe our copy right after.
        queueMicrotask(() => wipeJoinCode(code));
        return code;
      },
    });
    this.#handshakeTimer = setTimeout(() => this.#fail(wireError(WireErrorCode.HANDSHAKE_TIMEOUT, 'the join did not complete in time'), CloseCode.timeout), o.handshakeTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('pong', () => (this.#lastSeen = Date.now()));
    ws.on('close', () => this.#ended('the connection closed'));
    ws.on('error', () => this.#ended('the connection failed'));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#done) return;
    this.#lastSeen = Date.now();
    const bytes = toBytes(data);
    if (!isBinary) {
      bytes.fill(0);
      this.#fail(wireError(WireErrorCode.TEXT_MESSAGE, 'a text message arrived; the protocol is binary'), CloseCode.protocolError);
      return;
    }
    if (this.#channel === null) {
      this.#onHandshakeMessage(bytes);
      return;
    }
    let message: CustodianMessage;
    try {
      message = openCustodianFrame(this.#channel.opener, bytes);
    } catch (e) {
      const err = asCeremonyError(e);
      // A frame that did not open: the channel is dead, nothing is sent on it. One that opened but
      // did not validate: tell the peer why (the channel is still authentic), then close.
      const channelDead = this.#channel.opener.dead;
      this.#fail(err, channelDead ? CloseCode.channelFailure : CloseCode.protocolError, !channelDead);
      return;
    }
    if (this.#session === null) {
      this.#onHello(message);
      return;
    }
    if (message.type === 'hello') {
      wipeMessage(message);
      this.#fail(wireError(WireErrorCode.UNEXPECTED_MESSAGE, 'a second hello arrived'), CloseCode.protocolError, true);
      return;
    }
    this.#session.onMessage(message);
  }

  #onHandshakeMessage(bytes: Uint8Array): void {
    const step = this.#handshake.receive(bytes);
    if (step.send) this.ws.send(step.send, { binary: true });
    if (step.status === 'failed') {
      this.#fail(step.error, CloseCode.handshakeFailed);
      return;
    }
    if (step.status === 'established') this.#channel = step.session;
  }

  #onHello(message: CustodianMessage): void {
    const min = this.o.minVersion ?? WIRE_MIN_VERSION;
    if (message.type !== 'hello' || message.protocol < min || message.protocol > WIRE_VERSION) {
      wipeMessage(message);
      const err = wireError(
        WireErrorCode.UNSUPPORTED_VERSION,
        message.type === 'hello'
          ? `the custodian speaks protocol version ${message.protocol}, this coordinator needs version ${min} to ${WIRE_VERSION}`
          : `the first message must be hello, not ${message.type}`,
        { version: message.type === 'hello' ? message.protocol : null },
      );
      this.#fail(err, CloseCode.protocolError, true);
      return;
    }
    clearTimeout(this.#handshakeTimer);
    const channel = this.#channel!;
    const session = new SecureSession(this.#slot!, channel.sas, channel.transcriptHash, message.client, agreedVersion(message.protocol), channel, this.ws);
    this.#session = session;
    const interval = Math.max(50, Math.floor(this.o.idleTimeoutMs / 3));
    this.#pingTimer = setInterval(() => {
      if (Date.now() - this.#lastSeen > this.o.idleTimeoutMs) {
        session.close(CloseCode.timeout, 'the custodian terminal stopped answering');
        this.ws.terminate();
        return;
      }
      try {
        this.ws.ping();
      } catch {
        // the close handler follows
      }
    }, interval);
    this.#pingTimer.unref();
    this.o.onSession(session);
  }

  /**
   * Ends the connection for `error`. Before the session exists, a taken code is reported burnt.
   * With `tell`, the error is sent in an `error` message first (authentic channel only).
   */
  #fail(error: CeremonyError, closeCode: number, tell = false): void {
    if (this.#done) return;
    if (this.#session) {
      this.#session.close(closeCode, error.message, tell ? { code: error.code, message: error.message, hint: error.hint ?? '' } : undefined);
      return;
    }
    if (tell && this.#channel) {
      try {
        this.ws.send(sealMessage(this.#channel.sealer, { type: 'error', code: error.code, message: error.message, hint: error.hint ?? '' }), { binary: true });
      } catch {
        // nothing more to say on a broken channel
      }
    }
    this.#failure = error;
    this.ws.close(closeCode, error.code);
    setTimeout(() => this.ws.terminate(), 2000).unref();
    this.#ended(error.message);
  }

  #failure: CeremonyError | null = null;

  #ended(reason: string): void {
    if (this.#done) {
      if (this.#session) this.#session.ended(reason);
      return;
    }
    this.#done = true;
    clearTimeout(this.#handshakeTimer);
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.server.forget(this);
    if (this.#session) {
      this.#session.ended(reason);
      return;
    }
    this.#channel?.dispose();
    if (this.#codeTaken && this.#slot !== null) {
      const err = this.#failure ?? wireError(WireErrorCode.CONNECTION_LOST, 'the connection ended before the join completed');
      this.o.onCodeBurnt(this.#slot, err);
    } else if (this.#failure) {
      this.o.log?.(`refused a join${this.#slot !== null ? ` for slot ${this.#slot}` : ''}: ${this.#failure.message}`);
    }
  }

  /** Drops the connection without ceremony (server shutdown). */
  terminate(): void {
    this.ws.terminate();
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) {
    const total = data.reduce((n, b) => n + b.length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const b of data) {
      out.set(b, off);
      off += b.length;
    }
    return out;
  }
  const view = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // own copy: ws may reuse or pool the buffer, and the decoders wipe what they are given
  return view.slice();
}

function asCeremonyError(e: unknown): CeremonyError {
  if (isCeremonyError(e)) return e;
  return wireError(WireErrorCode.MALFORMED, 'the frame could not be processed');
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * The listening server. `listen()` resolves with the bound address; `close()` drops everything.
 */
export class CeremonyServer {
  readonly #o: Required<Pick<CeremonyServerOptions, 'maxConnections' | 'handshakeTimeoutMs' | 'idleTimeoutMs'>> & CeremonyServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  readonly #pendingSockets = new Set<Socket>();

  constructor(options: CeremonyServerOptions) {
    const o = {
      ...options,
      maxConnections: options.maxConnections ?? SERVER_DEFAULTS.maxConnections,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? SERVER_DEFAULTS.handshakeTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs,
    };
    if (!Number.isInteger(o.maxConnections) || o.maxConnections < 1) throw new RangeError('maxConnections must be a positive integer');
    if (!(o.handshakeTimeoutMs > 0) || !(o.idleTimeoutMs > 0)) throw new RangeError('timeouts must be positive');
    this.#o = o;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: WIRE_MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#http = createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end('a ceremony endpoint: join with hsm-custodian\n');
    });
    this.#http.maxConnections = o.maxConnections;
    this.#http.headersTimeout = o.handshakeTimeoutMs;
    this.#http.requestTimeout = o.handshakeTimeoutMs;
    this.#http.keepAliveTimeout = 1000;
    this.#http.on('connection', (socket: Socket) => {
      // Slow loris: a socket that has not been upgraded within the handshake timeout is cut.
      this.#pendingSockets.add(socket);
      socket.setTimeout(o.handshakeTimeoutMs, () => socket.destroy());
      socket.on('close', () => this.#pendingSockets.delete(socket));
    });
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    this.#http.on('clientError', (_err, socket) => socket.destroy());
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WIRE_PATH) {
      this.#o.log?.(`refused a connection for path ${JSON.stringify((req.url ?? '').slice(0, 40))} (not ${WIRE_PATH})`);
      refuse(socket, 404, `Not Found: this coordinator speaks ${WIRE_PATH}`);
      return;
    }
    if (req.headers.origin !== undefined) {
      this.#o.log?.('refused a connection with an Origin header (a web browser)');
      refuse(socket, 403, 'Forbidden: browser connections are refused');
      return;
    }
    if (this.#connections.size >= this.#o.maxConnections) {
      this.#o.log?.(`refused a connection: ${this.#connections.size} connections are open (the cap)`);
      refuse(socket, 503, 'Service Unavailable: too many connections');
      return;
    }
    const s = socket as Socket;
    s.setTimeout(0);
    this.#pendingSockets.delete(s);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ws, this, this.#o);
      this.#connections.add(conn);
    });
  }

  /** @internal */
  forget(conn: Connection): void {
    this.#connections.delete(conn);
  }

  /** Number of WebSocket connections open now (handshaking or established). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Starts listening.
   *
   * @returns the bound host and port
   * @throws CeremonyError usage LISTEN_FAILED when the address cannot be bound
   */
  listen(): Promise<{ host: string; port: number }> {
    selfTest();
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(wireErrorForListen(this.#o.host, this.#o.port, e.code ?? 'error'));
      };
      this.#http.once('error', onError);
      this.#http.listen(this.#o.port, this.#o.host, () => {
        this.#http.removeListener('error', onError);
        const a = this.#http.address();
        if (a === null || typeof a === 'string') {
          reject(new Error('the server has no TCP address'));
          return;
        }
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const c of this.#connections) c.terminate();
    for (const s of this.#pendingSockets) s.destroy();
    await new Promise<void>((r) => this.#http.close(() => r()));
    this.#wss.close();
  }
}

/**
 * One complete handshake between the two state machines in memory, before the server opens: the
 * channel code is exercised once (a broken build fails here, not at the first custodian), and the
 * JIT has compiled it, so the first custodians do not pay several times the usual handshake cost.
 *
 * @throws Error if the two sides do not agree (a defect)
 */
function selfTest(): void {
  const code = generateJoinCode(1);
  const custodian = new CustodianHandshake({ code: { nameplate: 1, bytes: code.bytes.slice() } });
  const coordinator = new CoordinatorHandshake({ resolveCode: () => code });
  const reply = coordinator.receive(custodian.start());
  const confirm = reply.send ? custodian.receive(reply.send) : reply;
  const done = confirm.send ? coordinator.receive(confirm.send) : confirm;
  const last = done.send ? custodian.receive(done.send) : done;
  wipeJoinCode(code);
  if (done.status !== 'established' || last.status !== 'established' || done.session.sas !== last.session.sas) {
    throw new Error('channel self-test failed: the two handshake sides do not agree');
  }
  done.session.dispose();
  last.session.dispose();
}

function wireErrorForListen(host: string, port: number, code: string): CeremonyError {
  return usageError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${code}`, {
    hint: code === 'EADDRINUSE' ? 'the port is in use; choose another with --listen ADDR:PORT, or port 0 for a free one' : 'check the address given to --listen',
  });
}
