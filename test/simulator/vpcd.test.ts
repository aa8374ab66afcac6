/**
 * The vpcd bridge against a stand-in vpcd (a TCP server on port 0 speaking vpcd's framing):
 * control codes (power off / on / reset answer nothing, get-ATR answers the ATR), APDUs answered
 * in order even when frames arrive split or coalesced, reconnection with backoff when vpcd is
 * away, and a clean stop. Also `hsm-ceremony sim` option parsing and its run loop.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import { parseVpcdAddress, VpcdBridge } from '../../app/simulator/vpcd.ts';
import { parseSimArgs, runSimulator, sim } from '../../app/cli/commands/sim.ts';
import type { CliIo } from '../../app/cli/command.ts';
import { newCard, SELECT_APPLET } from './helpers.ts';

/** A minimal vpcd: accepts one card, lets the test send frames and read answers. */
class FakeVpcd {
  server: Server;
  socket: Socket | undefined;
  #buffer = Buffer.alloc(0);
  #frames: Buffer[] = [];
  #waiters: ((b: Buffer) => void)[] = [];
  #connWaiters: (() => void)[] = [];
  connections = 0;

  constructor() {
    this.server = createServer((s) => {
      this.socket = s;
      this.connections++;
      s.on('data', (d: Buffer) => this.#onData(d));
      for (const w of this.#connWaiters.splice(0)) w();
    });
  }

  listen(port = 0): Promise<number> {
    return new Promise((r) => this.server.listen(port, '127.0.0.1', () => r((this.server.address() as AddressInfo).port)));
  }

  waitConnection(): Promise<void> {
    return this.socket && !this.socket.destroyed ? Promise.resolve() : new Promise((r) => this.#connWaiters.push(r));
  }

  #onData(d: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, d]);
    while (this.#buffer.length >= 2) {
      const n = this.#buffer.readUInt16BE(0);
      if (this.#buffer.length < 2 + n) return;
      const f = this.#buffer.subarray(2, 2 + n);
      this.#buffer = this.#buffer.subarray(2 + n);
      const w = this.#waiters.shift();
      if (w) w(f);
      else this.#frames.push(f);
    }
  }

  /** Sends raw bytes (already framed). */
  raw(b: Uint8Array): void {
    this.socket!.write(b);
  }

  frame(payload: Uint8Array): Buffer {
    const f = Buffer.alloc(2 + payload.length);
    f.writeUInt16BE(payload.length, 0);
    f.set(payload, 2);
    return f;
  }

  send(payload: Uint8Array): void {
    this.raw(this.frame(payload));
  }

  next(): Promise<Buffer> {
    const f = this.#frames.shift();
    return f ? Promise.resolve(f) : new Promise((r) => this.#waiters.push(r));
  }

  /** Sends an APDU and returns the answer. */
  async apdu(hex: string): Promise<string> {
    this.send(fromHex(hex));
    return toHex(await this.next());
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const logs: string[] = [];
const log = (l: string): void => {
  logs.push(l);
};

describe('VpcdBridge', () => {
  it('answers get-ATR, ignores power control codes, answers APDUs, and logs no APDU data', async () => {
    const vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    const card = newCard();
    const bridge = new VpcdBridge(card, { port, log, traceHeaders: true });
    bridge.start();
    await vpcd.waitConnection();
    await bridge.waitConnected(5000);
    vpcd.send(Uint8Array.of(0)); // power off
    vpcd.send(Uint8Array.of(1)); // power on
    vpcd.send(Uint8Array.of(2)); // reset
    vpcd.send(Uint8Array.of(4)); // get ATR
    assert.equal(toHex(await vpcd.next()), '3bfe1800008131fe458031815448534d31738021408107fa', 'only the ATR request is answered');
    await bridge.waitAttached(1000);
    assert.equal(await vpcd.apdu('00A4040007627601FF00000000'), '6a82');
    assert.match(await vpcd.apdu(SELECT_APPLET), /9000$/);
    assert.equal(bridge.apduCount, 2);
    assert.ok(logs.some((l) => l.startsWith('APDU 00 a4 04 00 -> SW 6a82')), 'header trace');
    assert.ok(!logs.some((l) => l.includes('e82b0601')), 'never the data');
    await bridge.stop();
    await vpcd.close();
  });

  it('reassembles split frames and answers coalesced ones in order', async () => {
    const vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    const bridge = new VpcdBridge(newCard(), { port });
    bridge.start();
    await vpcd.waitConnection();
    const select = vpcd.frame(fromHex(SELECT_APPLET));
    vpcd.raw(select.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 20));
    vpcd.raw(select.subarray(1, 9));
    await new Promise((r) => setTimeout(r, 20));
    vpcd.raw(Buffer.concat([select.subarray(9), vpcd.frame(fromHex('0084000008')), vpcd.frame(Uint8Array.of(4))]));
    assert.match(toHex(await vpcd.next()), /9000$/);
    const challenge = await vpcd.next();
    assert.equal(challenge.length, 10);
    assert.equal(toHex(challenge.subarray(8)), '9000');
    assert.equal((await vpcd.next()).length, 24, 'ATR');
    await bridge.stop();
    await vpcd.close();
  });

  it('keeps retrying while vpcd is absent, connects when it appears, reconnects after it goes away', async () => {
    const probe = new FakeVpcd();
    const port = await probe.listen();
    await probe.close(); // the port is now free: vpcd "not started yet"
    const card = newCard();
    const bridge = new VpcdBridge(card, { port, log, retryMs: 20, maxRetryMs: 80 });
    bridge.start();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(bridge.connected, false);
    const vpcd = new FakeVpcd();
    await vpcd.listen(port);
    await bridge.waitConnected(5000);
    assert.match(await vpcd.apdu(SELECT_APPLET), /9000$/);
    assert.equal(card.powered, true);
    vpcd.socket!.destroy(); // pcscd restarted
    await new Promise((r) => setTimeout(r, 30));
    await vpcd.waitConnection();
    await bridge.waitConnected(5000);
    assert.ok(vpcd.connections >= 2, 'reconnected');
    assert.ok(logs.some((l) => l.includes('closed the connection; reconnecting')));
    await bridge.stop();
    assert.equal(bridge.connected, false);
    await vpcd.close();
  });

  it('waitConnected and waitAttached time out with a message naming the endpoint', async () => {
    const bridge = new VpcdBridge(newCard(), { port: 1, retryMs: 10, maxRetryMs: 10 });
    bridge.start();
    await assert.rejects(bridge.waitConnected(50), /127\.0\.0\.1:1 not reachable/);
    await assert.rejects(bridge.waitAttached(50), /did not talk to the card/);
    await bridge.stop();
  });
});

describe('parseVpcdAddress', () => {
  it('accepts HOST:PORT, HOST, :PORT and PORT', () => {
    assert.deepEqual(parseVpcdAddress(undefined), { host: '127.0.0.1', port: 35963 });
    assert.deepEqual(parseVpcdAddress('35964'), { host: '127.0.0.1', port: 35964 });
    assert.deepEqual(parseVpcdAddress(':35964'), { host: '127.0.0.1', port: 35964 });
    assert.deepEqual(parseVpcdAddress('pcsc.local'), { host: 'pcsc.local', port: 35963 });
    assert.deepEqual(parseVpcdAddress('10.0.0.2:4000'), { host: '10.0.0.2', port: 4000 });
    assert.deepEqual(parseVpcdAddress('[::1]:4000'), { host: '::1', port: 4000 });
    assert.throws(() => parseVpcdAddress('host:70000'), RangeError);
  });
});

describe('hsm-ceremony sim', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hsm-sim-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const usage = (argv: string[], pattern: RegExp) =>
    assert.throws(() => parseSimArgs(argv, dir), (e: unknown) => e instanceof CeremonyError && e.code === 'USAGE' && e.kind === 'usage' && pattern.test(e.message) && !!e.hint);

  it('parses --vpcd with and without a value, the state file, flavor, seed and trace', () => {
    assert.deepEqual(parseSimArgs(['--vpcd'], dir), { host: '127.0.0.1', port: 35963, statePath: undefined, flavor: undefined, seed: undefined, trace: false });
    const o = parseSimArgs(['--vpcd', '127.0.0.1:35964', '--sim-state', 's.json', '--flavor', 'pico', '--seed', '0a0b', '--trace'], dir);
    assert.equal(o.port, 35964);
    assert.equal(o.statePath, join(dir, 's.json'));
    assert.equal(o.flavor, 'pico');
    assert.equal(toHex(o.seed!), '0a0b');
    assert.equal(o.trace, true);
    assert.equal(parseSimArgs(['--sim-state', 'x.json', '--vpcd'], dir).port, 35963, '--vpcd last, no value');
    assert.equal(parseSimArgs(['--vpcd', '--flavor', 'pico'], dir).flavor, 'pico', '--vpcd followed by an option');
  });

  it('refuses what it cannot run', () => {
    usage([], /needs --vpcd/);
    usage(['--vpcd', '--flavor', 'nitro'], /--flavor must be sc-hsm or pico/);
    usage(['--vpcd', '--seed', 'xyz'], /--seed is not hex/);
    usage(['--vpcd', '--seed', ''], /1\.\.256 bytes/);
    usage(['--vpcd', 'host:99999'], /--vpcd: port out of range/);
    usage(['--vpcd', '--bogus'], /unknown option/);
    assert.deepEqual(sim.path, ['sim']);
    assert.match(sim.help, /--vpcd \[HOST:PORT\]/);
  });

  it('runs the bridge until aborted, printing seed, serial and reader; the state file follows the card', async () => {
    const vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const io: CliIo = { stdin: new PassThrough(), stdout: out, stderr: err, env: {}, cwd: dir };
    const stop = new AbortController();
    const statePath = join(dir, 'card.json');
    const done = runSimulator({ host: '127.0.0.1', port, statePath, flavor: 'pico', seed: Uint8Array.of(5), trace: false }, io, stop.signal);
    await vpcd.waitConnection();
    assert.match(await vpcd.apdu(SELECT_APPLET), /9000$/);
    stop.abort();
    assert.equal(await done, 0);
    assert.match(text, /simulated SmartCard-HSM \(pico flavor\), serial ESPICOHSMTR/);
    assert.match(text, /seed {3}: 05\n/);
    assert.match(text, /reader : vpcd 127\.0\.0\.1:\d+|reader : Virtual PCD/);
    assert.match(text, /stopped after 1 commands/);
    assert.ok(existsSync(statePath));
    await vpcd.close();
  });
});
