import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.ts';
import { isInteractiveInvocation } from '../../app/cli/main.ts';

test('with no command and no terminal, the interactive interface refuses with exit code 2 and says what to do', async () => {
  for (const argv of [[], ['--sim'], ['--reader', 'Nitrokey']]) {
    const r = await runCli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, /hsm-ceremony: error: the interactive interface needs a terminal, and stdin is not one/);
    assert.match(r.stderr, /hsm-ceremony: hint: in scripts run a command instead/);
    assert.equal(r.stdout, '');
  }
});

test('only options of the interface open it; commands, --help and --version do not', async () => {
  assert.equal(isInteractiveInvocation([]), true);
  assert.equal(isInteractiveInvocation(['--sim', '--sim-state', 'x.json']), true);
  assert.equal(isInteractiveInvocation(['status', '--sim']), false);
  assert.equal(isInteractiveInvocation(['--help']), false);
  assert.equal(isInteractiveInvocation(['--version']), false);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /hsm-ceremony \[--sim \| --reader NAME\] {3}the interactive interface \(on a terminal\)/);
  const bad = await runCli(['--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--bogus/);
});
