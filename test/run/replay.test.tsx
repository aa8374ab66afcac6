/**
 * Replay of a recorded rehearsal: the text playback on a non-terminal, the Ink replay view driven
 * with its keys (ink-testing-library), `--against simulator` reproducing every public result from
 * the recorded seed and share files, a changed share file refused, and the first difference named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { render } from 'ink-testing-library';
import { copyFileSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { buildReplay, firstDifference, publicResults } from '../../app/run/replay-model.ts';
import { ReplayView } from '../../app/ui/plan/ReplayView.tsx';
import type { TranscriptEvent } from '../../app/transcript/event.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLAN = join(ROOT, 'docs/examples/three-custodians.yaml');
const SECRETS = join(ROOT, 'docs/examples/three-custodians.secrets.json');
const secretsJson = JSON.parse(readFileSync(SECRETS, 'utf8')) as { pin: string; soPin: string; shares: Record<string, { passphrase: string }> };
const PLANTED = [secretsJson.pin, secretsJson.soPin, ...Object.values(secretsJson.shares).map((s) => s.passphrase)];

const dir = tempDir('hsm-replay-');
const out = join(dir, 'out');
const transcript = join(dir, 'rehearsal.jsonl');
let recorded: Promise<TranscriptEvent[]> | undefined;
function rehearsal(): Promise<TranscriptEvent[]> {
  recorded ??= runCli(['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', out, '--transcript', transcript]).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(transcript, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as TranscriptEvent);
  });
  return recorded;
}

const tick = () => new Promise((r) => setTimeout(r, 30));

test('replay on a non-terminal prints every event, step by step, with the key fingerprint', async () => {
  const events = await rehearsal();
  const r = await runCli(['replay', transcript]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, events.length + 2);
  assert.match(r.stdout, /ceremony key fingerprint: [0-9a-f]{4}( [0-9a-f]{4}){7}/);
  assert.match(r.stdout, /\[8\/13\] KCV [0-9A-F]{16} \(recorded\)/);
  assert.match(r.stdout, /wendy SIGNS OFF/);
  assert.match(r.stdout, /ceremony COMPLETED/);
  assertNoSecrets([r.stdout, r.stderr], PLANTED);

  // a transcript that does not verify is not replayed
  const bad = join(dir, 'bad.jsonl');
  const text = readFileSync(transcript, 'utf8');
  writeFileSync(bad, text.replace('"kind":"initialize"', '"kind":"initialise"'));
  const refused = await runCli(['replay', bad]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not verify: line \d+/);
});

test('the replay view: → and space jump to the next step, ← back, p plays, q quits (ink-testing-library)', async () => {
  const model = buildReplay(await rehearsal());
  const view = render(<ReplayView model={model} autoplay={false} />);
  const frame = () => view.lastFrame() ?? '';
  assert.match(frame(), /REPLAY {2}Three-custodian DKEK ceremony \(rehearsal\) REHEARSAL/);
  assert.match(frame(), /frame 1 of \d+/);
  assert.match(frame(), /paused/);
  view.stdin.write('\u001b[C'); // →
  await tick();
  assert.match(frame(), /▶ {3}1 initialize {6}running/);
  assert.match(frame(), /\[1\/13\] initialize started/);
  view.stdin.write(' ');
  await tick();
  assert.match(frame(), /✓ {3}1 initialize {6}finished/);
  assert.match(frame(), /▶ {3}2 create-share {4}running/);
  view.stdin.write('\u001b[D'); // ←
  await tick();
  assert.match(frame(), /▶ {3}1 initialize {6}running/);
  for (let i = 0; i < 8; i++) {
    view.stdin.write(' ');
    await tick();
  }
  assert.match(frame(), /▶ {3}9 generate-key/);
  assert.match(frame(), /KCV [0-9A-F]{16}/);
  view.stdin.write('+');
  view.stdin.write('p');
  await tick();
  assert.match(frame(), /4 events\/s {2}playing/);
  view.stdin.write('q');
  await tick();
  view.unmount();
  assertNoSecrets(view.frames, PLANTED);
});

test('--against simulator reproduces every public result from the recorded seed and share files', async () => {
  const events = await rehearsal();
  const r = await runCli(['replay', transcript, '--against', 'simulator', '--plan', PLAN, '--secrets-file', SECRETS, '--files', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /all \d+ public results .* are identical/);

  // a share file that is not the recorded one is refused by its SHA-256
  const other = join(dir, 'other');
  cpSync(out, other, { recursive: true });
  copyFileSync(join(out, 'bob.pbe'), join(other, 'alice.pbe'));
  const changed = await runCli(['replay', transcript, '--against', 'simulator', '--plan', PLAN, '--secrets-file', SECRETS, '--files', other]);
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /alice\.pbe has SHA-256 [0-9a-f]{64}, but the transcript recorded/);
  assertNoSecrets([r.stdout, r.stderr, changed.stderr], PLANTED);

  // the comparison names the first difference
  const recordedResults = publicResults(events);
  const kcvAt = recordedResults.findIndex((x) => x.kind === 'kcv-read');
  const replayed = recordedResults.map((x, i) => (i === kcvAt ? { ...x, fields: { ...x.fields, kcv: '0000000000000001' } } : x));
  assert.match(firstDifference(recordedResults, replayed) ?? '', /^line \d+: step 8 kcv-read kcv: recorded "[0-9A-F]{16}", replayed "0000000000000001"$/);
  assert.match(firstDifference(recordedResults, recordedResults.slice(0, -1)) ?? '', /that the replay did not produce/);
  assert.equal(firstDifference(recordedResults, recordedResults), null);
});
