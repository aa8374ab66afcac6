/**
 * Plans good and bad: every validation error and warning, each with its code, field path and line.
 * A case marks the line it expects with `# <-`, so the expected line is read from the text itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePlan, planSha256 } from '../../app/plan/plan-parse.ts';
import { PlanError, formatIssue, type PlanIssue } from '../../app/plan/plan-issue.ts';
import { looksSecretName, containsKeyLikeHex } from '../../app/plan/secret-guard.ts';
import { CeremonyError } from '../../protocol/errors.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const EXAMPLE = new URL('../../docs/examples/three-custodians.yaml', import.meta.url);

const HEADER = `version: 1
name: test ceremony
device:
  reader: simulator
roles:
  operator: oscar
  securityOfficer: olivia
  custodians: [alice, bob, carol]
  witnesses: [wendy]
`;
const GOOD_STEPS = `steps:
  - step: initialize
    dkekShares: 3
  - step: create-share
    custodian: alice
    file: alice.pbe
  - step: create-share
    custodian: bob
    file: bob.pbe
  - step: create-share
    custodian: carol
    file: carol.pbe
  - step: import-share
    custodian: alice
    file: alice.pbe
  - step: import-share
    custodian: bob
    file: bob.pbe
  - step: import-share
    custodian: carol
    file: carol.pbe
  - step: expect-kcv
  - step: generate-key
    algorithm: ec-p256
    keyRef: 1
  - step: backup
    keys: [1]
    folder: backup
  - step: restore
    file: backup/key-1.bin
    keyRef: 2
  - step: verify-restore
    keyRef: 2
  - step: sign-off
    who: [witnesses, custodians]
`;

function issuesOf(text: string): PlanIssue[] {
  try {
    const p = parsePlan(enc(text), 't.yaml');
    return p.warnings;
  } catch (e) {
    if (e instanceof PlanError) return e.issues;
    throw e;
  }
}

/** The 1-based line holding `# <-`. */
function markedLine(text: string): number {
  const i = text.split('\n').findIndex((l) => l.includes('# <-'));
  assert.ok(i >= 0, 'case has no # <- marker');
  return i + 1;
}

interface Case {
  name: string;
  text: string;
  code: string;
  path: string;
  message?: RegExp;
  severity?: 'error' | 'warning';
}

function check(c: Case): void {
  const issues = issuesOf(c.text);
  const line = markedLine(c.text);
  const hit = issues.find((i) => i.code === c.code && i.path === c.path);
  assert.ok(hit, `${c.name}: expected ${c.code} at ${c.path}, got:\n${issues.map((i) => `  ${i.code} ${formatIssue(i)}`).join('\n')}`);
  assert.equal(hit.line, line, `${c.name}: line of ${formatIssue(hit)}`);
  assert.equal(hit.severity, c.severity ?? 'error', `${c.name}: severity`);
  if (c.message) assert.match(hit.message, c.message, c.name);
  assert.match(hit.message, /^[^A-Z]/, `${c.name}: message starts lowercase`);
  assert.doesNotMatch(hit.message, /\.$/, `${c.name}: no final period`);
}

test('the example plan and the base plan here are valid, with no warnings', () => {
  const bytes = new Uint8Array(readFileSync(EXAMPLE));
  const p = parsePlan(bytes, 'three-custodians.yaml');
  assert.deepEqual(p.warnings, []);
  assert.equal(p.plan.steps.length, 13);
  assert.equal(p.sha256, planSha256(bytes));
  assert.match(p.sha256, /^[0-9a-f]{64}$/);
  const base = parsePlan(enc(HEADER + GOOD_STEPS));
  assert.deepEqual(base.warnings.map((w) => w.code), []);
});

test('the plan hash is of the exact bytes: a changed comment changes it', () => {
  const a = parsePlan(enc(HEADER + GOOD_STEPS));
  const b = parsePlan(enc(`# reviewed\n${HEADER}${GOOD_STEPS}`));
  assert.notEqual(a.sha256, b.sha256);
  assert.deepEqual(a.plan, b.plan);
});

test('an invalid plan is a usage error (exit 2) whose message names the first error with its line', () => {
  try {
    parsePlan(enc(HEADER + 'steps:\n  - step: import-share\n    custodian: dave\n    file: x.pbe\n'), 'p.yaml');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof CeremonyError);
    assert.equal(e.code, 'PLAN_INVALID');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /^p\.yaml: steps\[0\]\.custodian: unknown custodian "dave": list them under roles\.custodians \(line 12\)/);
    assert.ok(e.hint);
  }
});

// ---------------------------------------------------------------------------------------------
// YAML level and secret guards

const yamlCases: Case[] = [
  { name: 'duplicate field', code: 'PLAN_YAML', path: '', text: `${HEADER}name: again # <-\n${GOOD_STEPS}`, message: /appears twice/ },
  { name: 'two documents', code: 'PLAN_YAML', path: '', text: `${HEADER}${GOOD_STEPS}--- # <-\nname: x\n`, message: /one YAML document/ },
  { name: 'broken syntax', code: 'PLAN_YAML', path: '', text: `${HEADER}description: a: b # <-\n${GOOD_STEPS}`, message: /not valid YAML/ },
  { name: 'alias', code: 'PLAN_YAML_ALIAS', path: 'steps[1].custodian', text: `${HEADER}steps:\n  - step: initialize\n    label: &who alice\n    dkekShares: 1\n  - step: create-share\n    custodian: *who # <-\n    file: a.pbe\n` },
  { name: 'anchor', code: 'PLAN_YAML_ALIAS', path: 'steps[0].label', text: `${HEADER}steps:\n  - step: initialize\n    label: &x lab # <-\n    dkekShares: 1\n` },
  { name: 'tag', code: 'PLAN_YAML_TAG', path: 'steps[0].label', text: `${HEADER}steps:\n  - step: initialize\n    label: !!binary aGVsbG8= # <-\n    dkekShares: 1\n`, message: /!!binary/ },
  { name: 'number as field name', code: 'PLAN_YAML_KEY', path: '', text: `${HEADER}1: x # <-\n${GOOD_STEPS}` },
  { name: 'pin field', code: 'PLAN_SECRET_FIELD', path: 'steps[0].pin', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 1\n    pin: "648219" # <-\n`, message: /must not hold secrets.*value not shown/ },
  { name: 'soPin field', code: 'PLAN_SECRET_FIELD', path: 'roles.soPin', text: `${HEADER.replace('roles:\n', 'roles:\n  soPin: "3537363231383830" # <-\n')}${GOOD_STEPS}` },
  { name: 'passphrase field', code: 'PLAN_SECRET_FIELD', path: 'steps[1].passphrase', text: HEADER + GOOD_STEPS.replace('file: alice.pbe', 'file: alice.pbe\n    passphrase: hunter2 # <-') },
  { name: 'password field', code: 'PLAN_SECRET_FIELD', path: 'device.password', text: HEADER.replace('reader: simulator', 'reader: simulator\n  password: x # <-') + GOOD_STEPS },
  { name: 'share value field', code: 'PLAN_SECRET_FIELD', path: 'steps[4].shareValue', text: HEADER + GOOD_STEPS.replace('    custodian: alice\n    file: alice.pbe\n  - step: import-share', '    custodian: alice\n    file: alice.pbe\n  - step: import-share').replace('  - step: import-share\n    custodian: alice\n    file: alice.pbe', '  - step: import-share\n    custodian: alice\n    file: alice.pbe\n    shareValue: "12" # <-') },
  { name: '32 hex digits', code: 'PLAN_SECRET_VALUE', path: 'description', text: `${HEADER}description: "dkek 00112233445566778899aabbccddeeff" # <-\n${GOOD_STEPS}`, message: /16 or more bytes of hex.*not shown/ },
  { name: 'colon-separated share', code: 'PLAN_SECRET_VALUE', path: 'steps[0].label', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 1\n    label: "1d:10:83:e7:82:37:e9:9d:1d:10:83:e7:82:37:e9:9d" # <-\n` },
  { name: 'hex in a field name', code: 'PLAN_SECRET_VALUE', path: '', text: `${HEADER}00112233445566778899aabbccddeeff: 1 # <-\n${GOOD_STEPS}` },
];

for (const c of yamlCases) test(`yaml and secrets: ${c.name}`, () => check(c));

test('a secret-named field is reported once, as a secret, and its value is never quoted', () => {
  const text = HEADER + GOOD_STEPS.replace('file: alice.pbe', 'file: alice.pbe\n    passphrase: correct-horse-battery');
  const issues = issuesOf(text);
  assert.equal(issues.filter((i) => i.path === 'steps[1].passphrase').length, 1);
  for (const i of issues) assert.ok(!formatIssue(i).includes('correct-horse-battery'));
  const hex = `${HEADER}description: "00112233445566778899aabbccddeeff"\n${GOOD_STEPS}`;
  for (const i of issuesOf(hex)) assert.ok(!formatIssue(i).includes('00112233445566778899aabbccddeeff'));
});

test('not UTF-8 is named with its line', () => {
  const bytes = new Uint8Array([...enc('version: 1\nname: '), 0xff, 0xfe, ...enc('\n')]);
  try {
    parsePlan(bytes);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof PlanError);
    assert.equal(e.issues[0]!.code, 'PLAN_NOT_UTF8');
    assert.equal(e.issues[0]!.line, 2);
  }
});

test('secret names: what is refused and what passes', () => {
  for (const n of ['pin', 'soPin', 'so_pin', 'SOPIN', 'userPin', 'passphrase', 'password', 'passwd', 'pwd', 'secret', 'privateKey', 'shareValue', 'share', 'dkek', 'key', 'keyBytes', 'seed', 'mnemonic', 'plaintext']) {
    assert.ok(looksSecretName(n), n);
  }
  for (const n of ['pwdShares', 'pinTriesLeft', 'dkekShares', 'keyRef', 'publicKey', 'kcv', 'fingerprint', 'custodian', 'simulatorSeed', 'retryCounter', 'label', 'sha256', 'signature']) {
    assert.ok(!looksSecretName(n), n);
  }
  assert.ok(containsKeyLikeHex('00112233445566778899aabbccddeeff'));
  assert.ok(containsKeyLikeHex('a 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff'));
  assert.ok(containsKeyLikeHex('0011-2233-4455-6677-8899-aabb-ccdd-eeff'));
  assert.ok(!containsKeyLikeHex('1D1083E78237E99D'), 'a KCV is 8 bytes');
  assert.ok(!containsKeyLikeHex('3f2a 90c1 7b44 e0d2'), 'a share fingerprint is 8 bytes');
  assert.ok(!containsKeyLikeHex('00112233445566778899aabbccddee'), '15 bytes');
});

// ---------------------------------------------------------------------------------------------
// Field shapes

const shapeCases: Case[] = [
  { name: 'top level is a list', code: 'PLAN_FIELD', path: '', text: '- a # <-\n' },
  { name: 'wrong version', code: 'PLAN_FIELD', path: 'version', text: HEADER.replace('version: 1', 'version: 2 # <-') + GOOD_STEPS, message: /must be 1/ },
  { name: 'missing name', code: 'PLAN_MISSING_FIELD', path: 'name', text: HEADER.replace('name: test ceremony\n', '').replace('version: 1', 'version: 1 # <-') + GOOD_STEPS },
  { name: 'empty name', code: 'PLAN_FIELD', path: 'name', text: HEADER.replace('name: test ceremony', 'name: "" # <-') + GOOD_STEPS, message: /must not be empty/ },
  { name: 'firmware as a number', code: 'PLAN_FIELD', path: 'device.firmware', text: HEADER.replace('reader: simulator', 'reader: simulator\n  firmware: 6.6 # <-') + GOOD_STEPS, message: /write it in quotes: "6\.6"/ },
  { name: 'bad firmware', code: 'PLAN_FIELD', path: 'device.firmware', text: HEADER.replace('reader: simulator', 'reader: simulator\n  firmware: "six" # <-') + GOOD_STEPS, message: /MAJOR\.MINOR/ },
  { name: 'bad serial', code: 'PLAN_FIELD', path: 'device.serial', text: HEADER.replace('reader: simulator', 'reader: simulator\n  serial: "DE 1" # <-') + GOOD_STEPS },
  { name: 'no custodians', code: 'PLAN_FIELD', path: 'roles.custodians', text: HEADER.replace('custodians: [alice, bob, carol]', 'custodians: [] # <-') + GOOD_STEPS, message: /at least 1 item/ },
  { name: 'missing custodians', code: 'PLAN_MISSING_FIELD', path: 'roles.custodians', text: HEADER.replace('roles:', 'roles: # <-').replace('  custodians: [alice, bob, carol]\n', '') + GOOD_STEPS },
  { name: 'bad person name', code: 'PLAN_FIELD', path: 'roles.witnesses[0]', text: HEADER.replace('witnesses: [wendy]', 'witnesses: ["wendy smith"] # <-') + GOOD_STEPS, message: /short name/ },
  { name: 'unknown top field with suggestion', code: 'PLAN_UNKNOWN_FIELD', path: 'stepz', text: `${HEADER}stepz: [] # <-\n${GOOD_STEPS}`, message: /unknown field \(did you mean "steps"\?\)/ },
  { name: 'unknown step field', code: 'PLAN_UNKNOWN_FIELD', path: 'steps[1].custodain', text: HEADER + GOOD_STEPS.replace('    custodian: alice\n    file: alice.pbe\n  - step: create-share', '    custodain: alice # <-\n    file: alice.pbe\n  - step: create-share'), message: /did you mean "custodian"/ },
  { name: 'no steps', code: 'PLAN_FIELD', path: 'steps', text: `${HEADER}steps: [] # <-\n` },
  { name: 'step is not a mapping', code: 'PLAN_FIELD', path: 'steps[0]', text: `${HEADER}steps:\n  - initialize # <-\n` },
  { name: 'missing step kind', code: 'PLAN_MISSING_FIELD', path: 'steps[0].step', text: `${HEADER}steps:\n  - dkekShares: 1 # <-\n` },
  { name: 'unknown step kind', code: 'PLAN_UNKNOWN_STEP', path: 'steps[0].step', text: `${HEADER}steps:\n  - step: backupp # <-\n`, message: /unknown step "backupp" \(did you mean "backup"\?\)/ },
  { name: 'dkekShares too big', code: 'PLAN_FIELD', path: 'steps[0].dkekShares', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 200 # <-\n`, message: /at most 127/ },
  { name: 'dkekShares a word', code: 'PLAN_FIELD', path: 'steps[0].dkekShares', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: many # <-\n`, message: /"random" or "none"/ },
  { name: 'missing dkekShares', code: 'PLAN_MISSING_FIELD', path: 'steps[0].dkekShares', text: `${HEADER}steps:\n  - step: initialize # <-\n` },
  { name: 'retry counter 11', code: 'PLAN_FIELD', path: 'steps[0].retryCounter', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 1\n    retryCounter: 11 # <-\n`, message: /at most 10/ },
  { name: 'retry counter 2.5', code: 'PLAN_FIELD', path: 'steps[0].retryCounter', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 1\n    retryCounter: 2.5 # <-\n`, message: /whole number/ },
  { name: 'label too long', code: 'PLAN_FIELD', path: 'steps[0].label', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 1\n    label: ${'x'.repeat(128)} # <-\n`, message: /127 bytes/ },
  { name: 'control character', code: 'PLAN_FIELD', path: 'steps[0].label', text: `${HEADER}steps:\n  - step: initialize\n    dkekShares: 1\n    label: "a\\u0007b" # <-\n`, message: /control characters/ },
  { name: 'bad threshold', code: 'PLAN_FIELD', path: 'steps[0].pwdShares', text: `${HEADER}steps:\n  - step: create-share\n    file: a.pbe\n    pwdShares: "1/3" # <-\n    custodians: [alice, bob, carol]\n`, message: /threshold from 2/ },
  { name: 'threshold above total', code: 'PLAN_FIELD', path: 'steps[0].pwdShares', text: `${HEADER}steps:\n  - step: create-share\n    file: a.pbe\n    pwdShares: 4/3 # <-\n    custodians: [alice, bob, carol]\n` },
  { name: 'threshold not T/N', code: 'PLAN_FIELD', path: 'steps[0].pwdShares', text: `${HEADER}steps:\n  - step: create-share\n    file: a.pbe\n    pwdShares: two # <-\n`, message: /THRESHOLD\/TOTAL/ },
  { name: 'bad kcv', code: 'PLAN_FIELD', path: 'steps[0].kcv', text: `${HEADER}steps:\n  - step: expect-kcv\n    kcv: 1D1083E7 # <-\n`, message: /16 hex digits/ },
  { name: 'kcv unquoted digits', code: 'PLAN_FIELD', path: 'steps[0].kcv', text: `${HEADER}steps:\n  - step: expect-kcv\n    kcv: 1234567812345678 # <-\n`, message: /write it in quotes/ },
  { name: 'bad algorithm', code: 'PLAN_FIELD', path: 'steps[0].algorithm', text: `${HEADER}steps:\n  - step: generate-key\n    algorithm: ec-p521 # <-\n    keyRef: 1\n`, message: /one of ec-p256, ec-p384, rsa-2048/ },
  { name: 'keyRef 0', code: 'PLAN_FIELD', path: 'steps[0].keyRef', text: `${HEADER}steps:\n  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 0 # <-\n`, message: /at least 1/ },
  { name: 'id too long', code: 'PLAN_FIELD', path: 'steps[0].id', text: `${HEADER}steps:\n  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n    id: "00112233445566778899aabbccddee0011" # <-\n` },
  { name: 'id as number', code: 'PLAN_FIELD', path: 'steps[0].id', text: `${HEADER}steps:\n  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n    id: 01 # <-\n`, message: /write it in quotes: "01"/ },
  { name: 'backup keys a word', code: 'PLAN_FIELD', path: 'steps[0].keys', text: `${HEADER}steps:\n  - step: backup\n    keys: some # <-\n    folder: b\n`, message: /"all"/ },
  { name: 'replaceAllowed yes', code: 'PLAN_FIELD', path: 'steps[0].replaceAllowed', text: `${HEADER}steps:\n  - step: restore\n    file: k.bin\n    keyRef: 1\n    replaceAllowed: yes # <-\n`, message: /true or false/ },
  { name: 'backslash path', code: 'PLAN_FIELD', path: 'steps[0].file', text: `${HEADER}steps:\n  - step: create-share\n    custodian: alice\n    file: 'a\\b.pbe' # <-\n`, message: /"\/"/ },
  { name: 'bad fingerprint', code: 'PLAN_FIELD', path: 'shareFiles[0].fingerprint', text: `${HEADER}shareFiles:\n  - file: a.pbe\n    custodian: alice\n    fingerprint: "3F2A90C1" # <-\n${GOOD_STEPS}` },
];

for (const c of shapeCases) test(`shape: ${c.name}`, () => check(c));

// ---------------------------------------------------------------------------------------------
// Rules across fields and steps

const s = (body: string) => `${HEADER}steps:\n${body}`;
const INIT3 = '  - step: initialize\n    dkekShares: 3\n';
const CREATE = (who: string) => `  - step: create-share\n    custodian: ${who}\n    file: ${who}.pbe\n`;
const IMPORT = (who: string) => `  - step: import-share\n    custodian: ${who}\n    file: ${who}.pbe\n`;
const FULL3 = INIT3 + CREATE('alice') + CREATE('bob') + CREATE('carol') + IMPORT('alice') + IMPORT('bob') + IMPORT('carol');
const SIGN = '  - step: sign-off\n    who: witnesses\n';

const ruleCases: Case[] = [
  { name: 'reserved name', code: 'PLAN_RESERVED_NAME', path: 'roles.operator', text: HEADER.replace('operator: oscar', 'operator: witnesses # <-') + GOOD_STEPS },
  { name: 'custodian twice', code: 'PLAN_DUPLICATE_NAME', path: 'roles.custodians[2]', text: HEADER.replace('custodians: [alice, bob, carol]', 'custodians: [alice, bob, Alice] # <-') + GOOD_STEPS },
  { name: 'custodian as witness', code: 'PLAN_ROLE_CONFLICT', path: 'roles.witnesses[0]', text: HEADER.replace('witnesses: [wendy]', 'witnesses: [bob] # <-') + GOOD_STEPS, message: /cannot also be a witness/ },
  { name: 'operator as witness', code: 'PLAN_ROLE_CONFLICT', path: 'roles.witnesses[0]', text: HEADER.replace('witnesses: [wendy]', 'witnesses: [oscar] # <-') + GOOD_STEPS, message: /the operator/ },
  { name: 'unknown custodian (the spec example)', code: 'PLAN_UNKNOWN_PERSON', path: 'steps[1].custodian', text: s(`${INIT3}  - step: import-share\n    custodian: dave # <-\n    file: alice.pbe\n`), message: /^unknown custodian "dave"/ },
  { name: 'create with both protections', code: 'PLAN_SHARE_PROTECTION', path: 'steps[0]', text: s('  - step: create-share # <-\n    custodian: alice\n    pwdShares: 2/3\n    custodians: [alice, bob, carol]\n    file: a.pbe\n') },
  { name: 'create with neither', code: 'PLAN_MISSING_FIELD', path: 'steps[0].custodian', text: s('  - step: create-share # <-\n    file: a.pbe\n') },
  { name: 'pwdShares without custodians', code: 'PLAN_MISSING_FIELD', path: 'steps[0].custodians', text: s('  - step: create-share # <-\n    pwdShares: 2/3\n    file: a.pbe\n') },
  { name: 'pwdShares with too few custodians', code: 'PLAN_SHARE_PROTECTION', path: 'steps[0].custodians', text: s('  - step: create-share\n    pwdShares: 2/3\n    custodians: [alice, bob] # <-\n    file: a.pbe\n'), message: /one custodian per share/ },
  { name: 'pwdShares with unknown custodian', code: 'PLAN_UNKNOWN_PERSON', path: 'steps[0].custodians[2]', text: s('  - step: create-share\n    pwdShares: 2/3\n    custodians: [alice, bob, dave] # <-\n    file: a.pbe\n') },
  { name: 'pwdShares custodian twice', code: 'PLAN_DUPLICATE_NAME', path: 'steps[0].custodians[2]', text: s('  - step: create-share\n    pwdShares: 2/3\n    custodians: [alice, bob, bob] # <-\n    file: a.pbe\n') },
  { name: 'same base name twice', code: 'PLAN_SHARE_NAME_CLASH', path: 'steps[1].file', text: s(`${CREATE('alice')}  - step: create-share\n    custodian: bob\n    file: b/alice.pbe # <-\n`) },
  { name: 'created twice', code: 'PLAN_SHARE_TWICE', path: 'steps[1].file', text: s(`${CREATE('alice')}  - step: create-share\n    custodian: bob\n    file: ./alice.pbe # <-\n`), message: /already created at steps\[0\]/ },
  { name: 'listed twice', code: 'PLAN_SHARE_TWICE', path: 'shareFiles[1].file', text: `${HEADER}shareFiles:\n  - file: a.pbe\n    custodian: alice\n  - file: a.pbe # <-\n    custodian: bob\n${GOOD_STEPS}` },
  { name: 'imported twice', code: 'PLAN_SHARE_TWICE', path: 'steps[3].file', text: s(`${INIT3}${CREATE('alice')}${IMPORT('alice')}  - step: import-share\n    custodian: alice\n    file: alice.pbe # <-\n`), message: /already imported at steps\[2\]/ },
  { name: 'absolute output', code: 'PLAN_OUTPUT_PATH', path: 'steps[0].file', text: s('  - step: create-share\n    custodian: alice\n    file: /tmp/a.pbe # <-\n'), message: /relative/ },
  { name: 'output escapes', code: 'PLAN_OUTPUT_PATH', path: 'steps[0].file', text: s('  - step: create-share\n    custodian: alice\n    file: ../a.pbe # <-\n'), message: /"\.\."/ },
  { name: 'output is a folder', code: 'PLAN_OUTPUT_PATH', path: 'steps[0].file', text: s('  - step: create-share\n    custodian: alice\n    file: shares/ # <-\n') },
  { name: 'output over an input', code: 'PLAN_OUTPUT_CLASH', path: 'steps[1].folder', text: `${HEADER}shareFiles:\n  - file: backup/key-1.bin\n    custodian: alice\nsteps:\n  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys: [1]\n    folder: backup # <-\n` },
  { name: 'two backups, same file', code: 'PLAN_OUTPUT_CLASH', path: 'steps[2].folder', text: s('  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys: [1]\n    folder: b\n  - step: backup\n    keys: [1]\n    folder: b/ # <-\n'), message: /never overwritten/ },
  { name: 'two "all" backups, same folder', code: 'PLAN_OUTPUT_CLASH', path: 'steps[2].folder', text: s('  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys: all\n    folder: b\n  - step: backup\n    keys: all\n    folder: b # <-\n') },
  { name: 'import of an unknown file', code: 'PLAN_UNKNOWN_SHARE_FILE', path: 'steps[1].file', text: s(`${INIT3}  - step: import-share\n    custodian: alice\n    file: zed.pbe # <-\n`) },
  { name: 'import before create', code: 'PLAN_STEP_ORDER', path: 'steps[1].file', text: s(`${INIT3}${IMPORT('alice').replace('alice.pbe', 'alice.pbe # <-')}${CREATE('alice')}`), message: /created only later, at steps\[2\]/ },
  { name: 'import before a later initialize', code: 'PLAN_STEP_ORDER', path: 'steps[1]', text: s(`${CREATE('alice')}  - step: import-share # <-\n    custodian: alice\n    file: alice.pbe\n${INIT3}`), message: /erases this import/ },
  { name: "importing another custodian's share", code: 'PLAN_SHARE_HOLDER', path: 'steps[2].custodian', text: s(`${INIT3}${CREATE('alice')}  - step: import-share\n    custodian: bob # <-\n    file: alice.pbe\n`), message: /belongs to alice, not bob/ },
  { name: 'import of a passphrase file without custodian', code: 'PLAN_MISSING_FIELD', path: 'steps[2]', text: s(`${INIT3}${CREATE('alice')}  - step: import-share # <-\n    file: alice.pbe\n`) },
  { name: 'import of a passphrase file with custodians', code: 'PLAN_SHARE_PROTECTION', path: 'steps[2].custodians', text: s(`${INIT3}${CREATE('alice')}  - step: import-share\n    custodian: alice\n    custodians: [alice] # <-\n    file: alice.pbe\n`) },
  { name: 'import of a password-share file by one custodian', code: 'PLAN_SHARE_PROTECTION', path: 'steps[2].custodian', text: s(`${INIT3}  - step: create-share\n    pwdShares: 2/3\n    custodians: [alice, bob, carol]\n    file: t.pbe\n  - step: import-share\n    custodian: alice # <-\n    file: t.pbe\n`) },
  { name: 'password-share import below threshold', code: 'PLAN_SHARE_THRESHOLD', path: 'steps[2].custodians', text: s(`${INIT3}  - step: create-share\n    pwdShares: 2/3\n    custodians: [alice, bob, carol]\n    file: t.pbe\n  - step: import-share\n    custodians: [alice] # <-\n    file: t.pbe\n`), message: /needs 2 password shares/ },
  { name: 'password-share import by a non-holder', code: 'PLAN_SHARE_HOLDER', path: 'steps[2].custodians[1]', text: `${HEADER.replace('[alice, bob, carol]', '[alice, bob, carol, dan]')}steps:\n${INIT3}  - step: create-share\n    pwdShares: 2/3\n    custodians: [alice, bob, carol]\n    file: t.pbe\n  - step: import-share\n    custodians: [alice, dan] # <-\n    file: t.pbe\n` },
  { name: 'import with a random DKEK', code: 'PLAN_NO_DKEK_SHARES', path: 'steps[2]', text: s(`  - step: initialize\n    dkekShares: random\n${CREATE('alice')}  - step: import-share # <-\n    custodian: alice\n    file: alice.pbe\n`) },
  { name: 'too many imports', code: 'PLAN_TOO_MANY_IMPORTS', path: 'steps[6]', text: s(`  - step: initialize\n    dkekShares: 2\n${CREATE('alice')}${CREATE('bob')}${CREATE('carol')}${IMPORT('alice')}${IMPORT('bob')}  - step: import-share # <-\n    custodian: carol\n    file: carol.pbe\n`), message: /share 3, but steps\[0\] initializes for 2/ },
  { name: 'kcv with no DKEK', code: 'PLAN_NO_DKEK', path: 'steps[1]', text: s('  - step: initialize\n    dkekShares: none\n  - step: expect-kcv # <-\n') },
  { name: 'kcv too early', code: 'PLAN_KCV_TOO_EARLY', path: 'steps[5]', text: s(`${INIT3}${CREATE('alice')}${CREATE('bob')}${IMPORT('alice')}${IMPORT('bob')}  - step: expect-kcv # <-\n`), message: /after 2 of 3 shares/ },
  { name: 'generate-key on a real reader', code: 'PLAN_SIMULATOR_ONLY', path: 'steps[0]', text: HEADER.replace('reader: simulator', 'reader: Nitrokey') + 'steps:\n  - step: generate-key # <-\n    algorithm: ec-p256\n    keyRef: 1\n' },
  { name: 'generate twice at one reference', code: 'PLAN_KEY_REF_TAKEN', path: 'steps[1].keyRef', text: s('  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: generate-key\n    algorithm: rsa-2048\n    keyRef: 1 # <-\n') },
  { name: 'restore onto a key', code: 'PLAN_KEY_REF_TAKEN', path: 'steps[9].keyRef', text: s(`${FULL3}  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys: [1]\n    folder: b\n  - step: restore\n    file: b/key-1.bin\n    keyRef: 1 # <-\n`), message: /replaceAllowed: true/ },
  { name: 'backup with no DKEK', code: 'PLAN_NO_DKEK', path: 'steps[2]', text: s('  - step: initialize\n    dkekShares: none\n  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup # <-\n    keys: [1]\n    folder: b\n') },
  { name: 'backup before the DKEK is complete', code: 'PLAN_DKEK_INCOMPLETE', path: 'steps[3]', text: s(`${INIT3}${CREATE('alice')}  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup # <-\n    keys: [1]\n    folder: b\n`), message: /0 of 3 shares/ },
  { name: 'restore before the DKEK is complete', code: 'PLAN_DKEK_INCOMPLETE', path: 'steps[1]', text: s(`${INIT3}  - step: restore # <-\n    file: k.bin\n    keyRef: 1\n`) },
  { name: 'backup of a key that is not there', code: 'PLAN_UNKNOWN_KEY', path: 'steps[8].keys[1]', text: s(`${FULL3}  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys:\n      - 1\n      - 2 # <-\n    folder: b\n`) },
  { name: 'backup all of nothing', code: 'PLAN_UNKNOWN_KEY', path: 'steps[7].keys', text: s(`${FULL3}  - step: backup\n    keys: all # <-\n    folder: b\n`) },
  { name: 'backup lists a key twice', code: 'PLAN_DUPLICATE_KEY', path: 'steps[8].keys[1]', text: s(`${FULL3}  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys:\n      - 1\n      - 1 # <-\n    folder: b\n`) },
  { name: 'restore before its backup', code: 'PLAN_STEP_ORDER', path: 'steps[8].file', text: s(`${FULL3}  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: restore\n    file: b/key-1.bin # <-\n    keyRef: 2\n  - step: backup\n    keys: [1]\n    folder: b\n`), message: /written only later, by the backup at steps\[9\]/ },
  { name: 'restore of a share file', code: 'PLAN_FILE_KIND', path: 'steps[7].file', text: s(`${FULL3}  - step: restore\n    file: alice.pbe # <-\n    keyRef: 2\n`), message: /DKEK share file, not a key backup/ },
  { name: 'verify-restore with nothing restored', code: 'PLAN_NOTHING_RESTORED', path: 'steps[7].keyRef', text: s(`${FULL3}  - step: verify-restore\n    keyRef: 2 # <-\n`) },
  { name: 'sign-off by an unknown person', code: 'PLAN_UNKNOWN_PERSON', path: 'steps[0].who', text: s('  - step: sign-off\n    who: dave # <-\n'), message: /unknown person "dave"/ },
  { name: 'sign-off by absent witnesses', code: 'PLAN_UNKNOWN_PERSON', path: 'steps[0].who[0]', text: HEADER.replace('  witnesses: [wendy]\n', '') + 'steps:\n  - step: sign-off\n    who: [witnesses] # <-\n', message: /names no witnesses/ },
  { name: 'sign-off lists someone twice', code: 'PLAN_DUPLICATE_NAME', path: 'steps[0].who[1]', text: s('  - step: sign-off\n    who:\n      - wendy\n      - wendy # <-\n') },
];

for (const c of ruleCases) test(`rule: ${c.name}`, () => check(c));

const warningCases: Case[] = [
  { name: 'officer holds a share', code: 'PLAN_ROLE_OVERLAP', path: 'roles.securityOfficer', text: HEADER.replace('securityOfficer: olivia', 'securityOfficer: alice # <-') + GOOD_STEPS },
  { name: 'initialize twice', code: 'PLAN_REINITIALIZE', path: 'steps[1]', text: s(`${INIT3}  - step: initialize # <-\n    dkekShares: 1\n`) },
  { name: 'kcv of a random DKEK', code: 'PLAN_KCV_UNKNOWABLE', path: 'steps[1].kcv', text: s('  - step: initialize\n    dkekShares: random\n  - step: expect-kcv\n    kcv: "1D1083E78237E99D" # <-\n') },
  { name: 'kcv unpinned for old shares', code: 'PLAN_KCV_UNPINNED', path: 'steps[2]', text: `${HEADER}shareFiles:\n  - file: old.pbe\n    custodian: alice\nsteps:\n  - step: initialize\n    dkekShares: 1\n  - step: import-share\n    custodian: alice\n    file: old.pbe\n  - step: expect-kcv # <-\n${SIGN}` },
  { name: 'backup under a random DKEK', code: 'PLAN_RANDOM_DKEK', path: 'steps[2]', text: s('  - step: initialize\n    dkekShares: random\n  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup # <-\n    keys: [1]\n    folder: b\n') },
  { name: 'backup folder named like a file', code: 'PLAN_BACKUP_FOLDER', path: 'steps[8].folder', text: s(`${FULL3}  - step: generate-key\n    algorithm: ec-p256\n    keyRef: 1\n  - step: backup\n    keys: [1]\n    folder: key.bin # <-\n`) },
  { name: 'DKEK left incomplete', code: 'PLAN_DKEK_LEFT_INCOMPLETE', path: 'steps[0].dkekShares', text: s(`  - step: initialize\n    dkekShares: 3 # <-\n${CREATE('alice')}${IMPORT('alice')}${SIGN}`) },
  { name: 'no sign-off', code: 'PLAN_NO_SIGN_OFF', path: 'steps', text: `${HEADER}steps: # <-\n${FULL3}` },
  { name: 'steps after the sign-off', code: 'PLAN_AFTER_SIGN_OFF', path: 'steps[8]', text: s(`${FULL3}${SIGN}  - step: expect-kcv # <-\n`) },
  { name: 'custodian with nothing to do', code: 'PLAN_UNUSED_PERSON', path: 'roles.custodians[3]', text: `${HEADER.replace('custodians: [alice, bob, carol]', 'custodians:\n    - alice\n    - bob\n    - carol\n    - dan # <-')}${GOOD_STEPS.replace('who: [witnesses, custodians]', 'who: witnesses')}` },
  { name: 'witness who never signs', code: 'PLAN_UNUSED_PERSON', path: 'roles.witnesses[0]', text: HEADER.replace('witnesses: [wendy]', 'witnesses: [wendy] # <-') + GOOD_STEPS.replace('who: [witnesses, custodians]', 'who: custodians') },
  { name: 'share file listed, never imported', code: 'PLAN_UNUSED_SHARE_FILE', path: 'shareFiles[0]', text: `${HEADER}shareFiles:\n  - file: old.pbe # <-\n    custodian: alice\n${GOOD_STEPS}` },
];

for (const c of warningCases) test(`warning: ${c.name}`, () => check({ ...c, severity: 'warning' }));

test('every rule code in plan-rules.ts has a case here', () => {
  const src = readFileSync(new URL('../../app/plan/plan-rules.ts', import.meta.url), 'utf8');
  const codes = new Set([...src.matchAll(/'(PLAN_[A-Z_]+)'/g)].map((m) => m[1]!));
  const covered = new Set([...yamlCases, ...shapeCases, ...ruleCases, ...warningCases].map((c) => c.code));
  const missing = [...codes].filter((c) => !covered.has(c));
  assert.deepEqual(missing, []);
});

test('a password-share file can be listed and imported by any threshold of its holders', () => {
  const text = `${HEADER}shareFiles:\n  - file: team.pbe\n    pwdShares: 2/3\n    custodians: [alice, bob, carol]\n    fingerprint: "3f2a 90c1 7b44 e0d2"\nsteps:\n  - step: initialize\n    dkekShares: 1\n  - step: import-share\n    file: team.pbe\n    custodians: [carol, alice]\n  - step: expect-kcv\n    kcv: "0767 0012 41A0 CB44"\n${SIGN}`;
  const p = parsePlan(enc(text));
  assert.deepEqual(p.warnings.map((w) => w.code), ['PLAN_UNUSED_PERSON']); // bob brings no share this time
});

test('the plans in docs/plan-format.md are valid, and the first is the example file', () => {
  const doc = readFileSync(new URL('../../docs/plan-format.md', import.meta.url), 'utf8');
  const blocks = doc.split('```yaml\n').slice(1).map((b) => b.split('```')[0]!);
  assert.equal(blocks.length, 2);
  for (const b of blocks) assert.deepEqual(parsePlan(enc(b)).warnings, []);
  const example = readFileSync(EXAMPLE, 'utf8');
  assert.ok(example.endsWith(blocks[0]!), 'the documented example is the file (after its header comments)');
});
