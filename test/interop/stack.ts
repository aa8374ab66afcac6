/**
 * The real PC/SC stack for interop tests: pcscd with vsmartcard's vpcd reader driver (readers
 * "Virtual PCD 00 00" on port 35963 and "Virtual PCD 00 01" on 35964), simulated cards plugged in
 * through the simulator's vpcd bridge in this process, and OpenSC's tools run as subprocesses
 * (their prompts answered through a pty when they insist on a terminal).
 *
 * The bridges answer APDUs on this process's event loop, so nothing here may block it: tools run
 * with `spawn`, never `spawnSync`, once a card is plugged in — and that includes hsm-ceremony
 * itself. pcsc-lite's client calls block their thread until pcscd answers, and pcscd may be waiting
 * for the card (an ATR after a reset) that only this event loop can give: run in-process, that
 * deadlocked about one run in two.
 *
 * Skip rule shared by the interop tests: a missing piece (pcscd, vpcd, OpenSC, python3, the PC/SC
 * binding) skips with the reason printed — unless process.env.CI is set, where it fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { VpcdBridge } from '../../app/simulator/vpcd.ts';
import { loadPcscBinding } from '../../app/card/pcsc.ts';

/** OpenSC's PKCS#11 module (Debian path). */
export const PKCS11_MODULE = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';
/** vpcd's two readers and the TCP port the card side connects to for each. */
export const VPCD_READERS = ['Virtual PCD 00 00', 'Virtual PCD 00 01'] as const;
export const VPCD_PORTS = [35963, 35964] as const;

export interface Run {
  code: number | null;
  out: string;
}

/** Runs a program without blocking the event loop; stdout and stderr interleaved in `out`. */
export function run(argv: string[], options: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: { ...process.env, TERM: 'dumb' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', (e) => (out += `\n[spawn error] ${e.message}\n`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Like `run`, with stdout and stderr kept apart (for hsm-ceremony, whose stderr names the device). */
export function runSeparate(argv: string[], cwd: string, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { ...process.env, TERM: 'dumb' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => (stderr += `\n[spawn error] ${e.message}\n`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end();
  });
}

/**
 * A small expect(1) written with python3's pty module: runs argv on a pseudo-terminal, answers each
 * prompt (a regular expression) in turn, prints everything the program wrote and a count of the
 * prompts answered, and exits with the program's exit code.
 */
const PTY_DRIVER = String.raw`
import json, os, pty, re, select, sys, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.environ['TERM'] = 'dumb'
    os.execvp(spec['argv'][0], spec['argv'])
buf = b''
pos = 0
step = 0
steps = spec['steps']
deadline = time.time() + spec['timeout']
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        buf += data
    while step < len(steps):
        m = re.search(steps[step][0].encode(), buf[pos:])
        if not m:
            break
        pos += m.end()
        os.write(fd, steps[step][1].encode())
        step += 1
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode('utf-8', 'replace'))
sys.stdout.write('\n[pty-driver] answered %d of %d prompts\n' % (step, len(steps)))
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** Runs argv on a pty, answering `steps` ([prompt regex, answer]) in order. */
export function runPty(argv: string[], steps: [string, string][], cwd: string): Promise<Run> {
  return run(['python3', '-c', PTY_DRIVER, JSON.stringify({ argv, steps, timeout: 120 })], { cwd, timeoutMs: 150_000 });
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Reader index (sc-hsm-tool's and pkcs15-tool's `-r`) of each vpcd reader, and whether it holds a card. */
export async function listVirtualReaders(): Promise<Map<string, { index: number; card: boolean }>> {
  const r = await run(['opensc-tool', '-l'], { timeoutMs: 20_000 });
  const readers = new Map<string, { index: number; card: boolean }>();
  for (const line of r.out.split('\n')) {
    const m = /^(\d+)\s+(Yes|No)\s+.*?(Virtual PCD \d\d \d\d)\s*$/.exec(line);
    if (m) readers.set(m[3]!, { index: Number(m[1]), card: m[2] === 'Yes' });
  }
  return readers;
}

/**
 * Why the stack cannot run here, or undefined when it can. Starts pcscd when it is not running
 * and this is root; waits (up to `busyWaitMs`) while another test's cards occupy the readers.
 */
export async function prepareStack(options: { busyWaitMs?: number } = {}): Promise<string | undefined> {
  for (const tool of ['pcscd', 'sc-hsm-tool', 'pkcs15-tool', 'pkcs11-tool', 'opensc-tool', 'python3']) {
    if (!has(tool)) return `${tool} is not installed`;
  }
  if (!existsSync(PKCS11_MODULE)) return `OpenSC PKCS#11 module ${PKCS11_MODULE} is missing`;
  try {
    await loadPcscBinding();
  } catch (e) {
    return `hsm-ceremony's PC/SC binding is unusable: ${(e as Error).message}`;
  }
  if (spawnSync('pidof', ['pcscd']).status !== 0) {
    if (process.getuid?.() !== 0) return 'pcscd is not running and this test is not root to start it';
    const started = spawnSync('pcscd', [], { timeout: 10_000 });
    if (started.status !== 0) return `pcscd did not start (exit ${started.status})`;
  }
  for (let i = 0; ; i++) {
    const readers = await listVirtualReaders();
    if (VPCD_READERS.every((n) => readers.has(n))) break;
    if (i === 39) return `pcscd lists no vpcd readers "${VPCD_READERS.join('", "')}" (is vsmartcard-vpcd installed?)`;
    await sleep(250);
  }
  // vpcd serves one card per reader: let another test (or another engineer's run) finish first.
  const deadline = Date.now() + (options.busyWaitMs ?? 180_000);
  while (Date.now() < deadline) {
    const readers = await listVirtualReaders();
    if (VPCD_READERS.every((n) => readers.get(n)?.card === false)) return undefined;
    await sleep(500);
  }
  return 'the vpcd readers stay occupied by another card';
}

/**
 * Skips the test with the reason printed, or fails it under CI, where every piece is installed by
 * .ci/run and a skip would hide a broken interop suite.
 */
export function skipOrFail(t: TestContext, why: string): void {
  const message = `interop test cannot run: ${why}`;
  if (process.env.CI) assert.fail(`${message} (CI must not skip this test)`);
  process.stderr.write(`SKIP ${message}\n`);
  t.skip(message);
}

/** Simulated cards in vpcd's readers, as OpenSC's tools and our adapter see them. */
export interface PluggedCards {
  cards: SimulatedCard[];
  bridges: VpcdBridge[];
  /** `-r` index for sc-hsm-tool / pkcs15-tool, per card */
  readerIndex: string[];
  /** pkcs11-tool `--slot` id, per card */
  slot: string[];
  stop(): Promise<void>;
}

/**
 * Plugs one simulated card into each vpcd reader (card i into VPCD_READERS[i]) and waits until
 * pcscd and OpenSC's PKCS#11 module see them.
 *
 * @throws Error when vpcd does not attach a card or OpenSC does not list it
 */
export async function plugCards(cards: SimulatedCard[]): Promise<PluggedCards> {
  const bridges: VpcdBridge[] = [];
  const stop = async (): Promise<void> => {
    for (const b of bridges) await b.stop();
  };
  try {
    for (const [i, card] of cards.entries()) {
      const b = new VpcdBridge(card, { port: VPCD_PORTS[i]! });
      bridges.push(b);
      b.start();
      await b.waitAttached(20_000);
    }
    const names = VPCD_READERS.slice(0, cards.length);
    let readers = await listVirtualReaders();
    for (let i = 0; i < 40 && !names.every((n) => readers.get(n)?.card); i++) {
      await sleep(250);
      readers = await listVirtualReaders();
    }
    assert.ok(
      names.every((n) => readers.get(n)?.card),
      `pcscd does not report the cards: ${JSON.stringify([...readers])}`,
    );
    const slots = await run(['pkcs11-tool', '--module', PKCS11_MODULE, '-L'], { timeoutMs: 30_000 });
    const slotOf = (reader: string) => [...slots.out.matchAll(/Slot \d+ \((0x[0-9a-f]+)\): (.*)/g)].find((m) => m[2]!.trim() === reader)?.[1];
    const slot = names.map((n) => slotOf(n));
    assert.ok(
      slot.every((s) => s !== undefined),
      `pkcs11-tool lists no slot for a virtual reader:\n${slots.out}`,
    );
    return {
      cards,
      bridges,
      readerIndex: names.map((n) => String(readers.get(n)!.index)),
      slot: slot as string[],
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
