/**
 * The rehearsal side of the secrets file: sign-offs (only in a rehearsal file) and the check that
 * a secrets file gives a headless rehearsal every passphrase, PIN and sign-off the plan asks for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecretsFile } from '../../app/cli/secrets-file.ts';
import { parsePlan } from '../../app/plan/plan-parse.ts';
import { checkRehearsalSecrets, type SecretsInventory } from '../../app/plan/rehearsal-secrets.ts';
import { CeremonyError } from '../../protocol/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hsm-plan-secrets-'));
const file = (name: string, content: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
};
const example = parsePlan(new Uint8Array(readFileSync(new URL('../../docs/examples/three-custodians.yaml', import.meta.url))));
const EXAMPLE_SECRETS = new URL('../../docs/examples/three-custodians.secrets.json', import.meta.url).pathname;

function inventory(over: Partial<SecretsInventory> = {}): SecretsInventory {
  return {
    rehearsal: true,
    hasPin: true,
    hasSoPin: true,
    shares: new Map([
      ['alice.pbe', 'passphrase'],
      ['bob.pbe', 'passphrase'],
      ['carol.pbe', 'passphrase'],
    ]),
    signOffs: new Map(['wendy', 'walter', 'alice', 'bob', 'carol'].map((n) => [n, true])),
    ...over,
  };
}

test('sign-offs load from a rehearsal file as name → signs or declines', () => {
  const p = file('r.json', JSON.stringify({ rehearsal: true, signOffs: { wendy: true, walter: false } }), 0o644);
  const s = loadSecretsFile(p, '/');
  assert.deepEqual([...s.signOffs], [
    ['wendy', true],
    ['walter', false],
  ]);
  const none = loadSecretsFile(file('n.json', JSON.stringify({ pin: '648219' })), '/');
  assert.equal(none.signOffs.size, 0);
});

test('sign-offs are refused outside a rehearsal file, and must be true or false', () => {
  const code = (content: string) => {
    try {
      loadSecretsFile(file('bad.json', content), '/');
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof CeremonyError);
      return e.message;
    }
  };
  assert.match(code(JSON.stringify({ signOffs: { wendy: true } })), /signOffs: only a rehearsal file/);
  assert.match(code(JSON.stringify({ rehearsal: true, signOffs: { wendy: 'yes' } })), /signOffs\.wendy: must be true \(signs\) or false \(declines\)/);
  assert.match(code(JSON.stringify({ rehearsal: true, signOffs: ['wendy'] })), /signOffs: must be an object/);
});

test('the example secrets file loads and covers the example plan exactly', () => {
  const s = loadSecretsFile(EXAMPLE_SECRETS, '/');
  try {
    assert.equal(s.rehearsal, true);
    const inv: SecretsInventory = {
      rehearsal: s.rehearsal,
      hasPin: s.pin !== undefined,
      hasSoPin: s.soPin !== undefined,
      shares: new Map([...s.shares].map(([n, v]) => [n, v.passphrase ? 'passphrase' : 'pwdShares'] as const)),
      signOffs: s.signOffs,
    };
    assert.deepEqual(checkRehearsalSecrets(example.plan, inv, example.locate), []);
  } finally {
    s.wipe();
  }
});

test('every missing secret or sign-off is named on the step that needs it', () => {
  const issues = checkRehearsalSecrets(
    example.plan,
    inventory({ hasSoPin: false, shares: new Map([['alice.pbe', 'passphrase'], ['bob.pbe', 'pwdShares'], ['zed.pbe', 'passphrase']]), signOffs: new Map([['wendy', true], ['mallory', true]]) }),
    example.locate,
    's.json',
  );
  const got = issues.map((i) => `${i.severity} ${i.code} ${i.path} ${i.message}`);
  const has = (re: RegExp) => assert.ok(got.some((g) => re.test(g)), `${re} in\n${got.join('\n')}`);
  has(/^error SECRETS_MISSING_SO_PIN steps\[0\] /);
  has(/^error SECRETS_WRONG_SHARE_KIND steps\[2\] s\.json gives shares\."bob\.pbe"\.pwdShares/);
  has(/^error SECRETS_MISSING_SHARE steps\[3\] s\.json has no shares\."carol\.pbe"\.passphrase/);
  has(/^error SECRETS_MISSING_SIGN_OFF steps\[12\] s\.json has no signOffs\."walter"/);
  has(/^error SECRETS_MISSING_SIGN_OFF steps\[12\] s\.json has no signOffs\."alice"/);
  has(/^warning SECRETS_UNUSED .*shares\."zed\.pbe"/);
  has(/^warning SECRETS_UNUSED .*signOffs\."mallory"/);
  const line = issues.find((i) => i.code === 'SECRETS_MISSING_SO_PIN')!.line;
  assert.equal(line, example.locate(['steps', 0]).line);
});

test('a secrets file that is not a rehearsal file cannot drive a rehearsal', () => {
  const issues = checkRehearsalSecrets(example.plan, inventory({ rehearsal: false, signOffs: new Map() }), example.locate);
  assert.ok(issues.some((i) => i.code === 'SECRETS_NOT_REHEARSAL'));
});
