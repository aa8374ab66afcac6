/**
 * Distribution: `npm pack` makes a tarball whose two commands work after `npm install -g` into an
 * empty prefix, with no repository and no dev dependencies (everything runs from the bundles in
 * dist/; decision 0001). Uses the npm registry only for the optional PC/SC binding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/cli.ts';

const repo = new URL('../../', import.meta.url).pathname;

test('npm pack → npm install -g → both commands run without the repository', { timeout: 240_000 }, () => {
  execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'ignore' });
  const work = mkdtempSync(join(tmpdir(), 'hsm-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', work], { cwd: repo, stdio: 'ignore' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made no tarball');
  const prefix = join(work, 'prefix');
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(work, tarball)], { cwd: work, stdio: 'ignore' });
  const installed = join(prefix, 'lib', 'node_modules', 'hsm-ceremony');
  assert.ok(!existsSync(join(installed, 'node_modules', 'ink')), 'runtime must not need dev dependencies');
  const bin = (name: string) => join(prefix, 'bin', name);
  const env = { PATH: process.env.PATH, HOME: work };
  const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
  assert.equal(execFileSync(bin('hsm-ceremony'), ['--version'], { env, cwd: work }).toString().trim(), `hsm-ceremony ${version}`);
  assert.match(execFileSync(bin('hsm-custodian'), ['--version'], { env, cwd: work }).toString(), new RegExp(version.replace(/\./g, '\\.')));
  assert.match(execFileSync(bin('hsm-ceremony'), ['--help'], { env, cwd: work }).toString(), /share create/);
  // The key derivation worker is a separate bundle: prove it is found from the installed package.
  const pw = join(work, 'pw');
  const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8'));
  writeFileSync(pw, fixtures.shareFiles[0].passphrase);
  chmodSync(pw, 0o600);
  const out = execFileSync(bin('hsm-ceremony'), ['share', 'verify', join(FIXTURES, fixtures.shareFiles[0].file), '--passphrase-file', pw, '--json'], { env, cwd: work });
  assert.equal(JSON.parse(out.toString()).kcvAlone, fixtures.shareFiles[0].kcvAlone);
});
