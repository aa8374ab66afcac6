/**
 * `hsm-ceremony run PLAN --rehearse` in a real 80×24 terminal (tmux): the example plan
 * (docs/examples/three-custodians.yaml) with a secrets file that lacks the user PIN, bob's
 * passphrase and walter's sign-off, so those are typed in the run view — the PIN and bob's
 * passphrase hidden, twice where new — while the operator adds a deviation note. The run
 * completes, `hsm-ceremony verify` accepts the transcript (exit 0) and shows the note, and every
 * captured screen (scrollback included) and the transcript are searched for the planted secrets.
 *
 * Without tmux it skips with the reason printed, except under CI, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir, secretFile, assertNoSecrets } from '../helpers/cli.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(REPO, 'app/cli/main.ts');
const PLAN = join(REPO, 'docs/examples/three-custodians.yaml');
/** tsx resolved here: the pane runs in a temporary folder, where a bare `--import tsx` is not found. */
const TSX = import.meta.resolve('tsx');
const SOCKET = `hsm-run-tty-${process.pid}`;
const EXAMPLE = JSON.parse(readFileSync(join(REPO, 'docs/examples/three-custodians.secrets.json'), 'utf8')) as { soPin: string; pin: string; shares: Record<string, { passphrase: string }> };
/** typed in the terminal: not in the secrets file */
const PIN = '914270';
const BOB = 'bob types: lilac quarry 63';
const NOTE = 'walter stepped out for two minutes during step 3';

function tmuxAvailable(): string | null {
  const r = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'tmux is not installed';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Pane {
  readonly screens: string[] = [];
  constructor(
    readonly name: string,
    readonly cwd: string,
  ) {}

  start(args: string): void {
    const cmd = `node --import ${TSX} ${MAIN} ${args}; echo __EXIT__$?; sleep 60`;
    execFileSync('tmux', ['-L', SOCKET, 'new-session', '-d', '-s', this.name, '-x', '80', '-y', '24', '-c', this.cwd, cmd], { env: { ...process.env, TERM: 'xterm-256color' } });
  }

  capture(history = false): string {
    const text = execFileSync('tmux', ['-L', SOCKET, 'capture-pane', '-p', '-J', '-t', this.name, ...(history ? ['-S', '-'] : [])], { encoding: 'utf8' });
    this.screens.push(text);
    return text;
  }

  async waitFor(what: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = this.capture();
      const flat = s.replace(/\s+/g, ' ');
      if (typeof what === 'string' ? s.includes(what) || flat.includes(what) : what.test(s) || what.test(flat)) {
        await sleep(200);
        return this.capture();
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${String(what)}; screen:\n${s}`);
      await sleep(100);
    }
  }

  async keys(...keys: string[]): Promise<void> {
    for (const k of keys) {
      if (/^(Enter|Escape|C-[a-z])$/.test(k)) execFileSync('tmux', ['-L', SOCKET, 'send-keys', '-t', this.name, k]);
      else execFileSync('tmux', ['-L', SOCKET, 'send-keys', '-t', this.name, '-l', k]);
      await sleep(150);
    }
  }

  async type(text: string): Promise<void> {
    await this.keys(text, 'Enter');
  }
}

test('run on a terminal: typed PIN and passphrase, a note, completion, and a transcript that verifies (tmux, 80×24)', { timeout: 240_000 }, async (t) => {
  const missing = tmuxAvailable();
  if (missing) {
    if (process.env.CI) assert.fail(`${missing}, and the terminal test must run in CI`);
    t.skip(`${missing}: install tmux to run the terminal test`);
    return;
  }
  const dir = tempDir('hsm-run-tty-');
  // the secrets file answers the SO-PIN, alice's and carol's passphrases and four sign-offs
  secretFile(
    dir,
    'partial.secrets.json',
    JSON.stringify({
      rehearsal: true,
      soPin: EXAMPLE.soPin,
      shares: { 'alice.pbe': EXAMPLE.shares['alice.pbe'], 'carol.pbe': EXAMPLE.shares['carol.pbe'] },
      signOffs: { wendy: true, alice: true, bob: true, carol: true },
    }),
  );
  const planted = [PIN, BOB, EXAMPLE.soPin, EXAMPLE.shares['alice.pbe']!.passphrase, EXAMPLE.shares['carol.pbe']!.passphrase];
  const p = new Pane('run', dir);
  try {
    p.start(`run ${PLAN} --rehearse --secrets-file partial.secrets.json --out out`);

    let s = await p.waitFor('New user PIN:');
    assert.match(s, /REHEARSAL/);
    assert.match(s, /ceremony key [0-9a-f]{4}( [0-9a-f]{4}){7}/);
    const fingerprint = /ceremony key ([0-9a-f]{4}(?: [0-9a-f]{4}){7})/.exec(s)![1]!;
    assert.match(s, /oscar \(operator\) types now/);
    await p.type(PIN);
    await p.waitFor('New user PIN again:');
    await p.type(PIN);

    s = await p.waitFor("bob's new share file bob.pbe");
    assert.match(s, /bob \(custodian\) types now/);
    assert.match(s, /▶ +3 create-share +running/);
    // the operator sets the prompt aside and adds a note, then brings the prompt back
    await p.keys('Escape');
    await p.waitFor('Enter back to the prompt');
    await p.keys('n');
    await p.waitFor('Add a deviation note?');
    await p.keys('Enter');
    await p.waitFor('Note:');
    await p.type(NOTE);
    await p.waitFor('note queued');
    await p.keys('Enter');
    await p.waitFor('New passphrase:');
    await p.type(BOB);
    await p.waitFor('New passphrase again:');
    await p.type(BOB);

    s = await p.waitFor('bob opens bob.pbe', 120_000);
    assert.match(s, /the note is in the transcript/);
    await p.type(BOB);

    s = await p.waitFor('Sign-off: walter (witness)', 120_000);
    await p.type('walter');
    s = await p.waitFor('The ceremony is complete.');
    assert.ok(s.includes(`ceremony key fingerprint: ${fingerprint}`), s);
    assert.match(s, /chain head {3}[0-9a-f]{64}/);
    await p.keys('Enter');
    s = await p.waitFor('__EXIT__0');
    // the record stays on the terminal after the view closed
    assert.match(s, /ceremony COMPLETED/);
    assert.ok(s.includes(`ceremony key fingerprint: ${fingerprint}`), s);
    p.capture(true);

    const transcript = join(dir, 'out', 'transcript.jsonl');
    const verified = await runCli(['verify', transcript, '--plan', PLAN]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.ok(verified.stdout.includes(NOTE), verified.stdout);
    const text = readFileSync(transcript, 'utf8');
    assert.ok(text.includes(NOTE));
    assert.match(text, /"name":"walter"[^\n]*"accepted":true[^\n]*"kind":"sign-off"/);
    assertNoSecrets([...p.screens, text, verified.stdout, verified.stderr], planted);
  } finally {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  }
});
