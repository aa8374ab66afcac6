/**
 * A rehearsal killed mid-ceremony (SIGKILL of a child process running the CLI) leaves a transcript
 * that verifies up to the crash (exit 4, incomplete); running again with the same --transcript and
 * --sim-state continues it — a signed `resumed` event with a new key, the interrupted step run
 * again with a note, the finished steps not repeated — and the final transcript verifies. A
 * headless run interrupted with SIGINT finishes its transcript as aborted (exit 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLAN = join(ROOT, 'docs/examples/three-custodians.yaml');
const SECRETS = join(ROOT, 'docs/examples/three-custodians.secrets.json');
const secretsJson = JSON.parse(readFileSync(SECRETS, 'utf8')) as { pin: string; soPin: string; shares: Record<string, { passphrase: string }> };
const PLANTED = [secretsJson.pin, secretsJson.soPin, ...Object.values(secretsJson.shares).map((s) => s.passphrase)];

type Line = { kind: string; step: number | null; data: Record<string, unknown> };
const lines = (p: string): Line[] => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as Line) : []);

function startCli(args: string[]): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'app/cli/main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => out };
}

async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('SIGKILL mid-ceremony: the transcript verifies to the crash, and running again with --sim-state continues it to a verified end', async () => {
  const dir = tempDir('hsm-run-crash-');
  const out = join(dir, 'out');
  const transcript = join(dir, 't.jsonl');
  const simState = join(dir, 'card.json');
  const args = ['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', out, '--transcript', transcript, '--sim-state', simState];
  const cli = startCli(args);
  // kill once step 3 has finished: step 4 (a create-share) is then deriving its key
  await waitFor(() => lines(transcript).some((l) => l.kind === 'step-finished' && l.step === 3), 'step 3 to finish');
  cli.child.kill('SIGKILL');
  await cli.exited;
  const before = lines(transcript);
  assert.ok(!before.some((l) => l.kind === 'ceremony-finished'));

  const v1 = await runCli(['verify', transcript, '--plan', PLAN]);
  assert.equal(v1.code, 4, v1.stdout + v1.stderr);
  assert.match(v1.stdout, /INCOMPLETE/);

  // a rehearsal resume needs its simulated card
  const noState = await runCli(['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', out, '--transcript', transcript]);
  assert.equal(noState.code, 2);
  assert.match(noState.stderr, /--sim-state/);

  const resumed = await runCli(args);
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stdout, /\(resumed\)/);
  const after = lines(transcript);
  const r = after.find((l) => l.kind === 'resumed')!;
  assert.ok(r, 'a resumed event');
  assert.notEqual(r.data.publicKey, before[0]!.data.publicKey);
  assert.equal(r.data.previousKey, before[0]!.data.publicKey);
  // steps 1–3 are not run again; each step finishes exactly once
  const finishedSteps = after.filter((l) => l.kind === 'step-finished').map((l) => l.step);
  assert.deepEqual(finishedSteps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const afterResume = after.slice(after.indexOf(r));
  assert.ok(!afterResume.some((l) => l.kind === 'step-started' && (l.step ?? 0) <= 3));
  assert.equal(after.at(-1)!.kind, 'ceremony-finished');

  const v2 = await runCli(['verify', transcript, '--plan', PLAN]);
  assert.equal(v2.code, 0, v2.stdout + v2.stderr);
  assert.match(v2.stdout, /after a restart/);
  assertNoSecrets([cli.output(), resumed.stdout, resumed.stderr, v2.stdout, readFileSync(transcript, 'utf8'), readFileSync(simState, 'utf8')], PLANTED.slice(2));
  assertNoSecrets([cli.output(), resumed.stdout, readFileSync(transcript, 'utf8')], PLANTED);
});

test('SIGINT on a headless run: the transcript is finished as aborted and the run exits 4', async () => {
  const dir = tempDir('hsm-run-sigint-');
  const transcript = join(dir, 't.jsonl');
  const cli = startCli(['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', join(dir, 'out'), '--transcript', transcript]);
  await waitFor(() => lines(transcript).some((l) => l.kind === 'step-started' && l.step === 2), 'step 2 to start');
  cli.child.kill('SIGINT');
  assert.equal(await cli.exited, 4, cli.output());
  const last = lines(transcript).at(-1)!;
  assert.equal(last.kind, 'ceremony-finished');
  assert.equal(last.data.outcome, 'aborted');
  const v = await runCli(['verify', transcript]);
  assert.equal(v.code, 4);
  assert.match(v.stdout, /ABORTED/);
});
