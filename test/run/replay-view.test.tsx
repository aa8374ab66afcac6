/**
 * The replay view shows a recorded rehearsal as the run view showed it: a rehearsal of the example
 * plan is run by the plan runner on a simulator, with a deviation note typed by the operator during
 * step 5 (through RunControl, as the run view sends it); its transcript is replayed in the Ink
 * replay view (ink-testing-library, the terminal made 80×24): the run view's header with the
 * REHEARSAL badge and the ceremony key fingerprint, the highlighted step moving with → and ←, the
 * KCV in the header and the log, the note, and at the last event the end record with the chain head
 * the verifier computes. Every frame is searched for the planted secrets and must fit 80×24.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { render } from 'ink-testing-library';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { loadPlan } from '../../app/plan/plan-parse.ts';
import { loadSecretsFile } from '../../app/cli/secrets-file.ts';
import { openRehearsalDevice } from '../../app/run/run-device.ts';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity, type TranscriptEvent } from '../../app/transcript/event.ts';
import { verifyTranscript } from '../../app/transcript/verifier.ts';
import { shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import { runPlan, type RunControl } from '../../app/run/plan-runner.ts';
import type { RunInput } from '../../app/run/run-machine.ts';
import { fileSecrets } from '../../app/run/file-secrets.ts';
import { keyFingerprint } from '../../app/transcript/ceremony-key.ts';
import { fromHex } from '../../protocol/bytes.ts';
import { buildReplay, frameHead } from '../../app/run/replay-model.ts';
import { ReplayView, replayStatus, REPLAY_HINTS } from '../../app/ui/plan/ReplayView.tsx';
import { assertFits } from '../ui/harness.tsx';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLAN = join(ROOT, 'docs/examples/three-custodians.yaml');
const SECRETS = join(ROOT, 'docs/examples/three-custodians.secrets.json');
const secretsJson = JSON.parse(readFileSync(SECRETS, 'utf8')) as { pin: string; soPin: string; shares: Record<string, { passphrase: string }> };
const PLANTED = [secretsJson.pin, secretsJson.soPin, ...Object.values(secretsJson.shares).map((s) => s.passphrase)];
const NOTE = 'bob read his share fingerprint aloud twice';

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** A rehearsal run by the plan runner on the simulator, with the operator's note during step 5. */
async function rehearsal(): Promise<{ events: TranscriptEvent[]; path: string; fingerprint: string; head: string }> {
  const dir = tempDir('hsm-replay-view-');
  const plan = loadPlan(PLAN, ROOT);
  const file = loadSecretsFile(SECRETS, ROOT);
  const device = await openRehearsalDevice({ rng: (n) => crypto.getRandomValues(new Uint8Array(n)) });
  const path = join(dir, 'rehearsal.jsonl');
  const writer = TranscriptWriter.create(path, { plan: planIdentity(plan), version: 'test', device: device.info, rehearsal: true, simulatorSeed: device.seed! });
  const fingerprint = writer.fingerprint;
  const queued: RunInput[] = [];
  let noted = false;
  const control: RunControl = {
    take: () => queued.splice(0),
    next: () => Promise.reject(new Error('the rehearsal paused: a step failed')),
  };
  try {
    const result = await runPlan({
      writer,
      control,
      onState: (s) => {
        if (s.current === 4 && !noted) {
          noted = true;
          queued.push({ type: 'note', text: NOTE });
        }
      },
      ctx: {
        plan: plan.plan,
        planDir: plan.dir,
        outDir: dir,
        hsm: device.hsm,
        secrets: fileSecrets(file),
        kdf: () => shareFileKdfSync(1000),
        rng: (n) => crypto.getRandomValues(new Uint8Array(n)),
        signal: new AbortController().signal,
        memory: { kcv: null, written: new Set() },
        operator: { role: 'operator', name: plan.plan.roles.operator ?? null },
      },
    });
    assert.equal(result.outcome, 'completed');
  } finally {
    file.wipe();
    await device.close();
  }
  const bytes = new Uint8Array(readFileSync(path));
  const report = verifyTranscript(bytes);
  assert.equal(report.status, 'verified', JSON.stringify(report.failure));
  const events = new TextDecoder().decode(bytes).trimEnd().split('\n').map((l) => JSON.parse(l) as TranscriptEvent);
  return { events, path, fingerprint, head: report.head };
}

/** The replay view in an 80×24 terminal (ink-testing-library's is 100 columns, no rows). */
function replay(model: ReturnType<typeof buildReplay>, transcript: string) {
  const view = render(<ReplayView model={model} theme={{ color: false }} autoplay={false} speed={64} transcript={transcript} />);
  Object.defineProperty(view.stdout, 'columns', { value: 80 });
  Object.defineProperty(view.stdout, 'rows', { value: 24 });
  view.stdout.emit('resize');
  const from = view.frames.length;
  return {
    view,
    frame: () => stripVTControlCharacters(view.lastFrame() ?? ''),
    sized: () => view.frames.slice(from),
    async press(key: string, times = 1) {
      for (let i = 0; i < times; i++) {
        view.stdin.write(key);
        await tick();
      }
    },
  };
}

const RIGHT = '\u001b[C';
const LEFT = '\u001b[D';

let recorded: ReturnType<typeof rehearsal> | undefined;

test('the replay view shows the run view’s header, the step moving with → and ←, the KCV, the note and the end record, in 80×24', { timeout: 120_000 }, async () => {
  recorded ??= rehearsal();
  const { events, path, fingerprint, head } = await recorded;
  const model = buildReplay(events);
  const n = model.frames.length;
  const r = replay(model, path);
  await tick();

  // the header as the run view shows it
  let f = r.frame();
  assert.match(f, /^REPLAY {2}Three-custodian DKEK ceremony \(rehearsal\) REHEARSAL/m);
  const sha = (events[0]!.data.plan as { sha256: string }).sha256;
  assert.ok(f.includes(`plan SHA-256 ${sha.slice(0, 16)}…  device simulator`), f);
  assert.ok(f.includes(`ceremony key ${fingerprint}   KCV -`), f);
  assert.ok(f.includes(`REPLAY  frame 1 of ${n}  ${events[0]!.time.slice(0, 10)} ${events[0]!.time.slice(11, 19)} UTC  64 events/s  paused`), f);
  assert.ok(f.includes(REPLAY_HINTS), f);
  assert.match(f, /^ {4}1 initialize {6}pending/m);

  // → starts step 1, space step 2; ← goes back to step 1
  await r.press(RIGHT);
  f = r.frame();
  assert.match(f, /▶ {3}1 initialize {6}running/);
  assert.match(f, /\[1\/13\] initialize started$/m);
  await r.press(' ');
  f = r.frame();
  assert.match(f, /✓ {3}1 initialize {6}finished/);
  assert.match(f, /▶ {3}2 create-share {4}running/);
  await r.press(LEFT);
  f = r.frame();
  assert.match(f, /▶ {3}1 initialize {6}running/);
  assert.match(f, /^ {4}2 create-share {4}pending/m);

  // step 6 starts: the note typed during step 5 is in the log, by the operator, at step 5
  await r.press(RIGHT, 5);
  f = r.frame();
  assert.match(f, /▶ {3}6 import-share {4}running/);
  assert.ok(f.includes(`[5/13] NOTE by oscar: ${NOTE}`), f);

  // step 9 starts: the KCV read at step 8 is in the header and the log
  const kcv = String(events.find((e) => e.kind === 'kcv-read')!.data.kcv);
  await r.press(RIGHT, 3);
  f = r.frame();
  assert.match(f, /▶ {3}9 generate-key {4}running/);
  assert.ok(f.includes(`ceremony key ${fingerprint}   KCV ${kcv}`), f);
  assert.ok(f.includes(`[8/13] KCV ${kcv} = expected`) || f.includes(`[8/13] KCV ${kcv} (recorded)`), f);
  // the script window keeps the running step in view: 13 steps in 10 rows
  assert.match(f, /↑ \d+ steps? above|↓ \d+ steps? below/);

  // the end: the end record the run view showed, with the verifier's chain head
  await r.press(RIGHT, 10);
  f = r.frame();
  assert.ok(f.includes(`REPLAY  frame ${n} of ${n}`), f);
  assert.match(f, /64 events\/s {2}the end/);
  assert.match(f, /^The ceremony is complete\. Write the fingerprint and chain head/m);
  assert.ok(f.includes(`chain head   ${head}`), f);
  assert.equal(frameHead(model.frames[n - 1]!), head);
  assert.ok(f.includes(`DKEK KCV     ${kcv}`), f);
  assert.match(f, /outputs/);

  // ← from the end goes back into the ceremony: the last step (sign-off) is running again
  await r.press(LEFT);
  f = r.frame();
  assert.match(f, /▶ {2}13 sign-off {8}running/);

  assert.ok(r.sized().length > 10);
  assertFits(r.sized());
  r.view.unmount();
  assertNoSecrets(r.view.frames, PLANTED);
});

test('the replay view plays to the end with p, and + / - change the speed shown', { timeout: 120_000 }, async () => {
  recorded ??= rehearsal();
  const { events, path } = await recorded;
  const model = buildReplay(events);
  const r = replay(model, path);
  await tick();
  await r.press('-');
  assert.match(r.frame(), /32 events\/s {2}paused/);
  await r.press('+');
  assert.match(r.frame(), /64 events\/s {2}paused/);
  await r.press('+'); // 64 events a second is the fastest
  assert.match(r.frame(), /64 events\/s {2}paused/);
  await r.press('p');
  assert.match(r.frame(), /64 events\/s {2}playing/);
  const until = Date.now() + 15_000;
  while (!r.frame().includes('the end') && Date.now() < until) await tick(50);
  assert.match(r.frame(), /the end/);
  assert.match(r.frame(), /The ceremony is complete/);
  // playing passed every frame on the way
  const seen = r.sized().map((x) => /frame (\d+) of/.exec(stripVTControlCharacters(x))?.[1]).filter((x) => x !== undefined);
  assert.ok(new Set(seen).size >= model.frames.length - 2, `frames seen: ${new Set(seen).size} of ${model.frames.length}`);
  assertFits(r.sized());
  r.view.unmount();
  assertNoSecrets(r.view.frames, PLANTED);
});

test('a restarted ceremony: after the resumed event the header shows RESUMED and the new key', async () => {
  recorded ??= rehearsal();
  const { events } = await recorded;
  // a resumed event with another key after step 3 (the model reads a verified transcript; this
  // one is built by hand to check the header's change, not to verify)
  const at = events.findIndex((e) => e.kind === 'step-finished' && e.step === 3);
  const newKey = 'ab'.repeat(32);
  const resumed = { ...events[at]!, kind: 'resumed', step: null, data: { publicKey: newKey } } as unknown as TranscriptEvent;
  const model = buildReplay([...events.slice(0, at + 1), resumed, ...events.slice(at + 1)]);
  const before = model.frames[at]!;
  const after = model.frames[at + 1]!;
  assert.equal(before.resumed, false);
  assert.equal(after.resumed, true);
  assert.notEqual(after.fingerprint, before.fingerprint);
  assert.equal(after.fingerprint, keyFingerprint(fromHex(newKey)));
  const r = replay(model, 'x.jsonl');
  await tick();
  await r.press(RIGHT, 4); // step 4 starts after the restart
  const f = r.frame();
  assert.match(f, /^REPLAY {2}Three-custodian DKEK ceremony \(rehearsal\) REHEARSAL  RESUMED/m);
  assert.ok(f.includes(`ceremony key ${after.fingerprint}`), f);
  assert.ok(f.includes('RESUMED after a restart: a new ceremony key'), f);
  assert.equal(replayStatus(model, 0, 2, true).startsWith('REPLAY  frame 1 of '), true);
  r.view.unmount();
});
