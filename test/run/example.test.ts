/**
 * The acceptance test of issue 6: the example plan rehearses with no input on the simulator, and
 * its transcript verifies (with and without --plan). Also: a headless run that the secrets file
 * cannot answer is refused before anything happens, naming what is missing; the rehearsal
 * passphrases and PINs appear in no output, no transcript line and no file name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLAN = join(ROOT, 'docs/examples/three-custodians.yaml');
const SECRETS = join(ROOT, 'docs/examples/three-custodians.secrets.json');
const secretsJson = JSON.parse(readFileSync(SECRETS, 'utf8')) as { pin: string; soPin: string; shares: Record<string, { passphrase: string }> };
const PLANTED = [secretsJson.pin, secretsJson.soPin, ...Object.values(secretsJson.shares).map((s) => s.passphrase)];

test('the example plan rehearses headless with exit 0, and its transcript verifies with and without --plan', async () => {
  const dir = tempDir('hsm-run-example-');
  const out = join(dir, 'out');
  const transcript = join(dir, 'OUT.jsonl');
  const r = await runCli(['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', out, '--transcript', transcript]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ceremony key fingerprint: [0-9a-f]{4}( [0-9a-f]{4}){7}/);
  assert.match(r.stdout, /\[13\/13\] sign-off/);

  const lines = readFileSync(transcript, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number | null; data: Record<string, unknown>; actor: { role: string; name: string | null } });
  assert.equal(lines[0]!.kind, 'ceremony-started');
  assert.equal(lines[0]!.data.rehearsal, true);
  assert.match(String(lines[0]!.data.simulatorSeed), /^[0-9a-f]{64}$/);
  assert.equal(lines.at(-1)!.kind, 'ceremony-finished');
  assert.equal(lines.at(-1)!.data.outcome, 'completed');
  // every step started and finished, in order, each finish signed
  const finished = lines.filter((l) => l.kind === 'step-finished');
  assert.deepEqual(finished.map((l) => l.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  for (const f of finished) assert.match(String(f.data.signature), /^[0-9a-f]{128}$/);
  // the KCV recorded by expect-kcv (no value in the plan) equals the backup's
  const kcvRead = lines.find((l) => l.kind === 'kcv-read')!;
  const backup = lines.find((l) => l.kind === 'file-written' && l.data.keyRef === 1)!;
  assert.equal(backup.data.kcv, kcvRead.data.kcv);
  // custodians import their own shares; everybody joins and leaves; sign-offs by name
  assert.deepEqual(lines.filter((l) => l.kind === 'share-imported').map((l) => l.actor.name), ['alice', 'bob', 'carol']);
  assert.equal(lines.filter((l) => l.kind === 'custodian-joined').length, 7);
  assert.equal(lines.filter((l) => l.kind === 'custodian-left').length, 7);
  assert.deepEqual(lines.filter((l) => l.kind === 'sign-off').map((l) => [l.actor.role, l.actor.name, l.data.accepted]), [
    ['witness', 'wendy', true],
    ['witness', 'walter', true],
    ['custodian', 'alice', true],
    ['custodian', 'bob', true],
    ['custodian', 'carol', true],
  ]);
  // outputs under --out only
  assert.deepEqual(readdirSync(out).sort(), ['alice.pbe', 'backup', 'bob.pbe', 'carol.pbe']);
  assert.ok(existsSync(join(out, 'backup', 'key-1.bin')));

  const v = await runCli(['verify', transcript]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const vp = await runCli(['verify', transcript, '--plan', PLAN]);
  assert.equal(vp.code, 0, vp.stdout + vp.stderr);
  assert.match(vp.stdout, /plan\s+: matches three-custodians\.yaml/);

  assertNoSecrets([r.stdout, r.stderr, v.stdout, vp.stdout, readFileSync(transcript, 'utf8')], PLANTED);

  // a second run into the same folder never overwrites: the transcript is continued and refused as finished
  const again = await runCli(['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', out, '--transcript', transcript]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /TRANSCRIPT_FINISHED|already ends with ceremony-finished/);
});

test('headless without everything in the secrets file: refused with exit 2, naming what is missing, nothing written', async () => {
  const dir = tempDir('hsm-run-refuse-');
  const partial = JSON.parse(readFileSync(SECRETS, 'utf8')) as Record<string, unknown> & { signOffs: Record<string, boolean>; shares: Record<string, unknown> };
  delete partial.signOffs.carol;
  delete partial.shares['bob.pbe'];
  const f = join(dir, 'partial.json');
  writeFileSync(f, JSON.stringify(partial));
  const out = join(dir, 'out');
  const r = await runCli(['run', PLAN, '--rehearse', '--secrets-file', f, '--out', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /signOffs\."carol"/);
  assert.match(r.stderr, /shares\."bob\.pbe"/);
  assert.equal(existsSync(out), false);

  const none = await runCli(['run', PLAN, '--rehearse', '--out', out]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no terminal/);

  const real = JSON.parse(readFileSync(SECRETS, 'utf8')) as Record<string, unknown>;
  real.rehearsal = false;
  delete real.signOffs;
  const rf = join(dir, 'real.json');
  writeFileSync(rf, JSON.stringify(real), { mode: 0o600 });
  const notRehearsal = await runCli(['run', PLAN, '--rehearse', '--secrets-file', rf, '--out', out]);
  assert.equal(notRehearsal.code, 2);
  assert.match(notRehearsal.stderr, /not marked "rehearsal": true/);
  assertNoSecrets([r.stdout, r.stderr, none.stderr, notRehearsal.stderr], PLANTED);
});
