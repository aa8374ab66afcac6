// Attacks on a hosted ceremony over real WebSockets on loopback. Each must fail cleanly: the
// attacker's connection ends, the ceremony state (imports, fingerprints, held secrets, the card's
// DKEK) is unchanged, a burnt code is replaced by a fresh one, and an honest custodian can still
// join and import afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { CoordinatorHandshake, CustodianHandshake } from '../../protocol/channel/handshake.ts';
import { generateJoinCode, parseJoinCode } from '../../protocol/channel/join-code.ts';
import { encodeWireJson } from '../../protocol/wire/wire-json.ts';
import { CustodianConnection } from '../../custodian-client/connection.ts';
import { CeremonyServer } from '../../app/net/ceremony-server.ts';
import { JoinCodeBook } from '../../app/net/join-code-book.ts';
import { rawJoin, rawSocket, SHARE_S1, startCoordinator, until, wrongCode, type Coordinator } from './net-helpers.ts';

let k: Coordinator;
let baseline: Record<string, unknown>;

before(async () => {
  k = await startCoordinator({ names: ['alice', 'bob', 'carol'], server: { handshakeTimeoutMs: 600, idleTimeoutMs: 5000 } });
  baseline = await k.snapshot();
});
after(async () => {
  k.runner.cancel('test over');
  await k.done;
});

async function unchanged(): Promise<void> {
  await until(() => k.runner.vault.size === 0, 'the vault to be empty');
  assert.deepEqual(await k.snapshot(), baseline);
}

const generation = (slot: number) => k.runner.world.slots[slot - 1]!.generation;
const connected = (slot: number) => k.runner.world.slots[slot - 1]!.connection !== null;
/** Waits until the slot is free and has a live code, and returns that code. */
async function freeCode(slot: number): Promise<string> {
  await until(() => !connected(slot) && k.runner.codes.has(slot), `slot ${slot} to be free with a live code`);
  return k.codes.get(slot)!;
}

describe('attacks on the coordinator', () => {
  it('a wrong code: the join fails, the code is burnt and replaced, nothing else changes', async () => {
    const g = generation(1);
    const c = await rawJoin(k.url, wrongCode(await freeCode(1)));
    assert.equal(c.failure, 'CHANNEL_PEER_ABORTED:confirm-failed');
    await until(() => generation(1) === g + 1, 'a fresh code for slot 1');
    assert.ok(k.events.some((e) => e.type === 'handshake-failed' && e.slot === 1 && e.code === 'CHANNEL_CONFIRM_FAILED'));
    await unchanged();
  });

  it('a code for another slot number fails confirmation (the nameplate is part of the password)', async () => {
    const code2 = await freeCode(2);
    const g = generation(3);
    const c = await rawJoin(k.url, `3-${code2.split('-').slice(1).join('-')}`);
    assert.equal(c.failure, 'CHANNEL_PEER_ABORTED:confirm-failed');
    await until(() => generation(3) === g + 1, 'a fresh code for slot 3');
    await unchanged();
  });

  it('a man in the middle with its own codes fails on both sides; the custodian gets a check error', async () => {
    // The attacker poses as the coordinator to the custodian (who types the real code) and as the
    // custodian to the coordinator; it knows neither side's code, so it uses codes of its own.
    const realCode = await freeCode(1);
    const g = generation(1);
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const port = (wss.address() as { port: number }).port;
    wss.on('connection', (victim) => {
      const fake = new CoordinatorHandshake({ resolveCode: (slot) => generateJoinCode(slot) });
      const upstream = new WebSocket(k.url, { perMessageDeflate: false });
      upstream.on('error', () => undefined);
      const mine = new CustodianHandshake({ code: generateJoinCode(1) });
      upstream.on('open', () => upstream.send(mine.start()));
      upstream.on('message', (d: Buffer) => {
        const step = mine.receive(new Uint8Array(d));
        if (step.send) upstream.send(step.send);
      });
      victim.on('message', (d: Buffer) => {
        const step = fake.receive(new Uint8Array(d));
        if (step.send) victim.send(step.send);
        if (step.status !== 'continue') victim.close();
      });
    });
    await assert.rejects(
      CustodianConnection.open({ url: `ws://127.0.0.1:${port}/v1`, code: parseJoinCode(realCode), client: 'victim' }),
      (e: { code: string; kind: string }) => e.code === 'CHANNEL_PEER_ABORTED' && e.kind === 'check',
    );
    await until(() => generation(1) === g + 1, 'slot 1 to get a fresh code after the attacker used the real one');
    wss.close();
    await unchanged();
  });

  it('a replayed frame closes the connection; the slot gets a fresh code', async () => {
    const c = await rawJoin(k.url, await freeCode(2));
    assert.ok(c.session);
    const req = (await c.waitMessage((m) => m.type === 'request-share')) as { request: number };
    const frame = c.seal({ type: 'progress', request: req.request, percent: 10 });
    c.sendRaw(frame.slice());
    await k.waitFor((e) => e.type === 'deriving' && e.slot === 2 && e.percent === 10, 'the genuine progress');
    const g = generation(2);
    c.sendRaw(frame);
    assert.equal(await c.closed, 4401);
    await until(() => generation(2) === g + 1 && !connected(2), 'slot 2 to get a fresh code');
    await unchanged();
  });

  it('a reordered frame closes the connection', async () => {
    const c = await rawJoin(k.url, await freeCode(2));
    const req = (await c.waitMessage((m) => m.type === 'request-share')) as { request: number };
    const first = c.seal({ type: 'progress', request: req.request, percent: 20 });
    const second = c.seal({ type: 'share', request: req.request, share: SHARE_S1 });
    c.sendRaw(second);
    c.sendRaw(first);
    assert.equal(await c.closed, 4401);
    await until(() => !connected(2), 'slot 2 to be free');
    await unchanged();
  });

  it('a bit-flipped frame closes the connection, and the share inside never arrives', async () => {
    const c = await rawJoin(k.url, await freeCode(2));
    const req = (await c.waitMessage((m) => m.type === 'request-share')) as { request: number };
    const frame = c.seal({ type: 'share', request: req.request, share: SHARE_S1 });
    frame[frame.length - 20]! ^= 0x01;
    c.sendRaw(frame);
    assert.equal(await c.closed, 4401);
    await until(() => !connected(2), 'slot 2 to be free');
    await unchanged();
  });

  it('an oversized message is refused by the WebSocket layer (1009), before and after the handshake', async () => {
    const ws = await rawSocket(k.url);
    const closed = once(ws, 'close');
    ws.send(new Uint8Array(70 * 1024));
    assert.equal((await closed)[0], 1009);
    const c = await rawJoin(k.url, await freeCode(2));
    c.sendRaw(new Uint8Array(65 * 1024 + 1));
    assert.equal(await c.closed, 1009);
    await until(() => !connected(2), 'slot 2 to be free');
    await unchanged();
  });

  it('garbage, text messages and unknown message types end the connection with a documented code', async () => {
    // garbage instead of a hello: refused before any code is touched
    const g1 = generation(1);
    const ws = await rawSocket(k.url);
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(d));
    const closed = once(ws, 'close');
    ws.send(new Uint8Array([0x42, 1, 2, 3]));
    assert.equal((await closed)[0], 4403);
    assert.deepEqual([...got[0]!], [0x7f, 0x01], 'abort bad-message');
    assert.equal(generation(1), g1, 'no code burnt by garbage');
    // a text message
    const ws2 = await rawSocket(k.url);
    const closed2 = once(ws2, 'close');
    ws2.send('{"type":"hello"}');
    assert.equal((await closed2)[0], 4400);
    // an authentic frame with an unknown type: told why, then closed
    const c = await rawJoin(k.url, await freeCode(3));
    c.sendRaw(c.session!.sealer.seal(encodeWireJson({ type: 'gimme-the-dkek' })));
    const err = await c.waitMessage((m) => m.type === 'error');
    assert.equal(err.type === 'error' && err.code, 'WIRE_UNKNOWN_TYPE');
    assert.equal(await c.closed, 4400);
    // an unknown field
    const c2 = await rawJoin(k.url, await freeCode(3));
    const req = (await c2.waitMessage((m) => m.type === 'request-share')) as { request: number };
    c2.sendRaw(c2.session!.sealer.seal(encodeWireJson({ type: 'progress', request: req.request, percent: 1, share: SHARE_S1 })));
    const err2 = await c2.waitMessage((m) => m.type === 'error');
    assert.equal(err2.type === 'error' && err2.code, 'WIRE_UNKNOWN_FIELD');
    // a first message that is not hello, and a hello of another version
    await c2.closed;
    const c3 = await rawJoin(k.url, await freeCode(3), { hello: false });
    c3.sendRaw(c3.seal({ type: 'hello', protocol: 3, client: 'future' }));
    const err3 = await c3.waitMessage((m) => m.type === 'error');
    assert.equal(err3.type === 'error' && err3.code, 'WIRE_UNSUPPORTED_VERSION');
    await until(() => !connected(3), 'slot 3 to be free');
    await unchanged();
  });

  it('a second client for a claimed slot is refused and the first keeps its session', async () => {
    const code = await freeCode(1);
    const first = await rawJoin(k.url, code);
    assert.ok(first.session);
    const second = await rawJoin(k.url, code);
    assert.equal(second.failure, 'CHANNEL_PEER_ABORTED:unknown-nameplate');
    const req = (await first.waitMessage((m) => m.type === 'request-share')) as { request: number };
    first.sendRaw(first.seal({ type: 'progress', request: req.request, percent: 55 }));
    await k.waitFor((e) => e.type === 'deriving' && e.slot === 1 && e.percent === 55, 'the first client still speaking');
    first.ws.close();
    await until(() => !connected(1), 'slot 1 to be free');
    await unchanged();
  });

  it('two clients racing for one slot: exactly one wins', async () => {
    const code = await freeCode(2);
    const [a, b] = await Promise.all([rawJoin(k.url, code), rawJoin(k.url, code)]);
    const winners = [a, b].filter((c) => c.session !== null);
    assert.equal(winners.length, 1);
    assert.equal([a, b].find((c) => c.session === null)!.failure, 'CHANNEL_PEER_ABORTED:unknown-nameplate');
    winners[0]!.ws.close();
    await until(() => !connected(2), 'slot 2 to be free');
    await unchanged();
  });

  it('a browser-style request with an Origin header is refused with 403; other paths with 404', async () => {
    const status = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => undefined);
      });
    assert.equal(await status(k.url, { Origin: 'https://evil.example' }), 403);
    assert.equal(await status(k.url.replace('/v1', '/v2')), 404);
    assert.equal(await status(k.url.replace('/v1', '/')), 404);
    assert.ok(k.notes.some((n) => n.includes('Origin')));
    await unchanged();
  });

  it('slow loris: stalled headers, a silent WebSocket and a stalled handshake are cut at the timeout', async () => {
    const { port } = new URL(k.url);
    // headers that never finish
    const sock = tcpConnect(Number(port), '127.0.0.1');
    await once(sock, 'connect');
    sock.write('GET /v1 HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    await once(sock, 'close');
    assert.ok(Date.now() - t0 < 5000);
    // an upgraded socket that never says hello
    const ws = await rawSocket(k.url);
    assert.equal((await once(ws, 'close'))[0], 4408);
    // a hello, then nothing: the code it took is burnt and replaced
    const g = generation(2);
    const ws2 = await rawSocket(k.url);
    const hs = new CustodianHandshake({ code: parseJoinCode(await freeCode(2)) });
    ws2.send(hs.start());
    assert.equal((await once(ws2, 'close'))[0], 4408);
    await until(() => generation(2) === g + 1, 'a fresh code for slot 2');
    assert.ok(k.events.some((e) => e.type === 'handshake-failed' && e.code === 'WIRE_HANDSHAKE_TIMEOUT'));
    await unchanged();
  });

  it('random bytes and random valid-looking messages for a bounded time: no crash, no state change', async () => {
    const end = Date.now() + 2500;
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
    const shapes = [
      () => ({ type: 'share', request: Math.floor(rand() * 5), share: bytes(32) }),
      () => ({ type: 'progress', request: Math.floor(rand() * 50), percent: Math.floor(rand() * 120) }),
      () => ({ type: 'pins', request: 1, soPin: bytes(16), pin: bytes(6) }),
      () => ({ type: 'pwd-share', request: 2, id: '1', value: bytes(10) }),
      () => ({ type: 'hello', protocol: 1, client: 'x' }),
      () => ({ type: ['created', 'decline', 'confirmed', 'welcome', 'zz'][Math.floor(rand() * 5)]!, request: 3 }),
    ];
    let rounds = 0;
    while (Date.now() < end) {
      rounds++;
      if (rand() < 0.4) {
        // random bytes as a handshake message
        const ws = await rawSocket(k.url);
        const closed = once(ws, 'close');
        ws.send(rand() < 0.5 ? bytes(1 + Math.floor(rand() * 100)) : Uint8Array.of(0x01, 0x01, 0x00, 0x01, ...bytes(80)));
        await closed;
        continue;
      }
      const slot = 1 + Math.floor(rand() * 3);
      const c = await rawJoin(k.url, await freeCode(slot));
      if (!c.session) continue;
      await c.waitMessage((m) => m.type === 'request-share').catch(() => undefined);
      for (let i = 0; i < 3 && c.ws.readyState === WebSocket.OPEN; i++) {
        const m = shapes[Math.floor(rand() * shapes.length)]!();
        // never an authentic share for the open request: that would be a legitimate import
        if (m.type === 'share') (m as { request: number }).request += 1000;
        c.sendRaw(rand() < 0.2 ? bytes(40) : c.session.sealer.seal(encodeWireJson(m)));
      }
      c.ws.close();
      await c.closed;
    }
    assert.ok(rounds > 5, `only ${rounds} rounds`);
    await until(() => [1, 2, 3].every((s) => !connected(s)), 'every slot to be free');
    await unchanged();
  });

  it('afterwards an honest custodian still joins and imports', async () => {
    const conn = await CustodianConnection.open({ url: k.url, code: parseJoinCode(await freeCode(1)), client: 'honest' });
    const messages: { type: string; request?: number; ok?: boolean }[] = [];
    conn.onMessage = (m) => messages.push(m as never);
    await until(() => messages.some((m) => m.type === 'request-share'), 'the request');
    const req = messages.find((m) => m.type === 'request-share')!.request!;
    conn.send({ type: 'share', request: req, share: SHARE_S1.slice() });
    await until(() => messages.some((m) => m.type === 'result' && m.ok === true), 'the import');
    const status = await k.hsm.dkekStatus();
    assert.equal(status.outstanding, 2);
    assert.equal(k.runner.vault.size, 0);
    conn.close();
  });
});

describe('connection cap', () => {
  it('refuses upgrades beyond the cap with 503 and frees the places when sockets close', async () => {
    const book = new JoinCodeBook();
    const server = new CeremonyServer({ host: '127.0.0.1', port: 0, maxConnections: 2, takeCode: (s) => book.take(s), onCodeBurnt: () => undefined, onSession: () => undefined });
    const { port } = await server.listen();
    const url = `ws://127.0.0.1:${port}/v1`;
    const a = await rawSocket(url);
    const b = await rawSocket(url);
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
      ws.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
      ws.on('open', () => resolve('open'));
    });
    assert.ok(refused === 'http 503' || refused.startsWith('error'), refused);
    a.close();
    b.close();
    await until(() => server.connectionCount === 0, 'the connections to close');
    const c = await rawSocket(url);
    c.close();
    await server.close();
  });

  it('the raw TCP listener also drops sockets beyond the cap', async () => {
    const book = new JoinCodeBook();
    const server = new CeremonyServer({ host: '127.0.0.1', port: 0, maxConnections: 1, takeCode: (s) => book.take(s), onCodeBurnt: () => undefined, onSession: () => undefined });
    const { port } = await server.listen();
    const s1 = tcpConnect(port, '127.0.0.1');
    await once(s1, 'connect');
    const s2 = tcpConnect(port, '127.0.0.1');
    s2.on('error', () => undefined);
    await once(s2, 'close');
    s1.destroy();
    await server.close();
  });
});
