/**
 * docs/examples/n-of-m.yaml end to end, headless: plan check with its rehearsal secrets file, a
 * rehearsal that creates a passphrase share and a 2-of-3 password-share split, imports both,
 * backs up, restores, verifies and signs off (exit 0), a transcript that verifies, and a
 * `replay --against simulator` that reproduces it from the printout the rehearsal wrote. Every
 * output is searched for the planted PINs, the passphrase and the password share values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, secretFile, assertNoSecrets } from '../helpers/cli.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PLAN = join(ROOT, 'docs/examples/n-of-m.yaml');
const SECRETS = join(ROOT, 'docs/examples/n-of-m.secrets.json');
const secretsJson = JSON.parse(readFileSync(SECRETS, 'utf8')) as { pin: string; soPin: string; shares: Record<string, { passphrase?: string; pwdShares?: string }> };
const PLANTED = [secretsJson.pin, secretsJson.soPin, secretsJson.shares['alice.pbe']!.passphrase!];

type Line = { kind: string; step: number | null; data: Record<string, unknown>; actor: { role: string; name: string | null } };
const readTranscript = (p: string): Line[] => readFileSync(p, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Line);

test('plan check accepts the n-of-m example with its rehearsal secrets file', async () => {
  const r = await runCli(['plan', 'check', PLAN, '--secrets-file', SECRETS]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /plan OK: 11 steps, 0 warnings/);
  assert.match(r.stdout, /CREATE SHARE team\.pbe — password shares 2 of 3/);
  // a passphrase for the split is the wrong kind of secret, and is named
  const dir = tempDir('hsm-nofm-check-');
  const s = JSON.parse(readFileSync(SECRETS, 'utf8')) as { shares: Record<string, unknown> };
  s.shares['team.pbe'] = { passphrase: 'not how team.pbe is protected' };
  const wrong = await runCli(['plan', 'check', PLAN, '--secrets-file', secretFile(dir, 'wrong.json', JSON.stringify(s))]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stdout + wrong.stderr, /SECRETS_WRONG_SHARE_KIND|protected by password shares/);
});

test('the n-of-m example rehearses headless with exit 0 and its transcript verifies', async () => {
  const dir = tempDir('hsm-nofm-');
  const out = join(dir, 'out');
  const transcript = join(dir, 'T.jsonl');
  const r = await runCli(['run', PLAN, '--rehearse', '--secrets-file', SECRETS, '--out', out, '--transcript', transcript]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\[11\/11\] sign-off/);
  assert.match(r.stdout, /team\.pbe: imported \(opened with password shares 1, 3\)/);

  const lines = readTranscript(transcript);
  assert.equal(lines.at(-1)!.data.outcome, 'completed');
  const team = lines.find((l) => l.kind === 'file-written' && l.data.path === 'team.pbe')!;
  assert.equal(team.step, 3);
  const ps = team.data.pwdShares as { threshold: number; total: number; custodians: string[]; prime: string };
  assert.deepEqual([ps.threshold, ps.total, ps.custodians], [2, 3, ['bob', 'carol', 'dave']]);
  assert.match(ps.prime, /^[0-9a-f]{2}(:[0-9a-f]{2}){7}$/);
  // bob (share 1) and dave (share 3) open it, as the import step lists them
  const imports = lines.filter((l) => l.kind === 'share-imported');
  assert.deepEqual(imports.map((l) => [l.data.file, l.data.imported, l.data.outstanding]), [['alice.pbe', 1, 1], ['team.pbe', 2, 0]]);
  assert.deepEqual(imports[1]!.data.pwdShares, { threshold: 2, total: 3, ids: [1, 3] });
  const kcv = lines.find((l) => l.kind === 'kcv-read')!.data.kcv;
  assert.equal(lines.find((l) => l.kind === 'file-written' && l.data.keyRef === 1)!.data.kcv, kcv);
  assert.deepEqual(lines.filter((l) => l.kind === 'sign-off').map((l) => l.actor.name), ['wendy', 'alice', 'bob', 'carol', 'dave']);
  // the example secrets file names no printout, so nothing but the plan's outputs is written
  assert.deepEqual(readdirSync(out).sort(), ['alice.pbe', 'backup', 'team.pbe']);

  const v = await runCli(['verify', transcript, '--plan', PLAN]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const v2 = await runCli(['verify', transcript]);
  assert.equal(v2.code, 0, v2.stdout + v2.stderr);
  assertNoSecrets([r.stdout, r.stderr, v.stdout, readFileSync(transcript, 'utf8')], PLANTED);

  // the rehearsal kept the split only in memory: a replay cannot open team.pbe and says why
  const rp = await runCli(['replay', transcript, '--against', 'simulator', '--plan', PLAN, '--secrets-file', SECRETS, '--files', out]);
  assert.equal(rp.code, 2, rp.stdout + rp.stderr);
  assert.match(rp.stderr, /team\.pbe.*printout/);
});

test('with a printout named in the secrets file: written 0600 with all three shares, never in any other output, and replay --against simulator reproduces the run', async () => {
  const dir = tempDir('hsm-nofm-printout-');
  const s = JSON.parse(readFileSync(SECRETS, 'utf8')) as { shares: Record<string, unknown> };
  s.shares['team.pbe'] = { pwdShares: 'printouts/team.txt' };
  const secrets = secretFile(dir, 'secrets.json', JSON.stringify(s));
  const out = join(dir, 'out');
  const r = await runCli(['run', PLAN, '--rehearse', '--secrets-file', secrets, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const printoutPath = join(dir, 'printouts', 'team.txt');
  assert.equal(statSync(printoutPath).mode & 0o777, 0o600);
  const printout = readFileSync(printoutPath, 'utf8');
  assert.match(printout, /^Prime {7}: ([0-9a-f]{2}:){7}[0-9a-f]{2}\nShare ID {4}: 1\nShare value : .+\nShare ID {4}: 2\n.+\nShare ID {4}: 3\n.+\n$/);
  const values = [...printout.matchAll(/Share value : (\S+)/g)].map((m) => m[1]!);
  assert.equal(values.length, 3);
  const transcript = join(out, 'transcript.jsonl');
  const outFiles = readdirSync(out, { recursive: true }).map(String);
  assertNoSecrets([r.stdout, r.stderr, readFileSync(transcript, 'utf8'), outFiles.join('\n')], [...PLANTED, ...values]);

  const rp = await runCli(['replay', transcript, '--against', 'simulator', '--plan', PLAN, '--secrets-file', secrets]);
  assert.equal(rp.code, 0, rp.stdout + rp.stderr);
  assert.match(rp.stdout, /are identical to transcript\.jsonl/);
  assertNoSecrets([rp.stdout, rp.stderr], [...PLANTED, ...values]);

  // a second rehearsal with the same secrets file does not overwrite the printout: it stops at step 3
  const again = await runCli(['run', PLAN, '--rehearse', '--secrets-file', secrets, '--out', join(dir, 'out2')]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /OUTPUT_EXISTS|already exists/);
  assert.equal(readFileSync(printoutPath, 'utf8'), printout);
});
