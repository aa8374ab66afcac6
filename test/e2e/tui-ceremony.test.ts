/**
 * The whole single-operator ceremony in a real terminal: tmux runs `hsm-ceremony --sim` in an
 * 80×24 pane, keys go in with send-keys, screens come back with capture-pane. Card A: initialize
 * with 3 DKEK shares, create the 3 share files (passphrases), import them, verify the PIN and read
 * the KCV, generate a key, back it up. Card B: initialize with 3 shares, import the same files
 * with the expected KCV (MATCH), restore the backup, which is proven to sign. Every screen ever
 * captured (scrollback included) is searched for the planted passphrases and PINs.
 *
 * It uses the real key derivation (about 2.6 s per share, two at a time). Without tmux it skips
 * with the reason printed, except under CI, where it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(REPO, 'app/cli/main.ts');
/** tsx resolved here: the pane runs in a temporary folder, where a bare `--import tsx` is not found. */
const TSX = import.meta.resolve('tsx');
const SOCKET = `hsm-e2e-${process.pid}`;
const SO_PIN = '5b2e7c90d14f8a36';
const PIN = '608341';
const PASSPHRASES = ['amber otter gravel 41', 'violet canyon stove 17', 'copper meadow lantern 88'];
const SECRETS = [SO_PIN, PIN, ...PASSPHRASES];

function tmuxAvailable(): string | null {
  const r = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'tmux is not installed';
}

class Pane {
  readonly screens: string[] = [];
  constructor(
    readonly name: string,
    readonly cwd: string,
  ) {}

  start(args: string, env: NodeJS.ProcessEnv = {}): void {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v} `).join('');
    const cmd = `${vars}node --import ${TSX} ${MAIN} ${args}; echo __EXIT__$?; sleep 60`;
    execFileSync('tmux', ['-L', SOCKET, 'new-session', '-d', '-s', this.name, '-x', '80', '-y', '24', '-c', this.cwd, cmd], {
      env: { ...process.env, TERM: 'xterm-256color' },
    });
  }

  /** The pane with its escape sequences (-e), to look for colours. */
  captureStyled(): string {
    const text = execFileSync('tmux', ['-L', SOCKET, 'capture-pane', '-p', '-e', '-t', this.name], { encoding: 'utf8' });
    this.screens.push(text);
    return text;
  }

  capture(history = false): string {
    const text = execFileSync('tmux', ['-L', SOCKET, 'capture-pane', '-p', '-J', '-t', this.name, ...(history ? ['-S', '-'] : [])], { encoding: 'utf8' });
    this.screens.push(text);
    return text;
  }

  async waitFor(what: string | RegExp, timeoutMs = 40_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = this.capture();
      const flat = s.replace(/\s+/g, ' ');
      if (typeof what === 'string' ? s.includes(what) || flat.includes(what) : what.test(s) || what.test(flat)) return s;
      if (Date.now() > until) throw new Error(`${this.name}: timed out waiting for ${String(what)}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Keys by tmux name (Enter, Escape, C-c) or literal text. */
  async keys(...keys: string[]): Promise<void> {
    for (const k of keys) {
      if (/^(Enter|Escape|Up|Down|Space|C-[a-z])$/.test(k)) execFileSync('tmux', ['-L', SOCKET, 'send-keys', '-t', this.name, k]);
      else execFileSync('tmux', ['-L', SOCKET, 'send-keys', '-t', this.name, '-l', k]);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Text, then Enter. */
  async type(text: string): Promise<void> {
    await this.keys(text, 'Enter');
  }
}

async function initialize3(p: Pane): Promise<void> {
  await p.waitFor('What next?');
  await p.keys('i');
  await p.waitFor('How should the device get its DKEK');
  await p.keys('s');
  await p.waitFor('Number of DKEK shares (1-127): 3');
  await p.keys('Enter');
  await p.waitFor('New SO-PIN:');
  await p.type(SO_PIN);
  await p.waitFor('New SO-PIN again');
  await p.type(SO_PIN);
  await p.waitFor('New user PIN:');
  await p.type(PIN);
  await p.waitFor('New user PIN again');
  await p.type(PIN);
  await p.waitFor('Initialize the device?');
  await p.keys('y');
  await p.waitFor('Device initialized');
}

async function importAll(p: Pane, expected: string): Promise<string> {
  await p.waitFor('Expected KCV (optional)');
  await p.type(expected);
  await p.waitFor('Choose share file 1 of 3');
  await p.keys('1');
  await p.waitFor('Choose share file 2 of 3');
  await p.keys('2');
  await p.waitFor('Choose share file 3 of 3');
  await p.keys('3');
  for (let i = 0; i < 3; i++) {
    await p.waitFor(`Custodian ${i + 1} of 3: open dkek-share-${i + 1}.pbe`);
    await p.keys('p');
    await p.waitFor('Passphrase:');
    await p.type(PASSPHRASES[i]!);
  }
  await p.waitFor('User PIN:', 60_000);
  await p.type(PIN);
  const s = await p.waitFor('DKEK key check value');
  const kcv = /Device KCV: +([0-9A-F]{4}) ([0-9A-F]{4}) ([0-9A-F]{4}) ([0-9A-F]{4})/.exec(s);
  assert.ok(kcv, s);
  return kcv.slice(1).join('');
}

test('a whole single-operator ceremony on two simulated cards, in a real 80×24 terminal', { timeout: 180_000 }, async (t) => {
  const missing = tmuxAvailable();
  if (missing) {
    if (process.env.CI) assert.fail(`${missing}, and the terminal test must run in CI`);
    t.skip(`${missing}: install tmux to run the terminal test`);
    return;
  }
  const cwd = mkdtempSync(join(tmpdir(), 'hsm-e2e-'));
  const a = new Pane('card-a', cwd);
  const b = new Pane('card-b', cwd);
  try {
    // Card A
    a.start('--sim --sim-state card-a.json');
    await initialize3(a);
    await a.keys('c');
    for (let i = 0; i < 3; i++) {
      await a.waitFor(`Create DKEK share files: share ${i + 1} of 3`);
      await a.keys('p');
      await a.waitFor(`File: dkek-share-${i + 1}.pbe`);
      await a.keys('Enter');
      await a.waitFor('New passphrase:');
      await a.type(PASSPHRASES[i]!);
      await a.waitFor('Passphrase again');
      await a.type(PASSPHRASES[i]!);
    }
    await a.waitFor('3 share files created', 60_000);
    await a.keys('m');
    const kcv = await importAll(a, '');
    await a.keys('Enter');
    await a.waitFor('What next?');
    await a.keys('g');
    await a.waitFor('EC P-256');
    await a.keys('1');
    await a.waitFor('Key reference (1-255): 1');
    await a.keys('Enter');
    await a.waitFor('Label: key-1');
    await a.keys('Enter');
    await a.waitFor('Key 1 generated');
    await a.keys('Enter');
    await a.waitFor('What next?');
    await a.keys('b');
    await a.waitFor('1 of 1 selected');
    await a.keys('Enter');
    await a.waitFor('Folder: .');
    await a.keys('Enter');
    const backup = await a.waitFor('1 backup written');
    assert.match(backup.replace(/\s+/g, ' '), /key-1-key-1\.bin key 1 "key-1", EC/);
    await a.keys('Enter');
    await a.waitFor('What next?');
    await a.keys('q');
    await a.waitFor('__EXIT__0');
    for (const f of ['dkek-share-1.pbe', 'dkek-share-2.pbe', 'dkek-share-3.pbe', 'key-1-key-1.bin']) {
      assert.ok(existsSync(join(cwd, f)), f);
      assert.equal(statSync(join(cwd, f)).mode & 0o777, 0o600, `${f} is readable by its owner only`);
    }

    // Card B: same shares, the KCV must match; then the restore
    b.start('--sim --sim-state card-b.json');
    await initialize3(b);
    await b.keys('m');
    await importAll(b, kcv);
    await b.waitFor('MATCH: the device DKEK is the expected one.');
    await b.keys('Enter');
    await b.waitFor('What next?');
    await b.keys('r');
    await b.waitFor('1  key-1-key-1.bin');
    await b.keys('1');
    await b.waitFor('Restore into key reference: 1');
    await b.keys('Enter');
    const restored = await b.waitFor('Key 1 restored', 60_000);
    assert.match(restored.replace(/\s+/g, ' '), /Proof: the device signed a fresh challenge \(ECDSA over SHA-256\), verified with the public key from the backup\./);
    await b.keys('Enter');
    await b.waitFor('What next?');
    await b.keys('q');
    const end = await b.waitFor('__EXIT__0');
    assert.match(end.replace(/\s+/g, ' '), /✓ key 1 restored from key-1-key-1\.bin/);
    assert.deepEqual(readdirSync(cwd).filter((f) => f.endsWith('.bin')), ['key-1-key-1.bin']);
    assert.ok(a.screens.length > 20 && b.screens.length > 20, 'screens were captured');
  } finally {
    for (const p of [a, b]) {
      try {
        p.capture(true); // the whole scrollback too
      } catch {
        // the pane may be gone
      }
    }
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    const all = [...a.screens, ...b.screens].join('\n');
    for (const secret of SECRETS) assert.equal(all.includes(secret), false, 'a planted secret appeared on a captured screen');
  }
});

test('Ctrl-C in a real terminal: a typed secret is dropped, the summary says nothing was changed; NO_COLOR means no colour', { timeout: 60_000 }, async (t) => {
  const missing = tmuxAvailable();
  if (missing) {
    if (process.env.CI) assert.fail(`${missing}, and the terminal test must run in CI`);
    t.skip(`${missing}: install tmux to run the terminal test`);
    return;
  }
  const p = new Pane('ctrl-c', mkdtempSync(join(tmpdir(), 'hsm-e2e-')));
  try {
    p.start('--sim', { NO_COLOR: '1' });
    await p.waitFor('What next?');
    const styled = p.captureStyled();
    assert.equal(/\x1b\[(3[0-7]|9[0-7]|38;)/.test(styled), false, 'no colour with NO_COLOR');
    assert.match(styled, /\x1b\[7m/, 'inverse marks the selection instead');
    await p.keys('l');
    await p.waitFor('not now: the device is not initialized yet');
    await p.keys('i');
    await p.waitFor('How should the device get its DKEK');
    await p.keys('s', 'Enter');
    await p.waitFor('New SO-PIN:');
    await p.keys(SO_PIN.slice(0, 10)); // typed, not submitted
    await p.keys('C-c');
    const end = await p.waitFor('__EXIT__4');
    assert.match(end, /hsm-ceremony: stopped \(Ctrl-C\)/);
    assert.match(end, /Nothing was changed in this session\./);
    assert.match(end.replace(/\s+/g, ' '), /initialize: not done; the device was not changed/);
  } finally {
    try {
      p.capture(true);
    } catch {
      // gone
    }
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    const all = p.screens.join('\n');
    assert.equal(all.includes(SO_PIN.slice(0, 10)), false, 'the half-typed SO-PIN never appeared');
  }
});
