/**
 * n-of-m password-share steps in a run (docs/plan-format.md §4 create-share / import-share with
 * pwdShares), on the simulator through the step executor, and the RunSecrets seams for hosted runs
 * (createShareRemotely, openShareRemotely):
 *
 * - a split made by the run and imported with T of its shares gives the same KCV as importing the
 *   same file with `hsm-ceremony share import --pwd-shares-file` on another card;
 * - wrong or too few password shares fail with a clear error and import nothing;
 * - a share the ceremony already imported is refused before it reaches the card, in every path;
 * - no password share value, password or PIN reaches the transcript events or the progress lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, secretFile, assertNoSecrets } from '../helpers/cli.ts';
import { makeCard, sim } from '../cli/device-setup.ts';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { loadSecretsFile } from '../../app/cli/secrets-file.ts';
import { parsePlan } from '../../app/plan/plan-parse.ts';
import { checkRehearsalSecrets } from '../../app/plan/rehearsal-secrets.ts';
import type { Plan } from '../../app/plan/plan-schema.ts';
import { executeStep, type RunSecrets, type StepContext } from '../../app/run/step-executor.ts';
import { fileSecrets } from '../../app/run/file-secrets.ts';
import { readDkekStatus } from '../../app/ceremony/operations/login.ts';
import { createShareFile, decryptShareFile, shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import { formatKcv, shareFingerprint } from '../../protocol/dkek/dkek.ts';
import { parsePrintout, shareSet, splitPassword, formatHexColon, type ShareSet } from '../../protocol/dkek/password-shares.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import { utf8 } from '../../protocol/bytes.ts';
import type { AppendEvent } from '../../app/transcript/writer.ts';

const PIN = '648219';
const SO_PIN = '3537363231383830';

function planOf(yaml: string): Plan {
  return parsePlan(utf8(yaml), 'plan.yaml').plan;
}

const SPLIT_PLAN = `version: 1
name: split test
device: { reader: simulator }
roles:
  operator: oscar
  custodians: [bob, carol, dave]
  witnesses: [wendy]
steps:
  - step: initialize
    dkekShares: 1
  - step: create-share
    file: team.pbe
    pwdShares: 2/3
    custodians: [bob, carol, dave]
  - step: import-share
    file: team.pbe
    custodians: [carol, dave]
  - step: expect-kcv
  - step: sign-off
    who: witnesses
`;

interface Harness {
  ctx: StepContext;
  events: AppendEvent[];
  progress: string[];
  hsm: SmartCardHsm;
}

async function harness(dir: string, plan: Plan, secrets: RunSecrets, kdf = shareFileKdfSync()): Promise<Harness> {
  const card = SimulatedCard.create({ flavor: 'sc-hsm', seed: Uint8Array.of(11) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  const events: AppendEvent[] = [];
  const progress: string[] = [];
  const ctx: StepContext = {
    plan,
    planDir: dir,
    outDir: join(dir, 'out'),
    hsm,
    secrets,
    kdf: () => kdf,
    rng: (n) => crypto.getRandomValues(new Uint8Array(n)),
    signal: new AbortController().signal,
    memory: { kcv: null, written: new Set() },
    operator: { role: 'operator', name: 'oscar' },
    record: (e) => void events.push(e),
    progress: (t) => void progress.push(t),
  };
  return { ctx, events, progress, hsm };
}

/** A rehearsal secrets file; `shares` as in docs/secrets-file.md. */
function secretsFile(dir: string, shares: Record<string, unknown> = {}, rehearsal = true) {
  const path = secretFile(dir, 'secrets.json', JSON.stringify({ rehearsal, pin: PIN, soPin: SO_PIN, shares, signOffs: rehearsal ? { wendy: true } : undefined }));
  return loadSecretsFile(path, dir);
}

/** Share values of a printout, as its text shows them (for the secrets grep). */
function shareValues(printout: string): string[] {
  return [...printout.matchAll(/Share value : (\S+)/g)].map((m) => m[1]!);
}

test('a 2-of-3 split made by the run and opened with 2 shares: same KCV as "share import --pwd-shares-file" with those shares on another card; nothing secret recorded', async () => {
  const dir = tempDir('hsm-pwd-run-');
  const file = secretsFile(dir, { 'team.pbe': { pwdShares: 'printouts/team.txt' } });
  const secrets = fileSecrets(file);
  const plan = planOf(SPLIT_PLAN);
  const h = await harness(dir, plan, secrets);
  for (let n = 1; n <= 5; n++) await executeStep(h.ctx, n);

  // the printout the secrets file asked for: all three shares in sc-hsm-tool's layout, 0600
  const printoutPath = join(dir, 'printouts', 'team.txt');
  assert.equal(statSync(printoutPath).mode & 0o777, 0o600);
  const printout = readFileSync(printoutPath, 'utf8');
  const all = parsePrintout(printout);
  assert.deepEqual(all.shares.map((s) => s.idText), ['1', '2', '3']);

  // file-written records the split, custodians in share-ID order and the public prime
  const written = h.events.find((e) => e.kind === 'file-written')!;
  assert.equal(written.data!.path, 'team.pbe');
  assert.deepEqual(written.data!.pwdShares, { threshold: 2, total: 3, custodians: ['bob', 'carol', 'dave'], prime: formatHexColon(all.prime) });
  assert.equal(readFileSync(join(dir, 'out', 'team.pbe')).length, 64);
  // the import used carol's and dave's shares (IDs 2 and 3) and says so; the values are nowhere
  const imported = h.events.find((e) => e.kind === 'share-imported')!;
  assert.deepEqual(imported.data!.pwdShares, { threshold: 2, total: 3, ids: [2, 3] });
  assert.equal(imported.data!.outstanding, 0);
  const kcv = h.events.find((e) => e.kind === 'kcv-read')!.data!.kcv as string;
  assert.match(kcv, /^[0-9A-F]{16}$/);
  assertNoSecrets([JSON.stringify(h.events), h.progress.join('\n')], [...shareValues(printout), PIN, SO_PIN]);
  secrets.forget();

  // the same file with the same two shares through "share import" on a fresh card
  const state = await makeCard(dir, { dkekShares: 1 });
  const pair = printout.split('Share ID').filter((_, i) => i !== 1).join('Share ID'); // drop share 1
  assert.equal(parsePrintout(pair).shares.length, 2);
  const pairPath = secretFile(dir, 'pair.txt', pair);
  const r = await runCli(['share', 'import', join(dir, 'out', 'team.pbe'), '--pwd-shares-file', pairPath, ...sim(state), '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).kcv, kcv);
  assertNoSecrets([r.stdout, r.stderr], shareValues(printout));
});

test('wrong or too few password shares: a clear check error, nothing imported, nothing recorded', async () => {
  const dir = tempDir('hsm-pwd-wrong-');
  // a file made the way the run makes it, split 3-of-3 and 2-of-3
  const three = splitPassword(3, 3);
  const threeFile = (await createShareFile(three.password, { kdf: shareFileKdfSync() })).file;
  const two = splitPassword(2, 3);
  const twoFile = (await createShareFile(two.password, { kdf: shareFileKdfSync() })).file;
  writeFileSync(join(dir, 'three.pbe'), threeFile);
  writeFileSync(join(dir, 'two.pbe'), twoFile);
  const plan = planOf(`version: 1
name: wrong shares
device: { reader: simulator }
roles: { operator: oscar, custodians: [bob, carol, dave] }
shareFiles:
  - { file: three.pbe, pwdShares: 3/3, custodians: [bob, carol, dave] }
  - { file: two.pbe, pwdShares: 2/3, custodians: [bob, carol, dave] }
steps:
  - { step: initialize, dkekShares: 2 }
  - { step: import-share, file: three.pbe, custodians: [bob, carol, dave] }
  - { step: import-share, file: two.pbe, custodians: [bob, carol] }
`);
  let answer: ShareSet;
  const asked: { file: string; custodians: readonly string[]; threshold: number; total: number }[] = [];
  const secrets: RunSecrets = {
    pin: async () => utf8(PIN),
    soPin: async () => utf8(SO_PIN),
    passphrase: async () => {
      throw new Error('no passphrase in this test');
    },
    signOff: async () => ({ accepted: true }),
    pwdShares: async (f, custodians, threshold, total) => {
      asked.push({ file: f, custodians, threshold, total });
      return answer;
    },
    handOutPwdShares: async () => {
      throw new Error('no hand-out in this test');
    },
  };
  const h = await harness(dir, plan, secrets);
  await executeStep(h.ctx, 1);
  const set = (split: typeof three, ids: number[], tamper = false) =>
    shareSet(ids.map((id, i) => ({ position: i + 1, idText: String(id), value: split.shares[id - 1]!.value + (tamper && i === 1 ? 1n : 0n) })), split.prime);

  // too few: two shares of a 3-of-3 split stand for a wrong password
  answer = set(three, [1, 2]);
  await assert.rejects(executeStep(h.ctx, 2), (e) => isCeremonyError(e) && e.code === 'WRONG_PWD_SHARES' && e.kind === 'check' && /three\.pbe/.test(e.message));
  assert.deepEqual(asked[0], { file: 'three.pbe', custodians: ['bob', 'carol', 'dave'], threshold: 3, total: 3 });
  // a mistyped share at exactly the threshold: no cross-check possible, the file does not open
  answer = set(two, [1, 2], true);
  await assert.rejects(executeStep(h.ctx, 3), (e) => isCeremonyError(e) && e.code === 'WRONG_PWD_SHARES');
  // three shares with one mistyped also fit a 3-of-3 split: whatever the reading, the file does not open
  answer = set(two, [1, 2, 3], true);
  await assert.rejects(executeStep(h.ctx, 3), (e) => isCeremonyError(e) && e.kind === 'check' && ['WRONG_PWD_SHARES', 'PWD_SHARES_OUTLIERS', 'PWD_SHARES_INCONSISTENT'].includes(e.code));
  const status = await readDkekStatus(h.hsm);
  assert.equal(status!.outstanding, 2, 'nothing was imported');
  assert.equal(h.events.filter((e) => e.kind === 'share-imported').length, 0);

  // the right shares then work, and the DKEK is the share's (1 of 2 imported)
  answer = set(two, [3, 1]);
  await executeStep(h.ctx, 3);
  assert.deepEqual(h.events.find((e) => e.kind === 'share-imported')!.data!.pwdShares, { threshold: 2, total: 3, ids: [3, 1] });
  assert.equal((await readDkekStatus(h.hsm))!.outstanding, 1);
  wipeSplits(three, two);
});

function wipeSplits(...splits: { password: Uint8Array }[]): void {
  for (const s of splits) s.password.fill(0);
}

test('rehearsal hand-out: a real (non-rehearsal) secrets file never hands shares out headless, so no file is written; a printout that exists is not overwritten', async () => {
  const dir = tempDir('hsm-pwd-handout-');
  const plan = planOf(SPLIT_PLAN);
  const real = secretsFile(dir, {}, false);
  const h = await harness(dir, plan, fileSecrets(real));
  await executeStep(h.ctx, 1);
  await assert.rejects(executeStep(h.ctx, 2), (e) => isCeremonyError(e) && e.code === 'NO_TTY' && /terminal/.test(e.message));
  assert.equal(existsSync(join(dir, 'out', 'team.pbe')), false);
  assert.equal(h.events.filter((e) => e.kind === 'file-written').length, 0);

  const dir2 = tempDir('hsm-pwd-handout2-');
  writeFileSync(join(dir2, 'team.txt'), 'already here\n', { mode: 0o600 });
  const h2 = await harness(dir2, plan, fileSecrets(secretsFile(dir2, { 'team.pbe': { pwdShares: 'team.txt' } })));
  await executeStep(h2.ctx, 1);
  await assert.rejects(executeStep(h2.ctx, 2), (e) => isCeremonyError(e) && e.code === 'OUTPUT_EXISTS');
  assert.equal(readFileSync(join(dir2, 'team.txt'), 'utf8'), 'already here\n');
  assert.equal(existsSync(join(dir2, 'out', 'team.pbe')), false);

  // plan check names both: the hand-out needs a terminal, and a rehearsal needs nothing for team.pbe
  const inv = (rehearsal: boolean, shares: Map<string, 'passphrase' | 'pwdShares'>) => ({ rehearsal, hasPin: true, hasSoPin: true, shares, signOffs: new Map([['wendy', true]]) });
  const at = () => ({ line: 1, column: 1 });
  const realIssues = checkRehearsalSecrets(plan, inv(false, new Map()), at).map((i) => i.code);
  assert.ok(realIssues.includes('SECRETS_PWD_HANDOUT'), realIssues.join());
  assert.deepEqual(checkRehearsalSecrets(plan, inv(true, new Map()), at), []);
  assert.deepEqual(checkRehearsalSecrets(plan, inv(true, new Map([['team.pbe', 'pwdShares']])), at), []);
  assert.deepEqual(checkRehearsalSecrets(plan, inv(true, new Map([['team.pbe', 'passphrase']])), at).map((i) => i.code), ['SECRETS_WRONG_SHARE_KIND']);
});

test('hosted seams: createShareRemotely and openShareRemotely are used instead of passphrases; a share already imported is refused in any step before it reaches the card; a malformed answer imports nothing', async () => {
  const dir = tempDir('hsm-pwd-remote-');
  const kdf = shareFileKdfSync(16); // the executor derives nothing itself on these paths
  const plan = planOf(`version: 1
name: remote
device: { reader: simulator }
roles: { operator: oscar, custodians: [alice, bob] }
steps:
  - { step: initialize, dkekShares: 2 }
  - { step: create-share, custodian: alice, file: alice.pbe }
  - { step: create-share, custodian: bob, file: bob.pbe }
  - { step: import-share, custodian: alice, file: alice.pbe }
  - { step: import-share, custodian: bob, file: bob.pbe }
`);
  const passphrases: Record<string, string> = { alice: 'alice remote words', bob: 'bob remote words' };
  let mode: 'right' | 'twin' | 'short' = 'right';
  const calls: string[] = [];
  const secrets: RunSecrets = {
    pin: async () => utf8(PIN),
    soPin: async () => utf8(SO_PIN),
    passphrase: async () => {
      throw new Error('a hosted run never asks the coordinator for a passphrase');
    },
    signOff: async () => ({ accepted: true }),
    pwdShares: async () => {
      throw new Error('not in this test');
    },
    handOutPwdShares: async () => {
      throw new Error('not in this test');
    },
    createShareRemotely: async (f, custodian) => {
      calls.push(`create ${f} ${custodian}`);
      return (await createShareFile(utf8(passphrases[custodian]!), { kdf })).file;
    },
    openShareRemotely: async (f, custodian, bytes) => {
      calls.push(`open ${f} ${custodian}`);
      if (mode === 'short') return new Uint8Array(31);
      const own = await decryptShareFile(bytes, utf8(passphrases[custodian]!), kdf);
      if (mode === 'twin') return decryptShareFile(readFileSync(join(dir, 'out', 'alice.pbe')), utf8(passphrases.alice!), kdf);
      return own;
    },
  };
  const h = await harness(dir, plan, secrets, kdf);
  for (let n = 1; n <= 4; n++) await executeStep(h.ctx, n);
  assert.deepEqual(calls, ['create alice.pbe alice', 'create bob.pbe bob', 'open alice.pbe alice']);
  const aliceShare = await decryptShareFile(readFileSync(join(dir, 'out', 'alice.pbe')), utf8(passphrases.alice!), kdf);
  const first = h.events.find((e) => e.kind === 'share-imported')!;
  assert.deepEqual(first.data!, { file: 'alice.pbe', fingerprint: shareFingerprint(aliceShare), imported: 1, total: 2, outstanding: 1 });
  assert.deepEqual(first.actor, { role: 'custodian', name: 'alice' });

  mode = 'twin';
  await assert.rejects(executeStep(h.ctx, 5), (e) => isCeremonyError(e) && e.code === 'DUPLICATE_SHARE' && /alice\.pbe/.test(e.message));
  mode = 'short';
  await assert.rejects(executeStep(h.ctx, 5), (e) => isCeremonyError(e) && e.code === 'SHARE_MALFORMED');
  assert.equal((await readDkekStatus(h.hsm))!.outstanding, 1, 'neither reached the card');
  mode = 'right';
  await executeStep(h.ctx, 5);
  const status = await readDkekStatus(h.hsm);
  assert.equal(status!.outstanding, 0);
  assert.equal(h.events.filter((e) => e.kind === 'share-imported').length, 2);
  assert.match(formatKcv(status!.kcv), /^[0-9A-F]{16}$/);
  assertNoSecrets([JSON.stringify(h.events), h.progress.join('\n')], Object.values(passphrases));
});

test('a passphrase share imported twice in two steps is refused the second time, before IMPORT DKEK SHARE', async () => {
  const dir = tempDir('hsm-pwd-twice-');
  const pass = 'twice rehearsal words';
  const kdf = shareFileKdfSync(16);
  writeFileSync(join(dir, 'a.pbe'), (await createShareFile(utf8(pass), { kdf })).file);
  writeFileSync(join(dir, 'copy.pbe'), readFileSync(join(dir, 'a.pbe')));
  const plan = planOf(`version: 1
name: twice
device: { reader: simulator }
roles: { operator: oscar, custodians: [alice, bob] }
shareFiles:
  - { file: a.pbe, custodian: alice }
  - { file: copy.pbe, custodian: bob }
steps:
  - { step: initialize, dkekShares: 2 }
  - { step: import-share, custodian: alice, file: a.pbe }
  - { step: import-share, custodian: bob, file: copy.pbe }
`);
  const file = secretsFile(dir, { 'a.pbe': { passphrase: pass }, 'copy.pbe': { passphrase: pass } });
  const h = await harness(dir, plan, fileSecrets(file), kdf);
  await executeStep(h.ctx, 1);
  await executeStep(h.ctx, 2);
  await assert.rejects(executeStep(h.ctx, 3), (e) => isCeremonyError(e) && e.code === 'DUPLICATE_SHARE' && /a\.pbe/.test(e.message));
  assert.equal((await readDkekStatus(h.hsm))!.outstanding, 1);
});
