import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EffectRunner, toPublicError, type CardConnection } from '../../app/ceremony/effect-runner.ts';
import { SecretVault } from '../../app/ceremony/secret-vault.ts';
import type { CeremonyEvent } from '../../app/ceremony/events.ts';
import type { JobSpec } from '../../app/ceremony/jobs.ts';
import { SimulatedCard } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { encryptShareFile, shareFileKdfSync } from '../../protocol/dkek/share-file.ts';
import { shareFingerprint } from '../../protocol/dkek/dkek.ts';
import { usageError } from '../../protocol/errors.ts';
import { utf8 } from '../../protocol/bytes.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'hsm-runner-'));

async function connection(card: SimulatedCard): Promise<CardConnection> {
  const t = new SimulatorTransport(card);
  const hsm = new SmartCardHsm(t);
  return { hsm, applet: await hsm.selectApplet(), description: 'sim', simulated: true, virtual: true, close: () => t.close() };
}

function harness(o: { cwd?: string; card?: SimulatedCard; iterations?: number } = {}) {
  const vault = new SecretVault();
  const events: CeremonyEvent[] = [];
  const card = o.card ?? SimulatedCard.create({ seed: Uint8Array.of(5) });
  const runner = new EffectRunner({
    vault,
    cwd: o.cwd ?? dir(),
    openCard: () => connection(card),
    clearScreen: () => undefined,
    exit: () => undefined,
    testOnlyKdfIterations: o.iterations ?? 1000,
  });
  const dispatch = (e: CeremonyEvent) => events.push(e);
  let id = 0;
  const start = (job: JobSpec) => {
    runner.run({ type: 'start-job', id: ++id, job }, dispatch);
    return id;
  };
  const end = async (jid: number) => {
    for (;;) {
      const e = events.find((x) => (x.type === 'job-done' || x.type === 'job-failed') && x.id === jid);
      if (e) return e;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { vault, events, runner, start, end, dispatch, card };
}

test('at most two derivations run at once, whatever asks for them', async () => {
  const h = harness({ iterations: 300_000 });
  const ids = [1, 2, 3].map((i) => h.start({ kind: 'create-share', path: `s${i}.pbe`, secret: { kind: 'passphrase', passphrase: h.vault.put(utf8(`passphrase ${i}`)) } }));
  h.vault.wipeAll(); // the jobs took their copies when they started
  for (const i of ids) assert.equal((await h.end(i)).type, 'job-done');
  // each derivation spans its first to its last progress report; at most two spans overlap
  const spans = ids.map((id) => {
    const at = h.events.flatMap((e, k) => (e.type === 'job-progress' && e.id === id ? [k] : []));
    return [at[0]!, at.at(-1)!] as const;
  });
  let most = 0;
  for (const [a] of spans) most = Math.max(most, spans.filter(([x, y]) => x <= a && a <= y).length);
  assert.equal(most, 2);
});

test('create-share never overwrites, and a cancelled derivation leaves no file', async () => {
  const cwd = dir();
  writeFileSync(join(cwd, 'taken.pbe'), 'keep me');
  const h = harness({ cwd, iterations: 5_000_000 });
  const a = h.start({ kind: 'create-share', path: 'taken.pbe', secret: { kind: 'passphrase', passphrase: h.vault.put(utf8('some passphrase')) } });
  const ea = await h.end(a);
  assert.ok(ea.type === 'job-failed' && ea.error.code === 'OUTPUT_EXISTS');
  assert.equal(readFileSync(join(cwd, 'taken.pbe'), 'utf8'), 'keep me');
  const b = h.start({ kind: 'create-share', path: 'new.pbe', secret: { kind: 'passphrase', passphrase: h.vault.put(utf8('some passphrase')) } });
  while (!h.events.some((e) => e.type === 'job-progress' && e.id === b)) await new Promise((r) => setTimeout(r, 5));
  h.runner.run({ type: 'cancel-job', id: b }, h.dispatch);
  const eb = await h.end(b);
  assert.ok(eb.type === 'job-failed' && eb.error.code === 'KDF_CANCELLED', JSON.stringify(eb));
  assert.equal(existsSync(join(cwd, 'new.pbe')), false);
});

test('import: secrets are requested one by one and wiped from the vault when handed over; a share imported before is refused before IMPORT', async () => {
  const cwd = dir();
  const kdf = shareFileKdfSync(1000);
  const shareA = new Uint8Array(32).fill(1);
  writeFileSync(join(cwd, 'a.pbe'), await encryptShareFile(shareA, utf8('passphrase-a'), new Uint8Array(8).fill(1), kdf));
  writeFileSync(join(cwd, 'b.pbe'), await encryptShareFile(new Uint8Array(32).fill(2), utf8('passphrase-b'), new Uint8Array(8).fill(2), kdf));
  const card = SimulatedCard.create({ seed: Uint8Array.of(6) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8('123456'), soPin: utf8('3537363231383830'), dkekShares: 2 });
  const h = harness({ cwd, card });
  const id = h.start({ kind: 'import-shares', files: [{ path: 'a.pbe', name: 'a.pbe' }, { path: 'b.pbe', name: 'b.pbe' }], alreadyImported: [shareFingerprint(shareA)] });
  while (!h.events.some((e) => e.type === 'job-request')) await new Promise((r) => setTimeout(r, 5));
  const req = h.events.find((e) => e.type === 'job-request')!;
  assert.deepEqual(req, { type: 'job-request', id, request: { kind: 'share-secret', index: 0, name: 'a.pbe' } });
  const ref = h.vault.put(utf8('passphrase-a'));
  h.runner.run({ type: 'supply-secret', id, secret: { kind: 'passphrase', passphrase: ref } }, h.dispatch);
  assert.equal(h.vault.has(ref), false, 'the vault copy is wiped at once');
  const e = await h.end(id);
  assert.ok(e.type === 'job-failed' && e.error.code === 'DUPLICATE_SHARE', JSON.stringify(e));
  assert.match(e.error.message, /a\.pbe holds a DKEK share already imported in this session/);
  assert.equal((await hsm.dkekStatus()).outstanding, 2, 'nothing reached the card');
});

test('close() fails a job waiting for a custodian, closes the card and wipes the vault', async () => {
  const cwd = dir();
  writeFileSync(join(cwd, 'a.pbe'), await encryptShareFile(new Uint8Array(32).fill(1), utf8('passphrase-a'), new Uint8Array(8).fill(1), shareFileKdfSync(1000)));
  const card = SimulatedCard.create({ seed: Uint8Array.of(8) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  await hsm.initialize({ userPin: utf8('123456'), soPin: utf8('3537363231383830'), dkekShares: 1 });
  const h = harness({ cwd, card });
  h.vault.put(utf8('left over'));
  const id = h.start({ kind: 'import-shares', files: [{ path: 'a.pbe', name: 'a.pbe' }], alreadyImported: [] });
  while (!h.events.some((e) => e.type === 'job-request')) await new Promise((r) => setTimeout(r, 5));
  await h.runner.close();
  const e = await h.end(id);
  assert.ok(e.type === 'job-failed' && e.error.kind === 'incomplete');
  assert.equal(h.vault.size, 0);
});

test('errors reach the reducer as public errors: code, kind, message, hint; anything unexpected as a bug without a stack', async () => {
  assert.deepEqual(toPublicError(usageError('X', 'bad thing', { hint: 'do this' })), { code: 'X', kind: 'usage', message: 'bad thing', hint: 'do this' });
  const bug = toPublicError(new TypeError('oops'));
  assert.equal(bug.kind, 'bug');
  assert.equal(bug.code, 'BUG');
  assert.ok(!/\n\s+at /.test(JSON.stringify(bug)) && !JSON.stringify(bug).includes('.ts:'), 'no stack');
  const h = harness();
  const id = h.start({ kind: 'read-share-file', path: 'missing.pbe' });
  const e = await h.end(id);
  assert.ok(e.type === 'job-failed' && e.error.code === 'INPUT_UNREADABLE');
});
