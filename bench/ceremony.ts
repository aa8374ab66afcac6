// `npm run bench:ceremony`: the network part of a hosted ceremony, measured end to end on loopback
// with the real `hsm-ceremony host` process on the simulator.
//
// 1. Share latency: from the custodian's Enter (the passphrase is in) to the card's answer reaching
//    the custodian's terminal, minus the key derivation (which runs on the custodian's machine and
//    is measured by bench:kdf). One custodian opens a real sc-hsm-tool file with the full KDF; the
//    others open files encrypted with a 1-iteration KDF, so many rounds cost no derivation time.
//    Target: ≤ 100 ms.
// 2. Load: 32 custodians and 8 witnesses connecting at once. Per client: connect + HTTP upgrade +
//    channel handshake + hello, median and worst; the coordinator's memory (VmRSS / VmHWM of its
//    process) once all are in. Targets: median ≤ 50 ms, memory ≤ 150 MB.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJoinCode } from '../protocol/channel/join-code.ts';
import { encryptShareFile, shareFileKdfSync } from '../protocol/dkek/share-file.ts';
import { CustodianConnection } from '../custodian-client/connection.ts';
import { CustodianSession } from '../custodian-client/custodian-session.ts';
import type { TerminalIo } from '../custodian-client/terminal.ts';
import { Writable, Readable } from 'node:stream';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const TSX = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const FIXTURES = join(REPO, '../shared/fixtures/opensc-pico');
const FAST_ROUNDS = 15;
const LOAD_CUSTODIANS = 32;
const LOAD_WITNESSES = 8;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

function quietIo(): TerminalIo {
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  return { stdin: Readable.from([]), stdout: sink(), stderr: sink() };
}

interface Host {
  child: ChildProcess;
  url: string;
  out: () => string;
  exit: Promise<number>;
}

/**
 * The coordinator as it ships: app/cli/main.ts bundled with esbuild like scripts/build.mjs does,
 * into a private folder (dist/ is left alone), so neither tsx's loader nor its memory is measured.
 * Falls back to running the sources under tsx if bundling fails.
 */
async function coordinatorProgram(): Promise<string[]> {
  try {
    const { build } = await import('esbuild');
    const out = mkdtempSync(join(tmpdir(), 'bench-ceremony-bundle-'));
    await build({
      entryPoints: { 'hsm-ceremony': join(REPO, 'app/cli/main.ts') },
      outdir: out,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      external: ['smartcard', 'pcsclite'],
      // as scripts/build.mjs: Ink's optional devtools import resolves to an empty module
      plugins: [{ name: 'no-react-devtools', setup: (b) => { b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'empty' })); b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {}' })); } }],
      banner: { js: "import { createRequire as __req } from 'node:module'; const require = __req(import.meta.url);" },
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    return [join(out, 'hsm-ceremony.js')];
  } catch (e) {
    console.log(`   (could not bundle the coordinator: ${(e as Error).message.split('\n')[0]}; running it under tsx)`);
    return ['--import', TSX, join(REPO, 'app/cli/main.ts')];
  }
}

let program: string[] = [];

async function startHost(dir: string, names: string[], extra: string[]): Promise<Host> {
  mkdirSync(join(dir, 'codes'), { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, [...program, 'host', '--sim', '--codes-out', 'codes', '--json', '--secrets-file', 'secrets.json', '--max-connections', '128', ...extra], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  for (let i = 0; i < 400; i++) {
    if (names.every((n) => existsSync(join(dir, 'codes', `${n}.code`)))) break;
    if (child.exitCode !== null) throw new Error(`host exited: ${err}`);
    await sleep(50);
  }
  const url = /"url":"(ws:[^"]+)"/.exec(out)?.[1];
  if (!url) throw new Error(`no URL from the host: ${err}`);
  return { child, url, out: () => out, exit };
}

function code(dir: string, name: string): string {
  return readFileSync(join(dir, 'codes', `${name}.code`), 'utf8').trim();
}

function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Joins as `name`, answers the share request with the given files, returns the timings. */
async function custodianRound(dir: string, url: string, name: string, o: { fast: boolean }): Promise<{ latency: number; kdf: number; total: number }> {
  const conn = await CustodianConnection.open({ url, code: parseJoinCode(code(dir, name)), client: 'bench' });
  let sent: { request: number; enterAt: number; kdfMs: number } | null = null;
  let answer = 0;
  const session = new CustodianSession(
    conn,
    quietIo(),
    { shareFile: `${name}.pbe`, passphraseFile: `${name}.pw`, yes: true, dir, cwd: dir },
    {
      ...(o.fast ? { kdf: () => shareFileKdfSync(1) } : {}),
      onShareSent: (t) => (sent = t),
      onResult: (t) => {
        if (sent && t.request === sent.request && t.ok) answer = t.at;
      },
    },
  );
  const done = session.run();
  for (let i = 0; i < 2000 && answer === 0; i++) await sleep(5);
  conn.close();
  await done;
  if (!sent || answer === 0) throw new Error(`${name}: no answer from the card`);
  const s = sent as { enterAt: number; kdfMs: number };
  return { latency: answer - s.enterAt - s.kdfMs, kdf: s.kdfMs, total: answer - s.enterAt };
}

async function shareLatency(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ceremony-'));
  const names = Array.from({ length: FAST_ROUNDS + 1 }, (_, i) => `c${i + 1}`);
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ rehearsal: true, pin: '648219', soPin: '3537363231383830' }));
  copyFileSync(join(FIXTURES, 's1.pbe'), join(dir, 'c1.pbe'));
  writeFileSync(join(dir, 'c1.pw'), 'pico-test-pw-1\n');
  for (const n of names.slice(1)) {
    const share = crypto.getRandomValues(new Uint8Array(32));
    writeFileSync(join(dir, `${n}.pbe`), await encryptShareFile(share, new TextEncoder().encode(`pw ${n}`), crypto.getRandomValues(new Uint8Array(8)), shareFileKdfSync(1)));
    writeFileSync(join(dir, `${n}.pw`), `pw ${n}\n`);
  }
  for (const n of names) chmodSync(join(dir, `${n}.pw`), 0o600);
  chmodSync(join(dir, 'secrets.json'), 0o600);
  const host = await startHost(dir, names, ['--custodians', names.join(','), '--init', '--dkek-shares', String(names.length)]);
  console.log(`1. share latency, Enter → card answer at the custodian, minus the key derivation (${host.url})`);
  const real = await custodianRound(dir, host.url, 'c1', { fast: false });
  console.log(`   real sc-hsm-tool file: total ${ms(real.total)}, of which KDF ${ms(real.kdf)} → ${ms(real.latency)} without it`);
  const lat: number[] = [];
  for (const n of names.slice(1)) lat.push((await custodianRound(dir, host.url, n, { fast: true })).latency);
  console.log(`   ${FAST_ROUNDS} more shares (1-iteration KDF): median ${ms(median(lat))}, worst ${ms(Math.max(...lat))}   target ≤ 100 ms: ${Math.max(...lat, real.latency) <= 100 ? 'met' : 'NOT met'}`);
  const exit = await host.exit;
  if (exit !== 0) console.log(`   (host exited ${exit})`);
}

/** One handshake in memory, so the clients' JIT warm-up (one per real custodian machine) is not
 * counted 40 times over in this single process. */
async function warmUp(): Promise<void> {
  const { CustodianHandshake, CoordinatorHandshake } = await import('../protocol/channel/handshake.ts');
  const { generateJoinCode } = await import('../protocol/channel/join-code.ts');
  for (let i = 0; i < 3; i++) {
    const c = generateJoinCode(1);
    const a = new CustodianHandshake({ code: { nameplate: 1, bytes: c.bytes.slice() } });
    const b = new CoordinatorHandshake({ resolveCode: () => c });
    const r1 = b.receive(a.start());
    const r2 = a.receive(r1.send!);
    const r3 = b.receive(r2.send!);
    a.receive(r3.send!);
  }
}

async function load(): Promise<void> {
  await warmUp();
  const dir = mkdtempSync(join(tmpdir(), 'bench-ceremony-'));
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ rehearsal: true, pin: '648219', soPin: '3537363231383830' }));
  chmodSync(join(dir, 'secrets.json'), 0o600);
  const custodians = Array.from({ length: LOAD_CUSTODIANS }, (_, i) => `custodian${i + 1}`);
  const witnesses = Array.from({ length: LOAD_WITNESSES }, (_, i) => `witness${i + 1}`);
  const all = [...custodians, ...witnesses];
  const host = await startHost(dir, all, ['--custodians', custodians.join(','), '--witnesses', witnesses.join(','), '--init', '--dkek-shares', String(LOAD_CUSTODIANS)]);
  await sleep(300); // let the coordinator settle after initialising the card
  const before = memory(host.child.pid!);
  console.log(`2. ${LOAD_CUSTODIANS} custodians + ${LOAD_WITNESSES} witnesses connecting at once`);
  const times: number[] = [];
  const handshakes: number[] = [];
  const t0 = performance.now();
  const conns = await Promise.all(
    all.map(async (name) => {
      const start = performance.now();
      let opened = 0;
      const conn = await CustodianConnection.open({ url: host.url, code: parseJoinCode(code(dir, name)), client: 'bench', onSocketOpen: () => (opened = performance.now()) });
      const end = performance.now();
      times.push(end - start);
      handshakes.push(end - opened);
      return conn;
    }),
  );
  const wall = performance.now() - t0;
  await sleep(500); // the welcome, the requests and the join events reach everyone
  const after = memory(host.child.pid!);
  console.log(`   channel handshake per client (socket open → established): median ${ms(median(handshakes))}, worst ${ms(Math.max(...handshakes))}   target median ≤ 50 ms: ${median(handshakes) <= 50 ? 'met' : 'NOT met'}`);
  console.log(`   whole join per client (TCP + HTTP upgrade + handshake): median ${ms(median(times))}, worst ${ms(Math.max(...times))}; all ${all.length} in ${ms(wall)}`);
  console.log(`   coordinator memory: ${before.rss.toFixed(0)} MB before, ${after.rss.toFixed(0)} MB with ${all.length} sessions (peak ${after.hwm.toFixed(0)} MB)   target ≤ 150 MB: ${after.hwm <= 150 ? 'met' : 'NOT met'}`);
  for (const c of conns) c.close();
  // The same joins one after another: the service time of one join without queueing.
  await sleep(500);
  const alone: number[] = [];
  for (const name of all) {
    let opened = 0;
    const conn = await CustodianConnection.open({ url: host.url, code: parseJoinCode(code(dir, name)), client: 'bench', onSocketOpen: () => (opened = performance.now()) });
    alone.push(performance.now() - opened);
    conn.close();
    await sleep(20);
  }
  console.log(`   the same ${all.length} joins one at a time (rejoining with fresh codes): handshake median ${ms(median(alone))}, worst ${ms(Math.max(...alone))}`);
  host.child.kill('SIGINT');
  await host.exit;
}

console.log(`bench:ceremony on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), Node ${process.version}; coordinator = hsm-ceremony host on the simulator, loopback\n`);
program = await coordinatorProgram();
await shareLatency();
console.log('');
await load();
process.exit(0);
