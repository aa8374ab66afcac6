/**
 * The interactive paths of the device commands, on a scripted terminal: hidden PINs typed twice,
 * and the typed confirmations "destroy N keys" (init) and "replace key N" (restore).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readFileSync } from 'node:fs';
import { main } from '../../app/cli/main.ts';
import type { CliIo } from '../../app/cli/command.ts';
import { tempDir, assertNoSecrets } from '../helpers/cli.ts';
import { PIN, PLANTED, SO_PIN, fixturePath, makeCard, sim } from './device-setup.ts';

/** Runs a command on a fake terminal that answers each prompt (matched on stderr) in turn. */
async function runOnTerminal(argv: string[], answers: [RegExp, string][]) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  const pending = [...answers];
  const asked: string[] = [];
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => {
    err += d;
    const next = pending[0];
    if (next && next[0].test(String(d))) {
      pending.shift();
      asked.push(String(d));
      stdin.write(next[1] + '\r');
    }
  });
  const io: CliIo = { stdin, stdout, stderr, env: {}, cwd: process.cwd() };
  const code = await main(argv, io);
  return { code, stdout: out, stderr: err, unanswered: pending.length, asked };
}

test('init on a terminal: PINs typed twice (a mismatch is retried), and erasing keys needs the exact phrase', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-ec-p256.bin', ref: 1 }, { wrap: 'wrap-rsa2048.bin', ref: 2 }] });
  const typing: [RegExp, string][] = [
    [/^SO-PIN \(16 hex digits\): $/, SO_PIN],
    [/^SO-PIN \(16 hex digits\) again: $/, SO_PIN],
    [/^New user PIN \(6-16 characters\): $/, '24681357'],
    [/^New user PIN \(6-16 characters\) again: $/, '24681350'],
    [/^New user PIN \(6-16 characters\): $/, '24681357'],
    [/^New user PIN \(6-16 characters\) again: $/, '24681357'],
  ];
  const wrongPhrase = await runOnTerminal(['init', ...sim(state), '--dkek-shares', '2'], [...typing, [/Type "destroy 2 keys" to erase them: $/, 'destroy 2 key']]);
  assert.equal(wrongPhrase.code, 4, wrongPhrase.stderr);
  assert.equal(wrongPhrase.unanswered, 0);
  assert.match(wrongPhrase.stderr, /the two entries differ; try again/);
  assert.match(wrongPhrase.stderr, /warning: re-initialising erases the 2 keys on this device \(key references 1, 2\) and its DKEK/);
  assert.match(wrongPhrase.stderr, /not confirmed: the device was not initialised/);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).keys.length, 3, 'keys untouched');
  const ok = await runOnTerminal(['init', ...sim(state), '--dkek-shares', '2'], [...typing, [/Type "destroy 2 keys" to erase them: $/, 'destroy 2 keys']]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /keys erased        : 2/);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).keys.length, 1, 'only the device key is left');
  assertNoSecrets([wrongPhrase.stdout, wrongPhrase.stderr, ok.stdout, ok.stderr], ['24681357', '24681350', ...PLANTED]);
});

test('restore --replace on a terminal asks for the PIN and the phrase "replace key N"', async () => {
  const dir = tempDir();
  const state = await makeCard(dir, { shares: ['s1.pbe'], keys: [{ wrap: 'wrap-rsa2048.bin', ref: 1 }] });
  const args = ['restore', fixturePath('wrap-ec-p256.bin'), '--key-ref', '1', '--replace', ...sim(state)];
  const no = await runOnTerminal(args, [
    [/^User PIN: $/, PIN],
    [/Type "replace key 1" to go on: $/, 'yes'],
  ]);
  assert.equal(no.code, 4, no.stderr);
  assert.match(no.stderr, /key reference 1 holds a key, a key description, a certificate \(label "r1"\); it will be replaced after the card has accepted the backup in a trial/);
  assert.match(no.stderr, /not confirmed: key 1 was not replaced/);
  const yes = await runOnTerminal(args, [
    [/^User PIN: $/, PIN],
    [/Type "replace key 1" to go on: $/, 'replace key 1'],
  ]);
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stdout, /Key restored into key reference 1 \(label "k1", ID 01, EC\), replacing what was there/);
  assertNoSecrets([no.stdout, no.stderr, yes.stdout, yes.stderr], PLANTED);
});
