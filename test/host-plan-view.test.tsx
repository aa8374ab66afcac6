/**
 * `hsm-ceremony host PLAN --rehearse` on a terminal: the coordinator shows the run view of `run
 * PLAN` (runHostedPlan with `terminal`, rendered by Ink into a fake 80×24 terminal), and alice and
 * bob join from in-process custodian terminals (runJoin with --code-file, as `hsm-custodian join`
 * runs). Checked on the screens: the people panel with each join code until its owner joins, then
 * connected with the SAS their own terminal shows; the running step highlighted; the operator's new
 * user PIN typed into the view (the security officer has no slot), a deviation note and a pause
 * while the prompt is set aside, alice's share made on her terminal after a continue (its public
 * line in the log), and an abort with a typed reason that finishes the transcript as
 * aborted and tells the custodians' terminals. Every frame, and every custodian output, is searched
 * for the planted secrets; the transcript verifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, secretFile, assertNoSecrets } from './helpers/cli.ts';
import { FakeStdout, KEY, assertFits, flat, terminal } from './ui/harness.tsx';
import { runHostedPlan } from '../app/net/plan-host-run.ts';
import { plainHostView } from '../app/net/host-view.ts';
import { runJoin } from '../custodian-client/join-command.ts';
import { shareFileKdfSync } from '../protocol/dkek/share-file.ts';
import { spacedSas } from '../protocol/wire/event-text.ts';
import { verifyTranscript } from '../app/transcript/verifier.ts';
import type { CliIo } from '../app/cli/command.ts';

const PIN = '583920';
const SO_PIN = '6a1f0c93b2d47e85';
const ALICE_PW = 'planted-alice copper meadow 2291';
const BOB_PW = 'planted-bob silver canyon 7734';
const PLANTED = [PIN, SO_PIN, ALICE_PW, BOB_PW];

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));


/** A custodian's terminal in this process: `hsm-custodian join URL --code-file … --yes`. */
function custodian(dir: string, url: string, name: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (out += d));
  const stdin = new PassThrough();
  const done = runJoin([url, '--code-file', `codes/${name}.code`, '--passphrase-file', `${name}.pass`, '--dir', name, '--yes', '--sign-off', 'accept'], {
    io: { stdin, stdout, stderr },
    cwd: dir,
    deps: { kdf: () => shareFileKdfSync(1000) },
  }).then(
    (code) => code,
    (e: unknown) => e,
  );
  return { done, out: () => out };
}

const PLAN = `version: 1
name: Hosted run view
device:
  reader: simulator
roles:
  operator: oscar
  custodians: [alice, bob]
steps:
  - step: initialize
    dkekShares: 2
  - step: create-share
    custodian: alice
    file: alice.pbe
  - step: create-share
    custodian: bob
    file: bob.pbe
  - step: import-share
    custodian: alice
    file: alice.pbe
  - step: import-share
    custodian: bob
    file: bob.pbe
  - step: expect-kcv
`;

test('host PLAN on a terminal: the run view with the people panel, a PIN typed at the view, a note, a pause and an abort with a reason', { timeout: 120_000 }, async () => {
  const dir = tempDir('hsm-host-view-');
  writeFileSync(join(dir, 'plan.yaml'), PLAN);
  mkdirSync(join(dir, 'codes'), { mode: 0o700 });
  for (const [n, pw] of [['alice', ALICE_PW], ['bob', BOB_PW]] as const) {
    mkdirSync(join(dir, n), { mode: 0o700 });
    secretFile(dir, `${n}.pass`, pw + '\n');
  }
  // the SO-PIN from the rehearsal secrets file; the user PIN is typed by the operator at the view
  secretFile(dir, 'secrets.json', JSON.stringify({ rehearsal: true, soPin: SO_PIN }));
  const t = terminal();
  const plainOut = new PassThrough();
  let plain = '';
  plainOut.on('data', (d) => (plain += d));
  const io: CliIo = { stdin: t.stdin as unknown as CliIo['stdin'], stdout: t.stdout as unknown as CliIo['stdout'], stderr: new FakeStdout() as unknown as CliIo['stderr'], env: { NO_COLOR: '1' }, cwd: dir };
  let url = '';
  const run = runHostedPlan({
    planPath: 'plan.yaml',
    io,
    flags: { rehearse: true, out: 'out', transcript: 'out/transcript.jsonl', 'secrets-file': 'secrets.json' },
    view: plainHostView({ stdout: plainOut, stderr: plainOut, json: false }),
    listen: { host: '127.0.0.1', port: 0 },
    codesOut: join(dir, 'codes'),
    joinTimeoutMs: 120_000,
    atCoordinator: [],
    onListening: (h) => (url = h.url),
    out: (line) => plainOut.write(line + '\n'),
    terminal: {
      stdin: t.stdin as unknown as NodeJS.ReadStream,
      stdout: t.stdout as unknown as NodeJS.WriteStream,
      stderr: new FakeStdout() as unknown as NodeJS.WriteStream,
      env: { NO_COLOR: '1' },
      testOnlyDebug: true,
    },
  }).then(
    (code) => code,
    (e: unknown) => e,
  );

  // before anyone joins: the header, the highlighted first step, and each slot's join code
  let f = await t.waitFor(/bob \(custodian\) +○ join code/);
  assert.match(f, /^HOST {2}Hosted run view REHEARSAL/m);
  assert.match(f, /join with: hsm-custodian join ws:\/\/127\.0\.0\.1:\d+\/v1/);
  for (const n of ['alice', 'bob']) {
    const code = readFileSync(join(dir, 'codes', `${n}.code`), 'utf8').trim();
    assert.ok(f.includes(`${n} (custodian)  ○ join code ${code}`), f);
  }
  assert.equal(plain, '', 'on a terminal nothing goes to the plain view');
  assert.ok(url !== '');

  // both join; the panel shows them connected with the SAS their own terminals show
  const alice = custodian(dir, url, 'alice');
  const bob = custodian(dir, url, 'bob');
  f = await t.waitFor(/alice \(custodian\) +● connected, SAS \d{3} \d{3}[\s\S]*bob \(custodian\) +● connected, SAS \d{3} \d{3}/);
  const transcriptPath = join(dir, 'out', 'transcript.jsonl');
  const joined = readFileSync(transcriptPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.kind === 'custodian-joined' && e.data.via === 'network');
  assert.equal(joined.length, 2);
  for (const e of joined) {
    assert.ok(f.includes(`${e.actor.name} (custodian)  ● connected, SAS ${spacedSas(e.data.sas)}`), f);
    const out = (e.actor.name === 'alice' ? alice : bob).out();
    assert.ok(out.includes(e.data.sas) || out.replace(/\s/g, '').includes(e.data.sas), `${e.actor.name}'s terminal shows the SAS`);
  }

  // step 1 runs, highlighted; the new user PIN is asked at the view, naming the operator
  f = await t.waitFor('New user PIN:');
  assert.match(f, /▶ {3}1 initialize {6}running/);
  assert.match(f, /oscar \(operator\) types now\./);
  // the operator sets the prompt aside: a note, and a pause before step 2
  await t.press(KEY.escape);
  await t.waitFor('Enter back to the prompt');
  await t.press('n');
  await t.waitFor('Add a deviation note?');
  await t.press(KEY.enter);
  await t.waitFor('Note:');
  await t.type('bob arrived ten minutes late');
  await t.waitFor('note queued');
  await t.press('p');
  await t.waitFor('pause requested');
  await t.press(KEY.enter);
  await t.waitFor('New user PIN:');
  await t.type(PIN);
  await t.waitFor('New user PIN again:');
  await t.type(PIN);
  f = await t.waitFor('PAUSED before step 2 of 6 (create-share)');
  assert.match(f, /✓ {3}1 initialize {6}finished/);
  assert.match(f, /NOTE by oscar: bob arrived ten minutes late/);

  // continue, and pause again at once: alice makes her share on her own terminal meanwhile, and
  // the plan host's public line about it reaches the log
  t.stdin.write('c');
  await tick(15);
  t.stdin.write('p');
  f = await t.waitFor(/PAUSED before step [3-6] of 6/);
  assert.match(f, /✓ {3}2 create-share {4}finished/);
  assert.match(flat(t.everything()), /alice created a new DKEK share \(fingerprint [0-9a-f ]+\), saved on their terminal/);
  assert.ok(existsSync(join(dir, 'alice', 'alice.pbe')), "alice's share is saved on her terminal");

  // abort with a typed reason, confirmed by typing abort
  await t.press('a');
  await t.waitFor('Abort the ceremony?');
  await t.press(KEY.enter);
  await t.type('');
  await t.waitFor('✗ an abort needs a reason');
  await t.type('the witness had to leave');
  await t.waitFor('Type abort to confirm');
  await t.type('abort');
  f = await t.waitFor('ceremony ABORTED: the witness had to leave');
  assert.match(f, /chain head {3}[0-9a-f]{64}/);
  await t.press(KEY.enter);
  const e = (await run) as { code?: string; exitCode?: number };
  assert.equal(e.code, 'ABORTED', String(e));
  assert.equal(e.exitCode, 4);
  // the custodians' terminals were told the ceremony is over, and end
  const [a, b] = await Promise.all([alice.done, bob.done]);
  for (const [name, c, r] of [['alice', alice, a], ['bob', bob, b]] as const) {
    assert.notEqual(r, 0, `${name}'s terminal did not finish normally`);
    assert.match(c.out(), /cancel|over|abort/i, `${name}'s terminal says the ceremony ended`);
  }

  const report = verifyTranscript(new Uint8Array(readFileSync(transcriptPath)));
  assert.equal(report.status, 'aborted');
  const text = readFileSync(transcriptPath, 'utf8');
  assert.match(text, /bob arrived ten minutes late[^\n]*"kind":"note"|"kind":"note"[^\n]*bob arrived ten minutes late/);
  assert.match(text, /"reason":"the witness had to leave"/);
  assert.equal(JSON.parse(text.trimEnd().split('\n').at(-1)!).data.outcome, 'aborted');
  assert.ok(existsSync(join(dir, 'out', 'alice.pbe')), "the coordinator wrote alice's (encrypted, public) share file");
  assertNoSecrets([t.everything(), alice.out(), bob.out(), plain, text], PLANTED);
  // every frame of the view fits 80×24
  assertFits(t.stdout.frames.slice(0, -1));
});
