import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecretsFile } from '../../app/cli/secrets-file.ts';
import { CeremonyError } from '../../protocol/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hsm-secrets-'));
function file(name: string, content: string, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CeremonyError);
    return (e as CeremonyError).code;
  }
  return 'no error';
};

test('a valid file gives PINs and per-share secrets as bytes', () => {
  file('s3-shares.txt', 'Prime : c3\n');
  const p = file('ok.json', JSON.stringify({ pin: '648219', soPin: '3537363231383830', shares: { 's1.pbe': { passphrase: 'pico-test-pw-1' }, 's3.pbe': { pwdShares: 's3-shares.txt' } } }));
  const s = loadSecretsFile(p, '/');
  assert.equal(new TextDecoder().decode(s.pin), '648219');
  assert.equal(new TextDecoder().decode(s.forShareFile('/some/where/s1.pbe')!.passphrase), 'pico-test-pw-1');
  assert.equal(s.forShareFile('s3.pbe')!.pwdSharesFile, join(dir, 's3-shares.txt'));
  assert.equal(s.rehearsal, false);
  const pin = s.pin!;
  s.wipe();
  assert.ok(pin.every((b) => b === 0));
});

test('refused when others can read it, unless it is a rehearsal file', () => {
  const loose = file('loose.json', JSON.stringify({ pin: '648219' }), 0o644);
  assert.equal(code(() => loadSecretsFile(loose, '/')), 'SECRETS_FILE_PERMISSIONS');
  const reh = file('reh.json', JSON.stringify({ rehearsal: true, pin: '648219' }), 0o644);
  assert.equal(loadSecretsFile(reh, '/').rehearsal, true);
});

test('every malformed shape is named by its field path', () => {
  const cases: [string, RegExp][] = [
    ['[]', /top level/],
    ['{"pins":"1"}', /pins: unknown field/],
    ['{"pin":6}', /pin: must be a string/],
    ['{"pin":""}', /pin: must not be empty/],
    ['{"shares":{"a/b.pbe":{"passphrase":"x"}}}', /shares.a\/b.pbe/],
    ['{"shares":{"s.pbe":{}}}', /exactly one/],
    ['{"shares":{"s.pbe":{"passphrase":"x","pwdShares":"y"}}}', /exactly one/],
    ['{"shares":{"s.pbe":{"password":"x"}}}', /shares.s.pbe.password: unknown field/],
    ['{"rehearsal":"yes"}', /rehearsal/],
    ['{"pin":"1",}', /not valid JSON/],
  ];
  for (const [content, re] of cases) {
    const p = file('bad.json', content);
    assert.throws(() => loadSecretsFile(p, '/'), (e: unknown) => e instanceof CeremonyError && re.test(e.message), content);
  }
  assert.equal(code(() => loadSecretsFile(join(dir, 'missing.json'), '/')), 'SECRETS_FILE_UNREADABLE');
});
