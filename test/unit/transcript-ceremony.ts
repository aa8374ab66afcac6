/**
 * Test helper (not a test): writes the transcript of the example plan's ceremony
 * (docs/examples/three-custodians.yaml) as a runner would, with a deterministic key and clock, so
 * tests can tamper with it, cut it, crash in the middle of it and resume it.
 */
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../protocol/bytes.ts';
import { parsePlan, type ParsedPlan } from '../../app/plan/plan-parse.ts';
import { planIdentity, SIGNED_KINDS, type Actor, type TranscriptEvent } from '../../app/transcript/event.ts';
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { signingInput, type CeremonyKey, type Rng } from '../../app/transcript/ceremony-key.ts';
import { canonicalJson } from '../../app/transcript/canonical-json.ts';
import { GENESIS_PREV, lineHash } from '../../app/transcript/chain.ts';

export const EXAMPLE_PLAN_PATH = new URL('../../docs/examples/three-custodians.yaml', import.meta.url).pathname;
export const examplePlan: ParsedPlan = parsePlan(new Uint8Array(readFileSync(EXAMPLE_PLAN_PATH)), 'three-custodians.yaml');
export const EXAMPLE_KCV = '0767001241A0CB44';

/** A deterministic byte stream: SHA-256(seed || counter) blocks. */
export function seededRng(seed: string): Rng {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const block = sha256(utf8(`${seed}/${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

/** A clock that starts at `start` and moves `stepMs` on every call. */
export function steppingClock(start = '2026-11-28T09:00:00.000Z', stepMs = 7000): () => Date {
  let t = Date.parse(start);
  return () => {
    const d = new Date(t);
    t += stepMs;
    return d;
  };
}

const oscar: Actor = { role: 'operator', name: 'oscar' };
const person = (role: Actor['role'], name: string): Actor => ({ role, name });
const fp = (s: string) => toHex(sha256(utf8(s))).slice(0, 16).match(/.{4}/g)!.join(' ');

/** Every append the example ceremony makes, in order, after ceremony-started. */
export function exampleEvents(kcv = EXAMPLE_KCV): Parameters<TranscriptWriter['append']>[0][] {
  const ev: Parameters<TranscriptWriter['append']>[0][] = [];
  const step = (n: number, kind: string, inner: Parameters<TranscriptWriter['append']>[0][]) => {
    ev.push({ kind: 'step-started', actor: oscar, step: n, data: { kind } });
    ev.push(...inner);
    ev.push({ kind: 'step-finished', actor: oscar, step: n, data: { kind } });
  };
  for (const name of ['olivia', 'alice', 'bob', 'carol', 'wendy', 'walter']) {
    const role = name === 'olivia' ? 'security-officer' : name.startsWith('w') ? 'witness' : 'custodian';
    ev.push({ kind: 'custodian-joined', actor: person(role, name), data: { via: 'network', slot: name } });
    ev.push({ kind: 'sas-compared', actor: person(role, name), data: { sas: String(100000 + name.length * 1111), match: true } });
  }
  step(1, 'initialize', [{ kind: 'card-status', actor: oscar, step: 1, data: { command: 'INITIALIZE DEVICE', sw: '9000', swName: 'OK', dkekShares: 3, dkekOutstanding: 3, serial: 'DESIM12345', firmware: '6.6' } }]);
  ['alice', 'bob', 'carol'].forEach((c, i) =>
    step(2 + i, 'create-share', [{ kind: 'file-written', actor: person('custodian', c), step: 2 + i, data: { path: `${c}.pbe`, sha256: toHex(sha256(utf8(`${c}.pbe`))), bytes: 64 } }]),
  );
  ['alice', 'bob', 'carol'].forEach((c, i) =>
    step(5 + i, 'import-share', [
      { kind: 'share-imported', actor: person('custodian', c), step: 5 + i, data: { file: `${c}.pbe`, fingerprint: fp(c), imported: i + 1, total: 3, outstanding: 2 - i } },
      { kind: 'card-status', actor: oscar, step: 5 + i, data: { command: 'IMPORT DKEK SHARE', sw: '9000', swName: 'OK', dkekShares: 3, dkekOutstanding: 2 - i } },
    ]),
  );
  step(8, 'expect-kcv', [{ kind: 'kcv-read', actor: oscar, step: 8, data: { kcv } }]);
  step(9, 'generate-key', [{ kind: 'card-status', actor: oscar, step: 9, data: { command: 'GENERATE ASYMMETRIC KEY PAIR', sw: '9000', swName: 'OK', keys: 1 } }]);
  step(10, 'backup', [{ kind: 'file-written', actor: oscar, step: 10, data: { path: 'backup/key-1.bin', sha256: toHex(sha256(utf8('key-1'))), bytes: 512, kcv, keyRef: 1 } }]);
  step(11, 'restore', [{ kind: 'card-status', actor: oscar, step: 11, data: { command: 'UNWRAP KEY', sw: '9000', swName: 'OK', keys: 2 } }]);
  step(12, 'verify-restore', [{ kind: 'card-status', actor: oscar, step: 12, data: { command: 'SIGN', sw: '9000', swName: 'OK' } }]);
  step(13, 'sign-off', ['wendy', 'walter', 'alice', 'bob', 'carol'].map((n) => ({ kind: 'sign-off' as const, actor: person(n.startsWith('w') ? 'witness' : 'custodian', n), step: 13, data: { statement: 'the ceremony followed the script; deviations are noted', accepted: true } })));
  return ev;
}

export interface WriteOptions {
  seed?: string;
  clock?: () => Date;
  /** stop after this many appends, without finishing (a crash) */
  stopAfter?: number;
  kcv?: string;
}

/**
 * Writes the example ceremony's transcript to `path`.
 *
 * @returns the writer's public key (hex) and fingerprint
 */
export function writeExampleTranscript(path: string, o: WriteOptions = {}): { publicKey: string; fingerprint: string } {
  const w = TranscriptWriter.create(path, {
    plan: planIdentity(examplePlan),
    version: '0.1.0',
    rng: seededRng(o.seed ?? 'example'),
    clock: o.clock ?? steppingClock(),
    device: { reader: 'simulator', simulated: true, serial: null, firmware: null },
    rehearsal: true,
    simulatorSeed: '00112233',
  });
  const out = { publicKey: w.publicKeyHex, fingerprint: w.fingerprint };
  const events = exampleEvents(o.kcv);
  const n = o.stopAfter ?? events.length;
  for (const e of events.slice(0, n)) w.append(e);
  if (o.stopAfter === undefined) w.finish();
  else w.close();
  return out;
}

/**
 * What a forger can do without the ceremony key: edit events, then rebuild the chain and re-sign
 * every signed event with a key of their own (replacing the recorded public keys). The result
 * passes every integrity check; only a pinned key (`verify --key`) catches it.
 */
export function reseal(bytes: Uint8Array, mutate: (events: TranscriptEvent[]) => void, key: CeremonyKey): Uint8Array {
  const events = new TextDecoder()
    .decode(bytes)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as TranscriptEvent);
  mutate(events);
  let prev = GENESIS_PREV;
  const out: string[] = [];
  events.forEach((e, i) => {
    e.seq = i + 1;
    e.prev = prev;
    if (e.kind === 'ceremony-started' || e.kind === 'resumed') e.data.publicKey = key.publicKeyHex;
    if (e.kind === 'resumed') e.data.previousKey = key.publicKeyHex;
    if (e.kind === 'resumed') e.data.afterSeq = i;
    if (SIGNED_KINDS.has(e.kind)) {
      delete e.data.signature;
      e.data.signature = toHex(key.sign(signingInput(e)));
    }
    const line = canonicalJson(e);
    out.push(line);
    prev = lineHash(utf8(line));
  });
  return utf8(out.map((l) => `${l}\n`).join(''));
}
