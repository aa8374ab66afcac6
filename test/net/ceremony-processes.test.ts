// Whole ceremonies with real processes on loopback: `hsm-ceremony host` on the simulator and one
// `hsm-custodian join` per custodian, each with its own files. Every output of every process (and,
// when tmux is there, the coordinator's screen) is searched for the planted passphrases, shares,
// password-share values and PINs.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { assertNoSecrets, secretFile, tempDir, FIXTURES } from '../helpers/cli.ts';
import { combineShares, formatKcv, kcv } from '../../protocol/dkek/dkek.ts';
import { fromHex } from '../../protocol/bytes.ts';
import { REPO, runProgram, TSX, until, type Proc } from './net-helpers.ts';

const MAIN = join(REPO, 'app/cli/main.ts');
const CUSTODIAN = join(REPO, 'custodian-client/main.ts');

const fixtures = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8')) as {
  shareFiles: { file: string; passphrase?: string; share: string; passwordHex?: string; passwordShares?: { prime: string; shares: Record<string, string> } }[];
};
const fx = (file: string) => fixtures.shareFiles.find((f) => f.file === file)!;
const PIN = '648219';
const SO_PIN = '3537363231383830';

// Every process a test starts; a failing test must not leave a ceremony waiting forever.
const started: Proc[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

function spawnTracked(args: string[], dir: string): Proc {
  const p = runProgram(args, { cwd: dir });
  started.push(p);
  return p;
}

function host(dir: string, args: string[]): Proc {
  return spawnTracked([MAIN, 'host', '--join-timeout', '60', ...args], dir);
}

function custodian(dir: string, url: string, name: string, args: string[], viaCeremony = false): Proc {
  const program = viaCeremony ? [MAIN, 'join'] : [CUSTODIAN, 'join'];
  return spawnTracked([...program, url, '--code-file', `codes/${name}.code`, '--yes', ...args], dir);
}

/** Waits for every code file, then returns the URL from the JSON stream. */
async function listening(dir: string, h: Proc, names: string[]): Promise<string> {
  await until(() => names.every((n) => existsSync(join(dir, 'codes', `${n}.code`))) || h.child.exitCode !== null, 'the code files', 20_000);
  assert.equal(h.child.exitCode, null, `host exited early: ${h.err()}`);
  const line = h.out().split('\n').find((l) => l.includes('"listening"'));
  assert.ok(line, 'a listening event');
  return JSON.parse(line).url as string;
}

function events(h: Proc): { type: string; [k: string]: unknown }[] {
  return h.out().split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

function setup(prefix: string): string {
  const dir = tempDir(prefix);
  mkdirSync(join(dir, 'codes'), { mode: 0o700 });
  return dir;
}

function outputs(...procs: Proc[]): string[] {
  return procs.flatMap((p) => [p.out(), p.err()]);
}

describe('hosted ceremonies, real processes', { concurrency: false }, () => {
  it('three custodians load a 3-share DKEK; the security officer initialises from their own terminal', { timeout: 90_000 }, async () => {
    const dir = setup('hsm-host3-');
    const people = [
      ['alice', 's1.pbe'],
      ['bob', 's2.pbe'],
      ['carol', 's4.pbe'],
    ] as const;
    for (const [name, file] of people) {
      copyFileSync(join(FIXTURES, file), join(dir, `${name}.pbe`));
      secretFile(dir, `${name}.pw`, `${fx(file).passphrase}\n`);
    }
    secretFile(dir, 'so.pin', `${SO_PIN}\n`);
    secretFile(dir, 'user.pin', `${PIN}\n`);
    const expected = formatKcv(kcv(combineShares(people.map(([, f]) => fromHex(fx(f).share)))));
    const h = host(dir, ['--custodians', 'alice,bob,carol', '--security-officer', 'carol', '--witnesses', 'wendy', '--init', '--dkek-shares', '3', '--sim', '--flavor', 'pico', '--codes-out', 'codes', '--json', '--expect-kcv', expected]);
    const url = await listening(dir, h, ['alice', 'bob', 'carol', 'wendy']);
    const witness = spawnTracked([CUSTODIAN, 'join', url, '--code-file', 'codes/wendy.code', '--yes'], dir);
    const cs = people.map(([name], i) =>
      custodian(dir, url, name, ['--share-file', `${name}.pbe`, '--passphrase-file', `${name}.pw`, ...(name === 'carol' ? ['--so-pin-file', 'so.pin', '--pin-file', 'user.pin'] : [])], i === 1),
    );
    const codes = await Promise.all([h.exit, witness.exit, ...cs.map((c) => c.exit)]);
    assert.deepEqual(codes, [0, 0, 0, 0, 0], outputs(h, witness, ...cs).join('\n---\n'));
    const ev = events(h);
    assert.deepEqual(ev.find((e) => e.type === 'kcv'), { type: 'kcv', kcv: expected, expected, matches: true });
    assert.equal(ev.filter((e) => e.type === 'share-imported').length, 3);
    assert.ok(ev.some((e) => e.type === 'initialized'));
    assert.ok(ev.some((e) => e.type === 'asked' && e.name === 'carol' && String(e.what).includes('SO-PIN')));
    for (const c of cs) assert.match(c.out(), /your part is done/);
    assert.match(witness.out(), /3 of 3 imported, 0 outstanding/);
    assert.match(witness.out(), new RegExp(`DKEK key check value ${expected}`));
    for (const name of ['alice', 'bob', 'carol', 'wendy']) assert.ok(!existsSync(join(dir, 'codes', `${name}.code`)), 'code files are removed at the end');
    assertNoSecrets(outputs(h, witness, ...cs), [
      ...people.map(([, f]) => fx(f).passphrase!),
      ...people.map(([, f]) => fromHex(fx(f).share)),
      PIN,
      SO_PIN,
    ]);
  });

  it('2 of 3 custodians open an n-of-m share file; the coordinator screen (tmux) shows no share', { timeout: 90_000 }, async () => {
    const dir = setup('hsm-host-nofm-');
    const s3 = fx('s3.pbe');
    copyFileSync(join(FIXTURES, 's3.pbe'), join(dir, 's3.pbe'));
    const ps = s3.passwordShares!;
    secretFile(dir, 'alice.txt', `Share ID    : 1\nShare value : ${ps.shares['1']}\n`);
    secretFile(dir, 'bob.txt', `Prime       : ${ps.prime}\nShare ID    : 2\nShare value : ${ps.shares['2']}\n`);
    secretFile(dir, 'secrets.json', JSON.stringify({ rehearsal: true, pin: PIN, soPin: SO_PIN }));
    const expected = formatKcv(kcv(fromHex(s3.share)));
    const args = ['--custodians', 'alice,bob,carol', '--pwd-shares', '2/3', '--share-file', 's3.pbe', '--init', '--dkek-shares', '1', '--sim', '--secrets-file', 'secrets.json', '--codes-out', 'codes', '--expect-kcv', expected];
    const tmux = spawnSync('sh', ['-c', 'command -v tmux']).status === 0;
    const session = `hsm-nofm-${process.pid}`;
    let h: Proc | null = null;
    let screen = '';
    if (tmux) {
      writeFileSync(join(dir, 'host.sh'), `cd ${dir} && ${process.execPath} --import ${TSX} ${MAIN} host ${args.join(' ')}; echo "HOST EXIT $?"; sleep 60\n`);
      assert.equal(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', `sh ${join(dir, 'host.sh')}`]).status, 0);
    } else {
      h = host(dir, args);
    }
    const capture = () => spawnSync('tmux', ['capture-pane', '-p', '-J', '-S', '-2000', '-t', session], { encoding: 'utf8' }).stdout ?? '';
    try {
      let url = '';
      await until(() => {
        const text = tmux ? capture() : h!.out();
        url = /ws:\/\/127\.0\.0\.1:\d+\/v1/.exec(text)?.[0] ?? '';
        return url !== '' && existsSync(join(dir, 'codes', 'bob.code'));
      }, 'the coordinator to listen', 20_000);
      // bob has the prime; alice joins first and has none
      const a = custodian(dir, url, 'alice', ['--pwd-shares-file', 'alice.txt']);
      await until(() => a.out().includes('sent your password share'), 'alice to send', 20_000);
      const b = custodian(dir, url, 'bob', ['--pwd-shares-file', 'bob.txt']);
      const codes = await Promise.all([a.exit, b.exit]);
      assert.deepEqual(codes, [0, 0], outputs(a, b).join('\n---\n'));
      if (tmux) {
        await until(() => capture().includes('HOST EXIT'), 'the host to exit', 20_000);
        screen = capture();
        assert.match(screen, /HOST EXIT 0/);
      } else {
        assert.equal(await h!.exit, 0, h!.err());
        screen = h!.out();
      }
      assert.match(screen, new RegExp(`DKEK key check value ${expected} \\(matches`));
      assert.match(screen, /the share file imported .*1 of 1 imported, 0 outstanding/);
      assert.match(b.out(), /your part is done/);
      const values = Object.values(ps.shares);
      assertNoSecrets([screen, ...outputs(a, b), ...(h ? outputs(h) : [])], [
        ...values,
        ...values.map((v) => v.replace(/:/g, '')),
        s3.passwordHex!,
        fromHex(s3.share),
        PIN,
        SO_PIN,
      ]);
    } finally {
      if (tmux) spawnSync('tmux', ['kill-session', '-t', session]);
      else h?.child.kill('SIGTERM');
    }
  });

  it('a coordinator that stops mid-ceremony continues from the card and its record (--resume)', { timeout: 90_000 }, async () => {
    const dir = setup('hsm-host-resume-');
    for (const [name, file] of [['alice', 's1.pbe'], ['bob', 's2.pbe']] as const) {
      copyFileSync(join(FIXTURES, file), join(dir, `${name}.pbe`));
      secretFile(dir, `${name}.pw`, `${fx(file).passphrase}\n`);
    }
    secretFile(dir, 'secrets.json', JSON.stringify({ rehearsal: true, pin: PIN, soPin: SO_PIN }));
    const expected = formatKcv(kcv(combineShares([fromHex(fx('s1.pbe').share), fromHex(fx('s2.pbe').share)])));
    const common = ['--custodians', 'alice,bob', '--sim', '--sim-state', 'card.json', '--secrets-file', 'secrets.json', '--codes-out', 'codes', '--json', '--expect-kcv', expected];
    const h1 = host(dir, [...common, '--init', '--dkek-shares', '2']);
    const url1 = await listening(dir, h1, ['alice', 'bob']);
    const a = custodian(dir, url1, 'alice', ['--share-file', 'alice.pbe', '--passphrase-file', 'alice.pw']);
    await until(() => h1.out().includes('"share-imported"'), 'alice\'s import', 30_000);
    h1.child.kill('SIGINT');
    assert.equal(await h1.exit, 4, 'cancelled');
    assert.equal(await a.exit, 4, 'alice sees the cancellation');
    writeFileSync(join(dir, 'run1.jsonl'), h1.out());
    assert.ok(events(h1).some((e) => e.type === 'ceremony-over' && e.outcome === 'cancelled'));

    const h2 = host(dir, [...common, '--resume', 'run1.jsonl']);
    const url2 = await listening(dir, h2, ['alice', 'bob']);
    const again = custodian(dir, url2, 'alice', ['--share-file', 'alice.pbe', '--passphrase-file', 'alice.pw']);
    const b = custodian(dir, url2, 'bob', ['--share-file', 'bob.pbe', '--passphrase-file', 'bob.pw']);
    const codes = await Promise.all([h2.exit, again.exit, b.exit]);
    assert.deepEqual(codes, [0, 0, 0], outputs(h2, again, b).join('\n---\n'));
    const ev = events(h2);
    assert.deepEqual(ev.find((e) => e.type === 'card'), { type: 'card', total: 2, outstanding: 1, imported: 1, description: ev.find((e) => e.type === 'card')!.description });
    assert.ok(!ev.some((e) => e.type === 'asked' && e.name === 'alice'), 'alice is not asked twice');
    assert.deepEqual(ev.find((e) => e.type === 'kcv'), { type: 'kcv', kcv: expected, expected, matches: true });
  });

  it('custodians create their shares on their own terminals; the files stay there and are never overwritten', { timeout: 90_000 }, async () => {
    const dir = setup('hsm-host-create-');
    for (const name of ['alice', 'bob']) {
      mkdirSync(join(dir, name), { mode: 0o700 });
      secretFile(dir, `${name}.pw`, `new passphrase of ${name}\n`);
    }
    secretFile(dir, 'secrets.json', JSON.stringify({ rehearsal: true, pin: PIN, soPin: SO_PIN }));
    writeFileSync(join(dir, 'bob', 'bob.pbe'), 'already here');
    const h = host(dir, ['--custodians', 'alice,bob', '--create', '--init', '--dkek-shares', '2', '--sim', '--secrets-file', 'secrets.json', '--codes-out', 'codes', '--json', '--join-timeout', '30']);
    const url = await listening(dir, h, ['alice', 'bob']);
    const a = custodian(dir, url, 'alice', ['--passphrase-file', 'alice.pw', '--dir', 'alice']);
    const b1 = custodian(dir, url, 'bob', ['--passphrase-file', 'bob.pw', '--dir', 'bob']);
    assert.equal(await b1.exit, 2, 'bob refuses to overwrite his existing file');
    assert.match(b1.err(), /already exists and will not be overwritten/);
    assert.equal(readFileSync(join(dir, 'bob', 'bob.pbe'), 'utf8'), 'already here');
    writeFileSync(join(dir, 'bob', 'bob.pbe'), '');
    spawnSync('mv', [join(dir, 'bob', 'bob.pbe'), join(dir, 'bob', 'old.pbe')]);
    await until(() => h.out().split('\n').filter((l) => l.includes('"code-issued"') && l.includes('"bob"')).length >= 2, 'a fresh code for bob', 20_000);
    const b2 = custodian(dir, url, 'bob', ['--passphrase-file', 'bob.pw', '--dir', 'bob']);
    const codes = await Promise.all([h.exit, a.exit, b2.exit]);
    assert.deepEqual(codes, [0, 0, 0], outputs(h, a, b2).join('\n---\n'));
    const ev = events(h);
    const created = ev.filter((e) => e.type === 'share-created').map((e) => e.fingerprint);
    const imported = ev.filter((e) => e.type === 'share-imported').map((e) => e.fingerprint);
    assert.equal(created.length, 2);
    assert.deepEqual([...imported].sort(), [...created].sort());
    for (const name of ['alice', 'bob']) {
      const st = statSync(join(dir, name, `${name}.pbe`));
      assert.equal(st.size, 64);
      assert.equal(st.mode & 0o777, 0o600);
    }
    assertNoSecrets(outputs(h, a, b1, b2), ['new passphrase of alice', 'new passphrase of bob', PIN, SO_PIN]);
  });
});
