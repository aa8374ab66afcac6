/**
 * `hsm-ceremony host PLAN` without --rehearse: a real ceremony (non-rehearsal transcript, real
 * 0600 secrets file for the PINs) on a device opened as `run PLAN` opens it — here `--sim
 * --sim-state FILE`, the simulator standing in for the card. Alice and the witness Wendy are on
 * their own terminals; Bob is listed with --at-coordinator, so his share is created and imported
 * with his passphrase typed hidden on the coordinator's terminal, and he and the operator sign off
 * there by typing their names (Bob declines, with a reason). The coordinator runs in this process
 * on a scripted terminal. The transcript verifies; every output and file is searched for the
 * planted secrets. Also: headless refusals before the device is touched, and a wrong device.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { filesBelow, tempDir } from './helpers/cli.ts';
import { main } from '../app/cli/main.ts';
import type { CliIo } from '../app/cli/command.ts';
import { REPO, TSX, runProgram, until, type Proc } from './net/net-helpers.ts';

const MAIN = join(REPO, 'app/cli/main.ts');
const CUSTODIAN = join(REPO, 'custodian-client/main.ts');
const PIN = '731950';
const SO_PIN = '3130393837363534';
const ALICE_PW = 'planted-alice granite orbit 5520';
const BOB_PW = 'planted-bob lantern fjord 8317';
const PLANTED = [PIN, SO_PIN, ALICE_PW, BOB_PW];

const started: Proc[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

function secret(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
}

function plan(dir: string, device = '  reader: Ceremony Reader 00'): string {
  const p = join(dir, 'plan.yaml');
  writeFileSync(
    p,
    [
      'version: 1',
      'name: Hosted DKEK ceremony',
      'device:',
      device,
      'roles:',
      '  operator: oscar',
      '  custodians: [alice, bob]',
      '  witnesses: [wendy]',
      'steps:',
      '  - step: initialize',
      '    dkekShares: 2',
      '  - step: create-share',
      '    custodian: alice',
      '    file: alice.pbe',
      '  - step: create-share',
      '    custodian: bob',
      '    file: bob.pbe',
      '  - step: import-share',
      '    custodian: alice',
      '    file: alice.pbe',
      '  - step: import-share',
      '    custodian: bob',
      '    file: bob.pbe',
      '  - step: expect-kcv',
      '  - step: sign-off',
      '    who: [wendy, oscar, alice, bob]',
      '',
    ].join('\n'),
  );
  return p;
}

function setup(prefix: string): string {
  const dir = tempDir(prefix);
  mkdirSync(join(dir, 'codes'), { mode: 0o700 });
  mkdirSync(join(dir, 'alice'), { mode: 0o700 });
  secret(dir, 'alice.pass', ALICE_PW + '\n');
  // a real secrets file: no "rehearsal", owner-only, PINs for the coordinator (no security officer slot)
  secret(dir, 'secrets.json', JSON.stringify({ pin: PIN, soPin: SO_PIN }) + '\n');
  plan(dir);
  return dir;
}

/** A scripted terminal: answers each prompt (matched on stderr) in turn; records what it saw. */
function terminal(dir: string, answers: [RegExp, string][]) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const seen = { out: '', err: '', asked: [] as string[] };
  const pending = [...answers];
  stdout.on('data', (d) => (seen.out += d));
  stderr.on('data', (d) => {
    seen.err += d;
    const next = pending[0];
    if (next && next[0].test(String(d))) {
      pending.shift();
      seen.asked.push(String(d));
      stdin.write(next[1] + '\r');
    }
  });
  const io: CliIo = { stdin, stdout, stderr, env: {}, cwd: dir };
  return { io, seen, pending };
}

function assertNoSecrets(where: string, text: string): void {
  for (const s of PLANTED) assert.ok(!text.includes(s), `${where} holds a planted secret`);
}

type Event = { kind: string; actor: { role: string; name: string | null }; step?: number; data: Record<string, unknown> };
function transcript(path: string): Event[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('host PLAN (real, --sim --sim-state): alice and a witness on their terminals; bob at the coordinator creates and imports his share there; the operator and bob sign off on the coordinator terminal', async () => {
  const dir = setup('hsm-host-real-');
  const state = join(dir, 'card.json');
  const coordinator = terminal(dir, [
    [/^bob, new passphrase of bob\.pbe: $/, BOB_PW],
    [/^bob, the passphrase again: $/, BOB_PW],
    [/^bob, passphrase of bob\.pbe: $/, BOB_PW],
    [/^oscar, type your name to sign, or decline: $/, 'osc'],
    [/^that is not "oscar"; type oscar to sign, or decline: $/, 'Oscar'],
    [/^bob, type your name to sign, or decline: $/, 'decline'],
    [/^bob, why do you decline \(this goes in the transcript\): $/, 'I could not see the screen during step 6'],
  ]);
  const args = ['host', join(dir, 'plan.yaml'), '--sim', '--sim-state', state, '--secrets-file', join(dir, 'secrets.json'), '--at-coordinator', 'bob', '--out', join(dir, 'out'), '--codes-out', join(dir, 'codes'), '--json', '--join-timeout', '120'];
  const hostRun = main(args, coordinator.io);
  await until(() => existsSync(join(dir, 'codes', 'alice.code')) && existsSync(join(dir, 'codes', 'wendy.code')), 'the code files', 30_000);
  assert.ok(!existsSync(join(dir, 'codes', 'bob.code')), 'bob, at the coordinator, has no slot');
  const listening = coordinator.seen.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.type === 'listening');
  assert.ok(listening, 'a listening event');
  const url = listening.url as string;
  const spawnTracked = (a: string[]) => {
    const p = runProgram(a, { cwd: dir });
    started.push(p);
    return p;
  };
  const alice = spawnTracked([CUSTODIAN, 'join', url, '--code-file', 'codes/alice.code', '--yes', '--passphrase-file', 'alice.pass', '--dir', 'alice', '--sign-off', 'accept']);
  const wendy = spawnTracked([CUSTODIAN, 'join', url, '--code-file', 'codes/wendy.code', '--yes', '--sign-off', 'accept']);
  const code = await hostRun;
  assert.equal(code, 0, `host failed: ${coordinator.seen.err}`);
  assert.equal(coordinator.pending.length, 0, `prompts not asked: ${coordinator.pending.map((p) => p[0]).join(', ')}`);
  for (const p of [alice, wendy]) assert.equal(await p.exit, 0, `a terminal failed: ${p.out()} ${p.err()}`);

  // a real ceremony: the transcript says so, names the device, and verifies
  const path = join(dir, 'out', 'transcript.jsonl');
  const t = transcript(path);
  assert.equal(t[0]!.data.rehearsal, false);
  assert.equal((t[0]!.data.device as { simulated: boolean }).simulated, true);
  assert.equal(t[0]!.data.simulatorSeed, undefined, 'no simulator seed outside a rehearsal');
  const v = spawnSync(process.execPath, ['--import', TSX, MAIN, 'verify', path, '--plan', join(dir, 'plan.yaml')], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, `verify: ${v.stdout} ${v.stderr}`);
  assert.match(v.stdout, /bob declined to sign off: I could not see the screen during step 6/);

  // joins: alice and wendy over the network with a SAS; the operator and bob at the coordinator (local)
  const joins = t.filter((e) => e.kind === 'custodian-joined');
  for (const n of ['alice', 'wendy']) {
    assert.ok(joins.some((e) => e.actor.name === n && e.data.via === 'network' && /^\d{6}$/.test(String(e.data.sas))), `${n} joined over the network`);
    assert.ok(!joins.some((e) => e.actor.name === n && e.data.via === 'local'), `${n} is not recorded as local`);
  }
  for (const n of ['oscar', 'bob']) assert.ok(joins.some((e) => e.actor.name === n && e.data.via === 'local'), `${n} took part at the coordinator`);
  // alice made her share on her terminal (the file under --out is hers); bob's was made here
  assert.deepEqual(readFileSync(join(dir, 'out', 'alice.pbe')), readFileSync(join(dir, 'alice', 'alice.pbe')));
  assert.equal(readFileSync(join(dir, 'out', 'bob.pbe')).length, 64);
  assert.ok(t.some((e) => e.kind === 'participant-request' && e.actor.name === 'alice' && e.data.what === 'create-share' && e.data.state === 'answered'));
  assert.ok(!t.some((e) => e.kind === 'participant-request' && e.actor.name === 'bob'), 'nothing was sent to bob: he has no terminal');
  const imports = t.filter((e) => e.kind === 'share-imported');
  assert.deepEqual(imports.map((e) => e.actor.name), ['alice', 'bob']);
  assert.equal(imports[1]!.data.outstanding, 0);
  assert.ok(t.some((e) => e.kind === 'kcv-read'));
  const signOffs = t.filter((e) => e.kind === 'sign-off').map((e) => [e.actor.name, e.data.accepted, e.data.reason ?? null]);
  assert.deepEqual(signOffs, [
    ['wendy', true, null],
    ['oscar', true, null],
    ['alice', true, null],
    ['bob', false, 'I could not see the screen during step 6'],
  ]);
  // the coordinator's screen showed the device and bob's prompts, never a typed secret
  assert.match(coordinator.seen.out + coordinator.seen.err, /device {6}built-in simulator/);
  assert.doesNotMatch(coordinator.seen.out + coordinator.seen.err, /REHEARSAL/);
  assertNoSecrets('the coordinator stdout', coordinator.seen.out);
  assertNoSecrets('the coordinator stderr', coordinator.seen.err);
  for (const p of [alice, wendy]) assertNoSecrets('a terminal', p.out() + p.err());
  for (const f of filesBelow(join(dir, 'out'))) assertNoSecrets(f, readFileSync(f, 'latin1'));
  // (the --sim-state file is the card itself: it holds the card's PINs as a real card's memory does)
});

test('host PLAN headless (real): sign-offs at the coordinator cannot come from a real secrets file, so the run is refused before the device is opened', () => {
  const dir = setup('hsm-host-real-headless-');
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, 'host', 'plan.yaml', '--sim', '--sim-state', 'card.json', '--secrets-file', 'secrets.json', '--at-coordinator', 'bob', '--out', 'out'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /there is no terminal at the coordinator, and secrets\.json does not answer what is asked there/);
  assert.match(r.stderr, /step 3: bob's passphrase of bob\.pbe \(shares\."bob\.pbe"\.passphrase\)/);
  assert.doesNotMatch(r.stderr, /step 5/, 'the same passphrase is named once');
  assert.match(r.stderr, /oscar's sign-off \(step 7\): only a rehearsal file may sign off/);
  assert.match(r.stderr, /bob's sign-off/);
  assert.ok(!existsSync(join(dir, 'card.json')), 'the device was not opened');
  assert.ok(!existsSync(join(dir, 'out')), 'nothing was written');
  assertNoSecrets('the output', r.stdout + r.stderr);
});

test('host PLAN (real): a device other than the plan names is refused, as run refuses it; --rehearse does not take --sim', () => {
  const dir = setup('hsm-host-real-device-');
  plan(dir, '  reader: Ceremony Reader 00\n  serial: "DENK0199999"');
  // headless with everything at the coordinator answered: the only slot-less sign-off is the operator's, so drop it
  writeFileSync(join(dir, 'plan.yaml'), readFileSync(join(dir, 'plan.yaml'), 'utf8').replace('[wendy, oscar, alice, bob]', '[wendy, alice, bob]'));
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, 'host', 'plan.yaml', '--sim', '--secrets-file', 'secrets.json', '--out', 'out'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /the plan expects DENK0199999/);
  assert.ok(!existsSync(join(dir, 'out', 'transcript.jsonl')), 'no transcript for the wrong device');
  const s = spawnSync(process.execPath, ['--import', TSX, MAIN, 'host', 'plan.yaml', '--rehearse', '--sim'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(s.status, 2, s.stderr);
  assert.match(s.stderr, /--rehearse always runs on the built-in simulator/);
});

test('host PLAN resumes: the coordinator is killed after the shares are made; started again on the same transcript and --sim-state it signs a resumed event, issues new codes and runs the unfinished steps', async () => {
  const dir = setup('hsm-host-resume-');
  mkdirSync(join(dir, 'bob'), { mode: 0o700 });
  mkdirSync(join(dir, 'codes2'), { mode: 0o700 });
  secret(dir, 'bob.pass', BOB_PW + '\n');
  writeFileSync(join(dir, 'plan.yaml'), readFileSync(join(dir, 'plan.yaml'), 'utf8').replace('[wendy, oscar, alice, bob]', '[wendy]').replace('reader: Ceremony Reader 00', 'reader: simulator'));
  writeFileSync(join(dir, 'rehearsal.json'), JSON.stringify({ rehearsal: true, pin: PIN, soPin: SO_PIN }) + '\n');
  const args = (codes: string) => [MAIN, 'host', 'plan.yaml', '--rehearse', '--sim-state', 'card.json', '--secrets-file', 'rehearsal.json', '--out', 'out', '--transcript', 'out/transcript.jsonl', '--codes-out', codes, '--json', '--join-timeout', '120'];
  const spawnTracked = (a: string[]) => {
    const p = runProgram(a, { cwd: dir });
    started.push(p);
    return p;
  };
  const events = (h: Proc) => h.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
  const url = async (h: Proc, codes: string) => {
    await until(() => ['alice', 'bob', 'wendy'].every((n) => existsSync(join(dir, codes, `${n}.code`))) || h.child.exitCode !== null, 'the code files', 30_000);
    assert.equal(h.child.exitCode, null, h.err());
    return events(h).find((e) => e.type === 'listening')!.url as string;
  };
  const person = (u: string, codes: string, name: string, extra: string[]) => spawnTracked([CUSTODIAN, 'join', u, '--code-file', `${codes}/${name}.code`, '--yes', ...extra]);
  const custodianArgs = (name: string) => ['--passphrase-file', `${name}.pass`, '--dir', name, '--sign-off', 'accept'];

  const first = spawnTracked(args('codes'));
  const u1 = await url(first, 'codes');
  const firstTerminals = [person(u1, 'codes', 'alice', custodianArgs('alice')), person(u1, 'codes', 'bob', custodianArgs('bob'))];
  // killed once both share files are made, while the first import waits
  await until(() => events(first).some((e) => e.type === 'step' && e.step === 4) || first.child.exitCode !== null, 'step 4', 120_000);
  first.child.kill('SIGKILL');
  await first.exit;
  for (const p of firstTerminals) await p.exit;
  const before = transcript(join(dir, 'out', 'transcript.jsonl'));
  assert.ok(!before.some((e) => e.kind === 'ceremony-finished'), 'the killed run left the transcript unfinished');

  const second = spawnTracked(args('codes2'));
  const u2 = await url(second, 'codes2');
  const terminals = [person(u2, 'codes2', 'alice', custodianArgs('alice')), person(u2, 'codes2', 'bob', custodianArgs('bob')), person(u2, 'codes2', 'wendy', ['--sign-off', 'accept'])];
  assert.equal(await second.exit, 0, `the resumed host failed: ${second.out()} ${second.err()}`);
  for (const p of terminals) assert.equal(await p.exit, 0, `a terminal failed: ${p.out()} ${p.err()}`);
  assert.match(second.out() + second.err(), /transcript {2}\S+transcript\.jsonl \(resumed\)/);

  const t = transcript(join(dir, 'out', 'transcript.jsonl'));
  const resumed = t.findIndex((e) => e.kind === 'resumed');
  assert.ok(resumed > 0, 'a resumed event');
  const after = t.slice(resumed);
  // the shares made before the crash are not made again; both are imported after it, on the same card
  assert.ok(!after.some((e) => e.kind === 'participant-request' && e.data.what === 'create-share'), 'no share made again');
  assert.deepEqual(after.filter((e) => e.kind === 'share-imported').map((e) => e.actor.name), ['alice', 'bob']);
  assert.ok(after.some((e) => e.kind === 'join-code-issued' && e.actor.name === 'alice'), 'new codes after the restart');
  assert.ok(after.some((e) => e.kind === 'sign-off' && e.actor.name === 'wendy' && e.data.accepted === true));
  const v = spawnSync(process.execPath, ['--import', TSX, MAIN, 'verify', 'out/transcript.jsonl', '--plan', 'plan.yaml'], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, `verify: ${v.stdout} ${v.stderr}`);
  for (const p of [first, second, ...firstTerminals, ...terminals]) assertNoSecrets('an output', p.out() + p.err());
  for (const f of filesBelow(join(dir, 'out'))) assertNoSecrets(f, readFileSync(f, 'latin1'));
});
