/**
 * `hsm-ceremony verify`: exit codes (0 verified, 1 first bad line, 4 incomplete or aborted, 2
 * usage), the one-page summary, --key against a re-signed forgery, --plan, and the printable record
 * (never over an existing file, never for a failed transcript, escaped HTML).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { CeremonyKey } from '../../app/transcript/ceremony-key.ts';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity } from '../../app/transcript/event.ts';
import { EXAMPLE_PLAN_PATH, exampleEvents, examplePlan, reseal, seededRng, steppingClock, writeExampleTranscript } from '../unit/transcript-ceremony.ts';

const SECRETS = new URL('../../docs/examples/three-custodians.secrets.json', import.meta.url).pathname;
const secretValues = (() => {
  const s = JSON.parse(readFileSync(SECRETS, 'utf8'));
  return [s.pin, s.soPin, ...Object.values(s.shares as Record<string, { passphrase: string }>).map((x) => x.passphrase)] as string[];
})();

const dir = tempDir();
const good = join(dir, 'good.jsonl');
const key = writeExampleTranscript(good);

test('a complete transcript verifies against its plan and key: exit 0 and a one-page summary', async () => {
  const r = await runCli(['verify', good, '--plan', EXAMPLE_PLAN_PATH, '--key', key.publicKey]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const out = r.stdout;
  assert.match(out, /^transcript {2}: .*good\.jsonl, 60 events, SHA-256 [0-9a-f]{64}\n/);
  assert.match(out, /result {6}: VERIFIED: hash chain intact, 13 steps in order or explained, 15 signatures valid, KCVs agree/);
  assert.match(out, /authenticity: ESTABLISHED: every ceremony key is one given with --key/);
  assert.match(out, new RegExp(`key +${key.fingerprint}  \\(line 1, at the start\\)`));
  assert.match(out, new RegExp(`plan {8}: matches three-custodians\\.yaml \\(SHA-256 ${examplePlan.sha256}\\)`));
  assert.match(out, /rehearsal {3}: YES/);
  assert.match(out, /who {9}: operator oscar; security officer olivia; custodians alice, bob, carol; witnesses wendy, walter/);
  assert.match(out, /KCV {9}: 0767 0012 41A0 CB44 \(2 records/);
  assert.match(out, /backup\/key-1\.bin {2}512 bytes {2}KCV 0767001241A0CB44\n {4}SHA-256 [0-9a-f]{64}/);
  assert.match(out, /wendy \(witness\) SIGNED at/);
  assert.ok(out.split('\n').length <= 66, 'fits one page');
  assertNoSecrets([r.stdout, r.stderr, readFileSync(good, 'utf8')], secretValues);
});

test('without --key it checks integrity only, and says so plainly', async () => {
  const r = await runCli(['verify', good]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /authenticity: NOT ESTABLISHED: without --key this checks integrity only; anyone can re-sign an altered\n/);
  assert.match(r.stdout, /Compare these key fingerprints with the signed paper record/);
  assert.match(r.stdout, /plan {8}: not checked; give --plan PLAN/);
});

test('a re-signed forgery: exit 0 on integrity without --key, exit 1 at line 1 with the pinned key', async () => {
  const forged = join(dir, 'forged.jsonl');
  writeFileSync(
    forged,
    reseal(
      new Uint8Array(readFileSync(good)),
      (ev) => {
        for (const e of ev) if (e.kind === 'sign-off') e.data.statement = 'approved by mallory';
      },
      CeremonyKey.generate(seededRng('mallory')),
    ),
  );
  const open = await runCli(['verify', forged]);
  assert.equal(open.code, 0);
  assert.match(open.stdout, /NOT ESTABLISHED/);
  assert.doesNotMatch(open.stdout, new RegExp(key.fingerprint));
  const pinned = await runCli(['verify', forged, '--key', key.fingerprint]);
  assert.equal(pinned.code, 1);
  assert.match(pinned.stdout, /result {6}: FAILED at line 1: ceremony key [0-9a-f ]+ is not one of the keys given with --key/);
  assert.match(pinned.stderr, /^hsm-ceremony: error: .*forged\.jsonl: line 1: ceremony key .* is not one of the keys given with --key/);
});

test('a changed byte: exit 1 naming the first bad line and why', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, readFileSync(good, 'utf8').replace('"slot":"bob"', '"slot":"bib"'));
  const line = readFileSync(bad, 'utf8').split('\n').findIndex((l) => l.includes('"slot":"bib"')) + 1;
  const r = await runCli(['verify', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`FAILED at line ${line + 1}: prev is not the SHA-256 of line ${line}`));
  assert.match(r.stdout, new RegExp(`lines 1–${line} verified; nothing from line ${line + 1} on can be trusted`));
  assert.match(r.stderr, new RegExp(`error: .*bad\\.jsonl: line ${line + 1}: prev is not the SHA-256 of line ${line}`));
  assert.match(r.stderr, /hint: keep the transcript as evidence/);
});

test('a cut transcript is incomplete: exit 4, after verifying everything before the cut', async () => {
  const cut = join(dir, 'cut.jsonl');
  const bytes = readFileSync(good);
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const r = await runCli(['verify', cut]);
  assert.equal(r.code, 4);
  assert.match(r.stdout, /result {6}: INCOMPLETE: lines 1–\d+ verify, but the final signed event is missing/);
  assert.match(r.stdout, /warning {5}: the file ends with \d+ bytes of an unfinished line/);
  assert.match(r.stderr, /error: .*cut\.jsonl: the transcript has no final signed event; lines 1–\d+ verify/);
});

test('an aborted ceremony: exit 4, with the reason', async () => {
  const path = join(dir, 'aborted.jsonl');
  const w = TranscriptWriter.create(path, { plan: planIdentity(examplePlan), version: '0.1.0', rng: seededRng('a'), clock: steppingClock() });
  for (const e of exampleEvents().slice(0, 25)) w.append(e);
  w.finish({ outcome: 'aborted', reason: 'bob could not open his share file' });
  const r = await runCli(['verify', path, '--json']);
  assert.equal(r.code, 4);
  const out = JSON.parse(r.stdout);
  assert.equal(out.status, 'aborted');
  assert.match(r.stderr, /the ceremony was aborted: bob could not open his share file/);
});

test('--plan with a different plan file fails at line 1', async () => {
  const other = join(dir, 'other.yaml');
  writeFileSync(other, readFileSync(EXAMPLE_PLAN_PATH, 'utf8') + '# edited after review\n');
  const r = await runCli(['verify', good, '--plan', other]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 1: the transcript records plan SHA-256 [0-9a-f]{64}, but the plan given has [0-9a-f]{64}/);
});

test('--json gives the whole report', async () => {
  const r = await runCli(['verify', good, '--json', '--key', key.publicKey]);
  assert.equal(r.code, 0);
  const out = JSON.parse(r.stdout);
  assert.equal(out.status, 'verified');
  assert.equal(out.sha256, createHash('sha256').update(readFileSync(good)).digest('hex'));
  assert.equal(out.keys[0].fingerprint, key.fingerprint);
  assert.equal(out.summary.steps.length, 13);
});

test('--format md writes the record with every participant on a signature line, never over a file', async () => {
  const out = join(dir, 'record.md');
  const r = await runCli(['verify', good, '--plan', EXAMPLE_PLAN_PATH, '--key', key.publicKey, '--format', 'md', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /record {6}: written to /);
  const md = readFileSync(out, 'utf8');
  assert.match(md, /^# Ceremony record: Three-custodian DKEK ceremony \(rehearsal\)\n/);
  assert.match(md, new RegExp(`\\| Transcript \\| good\\.jsonl, 60 events, SHA-256 ${createHash('sha256').update(readFileSync(good)).digest('hex')} \\|`));
  assert.ok(md.includes(`| ${key.fingerprint} | 1 | the start | yes |`));
  for (const [name, role] of [['oscar', 'operator'], ['olivia', 'security officer'], ['alice', 'custodian'], ['bob', 'custodian'], ['carol', 'custodian'], ['wendy', 'witness'], ['walter', 'witness']]) {
    assert.ok(md.includes(`| ${name} | ${role} | ______________________________ | ______________ |`), `${name} signs`);
  }
  assert.match(md, /\| ____________________ \| auditor \|/);
  assertNoSecrets([md], secretValues);
  const before = readFileSync(out);
  const again = await runCli(['verify', good, '--format', 'md', '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists and will not be overwritten/);
  assert.deepEqual(readFileSync(out), before);
});

test('--format html escapes what people typed; a failed transcript gets no record', async () => {
  const path = join(dir, 'noted.jsonl');
  const w = TranscriptWriter.create(path, { plan: planIdentity(examplePlan), version: '0.1.0', rng: seededRng('h'), clock: steppingClock() });
  for (const e of exampleEvents()) w.append(e);
  w.append({ kind: 'note', actor: { role: 'operator', name: 'oscar' }, data: { text: '<script>alert("x")</script> & more' } });
  w.finish();
  const html = join(dir, 'record.html');
  const r = await runCli(['verify', path, '--format', 'html', '--out', html]);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(html, 'utf8');
  assert.ok(!text.includes('<script>'));
  assert.ok(text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'));
  assert.match(text, /^<!doctype html>/);

  const bad = join(dir, 'bad2.jsonl');
  writeFileSync(bad, readFileSync(good, 'utf8').replace('"slot":"carol"', '"slot":"carl"'));
  const none = join(dir, 'none.md');
  const f = await runCli(['verify', bad, '--format', 'md', '--out', none]);
  assert.equal(f.code, 1);
  assert.ok(!existsSync(none));
  assert.match(f.stderr, /hint: no record was written/);
});

test('usage errors: no transcript, --format without --out, an unknown format, a malformed key, a missing file', async () => {
  assert.equal((await runCli(['verify'])).code, 2);
  assert.match((await runCli(['verify', good, '--format', 'md'])).stderr, /--format and --out go together/);
  assert.match((await runCli(['verify', good, '--format', 'pdf', '--out', join(dir, 'x.pdf')])).stderr, /--format takes md or html/);
  assert.match((await runCli(['verify', good, '--key', 'abcd'])).stderr, /neither a 64-digit public key nor a 32-digit fingerprint/);
  const missing = await runCli(['verify', join(dir, 'nope.jsonl')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the transcript .*: no such file/);
});
