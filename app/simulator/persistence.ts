/**
 * The simulator's optional state file: the persistent part of a simulated card (CardState) as
 * JSON with hex byte strings, so a rehearsal can stop and resume, or a second process (the vpcd
 * bridge) can pick up a card. Format in docs/simulator.md §7.
 *
 * Writes are atomic: a temporary file in the same directory, fsync, rename over the target, fsync
 * of the directory. A crash leaves either the old or the new state, never a torn file. Reads
 * validate everything and name the field that is wrong.
 *
 * The file holds the card's secrets (PINs, DKEK, private keys) in clear: it is a test instrument
 * for simulated cards only, created with mode 0600.
 */

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { bigIntToBytes, bytesToBigInt, fromHex, toHex } from '../../protocol/bytes.ts';
import { EC_CURVES, ecCurveByName, ecPublicMatches, type EcCurveName } from '../../protocol/dkek/ec-curve.ts';
import { usageError, CeremonyError } from '../../protocol/errors.ts';
import { SimulatedCard, type CardState, type Flavor } from './card-os.ts';
import type { CardKey } from './keys.ts';

/** Identifies the file type. */
export const STATE_FORMAT = 'hsm-ceremony/simulator-state';
/** Bumped on incompatible changes. */
export const STATE_VERSION = 1;

const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'must be lower-case hex');
const hexLen = (n: number) => hex.refine((s) => s.length === 2 * n, `must be ${n} bytes of hex`);
const byte = z.int().min(0).max(255);

const pinSchema = z.strictObject({
  value: hex.nullable(),
  max: z.int().min(1).max(15),
  remaining: z.int().min(0).max(15),
});

const curveNames = EC_CURVES.map((c) => c.name) as [EcCurveName, ...EcCurveName[]];

const keySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ref: byte,
    kind: z.literal('ec'),
    curve: z.enum(curveNames),
    d: hex,
    q: hex,
    algorithms: hex,
    exportable: z.boolean(),
  }),
  z.strictObject({
    ref: byte,
    kind: z.literal('rsa'),
    n: hex,
    e: hex,
    d: hex,
    p: hex,
    q: hex,
    dp: hex,
    dq: hex,
    qinv: hex,
    algorithms: hex,
    exportable: z.boolean(),
  }),
]);

const stateSchema = z.strictObject({
  format: z.literal(STATE_FORMAT),
  version: z.literal(STATE_VERSION),
  flavor: z.enum(['sc-hsm', 'pico']),
  drbg: z.strictObject({ seed: hex.refine((s) => s.length >= 2 && s.length <= 512, 'must be 1..256 bytes'), k: hexLen(32), v: hexLen(32), counter: z.int().min(0) }),
  initialized: z.boolean(),
  options: z.int().min(0).max(0xffff),
  transportPin: z.boolean(),
  userPin: pinSchema,
  soPin: pinSchema,
  dkek: z.strictObject({
    mode: z.enum(['none', 'random', 'shares']),
    total: byte,
    imported: byte,
    value: hexLen(32),
    pendingCommit: z.boolean(),
  }),
  deviceChr: z.string().regex(/^[\x20-\x7e]{8,32}$/, 'must be 8..32 printable ASCII characters'),
  keys: z.array(keySchema).max(256),
  files: z.array(z.strictObject({ fid: z.string().regex(/^[0-9A-F]{4}$/, 'must be four upper-case hex digits'), data: hex })),
});

type StateJson = z.infer<typeof stateSchema>;

function keyToJson(ref: number, k: CardKey): StateJson['keys'][number] {
  const base = { ref, algorithms: toHex(k.algorithms), exportable: k.exportable };
  if (k.kind === 'ec') return { ...base, kind: 'ec', curve: k.curve, d: toHex(k.d), q: toHex(k.q) };
  const h = (v: bigint) => toHex(bigIntToBytes(v));
  const r = k.rsa;
  return { ...base, kind: 'rsa', n: h(r.n), e: h(r.e), d: h(r.d), p: h(r.p), q: h(r.q), dp: h(r.dp), dq: h(r.dq), qinv: h(r.qinv) };
}

/** The JSON text of a card state (pretty-printed, trailing newline). */
export function serializeCardState(s: CardState): string {
  const json: StateJson = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    flavor: s.flavor,
    drbg: { seed: toHex(s.drbg.seed), k: toHex(s.drbg.k), v: toHex(s.drbg.v), counter: s.drbg.counter },
    initialized: s.initialized,
    options: s.options,
    transportPin: s.transportPin,
    userPin: { value: s.userPin.value ? toHex(s.userPin.value) : null, max: s.userPin.max, remaining: s.userPin.remaining },
    soPin: { value: s.soPin.value ? toHex(s.soPin.value) : null, max: s.soPin.max, remaining: s.soPin.remaining },
    dkek: { mode: s.dkek.mode, total: s.dkek.total, imported: s.dkek.imported, value: toHex(s.dkek.value), pendingCommit: s.dkek.pendingCommit },
    deviceChr: s.deviceChr,
    keys: [...s.keys].sort(([a], [b]) => a - b).map(([ref, k]) => keyToJson(ref, k)),
    files: s.files.map(([fid, data]) => ({ fid: fid.toString(16).toUpperCase().padStart(4, '0'), data: toHex(data) })),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

function invalid(source: string, what: string): CeremonyError {
  return usageError('SIM_STATE_INVALID', `simulator state ${source} is invalid: ${what}`, {
    hint: 'restore the file from a copy, or delete it to start with a new simulated card',
    detail: { source, problem: what },
  });
}

/**
 * Parses and validates a state file's text. Besides the schema it checks the semantics a card
 * relies on: PIN counters within their limits, DKEK counts consistent, each EC key's Q = d·G, each
 * RSA key's n = p·q, a device key at reference 0, no duplicate references or FIDs.
 *
 * @throws {CeremonyError} usage SIM_STATE_INVALID naming the field and the problem
 */
export function parseCardState(text: string, source = 'file'): CardState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid(source, 'not JSON');
  }
  const r = stateSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw invalid(source, `${path}: ${issue.message}`);
  }
  const j = r.data;
  for (const [name, p] of [['userPin', j.userPin], ['soPin', j.soPin]] as const) {
    if (p.remaining > p.max) throw invalid(source, `${name}.remaining exceeds ${name}.max`);
    if (j.initialized !== (p.value !== null)) throw invalid(source, `${name}.value must be set exactly when the card is initialized`);
  }
  if (j.dkek.imported > j.dkek.total) throw invalid(source, 'dkek.imported exceeds dkek.total');
  if (j.dkek.mode !== 'shares' && (j.dkek.total !== 0 || j.dkek.imported !== 0)) throw invalid(source, 'dkek.total and dkek.imported must be 0 unless dkek.mode is shares');
  const keys = new Map<number, CardKey>();
  for (const [i, k] of j.keys.entries()) {
    const at = `keys.${i}`;
    if (keys.has(k.ref)) throw invalid(source, `${at}.ref ${k.ref} appears twice`);
    if (k.kind === 'ec') {
      const c = ecCurveByName(k.curve);
      const d = fromHex(k.d);
      const q = fromHex(k.q);
      if (d.length !== c.orderLength || q.length !== 1 + 2 * c.fieldLength || !ecPublicMatches(c, d, q)) {
        throw invalid(source, `${at}: q is not the public point of d on ${k.curve}`);
      }
      keys.set(k.ref, { kind: 'ec', curve: k.curve, d, q, algorithms: fromHex(k.algorithms), exportable: k.exportable });
    } else {
      const v = (s: string) => bytesToBigInt(fromHex(s));
      const rsa = { n: v(k.n), e: v(k.e), d: v(k.d), p: v(k.p), q: v(k.q), dp: v(k.dp), dq: v(k.dq), qinv: v(k.qinv) };
      if (rsa.p < 3n || rsa.q < 3n || rsa.p * rsa.q !== rsa.n || (rsa.q * rsa.qinv) % rsa.p !== 1n) {
        throw invalid(source, `${at}: n, p, q and qinv are inconsistent`);
      }
      keys.set(k.ref, { kind: 'rsa', rsa, algorithms: fromHex(k.algorithms), exportable: k.exportable });
    }
  }
  const device = keys.get(0);
  if (!device || device.kind !== 'ec' || device.exportable) throw invalid(source, 'keys: the device key (ref 0, EC, not exportable) is missing');
  const fids = new Set<string>();
  for (const [i, f] of j.files.entries()) {
    if (fids.has(f.fid)) throw invalid(source, `files.${i}.fid ${f.fid} appears twice`);
    fids.add(f.fid);
  }
  return {
    flavor: j.flavor,
    drbg: { seed: fromHex(j.drbg.seed), k: fromHex(j.drbg.k), v: fromHex(j.drbg.v), counter: j.drbg.counter },
    initialized: j.initialized,
    options: j.options,
    transportPin: j.transportPin,
    userPin: { value: j.userPin.value === null ? null : fromHex(j.userPin.value), max: j.userPin.max, remaining: j.userPin.remaining },
    soPin: { value: j.soPin.value === null ? null : fromHex(j.soPin.value), max: j.soPin.max, remaining: j.soPin.remaining },
    dkek: { mode: j.dkek.mode, total: j.dkek.total, imported: j.dkek.imported, value: fromHex(j.dkek.value), pendingCommit: j.dkek.pendingCommit },
    deviceChr: j.deviceChr,
    keys,
    files: j.files.map((f) => [parseInt(f.fid, 16), fromHex(f.data)]),
  };
}

/**
 * Reads and validates a state file; undefined if it does not exist.
 *
 * @throws {CeremonyError} usage SIM_STATE_INVALID (see parseCardState); usage SIM_STATE_UNREADABLE
 *   if the file exists but cannot be read
 */
export function loadCardState(path: string): CardState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw usageError('SIM_STATE_UNREADABLE', `cannot read simulator state ${path}`, {
      hint: 'check the path and its permissions',
      cause: e,
      detail: { path, errno: (e as NodeJS.ErrnoException).code },
    });
  }
  return parseCardState(text, path);
}

/** Hook for tests: called between writing the temporary file and renaming it. */
export interface AtomicWriteHooks {
  beforeRename?: (tempPath: string) => void;
}

/**
 * Writes `state` to `path` atomically: temp file (mode 0600, exclusive create) in the same
 * directory, fsync, rename, fsync of the directory.
 *
 * @throws {CeremonyError} device SIM_STATE_WRITE_FAILED when the file system refuses; the target
 *   is left as it was and the temporary file is removed
 */
export function saveCardStateAtomic(path: string, state: CardState, hooks: AtomicWriteHooks = {}): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const text = serializeCardState(state);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    hooks.beforeRename?.(temp);
    renameSync(temp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already gone (renamed or never created)
    }
    throw new CeremonyError('device', 'SIM_STATE_WRITE_FAILED', `cannot write simulator state ${path}`, {
      hint: 'check free space and permissions of the state file directory',
      cause: e,
      detail: { path, errno: (e as NodeJS.ErrnoException).code },
    });
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  }
}

/** Options for openSimulatedCard. */
export interface OpenCardOptions {
  /** state file; absent = an in-memory card that is gone when the process ends */
  statePath?: string | undefined;
  /** flavor for a new card; must match a loaded one if given */
  flavor?: Flavor | undefined;
  /** DRBG seed for a new card; must match a loaded one if given */
  seed?: Uint8Array | undefined;
  /** randomness for a new seed; default crypto.getRandomValues */
  rng?: ((n: number) => Uint8Array) | undefined;
}

/**
 * The card behind `--sim`, `hsm-ceremony sim` and the tests: loaded from `statePath` when that
 * file exists (a device restart: see SimulatedCard.fromState), else manufactured from `seed` and
 * saved there at once. With a state path, every state-changing command is saved atomically.
 *
 * @throws {CeremonyError} usage SIM_STATE_INVALID / SIM_STATE_UNREADABLE from loading; usage
 *   SIM_STATE_MISMATCH if the loaded card has another flavor or seed than the options ask for;
 *   device SIM_STATE_WRITE_FAILED from saving
 */
export function openSimulatedCard(options: OpenCardOptions = {}): { card: SimulatedCard; created: boolean } {
  const path = options.statePath;
  const loaded = path ? loadCardState(path) : undefined;
  let card: SimulatedCard;
  if (loaded) {
    if (options.flavor && options.flavor !== loaded.flavor) {
      throw usageError('SIM_STATE_MISMATCH', `simulator state ${path} holds a ${loaded.flavor} card, not ${options.flavor}`, {
        hint: `drop --flavor, or use another state file for a ${options.flavor} card`,
      });
    }
    if (options.seed && toHex(options.seed) !== toHex(loaded.drbg.seed)) {
      throw usageError('SIM_STATE_MISMATCH', `simulator state ${path} was made from another seed`, {
        hint: 'drop --seed to continue this card, or use another state file to replay the seed',
      });
    }
    card = SimulatedCard.fromState(loaded);
  } else {
    card = SimulatedCard.create({ flavor: options.flavor, seed: options.seed, rng: options.rng });
  }
  if (path) {
    saveCardStateAtomic(path, card.snapshot());
    card.onStateChange = (c) => saveCardStateAtomic(path, c.snapshot());
  }
  return { card, created: !loaded };
}
