/**
 * `hsm-ceremony plan check`: the script with the file's SHA-256 on a valid plan, every error with
 * path and line on a bad one, warnings about the file system, the rehearsal secrets check, --json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runCli, tempDir, assertNoSecrets } from '../helpers/cli.ts';

const EXAMPLE = new URL('../../docs/examples/three-custodians.yaml', import.meta.url).pathname;
const SECRETS = new URL('../../docs/examples/three-custodians.secrets.json', import.meta.url).pathname;
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('a valid plan prints the numbered script and the SHA-256 of the exact file; exit 0', async () => {
  const r = await runCli(['plan', 'check', EXAMPLE]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^CEREMONY SCRIPT: Three-custodian DKEK ceremony \(rehearsal\)\n/);
  assert.match(r.stdout, /\n13\. SIGN-OFF/);
  assert.match(r.stdout, new RegExp(`plan OK: 13 steps, 0 warnings, SHA-256 ${sha(EXAMPLE)}\\n$`));
});

test('--json gives the hash, the script and empty error and warning lists', async () => {
  const r = await runCli(['plan', 'check', EXAMPLE, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ok, true);
  assert.equal(out.sha256, sha(EXAMPLE));
  assert.equal(out.steps, 13);
  assert.deepEqual(out.errors, []);
  assert.deepEqual(out.warnings, []);
  assert.ok(Array.isArray(out.script) && out.script.length > 20);
});

test('a bad plan lists every error with path and line on stderr, no script, exit 2, no secret echoed', async () => {
  const dir = tempDir();
  const plan = join(dir, 'bad.yaml');
  writeFileSync(
    plan,
    [
      'version: 1', // 1
      'name: bad', // 2
      'device:', // 3
      '  reader: simulator', // 4
      'roles:', // 5
      '  custodians: [alice, bob, carol]', // 6
      'steps:', // 7
      '  - step: initialize', // 8
      '    dkekShares: 3', // 9
      '    pin: "918273"', // 10
      '  - step: create-share', // 11
      '    custodian: dave', // 12
      '    file: dave.pbe', // 13
      '',
    ].join('\n'),
  );
  const r = await runCli(['plan', 'check', plan]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^hsm-ceremony: error: .*bad\.yaml: steps\[0\]\.pin: a plan must not hold secrets.* \(line 10\)$/);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^hsm-ceremony: hint: 1 error; /);
  assertNoSecrets([r.stdout, r.stderr], ['918273']);

  // without the secret, the rule errors show (a plan is checked in two passes: shape, then rules)
  writeFileSync(plan, readFileSync(plan, 'utf8').replace('    pin: "918273"\n', ''));
  const r2 = await runCli(['plan', 'check', plan, '--json']);
  assert.equal(r2.code, 2);
  const out = JSON.parse(r2.stdout);
  assert.equal(out.ok, false);
  assert.deepEqual(
    out.errors.map((e: { path: string; line: number; code: string }) => [e.path, e.line, e.code]),
    [['steps[1].custodian', 11, 'PLAN_UNKNOWN_PERSON']],
  );
});

test('--out warns about outputs that exist there now; missing inputs are warned about too', async () => {
  const dir = tempDir();
  const plan = join(dir, 'p.yaml');
  writeFileSync(
    plan,
    readFileSync(EXAMPLE, 'utf8').replace('steps:\n', 'shareFiles:\n  - file: brought/old.pbe\n    custodian: alice\nsteps:\n'),
  );
  const out = join(dir, 'out');
  mkdirSync(join(out, 'backup'), { recursive: true });
  writeFileSync(join(out, 'bob.pbe'), 'x');
  writeFileSync(join(out, 'backup', 'key-1.bin'), 'x');
  const r = await runCli(['plan', 'check', plan, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*: steps\[2\]\.file: .*bob\.pbe exists now; a run into this folder stops at this step rather than overwrite it \(line \d+\)/);
  assert.match(r.stderr, /warning: .*: steps\[9\]\.folder: .*backup\/key-1\.bin exists now/);
  assert.match(r.stderr, /warning: .*: shareFiles\[0\]\.file: .*brought\/old\.pbe does not exist now/);
  assert.match(r.stdout, /plan OK: 13 steps, 4 warnings/); // + the unused listed share file
  const noOut = await runCli(['plan', 'check', plan]);
  assert.doesNotMatch(noOut.stderr, /exists now/);
});

test('--secrets-file: the example secrets cover the example plan; a gap is an error', async () => {
  const ok = await runCli(['plan', 'check', EXAMPLE, '--secrets-file', SECRETS]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '');
  const dir = tempDir();
  const partial = join(dir, 's.json');
  writeFileSync(partial, JSON.stringify({ rehearsal: true, pin: '648219', soPin: '3537363231383830', shares: { 'alice.pbe': { passphrase: 'p-a-s-s' } } }));
  const r = await runCli(['plan', 'check', EXAMPLE, '--secrets-file', partial]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: .*steps\[2\]: .*s\.json has no shares\."bob\.pbe"\.passphrase/);
  assert.match(r.stderr, /error: .*steps\[12\]: .*has no signOffs\."wendy"/);
  assert.match(r.stderr, /hint: the plan itself is valid/);
  assertNoSecrets([r.stdout, r.stderr], ['p-a-s-s', '648219', '3537363231383830']);
});

test('usage: no plan, two plans, unreadable plan', async () => {
  assert.equal((await runCli(['plan', 'check'])).code, 2);
  assert.equal((await runCli(['plan', 'check', EXAMPLE, EXAMPLE])).code, 2);
  const r = await runCli(['plan', 'check', '/nonexistent/plan.yaml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read the plan .*: no such file/);
});
