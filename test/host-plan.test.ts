/**
 * `hsm-ceremony host PLAN --rehearse`: the reviewed example plan run under split knowledge with real
 * processes — three custodians who create and open their shares on their own terminals, a security
 * officer who types the PINs on hers, and two witnesses who sign off on theirs. One custodian's
 * terminal dies mid-step and rejoins with a fresh code. The transcript verifies and records the
 * joins (with SAS) and sign-offs; every output and file is searched for the planted secrets.
 * Also: a declined sign-off, and a hostile terminal answering a request it was not sent.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FIXTURES, filesBelow, tempDir } from './helpers/cli.ts';
import { fromHex } from '../protocol/bytes.ts';
import { formatKcv, kcv } from '../protocol/dkek/dkek.ts';
import { REPO, TSX, rawJoin, runProgram, until, type Proc } from './net/net-helpers.ts';

const MAIN = join(REPO, 'app/cli/main.ts');
const CUSTODIAN = join(REPO, 'custodian-client/main.ts');
const PIN = '648219';
const SO_PIN = '3537363231383830';
const PASSPHRASES: Record<string, string> = {
  alice: 'planted-alice quartz nebula 4471',
  bob: 'planted-bob walnut cipher 9902',
  carol: 'planted-carol ember tundra 1318',
};

const started: Proc[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});
function spawnTracked(args: string[], dir: string): Proc {
  const p = runProgram(args, { cwd: dir });
  started.push(p);
  return p;
}

function secretFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text.endsWith('\n') ? text : text + '\n', { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
}

function setup(prefix: string, plan = join(REPO, 'docs/examples/three-custodians.yaml')): string {
  const dir = tempDir(prefix);
  copyFileSync(plan, join(dir, 'plan.yaml'));
  mkdirSync(join(dir, 'codes'), { mode: 0o700 });
  for (const [n, pw] of Object.entries(PASSPHRASES)) {
    mkdirSync(join(dir, n), { mode: 0o700 });
    secretFile(dir, `${n}.pass`, pw);
  }
  secretFile(dir, 'so.pin', SO_PIN);
  secretFile(dir, 'user.pin', PIN);
  return dir;
}

function startHost(dir: string, extra: string[] = []): Proc {
  return spawnTracked([MAIN, 'host', 'plan.yaml', '--rehearse', '--out', 'out', '--transcript', 'out/transcript.jsonl', '--codes-out', 'codes', '--json', '--join-timeout', '120', ...extra], dir);
}

function events(h: Proc): { type: string; [k: string]: unknown }[] {
  return h.out().split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l));
}

async function listening(dir: string, h: Proc, names: string[]): Promise<string> {
  await until(() => names.every((n) => existsSync(join(dir, 'codes', `${n}.code`))) || h.child.exitCode !== null, 'the code files', 30_000);
  assert.equal(h.child.exitCode, null, `host exited early: ${h.err()}`);
  const e = events(h).find((x) => x.type === 'listening');
  assert.ok(e, 'a listening event');
  return e.url as string;
}

function join_(dir: string, url: string, name: string, args: string[]): Proc {
  return spawnTracked([CUSTODIAN, 'join', url, '--code-file', `codes/${name}.code`, '--yes', ...args], dir);
}

function custodian(dir: string, url: string, name: string, signOff = 'accept'): Proc {
  return join_(dir, url, name, ['--passphrase-file', `${name}.pass`, '--dir', name, '--sign-off', signOff]);
}

function assertNoSecrets(where: string, text: string): void {
  for (const s of [PIN, SO_PIN, ...Object.values(PASSPHRASES)]) assert.ok(!text.includes(s), `${where} holds a planted secret`);
}

function transcript(dir: string): { kind: string; actor: { role: string; name: string | null }; data: Record<string, unknown> }[] {
  return readFileSync(join(dir, 'out/transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('host PLAN: the example plan with three custodians, a security officer and two witnesses on their own terminals; carol rejoins mid-step', async () => {
  const dir = setup('hsm-host-plan-');
  const h = startHost(dir);
  const names = ['alice', 'bob', 'carol', 'olivia', 'wendy', 'walter'];
  const url = await listening(dir, h, names);
  const procs: Proc[] = [];
  procs.push(join_(dir, url, 'olivia', ['--so-pin-file', 'so.pin', '--pin-file', 'user.pin']));
  procs.push(custodian(dir, url, 'alice'), custodian(dir, url, 'bob'));
  procs.push(join_(dir, url, 'wendy', ['--sign-off', 'accept']), join_(dir, url, 'walter', ['--sign-off', 'accept']));
  // carol's first terminal dies while it derives the key of her new share
  const carol1 = custodian(dir, url, 'carol');
  await until(() => events(h).some((e) => e.type === 'deriving' && e.name === 'carol') || h.child.exitCode !== null, 'carol deriving', 120_000);
  carol1.child.kill('SIGKILL');
  await until(() => events(h).some((e) => e.type === 'code-issued' && e.name === 'carol' && (e.generation as number) >= 2), 'a fresh code for carol', 30_000);
  procs.push(custodian(dir, url, 'carol'));
  const code = await h.exit;
  assert.equal(code, 0, `host failed: ${h.err()}`);
  for (const p of procs) assert.equal(await p.exit, 0, `a terminal failed: ${p.out()} ${p.err()}`);

  // the transcript verifies, and records joins with the SAS, the rejoin, requests and sign-offs
  const v = spawnSync(process.execPath, ['--import', TSX, MAIN, 'verify', 'out/transcript.jsonl', '--plan', 'plan.yaml'], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, `verify: ${v.stdout} ${v.stderr}`);
  const t = transcript(dir);
  const joins = t.filter((e) => e.kind === 'custodian-joined' && e.data.via === 'network');
  for (const n of names) assert.ok(joins.some((e) => e.actor.name === n && /^\d{6}$/.test(String(e.data.sas))), `${n} joined over the network with a SAS`);
  assert.equal(joins.filter((e) => e.actor.name === 'carol').length, 2, 'carol joined twice');
  assert.ok(t.some((e) => e.kind === 'custodian-left' && e.actor.name === 'carol'), 'carol left');
  assert.ok(t.some((e) => e.kind === 'join-code-issued' && e.actor.name === 'carol' && e.data.generation === 2), 'a fresh code for carol');
  assert.ok(t.some((e) => e.kind === 'participant-request' && e.actor.name === 'carol' && e.data.what === 'create-share' && e.data.state === 'resent'), 'the pending request was sent again');
  assert.ok(t.some((e) => e.kind === 'participant-request' && e.actor.name === 'olivia' && e.data.what === 'pins' && e.data.state === 'answered'));
  const signOffs = t.filter((e) => e.kind === 'sign-off');
  assert.deepEqual(signOffs.map((e) => e.actor.name).sort(), ['alice', 'bob', 'carol', 'walter', 'wendy']);
  assert.ok(signOffs.every((e) => e.data.accepted === true));
  assert.ok(t.some((e) => e.kind === 'participant-request' && e.actor.name === 'wendy' && e.data.what === 'sign-off' && e.data.state === 'answered'));
  assert.ok(t.some((e) => e.kind === 'kcv-read'));
  // the share files the custodians made are under --out, equal to their own copies
  for (const n of Object.keys(PASSPHRASES)) assert.deepEqual(readFileSync(join(dir, 'out', `${n}.pbe`)), readFileSync(join(dir, n, `${n}.pbe`)));

  // no planted secret anywhere: coordinator output, terminals' output, transcript, every file written
  assertNoSecrets('the coordinator stdout', h.out());
  assertNoSecrets('the coordinator stderr', h.err());
  for (const p of [...procs, carol1]) assertNoSecrets('a terminal', p.out() + p.err());
  for (const f of filesBelow(join(dir, 'out'))) assertNoSecrets(f, readFileSync(f, 'latin1'));
  assert.ok(!existsSync(join(dir, 'codes', 'alice.code')), 'code files are removed at the end');
});

test('host PLAN: a witness declines to sign off on their terminal; the decline is recorded with its reason', async () => {
  const dir = setup('hsm-host-plan-decline-');
  const h = startHost(dir);
  const url = await listening(dir, h, ['alice', 'bob', 'carol', 'olivia', 'wendy', 'walter']);
  const procs = [
    join_(dir, url, 'olivia', ['--so-pin-file', 'so.pin', '--pin-file', 'user.pin']),
    custodian(dir, url, 'alice'),
    custodian(dir, url, 'bob'),
    custodian(dir, url, 'carol'),
    join_(dir, url, 'wendy', ['--sign-off', 'accept']),
    join_(dir, url, 'walter', ['--sign-off', 'decline:the backup was not shown to me']),
  ];
  const code = await h.exit;
  for (const p of procs) await p.exit;
  const t = transcript(dir);
  const walter = t.find((e) => e.kind === 'sign-off' && e.actor.name === 'walter');
  assert.ok(walter, 'walter answered');
  assert.equal(walter.data.accepted, false);
  assert.equal(walter.data.reason, 'the backup was not shown to me');
  assert.ok(t.some((e) => e.kind === 'sign-off' && e.actor.name === 'wendy' && e.data.accepted === true));
  // the plan runner's rule (plan-format.md §4): a decline is recorded and the run goes on to its end;
  // verify accepts the record and lists the decline as a deviation
  const last = t[t.length - 1]!;
  assert.equal(code, 0, h.err());
  assert.ok(last.kind === 'ceremony-finished' && last.data.outcome === 'completed');
  const v = spawnSync(process.execPath, ['--import', TSX, MAIN, 'verify', 'out/transcript.jsonl', '--plan', 'plan.yaml'], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, `verify: ${v.stdout} ${v.stderr}`);
  assert.match(v.stdout, /walter declined to sign off: the backup was not shown to me/);
  assertNoSecrets('the coordinator output', h.out() + h.err());
});

test('host PLAN: a terminal that answers a sign-off it was not sent is cut off and nothing is recorded', async () => {
  const dir = setup('hsm-host-plan-hostile-');
  const h = startHost(dir);
  const url = await listening(dir, h, ['wendy']);
  const code = readFileSync(join(dir, 'codes', 'wendy.code'), 'utf8').trim();
  const raw = await rawJoin(url, code, { hello: false });
  assert.equal(raw.failure, null);
  raw.sendRaw(raw.seal({ type: 'hello', protocol: 2, client: 'hostile' }));
  await raw.waitMessage((m) => m.type === 'welcome', 10_000);
  raw.sendRaw(raw.seal({ type: 'sign-off', request: 4242, accepted: true }));
  const err = (await raw.waitMessage((m) => m.type === 'error', 10_000)) as { code: string };
  assert.equal(err.code, 'WIRE_UNEXPECTED_MESSAGE');
  await raw.closed;
  await until(() => events(h).some((e) => e.type === 'slot-left' && e.name === 'wendy'), 'wendy cut off', 10_000);
  h.child.kill('SIGINT');
  await h.exit;
  const t = transcript(dir);
  assert.ok(!t.some((e) => e.kind === 'sign-off'), 'no sign-off recorded');
  assert.ok(!t.some((e) => e.kind === 'participant-request' && e.actor.name === 'wendy' && e.data.state === 'answered'));
  assert.ok(t.some((e) => e.kind === 'custodian-left' && e.actor.name === 'wendy'));
});

test('host PLAN: a terminal of revision 1 is refused (sign-offs and created files need revision 2)', async () => {
  const dir = setup('hsm-host-plan-v1-');
  const h = startHost(dir);
  const url = await listening(dir, h, ['wendy']);
  const code = readFileSync(join(dir, 'codes', 'wendy.code'), 'utf8').trim();
  const raw = await rawJoin(url, code);
  const err = (await raw.waitMessage((m) => m.type === 'error', 10_000)) as { code: string };
  assert.equal(err.code, 'WIRE_UNSUPPORTED_VERSION');
  h.child.kill('SIGINT');
  await h.exit;
});

test('host PLAN: an n-of-m share file opened by password shares typed on 2 of 3 custodian terminals (the prime from the one who has it)', async () => {
  const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8')) as { shareFiles: { file: string; share: string; passwordShares?: { prime: string; shares: Record<string, string> } }[] };
  const s3 = fixtures.shareFiles.find((f) => f.file === 's3.pbe')!;
  const ps = s3.passwordShares!;
  const expected = formatKcv(kcv(fromHex(s3.share)));
  const dir = tempDir('hsm-host-plan-nofm-');
  mkdirSync(join(dir, 'codes'), { mode: 0o700 });
  copyFileSync(join(FIXTURES, 's3.pbe'), join(dir, 's3.pbe'));
  writeFileSync(
    join(dir, 'plan.yaml'),
    [
      'version: 1',
      'name: Hosted n-of-m import (rehearsal)',
      'device:',
      '  reader: simulator',
      'roles:',
      '  operator: oscar',
      '  securityOfficer: olivia',
      '  custodians: [alice, bob, carol]',
      'shareFiles:',
      '  - file: s3.pbe',
      '    pwdShares: 2/3',
      '    custodians: [alice, bob, carol]',
      'steps:',
      '  - step: initialize',
      '    dkekShares: 1',
      '  - step: import-share',
      '    file: s3.pbe',
      '    custodians: [alice, bob]',
      '  - step: expect-kcv',
      `    kcv: "${expected}"`,
      '',
    ].join('\n'),
  );
  secretFile(dir, 'alice.txt', `Share ID    : 1\nShare value : ${ps.shares['1']}\n`);
  secretFile(dir, 'bob.txt', `Prime       : ${ps.prime}\nShare ID    : 2\nShare value : ${ps.shares['2']}\n`);
  secretFile(dir, 'so.pin', SO_PIN);
  secretFile(dir, 'user.pin', PIN);
  const h = startHost(dir);
  const url = await listening(dir, h, ['alice', 'bob', 'carol', 'olivia']);
  const procs = [
    join_(dir, url, 'olivia', ['--so-pin-file', 'so.pin', '--pin-file', 'user.pin']),
    join_(dir, url, 'alice', ['--pwd-shares-file', 'alice.txt']),
    join_(dir, url, 'bob', ['--pwd-shares-file', 'bob.txt']),
    join_(dir, url, 'carol', []),
  ];
  assert.equal(await h.exit, 0, `host failed: ${h.out()} ${h.err()}`);
  for (const p of procs) await p.exit;
  const t = transcript(dir);
  assert.ok(t.some((e) => e.kind === 'kcv-read' && e.data.kcv === expected));
  assert.ok(t.some((e) => e.kind === 'participant-request' && e.actor.name === 'alice' && e.data.what === 'pwd-share' && e.data.state === 'answered'));
  assert.ok(t.some((e) => e.kind === 'participant-request' && e.actor.name === 'bob' && e.data.what === 'pwd-share' && e.data.state === 'answered'));
  assert.ok(!t.some((e) => e.kind === 'participant-request' && e.actor.name === 'carol'), 'carol was not asked: two shares were enough');
  const v = spawnSync(process.execPath, ['--import', TSX, MAIN, 'verify', 'out/transcript.jsonl', '--plan', 'plan.yaml'], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, `verify: ${v.stdout} ${v.stderr}`);
  const everything = h.out() + h.err() + readFileSync(join(dir, 'out/transcript.jsonl'), 'utf8');
  for (const secret of [ps.shares['1']!, ps.shares['2']!, PIN, SO_PIN]) assert.ok(!everything.includes(secret), 'a planted secret reached the coordinator output or transcript');
});
