/**
 * npm run bench:startup — how fast the coordinator is on screen, against sc-hsm-tool.
 *
 * On one simulated card (initialized, one DKEK share, one key), in one run, interleaved:
 *
 * - TUI first frame: `node dist/hsm-ceremony.js --sim` in a pseudo-terminal (util-linux
 *   `script`), from spawn to the first bytes of Ink's first frame; and to the menu ("What next?"),
 *   i.e. the device read and shown;
 * - `hsm-ceremony status --sim`: from spawn to exit (its whole output printed);
 * - `sc-hsm-tool` (no action = print the status) on the same card behind pcscd, served by
 *   `hsm-ceremony sim --vpcd` in a vsmartcard "Virtual PCD" reader: from spawn to exit;
 * - `node -e ''` and `script … true` as floors (process start, pseudo-terminal set-up).
 *
 * Median of RUNS runs after one warm-up each. The bundle is built first (scripts/build.mjs): the
 * installed program is the bundle, so that is what is measured. Target: first frame < 300 ms.
 * Without pcscd/vpcd/sc-hsm-tool the comparison is skipped with the reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedCard } from '../app/simulator/card-os.ts';
import { SimulatorTransport } from '../app/simulator/transport.ts';
import { saveCardStateAtomic } from '../app/simulator/persistence.ts';
import { SmartCardHsm } from '../app/card/sc-hsm.ts';
import { utf8 } from '../protocol/bytes.ts';

const RUNS = Number(process.env.RUNS ?? 9);
const TARGET_MS = 300;
const REPO = fileURLToPath(new URL('../', import.meta.url));
const BUNDLE = join(REPO, 'dist/hsm-ceremony.js');
const VPCD = [
  { reader: 'Virtual PCD 00 00', port: 35963 },
  { reader: 'Virtual PCD 00 01', port: 35964 },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`;

/** Milliseconds from spawn until `done` says so (or the process exits). */
function timeProcess(argv: string[], o: { cwd: string; until?: (out: string) => boolean; env?: NodeJS.ProcessEnv }): Promise<{ ms: number; out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let out = '';
    let settled = false;
    const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: { ...process.env, ...o.env }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const finish = (code: number | null) => {
      if (settled) return;
      settled = true;
      const t = performance.now() - t0;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve({ ms: t, out, code });
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (o.until?.(out)) finish(null);
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => finish(code));
  });
}

/** `command` in a fresh pseudo-terminal of 80×24 (script's own pty has no size when stdin is a pipe). */
function inPty(command: string): string[] {
  return ['script', '-qfec', `stty rows 24 cols 80; ${command}`, '/dev/null'];
}

/** A card as a ceremony leaves it: initialized, one DKEK share imported, one key. */
async function prepareCard(dir: string): Promise<string> {
  const card = SimulatedCard.create({ seed: Uint8Array.of(0x5e) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8('648219'), soPin: utf8('3537363231383830'), dkekShares: 1 });
  await hsm.importDkekShare(new Uint8Array(32).fill(0x11));
  await hsm.verifyPin(utf8('648219'));
  await hsm.generateKeyPair(1, { type: 'ec', curve: 'P-256' }, { chr: 'HSMCEREMONY00001' });
  const path = join(dir, 'card.json');
  saveCardStateAtomic(path, card.snapshot());
  return path;
}

function readers(): Map<string, { index: number; card: boolean }> {
  const r = spawnSync('opensc-tool', ['-l'], { encoding: 'utf8', timeout: 20_000 });
  const m = new Map<string, { index: number; card: boolean }>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const x = /^(\d+)\s+(Yes|No)\s+.*?(Virtual PCD \d\d \d\d)\s*$/.exec(line);
    if (x) m.set(x[3]!, { index: Number(x[1]), card: x[2] === 'Yes' });
  }
  return m;
}

/** Starts `hsm-ceremony sim --vpcd` on a free virtual reader; its index for `sc-hsm-tool -r`, or why not. */
async function startVpcd(dir: string, state: string): Promise<{ index: number; stop(): void } | string> {
  for (const tool of ['sc-hsm-tool', 'opensc-tool', 'pcscd', 'script']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  if (spawnSync('pidof', ['pcscd']).status !== 0) {
    if (process.getuid?.() !== 0 || spawnSync('pcscd', [], { timeout: 10_000 }).status !== 0) return 'pcscd is not running';
    await sleep(1000);
  }
  const list = readers();
  const free = VPCD.find((v) => list.get(v.reader)?.card === false);
  if (!free) return list.size === 0 ? 'pcscd lists no vsmartcard "Virtual PCD" reader' : 'both virtual readers hold a card (another test is using them)';
  const copy = join(dir, 'card-vpcd.json');
  copyFileSync(state, copy);
  const child = spawn(process.execPath, [BUNDLE, 'sim', '--vpcd', `127.0.0.1:${free.port}`, '--sim-state', copy], { cwd: dir, stdio: 'ignore', detached: true });
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone
    }
  };
  for (let i = 0; i < 80; i++) {
    await sleep(250);
    const r = readers().get(free.reader);
    if (r?.card) return { index: r.index, stop };
  }
  stop();
  return `the simulated card did not appear in "${free.reader}"`;
}

async function main(): Promise<void> {
  const build = spawnSync(process.execPath, [join(REPO, 'scripts/build.mjs')], { cwd: REPO, stdio: 'inherit' });
  if (build.status !== 0 || !existsSync(BUNDLE)) throw new Error('the bundle could not be built');
  const dir = mkdtempSync(join(tmpdir(), 'hsm-bench-startup-'));
  const state = await prepareCard(dir);
  const local = join(dir, 'card-local.json');
  copyFileSync(state, local);
  console.error('bench:startup: building the bundle done; starting the simulated card behind pcscd…');
  const vpcd = await startVpcd(dir, state);
  console.error(typeof vpcd === 'string' ? `no sc-hsm-tool comparison: ${vpcd}` : `sc-hsm-tool reader index ${vpcd.index}`);

  const node = process.execPath;
  const cases: { name: string; run(): Promise<number> }[] = [
    { name: 'node -e "" (process floor)', run: async () => (await timeProcess([node, '-e', ''], { cwd: dir })).ms },
    { name: 'script … true (pty floor)', run: async () => (await timeProcess(inPty('true'), { cwd: dir })).ms },
    {
      name: 'TUI: first frame',
      run: async () => (await timeProcess(inPty(`${node} ${BUNDLE} --sim --sim-state ${local}`), { cwd: dir, until: (o) => /hsm-ceremony|SIMULATOR|Reading the device/.test(o) })).ms,
    },
    {
      name: 'TUI: menu with the device read',
      run: async () => (await timeProcess(inPty(`${node} ${BUNDLE} --sim --sim-state ${local}`), { cwd: dir, until: (o) => o.includes('What next?') })).ms,
    },
    {
      name: 'hsm-ceremony status --sim',
      run: async () => {
        const r = await timeProcess([node, BUNDLE, 'status', '--sim', '--sim-state', local], { cwd: dir });
        if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.out}`);
        return r.ms;
      },
    },
  ];
  if (typeof vpcd !== 'string') {
    cases.push({
      name: 'sc-hsm-tool (status via pcscd)',
      run: async () => {
        const r = await timeProcess(['sc-hsm-tool', '-r', String(vpcd.index)], { cwd: dir });
        if (!/DKEK shares/.test(r.out)) throw new Error(`sc-hsm-tool printed no status: ${r.out}`);
        return r.ms;
      },
    });
  }
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  try {
    for (const c of cases) await c.run(); // warm-up (disk cache, pcscd)
    for (let i = 0; i < RUNS; i++) for (const c of cases) times.get(c.name)!.push(await c.run());
  } finally {
    if (typeof vpcd !== 'string') vpcd.stop();
  }

  const med = new Map([...times].map(([k, v]) => [k, median(v)]));
  console.log(`\nbench:startup — median of ${RUNS} runs, Node ${process.version}, ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}`);
  for (const c of cases) {
    const v = times.get(c.name)!;
    console.log(`  ${c.name.padEnd(34)} ${ms(med.get(c.name)!)}   (min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)})`);
  }
  const first = med.get('TUI: first frame')!;
  console.log(`\n  first frame ${first.toFixed(0)} ms: ${first < TARGET_MS ? 'under' : 'OVER'} the ${TARGET_MS} ms target (includes the pty floor)`);
  const tool = med.get('sc-hsm-tool (status via pcscd)');
  if (tool === undefined) {
    console.log(`  sc-hsm-tool not measured: ${vpcd as string}`);
  } else {
    console.log(`  ratio TUI first frame / sc-hsm-tool status     ${(first / tool).toFixed(2)}`);
    console.log(`  ratio TUI menu (device read) / sc-hsm-tool     ${(med.get('TUI: menu with the device read')! / tool).toFixed(2)}`);
    console.log(`  ratio status --sim / sc-hsm-tool status        ${(med.get('hsm-ceremony status --sim')! / tool).toFixed(2)}`);
  }
}

main().catch((e: unknown) => {
  console.error(`bench:startup failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
