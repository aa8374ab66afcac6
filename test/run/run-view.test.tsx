/**
 * The terminal run view driven for real: runPlanOnTerminal (app/ui/run/run-tty.tsx) over the plan
 * runner on a rehearsal simulator, rendered by Ink into fake 80×24 terminal streams, keys written
 * to a fake stdin. Screens checked: the running step highlighted, secret prompts naming who types
 * (rules, retyping, advice), a note, a pause before the next step, a skip with a typed reason, a
 * failure offering retry, an abort with a typed reason, sign-offs (sign and decline), Ctrl-C, and
 * the end screen. Password shares handed out and typed in through the same view. Every frame
 * ever written is searched for the planted secrets, and each transcript is verified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import React from 'react';
import { render } from 'ink';
import { tempDir, secretFile, assertNoSecrets } from '../helpers/cli.ts';
import { FakeStdout, KEY, assertFits, flat, terminal } from '../ui/harness.tsx';
import { loadPlan } from '../../app/plan/plan-parse.ts';
import { loadSecretsFile } from '../../app/cli/secrets-file.ts';
import { openRehearsalDevice } from '../../app/run/run-device.ts';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity } from '../../app/transcript/event.ts';
import { verifyTranscript } from '../../app/transcript/verifier.ts';
import { lineHash } from '../../app/transcript/chain.ts';
import { shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import { splitPassword, passwordCandidates, wipeCandidates } from '../../protocol/dkek/password-shares.ts';
import { runPlanOnTerminal } from '../../app/ui/run/run-tty.tsx';
import { RunView } from '../../app/ui/run/RunView.tsx';
import { RunViewStore } from '../../app/ui/run/run-view-store.ts';
import { TtyRunSecrets } from '../../app/ui/run/tty-run-secrets.ts';
import { initialRunView } from '../../app/ui/run/run-view-model.ts';
import type { RunOutcome } from '../../app/run/plan-runner.ts';
import { CLEAR_SCREEN } from '../../app/ui/run-tui.tsx';

const PIN = '271828';
const SO_PIN = '8d1f33a0c2b94e57';
const ALICE = 'alice plants: quiet orchard 42';
const BOB = 'bob plants: marble river 77';
const WRONG = 'not alices passphrase';
const PLANTED = [PIN, SO_PIN, ALICE, BOB, WRONG];
/** half a PIN, typed when Ctrl-C comes */
const HALF_PIN = 'Qz7#';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));


function setup(planText: string, secrets: Record<string, unknown> | null) {
  const dir = tempDir('hsm-run-view-');
  const planPath = join(dir, 'plan.yaml');
  writeFileSync(planPath, planText);
  const secretsPath = secrets ? secretFile(dir, 'secrets.json', JSON.stringify({ rehearsal: true, ...secrets })) : null;
  return { dir, planPath, secretsPath };
}

async function startRun(planText: string, secrets: Record<string, unknown> | null) {
  const { dir, planPath, secretsPath } = setup(planText, secrets);
  const plan = loadPlan(planPath, dir);
  const file = secretsPath ? loadSecretsFile(secretsPath, dir) : undefined;
  const device = await openRehearsalDevice({ rng: (n) => crypto.getRandomValues(new Uint8Array(n)) });
  const transcriptPath = join(dir, 'transcript.jsonl');
  const writer = TranscriptWriter.create(transcriptPath, { plan: planIdentity(plan), version: 'test', device: device.info, rehearsal: true, simulatorSeed: device.seed! });
  const fingerprint = writer.fingerprint;
  const t = terminal();
  const done = runPlanOnTerminal({
    stdin: t.stdin as unknown as NodeJS.ReadStream,
    stdout: t.stdout as unknown as NodeJS.WriteStream,
    stderr: new FakeStdout() as unknown as NodeJS.WriteStream,
    env: { NO_COLOR: '1' },
    plan: plan.plan,
    header: { name: plan.plan.name, planSha256: plan.sha256, device: 'simulator', rehearsal: true, fingerprint, transcript: transcriptPath, resumed: false },
    writer,
    ctx: { plan: plan.plan, planDir: plan.dir, outDir: dir, hsm: device.hsm, kdf: () => shareFileKdfSync(1000), rng: (n) => crypto.getRandomValues(new Uint8Array(n)), memory: { kcv: null, written: new Set() }, operator: { role: 'operator', name: plan.plan.roles.operator ?? null } },
    file,
    verifyCommand: `hsm-ceremony verify ${transcriptPath} --plan ${planPath}`,
    exitCode: (r: RunOutcome) => (r.outcome === 'completed' ? 0 : 4),
    testOnlyDebug: true,
  }).finally(() => device.close());
  return { t, done, transcriptPath, fingerprint, plan, dir, file };
}

const PLAN = `version: 1
name: Run view test
device:
  reader: simulator
roles:
  operator: oscar
  securityOfficer: olivia
  custodians: [alice, bob]
  witnesses: [wendy]
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
  - step: sign-off
    who: [witnesses]
`;

test('run view: typed PIN and passphrases, a note, a pause, a skip, a failure with retry, an abort with a reason', { timeout: 120_000 }, async () => {
  const { t, done, transcriptPath, fingerprint } = await startRun(PLAN, { soPin: SO_PIN });

  // step 1: the user PIN is new, typed twice by the operator; the SO-PIN comes from the file
  let f = await t.waitFor('New user PIN:');
  assert.match(f, /^RUN {2}Run view test REHEARSAL/m);
  assert.ok(f.includes(`ceremony key ${fingerprint}`), f);
  assert.match(f, /▶ {3}1 initialize {6}running/);
  assert.match(f, /oscar \(operator\) types now\./);
  assert.match(flat(f), /Everyone else: look away/);
  await t.type('123');
  f = await t.waitFor('✗ the user PIN must be 6 to 16 characters');
  await t.type(PIN);
  await t.waitFor('New user PIN again:');
  await t.type(PIN);

  // step 2: alice chooses her passphrase: too short, then two different entries, then right
  f = await t.waitFor("alice's new share file alice.pbe");
  assert.match(f, /alice \(custodian\) types now\./);
  assert.match(f, /✓ {3}1 initialize {6}finished/);
  assert.match(f, /▶ {3}2 create-share {4}running/);
  await t.type('abc');
  await t.waitFor('✗ that is 3 characters; at least 6 are needed');
  await t.type('short1');
  f = await t.waitFor('New passphrase again:');
  assert.match(flat(f), /Advice: 6 characters is short/);
  await t.type('short2');
  await t.waitFor('✗ the two entries differ');

  // the operator sets the prompt aside: a note, then a pause (before step 3)
  await t.press(KEY.escape);
  f = await t.waitFor('Enter back to the prompt');
  await t.press('n');
  f = await t.waitFor('Add a deviation note?');
  await t.press('x', 'y', KEY.enter);
  f = await t.waitFor('Note:');
  assert.match(flat(f), /Never type a secret here/);
  assert.doesNotMatch(f, /Note: xy/);
  await t.type('alice re-typed her passphrase twice');
  await t.waitFor('note queued');
  await t.press('p');
  await t.waitFor('pause requested');
  await t.press(KEY.enter);
  await t.waitFor('New passphrase:');
  await t.type(ALICE);
  await t.waitFor('New passphrase again:');
  await t.type(ALICE);
  f = await t.waitFor('PAUSED before step 3 of 7 (create-share)');
  assert.match(f, /NOTE by oscar: alice re-typed her passphrase twice/);

  // skip step 3 with a reason, confirmed by typing skip
  await t.press('s');
  await t.waitFor('Skip step 3 (create-share), with a reason?');
  await t.press(KEY.enter);
  await t.type('');
  await t.waitFor('✗ a skip needs a reason');
  await t.type('bob brings the share file he made at home');
  await t.waitFor('Type skip to confirm');
  await t.type('ok');
  await t.waitFor('✗ type skip to confirm');
  await t.type('skip');
  f = await t.waitFor('SKIPPED: bob brings the share file he made at home');
  assert.match(f, /↷ {3}3 create-share {4}skipped/);

  // continue: step 4 imports alice's file; a wrong passphrase fails the step, which is retried
  await t.press('c');
  f = await t.waitFor('alice opens alice.pbe');
  assert.match(f, /Passphrase:/);
  await t.type(WRONG);
  f = await t.waitFor(/step 4 \(import-share\) failed/);
  assert.match(f, /PAUSED: step 4 failed/);
  assert.match(f, /c or Enter retries step 4/);
  await t.press('c');
  await t.waitFor('alice opens alice.pbe');
  await t.type(ALICE);

  // step 5: bob.pbe does not exist; the failure names the file and the hint
  f = await t.waitFor(/step 5 \(import-share\) failed: RUN_INPUT_MISSING/);
  assert.match(flat(f), /hint: bring the file named in the plan/);

  // abort: a reason, then the word abort
  await t.press('a');
  await t.waitFor('Abort the ceremony?');
  await t.press(KEY.enter);
  await t.type('bob did not bring his share file');
  await t.waitFor('Type abort to confirm');
  await t.type('abort');
  f = await t.waitFor('ceremony ABORTED: bob did not bring his share file');
  assert.ok(f.includes(`ceremony key fingerprint: ${fingerprint}`), f);
  assert.match(f, /chain head {3}[0-9a-f]{64}/);
  await t.press(KEY.enter);
  const { result, end } = await done;
  assert.equal(result.outcome, 'aborted');
  assert.equal(end.exitCode, 4);
  assert.match(t.everything(), /ceremony ABORTED: bob did not bring his share file\ntranscript {3}/);

  const report = verifyTranscript(new Uint8Array(readFileSync(transcriptPath)));
  assert.equal(report.status, 'aborted');
  const text = readFileSync(transcriptPath, 'utf8');
  assert.match(text, /alice re-typed her passphrase twice[^\n]*"kind":"note"/);
  assert.match(text, /bob brings the share file he made at home[^\n]*"kind":"step-skipped"/);
  assert.match(text, /"kind":"step-failed"[^\n]*"step":4,/);
  assert.match(text, /"reason":"bob did not bring his share file"/);
  assert.equal(JSON.parse(text.trimEnd().split('\n').at(-1)!).data.outcome, 'aborted');
  // the chain head on the end screen is the hash of the transcript's last line
  assert.equal(end.head, lineHash(new TextEncoder().encode(text.trimEnd().split('\n').at(-1)!)));
  assert.ok(t.everything().includes(`chain head   ${end.head}`));
  assertNoSecrets([t.everything(), text], PLANTED);
  // every frame of the view (the record printed after it is plain text the terminal wraps)
  assertFits(t.stdout.frames.slice(0, -1));
});

const SIGN_PLAN = `version: 1
name: Sign-off test
device:
  reader: simulator
roles:
  operator: oscar
  custodians: [alice]
  witnesses: [wendy, walter]
steps:
  - step: sign-off
    who: [witnesses, custodians]
    statement: the keys were made as planned
`;

test('run view: sign-offs typed by each person (sign, decline with a reason), and the end screen', { timeout: 60_000 }, async () => {
  const { t, done, transcriptPath, fingerprint } = await startRun(SIGN_PLAN, { signOffs: { alice: true } });
  let f = await t.waitFor('Sign-off: wendy (witness)');
  assert.match(flat(f), /Statement: "the keys were made as planned"/);
  assert.match(flat(f), /wendy: type your name, wendy, to sign this statement/);
  await t.type('walter');
  await t.waitFor('✗ that is not "wendy"; type wendy to sign, or decline');
  await t.type('Wendy');
  f = await t.waitFor('Sign-off: walter (witness)');
  assert.match(f, /wendy SIGNS OFF/);
  await t.type('decline');
  await t.waitFor('walter declines. Why?');
  await t.type('');
  await t.waitFor('✗ a refusal needs a reason');
  await t.type('I arrived after the keys were made');
  f = await t.waitFor('The ceremony is complete.');
  assert.match(f, /ceremony COMPLETED/);
  assert.ok(f.includes(`ceremony key fingerprint: ${fingerprint}`), f);
  assert.ok(flat(f).includes(`hsm-ceremony verify ${transcriptPath}`), f);
  await t.press(KEY.enter);
  const { result, end } = await done;
  assert.equal(result.outcome, 'completed');
  assert.equal(end.exitCode, 0);
  // the record printed after the view closed
  assert.match(t.everything(), /ceremony COMPLETED\ntranscript {3}\S+\nchain head {3}[0-9a-f]{64}/);
  const report = verifyTranscript(new Uint8Array(readFileSync(transcriptPath)));
  assert.equal(report.status, 'verified');
  const text = readFileSync(transcriptPath, 'utf8');
  assert.match(text, /"name":"wendy"[^\n]*"accepted":true[^\n]*"kind":"sign-off"/);
  assert.match(text, /"name":"walter"[^\n]*"accepted":false,"reason":"I arrived after the keys were made"[^\n]*"kind":"sign-off"/);
  assert.match(text, /"name":"alice"[^\n]*"accepted":true[^\n]*"kind":"sign-off"/);
  assertFits(t.stdout.frames.slice(0, -1));
});

test('run view: Ctrl-C at a secret prompt finishes the transcript as aborted (interrupted)', { timeout: 60_000 }, async () => {
  const { t, done, transcriptPath } = await startRun(PLAN, null);
  await t.waitFor('New user PIN:');
  t.stdin.write(HALF_PIN);
  await tick(20);
  await t.press(KEY.ctrlC);
  await t.waitFor(/ceremony ABORTED: interrupted/);
  await t.press('q');
  const { result } = await done;
  assert.equal(result.outcome, 'aborted');
  assert.equal(verifyTranscript(new Uint8Array(readFileSync(transcriptPath))).status, 'aborted');
  assertNoSecrets([t.everything(), readFileSync(transcriptPath, 'utf8')], [HALF_PIN]);
});

test('password shares: handed out one custodian at a time with the screen erased between, and typed back in', { timeout: 60_000 }, async () => {
  const { plan } = { plan: loadPlan(setup(PLAN, null).planPath, process.cwd()) };
  const t = terminal();
  const interrupt = new AbortController();
  let clears = 0;
  const store = new RunViewStore(initialRunView({ name: 'x', planSha256: '00'.repeat(32), device: 'simulator', rehearsal: true, fingerprint: 'f', transcript: 't', resumed: false }, plan.plan.steps.map((s) => s.step)), {
    interrupt,
    clearScreen: () => {
      clears++;
      t.stdout.write(CLEAR_SCREEN);
    },
  });
  const secrets = new TtyRunSecrets({ ui: store, plan: plan.plan, currentKind: () => 'create-share' });
  const ink = render(<RunView store={store} theme={{ color: false }} onClose={() => undefined} />, {
    stdin: t.stdin as unknown as NodeJS.ReadStream,
    stdout: t.stdout as unknown as NodeJS.WriteStream,
    stderr: new FakeStdout() as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  try {
    const split = splitPassword(2, 3);
    const values = split.shares.map((s) => s.value.toString(16));
    const handing = secrets.handOutPwdShares('pwd.pbe', ['alice', 'bob', 'wendy'], split, 2);
    const shown: string[] = [];
    for (let i = 0; i < 3; i++) {
      const who = ['alice (custodian)', 'bob (custodian)', 'wendy (witness)'][i]!;
      let f = await t.waitFor(`Password share ${i + 1} of 3 for pwd.pbe`);
      assert.match(f, new RegExp(`${who.replace(/[()]/g, '\\$&')} alone takes the seat; everyone else looks away now`));
      assert.doesNotMatch(f, /Share value/);
      await t.press(KEY.enter);
      f = await t.waitFor('Share value :');
      assert.match(f, new RegExp(`${who.replace(/[()]/g, '\\$&')}, only you look: any 2 of 3 shares open pwd.pbe`));
      assert.match(f, new RegExp(`Share ID    : ${i + 1}`));
      shown.push(f);
      const before = clears;
      await t.press(KEY.enter);
      await tick(20);
      assert.equal(clears, before + 1, 'the screen is erased after each share');
    }
    await handing;
    // each reveal showed exactly its own share
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) assert.ok(!shown[i]!.includes(`Share ID    : ${j + 1}\n`), `share ${j + 1} on ${i + 1}'s screen`);

    // typed back in: the prime once, then two custodians' IDs (echoed) and values (hidden)
    const lines = shown.map((f) => f.split('\n'));
    const primeText = /Prime {7}: ([0-9a-f:]+)/.exec(shown[0]!)![1]!;
    const valueOf = (i: number) => /Share value : ([0-9a-f:]+)/.exec(lines[i]!.join('\n'))![1]!;
    const typing = secrets.pwdShares('pwd.pbe', ['bob', 'wendy'], 2, 3);
    let f = await t.waitFor('Prime:');
    assert.match(f, /bob \(custodian\) types now\./);
    await t.type('zz');
    await t.waitFor('✗ ');
    await t.type(primeText);
    f = await t.waitFor('Share ID:');
    assert.match(f, /bob \(custodian\), your turn\./);
    await t.type('2');
    f = await t.waitFor('Share value:');
    assert.match(flat(f), /Share ID 2\. Type the "Share value"/);
    await t.type(valueOf(1));
    f = await t.waitFor('wendy (witness), your turn.');
    await t.type('2');
    await t.waitFor('✗ share ID 2 was already entered');
    await t.type('3');
    await t.waitFor('Share value:');
    await t.type(valueOf(2));
    const set = await typing;
    const candidates = passwordCandidates(set);
    assert.ok(candidates.some((c) => Buffer.from(c.password).equals(Buffer.from(split.password))), 'the typed shares rebuild the password');
    wipeCandidates(candidates);
    // share values were on screen only while their custodian looked; never in the prompts' frames
    const all = t.everything();
    const firstReveal = all.indexOf('Share value :');
    assert.ok(firstReveal > 0);
    const afterReveals = all.slice(all.lastIndexOf('Write down ALL three values'));
    for (const v of values) assert.ok(!afterReveals.includes(valueOf(0)) && !afterReveals.includes(v), 'a share value was echoed while typed');
    assertFits(t.stdout.frames);
  } finally {
    ink.unmount();
  }
});


const PWD_PLAN = `version: 1
name: Password-share run test
device:
  reader: simulator
roles:
  operator: oscar
  custodians: [alice, bob, carol]
steps:
  - step: initialize
    dkekShares: 1
  - step: create-share
    file: pwd.pbe
    pwdShares: "2/3"
    custodians: [alice, bob, carol]
  - step: import-share
    file: pwd.pbe
    custodians: [carol, alice]
  - step: expect-kcv
`;

test('run view over the runner: an n-of-m share file made (each custodian alone with their share) and imported by typing two shares', { timeout: 60_000 }, async () => {
  const { t, done, transcriptPath } = await startRun(PWD_PLAN, { pin: PIN, soPin: SO_PIN });
  const shares: { prime: string; id: string; value: string }[] = [];
  for (const [i, who] of ['alice', 'bob', 'carol'].entries()) {
    let f = await t.waitFor(`Password share ${i + 1} of 3 for pwd.pbe`);
    assert.match(f, new RegExp(`${who} \\(custodian\\) alone takes the seat`));
    assert.match(f, /▶ {3}2 create-share {4}running/);
    assert.doesNotMatch(f, /Share value :/);
    await t.press(KEY.enter);
    f = await t.waitFor('Share value :');
    assert.match(f, new RegExp(`${who} \\(custodian\\), only you look: any 2 of 3 shares open pwd.pbe`));
    shares.push({ prime: /Prime {7}: ([0-9a-f:]+)/.exec(f)![1]!, id: /Share ID {4}: (\d+)/.exec(f)![1]!, value: /Share value : ([0-9a-f:]+)/.exec(f)![1]! });
    await t.press(KEY.enter);
  }
  assert.deepEqual(shares.map((s) => s.id), ['1', '2', '3']);
  // the import step lists carol, then alice: carol types the prime and her share, then alice
  let f = await t.waitFor('Prime:');
  assert.match(f, /carol \(custodian\) types now/);
  await t.type(shares[2]!.prime);
  await t.waitFor('carol (custodian), your turn.');
  await t.type(shares[2]!.id);
  await t.waitFor('Share value:');
  await t.type(shares[2]!.value);
  await t.waitFor('alice (custodian), your turn.');
  await t.type(shares[0]!.id);
  await t.waitFor('Share value:');
  await t.type(shares[0]!.value);
  f = await t.waitFor('The ceremony is complete.', 30_000);
  await t.press(KEY.enter);
  const { result } = await done;
  assert.equal(result.outcome, 'completed');
  assert.equal(verifyTranscript(new Uint8Array(readFileSync(transcriptPath))).status, 'verified');
  const text = readFileSync(transcriptPath, 'utf8');
  assert.match(text, /"kind":"share-imported"/);
  assert.match(text, /"kind":"kcv-read"/);
  // share values appear only on their custodian's reveal screens: never while typed, never in the transcript
  const all = t.everything();
  const afterReveals = all.slice(all.lastIndexOf('Write down ALL three values'));
  for (const s of shares) assert.ok(!afterReveals.includes(s.value) && !text.includes(s.value), 'a share value was shown outside its reveal');
  assertNoSecrets([all, text], PLANTED);
  assertFits(t.stdout.frames.slice(0, -1));
});
