/**
 * Executes one plan step (docs/plan-format.md §4) on the card with the ceremony operations
 * (app/ceremony/operations/*), and records its public results as transcript events
 * (docs/transcript-format.md §7) as they happen: card status words, share imports with their
 * fingerprints, the KCV, every file written with its SHA-256, sign-offs.
 *
 * Secrets come from a `RunSecrets` source (a rehearsal secrets file, or a terminal) and are wiped
 * here as soon as the operation that needed them returns. Nothing secret reaches `record`: the
 * transcript writer would refuse it anyway (public-data-guard.ts).
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import type { SmartCardHsm } from '../card/sc-hsm.ts';
import { FID_PREFIX } from '../card/sc-hsm.ts';
import { equalBytes, fromHex, toHex, wipe } from '../../protocol/bytes.ts';
import { CeremonyError, checkFailed, incomplete, usageError } from '../../protocol/errors.ts';
import { createShareFile, parseShareFile, DKEK_SHARE_LENGTH, type ShareFileKdf } from '../../protocol/dkek/share-file.ts';
import { formatPrintout, passwordCandidates, shareSet, splitPassword, wipeCandidates, type PasswordSplit, type ShareSet } from '../../protocol/dkek/password-shares.ts';
import { formatKcv, shareFingerprint } from '../../protocol/dkek/dkek.ts';
import { initializeDevice } from '../ceremony/operations/initialize-device.ts';
import { importShares } from '../ceremony/operations/import-shares.ts';
import { confirmDkek, mismatchError } from '../ceremony/operations/confirm-dkek.ts';
import { generateKey } from '../ceremony/operations/generate-key.ts';
import { backupKey } from '../ceremony/operations/backup-key.ts';
import { restoreKey } from '../ceremony/operations/restore-key.ts';
import { proveKeySigns } from '../ceremony/operations/prove-key.ts';
import { decodeCertificate } from '../ceremony/operations/public-key.ts';
import { loginUser, readDkekStatus } from '../ceremony/operations/login.ts';
import { writeNewFile } from '../cli/write-new-file.ts';
import { backupFileName, parseThreshold, type CreateShareStep, type ImportShareStep, type Plan, type PlanStep, type SignOffStep } from '../plan/plan-schema.ts';
import { normalizePlanPath } from '../plan/plan-rules.ts';
import type { Actor } from '../transcript/event.ts';
import type { AppendEvent } from '../transcript/writer.ts';

/**
 * Where a run's secrets and confirmations come from: a rehearsal secrets file (file-secrets.ts), a
 * terminal (app/ui/run/tty-run-secrets.ts) or a hosted run (app/net/*). Every returned array is the
 * caller's to wipe; `file` is always the share file's plan path.
 */
export interface RunSecrets {
  pin(): Promise<Uint8Array>;
  soPin(): Promise<Uint8Array>;
  /** the passphrase of share file `file` (its plan path), for creating or importing it */
  passphrase(file: string, custodian: string): Promise<Uint8Array>;
  /** whether `name` signs off (true) or declines (false) */
  signOff(name: string, statement: string): Promise<{ accepted: boolean; reason?: string }>;
  /**
   * n-of-m import (`import-share` of a password-share file): at least `threshold` password shares
   * of the `threshold`-of-`total` split, typed or brought by (some of) `custodians` (the import
   * step's list), as a parsed and validated ShareSet (protocol/dkek/password-shares.ts). Share
   * values are bigints and cannot be wiped: the caller drops the set as soon as the file is open.
   */
  pwdShares(file: string, custodians: readonly string[], threshold: number, total: number): Promise<ShareSet>;
  /**
   * n-of-m create: hand share i (0-based, ID i+1) to custodians[i], one at a time, never two on
   * one screen; resolves when every custodian confirmed they wrote theirs down (rejects if the
   * hand-out is abandoned: the executor then writes no share file). `split.password` and the
   * shares stay the executor's to wipe.
   */
  handOutPwdShares(file: string, custodians: readonly string[], split: PasswordSplit): Promise<void>;
  /**
   * Hosted runs only: custodian makes share file `file` on their own terminal (their passphrase
   * never reaches this process) and returns its 64 encrypted bytes, which are public. When present
   * the executor uses it instead of passphrase() + createShareFile for passphrase create-share steps.
   * Resolves null when the custodian has no terminal of their own in this run (they take part at
   * the coordinator): the executor then makes the file here with passphrase().
   */
  createShareRemotely?(file: string, custodian: string): Promise<Uint8Array | null>;
  /**
   * Hosted runs only: custodian opens `fileBytes` (the share file, public) on their own terminal and
   * returns the 32-byte DKEK share, which the executor imports and wipes. When present the executor
   * uses it instead of passphrase() for passphrase import-share steps. Resolves null when the
   * custodian has no terminal of their own in this run: the executor then opens the file here with
   * passphrase().
   */
  openShareRemotely?(file: string, custodian: string, fileBytes: Uint8Array): Promise<Uint8Array | null>;
}

/** What the run remembers between steps (and rebuilds from the transcript on resume). */
export interface RunMemory {
  /** the KCV recorded for the DKEK (expect-kcv or the first backup), which every later KCV must equal */
  kcv: string | null;
  /** plan output paths (normalised) this run wrote */
  written: Set<string>;
  /**
   * share fingerprint → plan path of the file it came from, for every DKEK share this run imported
   * (filled by the executor; a resumed run may seed it from the transcript's share-imported
   * events). A share whose fingerprint is here is refused before it reaches the card: the card
   * XORs shares, so the same share twice cancels itself out.
   */
  shares?: Map<string, string>;
}

export interface StepContext {
  plan: Plan;
  /** the plan's folder: inputs the plan does not write are relative to it */
  planDir: string;
  /** the run's output folder */
  outDir: string;
  hsm: SmartCardHsm;
  secrets: RunSecrets;
  kdf(name: string, signal: AbortSignal): ShareFileKdf;
  rng: (n: number) => Uint8Array;
  signal: AbortSignal;
  memory: RunMemory;
  /** the operator's actor */
  operator: Actor;
  /** appends one event to the transcript (throws if it cannot) */
  record(e: AppendEvent): void;
  /** a line of progress for the screen (public text) */
  progress?(text: string): void;
  /**
   * For `replay --against simulator`: the recorded bytes of a share file the plan creates, used
   * instead of making a new one (a new share would give another DKEK).
   */
  recordedShareFile?(file: string): Uint8Array;
}

const DEFAULT_STATEMENT = 'the ceremony script was followed and every deviation was noted';

function sha(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** The people a sign-off step asks, in order (plan-format.md §4 role groups). */
export function signOffNames(plan: Plan, st: SignOffStep): { name: string; role: Actor['role'] }[] {
  const r = plan.roles;
  const roleOf = (n: string): Actor['role'] => {
    const l = n.toLowerCase();
    if ((r.witnesses ?? []).some((w) => w.toLowerCase() === l)) return 'witness';
    if (r.custodians.some((c) => c.toLowerCase() === l)) return 'custodian';
    if (r.securityOfficer?.toLowerCase() === l) return 'security-officer';
    return 'operator';
  };
  const names: string[] = [];
  for (const w of Array.isArray(st.who) ? st.who : [st.who]) {
    if (w === 'witnesses') names.push(...(r.witnesses ?? []));
    else if (w === 'custodians') names.push(...r.custodians);
    else if (w === 'securityOfficer') names.push(...(r.securityOfficer ? [r.securityOfficer] : []));
    else if (w === 'operator') names.push(...(r.operator ? [r.operator] : []));
    else if (w === 'everyone') names.push(...(r.operator ? [r.operator] : []), ...(r.securityOfficer ? [r.securityOfficer] : []), ...r.custodians, ...(r.witnesses ?? []));
    else names.push(w);
  }
  const seen = new Set<string>();
  return names.filter((n) => !seen.has(n.toLowerCase()) && seen.add(n.toLowerCase())).map((name) => ({ name, role: roleOf(name) }));
}

/** Absolute path of a file the plan reads: under --out when the plan writes it, else the plan's folder. */
function inputPath(ctx: StepContext, file: string): string {
  if (ctx.memory.written.has(normalizePlanPath(file)) || plannedOutput(ctx.plan, file)) return join(ctx.outDir, file);
  return isAbsolute(file) ? file : resolve(ctx.planDir, file);
}

function plannedOutput(plan: Plan, file: string): boolean {
  const n = normalizePlanPath(file);
  return plan.steps.some(
    (s) =>
      (s.step === 'create-share' && normalizePlanPath(s.file) === n) ||
      (s.step === 'backup' && (s.keys === 'all' ? n.startsWith(`${normalizePlanPath(s.folder)}/`) : s.keys.some((r) => normalizePlanPath(backupFileName(s.folder, r)) === n))),
  );
}

function readInput(ctx: StepContext, file: string): Uint8Array {
  const p = inputPath(ctx, file);
  try {
    return new Uint8Array(readFileSync(p));
  } catch (e) {
    throw usageError('RUN_INPUT_MISSING', `cannot read ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'bring the file named in the plan, then continue the ceremony',
    });
  }
}

/** Writes an output under --out (never over an existing file) and records it. */
function writeOutput(ctx: StepContext, step: number, path: string, data: Uint8Array, extra: { kcv?: string; keyRef?: number; pwdShares?: { threshold: number; total: number; custodians: string[]; prime: string } } = {}): void {
  const abs = join(ctx.outDir, path);
  mkdirSync(dirname(abs), { recursive: true, mode: 0o700 });
  writeNewFile(abs, data, 0o600);
  ctx.memory.written.add(normalizePlanPath(path));
  ctx.record({ kind: 'file-written', actor: ctx.operator, step, data: { path, sha256: sha(data), bytes: data.length, ...extra } });
}

function checkKcv(ctx: StepContext, kcvText: string, what: string): void {
  if (ctx.memory.kcv === null) ctx.memory.kcv = kcvText;
  else if (ctx.memory.kcv !== kcvText) {
    throw checkFailed('KCV_MISMATCH', `${what} has key check value ${kcvText}, but this ceremony recorded ${ctx.memory.kcv}`, {
      hint: 'the device holds another DKEK than the one recorded; stop and find out why before going on',
    });
  }
}

async function withPin<T>(ctx: StepContext, fn: (pin: Uint8Array) => Promise<T>): Promise<T> {
  const pin = await ctx.secrets.pin();
  try {
    return await fn(pin);
  } finally {
    wipe(pin);
  }
}

/**
 * Runs plan step `n` (1-based).
 *
 * @throws CeremonyError whatever the operation throws (device, check, usage, incomplete CANCELLED),
 *   check KCV_MISMATCH when a KCV differs from the recorded one, usage OUTPUT_EXISTS for an output
 *   that exists, usage RUN_INPUT_MISSING for an input that is not there
 */
export async function executeStep(ctx: StepContext, n: number): Promise<void> {
  const st: PlanStep = ctx.plan.steps[n - 1]!;
  const op = ctx.operator;
  const say = (t: string) => ctx.progress?.(t);
  switch (st.step) {
    case 'initialize': {
      const userPin = await ctx.secrets.pin();
      const soPin = await ctx.secrets.soPin();
      try {
        const dkekShares = st.dkekShares === 'none' ? null : st.dkekShares === 'random' ? 0 : st.dkekShares;
        const r = await initializeDevice(
          ctx.hsm,
          { userPin, soPin, retryCounter: st.retryCounter ?? 3, dkekShares, ...(st.label !== undefined ? { label: st.label } : {}) },
          {
            // a plan names no keys to destroy: erasing a device that holds keys needs a person
            confirmDestroy: () => false,
            signal: ctx.signal,
          },
        );
        ctx.memory.kcv = null;
        ctx.memory.shares?.clear(); // a new DKEK: no share is in it yet
        ctx.record({
          kind: 'card-status',
          actor: op,
          step: n,
          data: {
            sw: '9000',
            swName: 'OK',
            command: 'INITIALIZE DEVICE',
            ...(r.dkek ? { dkekShares: r.dkek.total, dkekOutstanding: r.dkek.outstanding } : {}),
          },
        });
        say(`device initialised${r.dkek ? `; ${r.dkek.total} DKEK share${r.dkek.total === 1 ? '' : 's'} to import` : ''}`);
      } finally {
        wipe(userPin, soPin);
      }
      return;
    }
    case 'create-share':
      if (st.pwdShares !== undefined) return createPwdShareFile(ctx, n, st);
      return createPassphraseShareFile(ctx, n, st);
    case 'import-share':
      return importShareFile(ctx, n, st);
    case 'expect-kcv': {
      const expected = st.kcv !== undefined ? fromHex(st.kcv.replace(/\s+/g, '')) : undefined;
      const c = await withPin(ctx, (pin) => confirmDkek(ctx.hsm, { pin, expectKcv: expected }));
      if (c.kcv === null) {
        throw checkFailed('KCV_UNKNOWN', 'the device shows no key check value', { hint: c.outstanding > 0 ? `${c.outstanding} share(s) are still outstanding; import them first` : 'read the device status' });
      }
      ctx.record({ kind: 'kcv-read', actor: op, step: n, data: { kcv: c.kcv, ...(c.expected !== null ? { expected: c.expected, match: c.matches === true } : {}) } });
      const bad = mismatchError(c);
      if (bad) throw bad;
      checkKcv(ctx, c.kcv, 'the device DKEK');
      say(`DKEK key check value ${c.kcv}${c.expected !== null ? ' (as the plan expects)' : ' (recorded)'}`);
      return;
    }
    case 'generate-key': {
      const spec = st.algorithm === 'rsa-2048' ? ({ type: 'rsa', bits: 2048 } as const) : ({ type: 'ec', curve: st.algorithm === 'ec-p384' ? 'P-384' : 'P-256' } as const);
      await withPin(ctx, (pin) => loginUser(ctx.hsm, pin));
      await generateKey(ctx.hsm, st.keyRef, spec, { label: st.label ?? `key-${st.keyRef}`, id: st.id !== undefined ? fromHex(st.id) : Uint8Array.of(st.keyRef) });
      const keys = (await ctx.hsm.listKeys()).filter((k) => !k.deviceKey).length;
      ctx.record({ kind: 'card-status', actor: op, step: n, data: { sw: '9000', swName: 'OK', command: 'GENERATE ASYMMETRIC KEY PAIR', keys } });
      say(`key ${st.keyRef} generated (${st.algorithm})`);
      return;
    }
    case 'backup': {
      await withPin(ctx, (pin) => loginUser(ctx.hsm, pin));
      const status = await readDkekStatus(ctx.hsm);
      if (!status || status.outstanding > 0 || !status.kcvKnown) {
        throw checkFailed('DKEK_INCOMPLETE', 'the device has no complete DKEK, so nothing can be backed up', { hint: 'import every share first' });
      }
      checkKcv(ctx, formatKcv(status.kcv), 'the device DKEK');
      const refs = st.keys === 'all' ? (await ctx.hsm.listKeys()).filter((k) => !k.deviceKey).map((k) => k.keyRef) : st.keys;
      for (const ref of refs) {
        const path = backupFileName(st.folder, ref);
        if (existsSync(join(ctx.outDir, path))) {
          throw usageError('OUTPUT_EXISTS', `${join(ctx.outDir, path)} already exists and will not be overwritten`, { hint: 'move it away, or choose another --out folder' });
        }
        const b = await backupKey(ctx.hsm, ref, status.kcv);
        checkKcv(ctx, b.kcv, `the backup of key ${ref}`);
        writeOutput(ctx, n, path, b.file, { kcv: b.kcv, keyRef: ref });
        say(`${path}: key ${ref} wrapped under DKEK ${b.kcv}`);
      }
      return;
    }
    case 'restore': {
      const file = readInput(ctx, st.file);
      const r = await withPin(ctx, (pin) =>
        restoreKey(ctx.hsm, file, st.keyRef, {
          pin,
          replace: st.replaceAllowed === true,
          confirmReplace: () => st.replaceAllowed === true,
          rng: ctx.rng,
          signal: ctx.signal,
        }),
      );
      checkKcv(ctx, r.kcv, `the backup ${st.file}`);
      const keys = (await ctx.hsm.listKeys()).filter((k) => !k.deviceKey).length;
      ctx.record({ kind: 'card-status', actor: op, step: n, data: { sw: '9000', swName: 'OK', command: 'UNWRAP KEY', dkekOutstanding: 0, kcv: r.kcv, keys } });
      say(`${st.file} restored into key reference ${r.keyRef}${r.replaced ? ' (replaced what was there)' : ''}`);
      return;
    }
    case 'verify-restore': {
      await withPin(ctx, (pin) => loginUser(ctx.hsm, pin));
      // the restore wrote the backup's CV request to EF CE<ref>: its public key is the backed-up one
      const cert = await ctx.hsm.tryReadFile((FID_PREFIX.EE_CERT << 8) | st.keyRef);
      const pub = cert ? decodeCertificate(cert)?.publicKey ?? null : null;
      if (!pub) {
        throw checkFailed('NO_PUBLIC_KEY', `key ${st.keyRef} has no public key on the device to check a signature with`, { hint: 'restore the key from a backup that carries its public key' });
      }
      const proof = await proveKeySigns(ctx.hsm, st.keyRef, pub, ctx.rng);
      ctx.record({ kind: 'card-status', actor: op, step: n, data: { sw: '9000', swName: 'OK', command: 'SIGN' } });
      say(`key ${st.keyRef} signed a fresh challenge (${proof.description}); the signature verifies with the backed-up public key`);
      return;
    }
    case 'sign-off': {
      const statement = st.statement ?? DEFAULT_STATEMENT;
      for (const p of signOffNames(ctx.plan, st)) {
        const answer = await ctx.secrets.signOff(p.name, statement);
        ctx.record({
          kind: 'sign-off',
          actor: { role: p.role, name: p.name },
          step: n,
          data: { statement, accepted: answer.accepted, ...(answer.reason !== undefined ? { reason: answer.reason } : {}) },
        });
        say(`${p.name}: ${answer.accepted ? 'signs off' : 'declines'}`);
      }
      return;
    }
  }
}

function assertOutputAbsent(ctx: StepContext, file: string): void {
  const abs = join(ctx.outDir, file);
  if (existsSync(abs)) {
    throw usageError('OUTPUT_EXISTS', `${abs} already exists and will not be overwritten`, {
      hint: 'move it away (or choose another --out folder) and continue the ceremony; if a crash left it, it was never recorded and is not the custodian\'s share',
    });
  }
}

/** A passphrase share file: made here with the custodian's passphrase, or on their own terminal. */
async function createPassphraseShareFile(ctx: StepContext, n: number, st: CreateShareStep): Promise<void> {
  const custodian = st.custodian!;
  assertOutputAbsent(ctx, st.file);
  if (ctx.recordedShareFile) {
    writeOutput(ctx, n, st.file, ctx.recordedShareFile(st.file));
    return;
  }
  if (ctx.secrets.createShareRemotely) {
    const file = await ctx.secrets.createShareRemotely(st.file, custodian);
    if (file !== null) {
      ctx.progress?.(`${custodian}: made ${st.file} on their own terminal`);
      parseShareFile(file); // 64 bytes in sc-hsm-tool's format, or a clear error before anything is written
      writeOutput(ctx, n, st.file, file);
      return;
    }
  }
  const passphrase = await ctx.secrets.passphrase(st.file, custodian);
  try {
    ctx.progress?.(`${custodian}: deriving the key of ${st.file}`);
    const created = await createShareFile(passphrase, { kdf: ctx.kdf(st.file, ctx.signal), rng: ctx.rng });
    try {
      writeOutput(ctx, n, st.file, created.file);
    } finally {
      wipe(created.share);
    }
  } finally {
    wipe(passphrase);
  }
}

/** The n-of-m split of a password-share file: from the step that creates it, else from shareFiles. */
export function pwdSplitOf(plan: Plan, file: string): { threshold: number; total: number; custodians: readonly string[] } | null {
  const key = normalizePlanPath(file);
  for (const s of plan.steps) {
    if (s.step === 'create-share' && s.pwdShares !== undefined && normalizePlanPath(s.file) === key) return { ...parseThreshold(s.pwdShares), custodians: s.custodians ?? [] };
  }
  for (const d of plan.shareFiles ?? []) {
    if (d.pwdShares !== undefined && normalizePlanPath(d.file) === key) return { ...parseThreshold(d.pwdShares), custodians: d.custodians ?? [] };
  }
  return null;
}

/**
 * An n-of-m password-share file, made exactly as `sc-hsm-tool --create-dkek-share F
 * --pwd-shares-threshold T --pwd-shares-total N` and `share create --pwd-shares T/N` make it: a
 * random 8-byte password split T-of-N (splitPassword), the share file encrypted under the raw
 * password bytes (createShareFile), each password share handed to its custodian before the file is
 * written, so a hand-out that is abandoned leaves no file nobody can open.
 */
async function createPwdShareFile(ctx: StepContext, n: number, st: CreateShareStep): Promise<void> {
  const { threshold, total } = parseThreshold(st.pwdShares!);
  const custodians = st.custodians ?? [];
  if (custodians.length !== total) {
    throw usageError('RUN_PLAN_INVALID', `step ${n} splits ${st.file} into ${total} password shares but names ${custodians.length} custodians`, { hint: 'run "hsm-ceremony plan check" on the plan' });
  }
  assertOutputAbsent(ctx, st.file);
  if (ctx.recordedShareFile) {
    // replay: the recorded file; its password shares are in the rehearsal's printout (file-secrets.ts)
    writeOutput(ctx, n, st.file, ctx.recordedShareFile(st.file));
    return;
  }
  const split = splitPassword(threshold, total, ctx.rng);
  let created: { file: Uint8Array; share: Uint8Array } | undefined;
  try {
    checkRecombines(split, threshold);
    ctx.progress?.(`${st.file}: encrypting a new DKEK share under a random password split ${threshold} of ${total}`);
    created = await createShareFile(split.password, { kdf: ctx.kdf(st.file, ctx.signal), rng: ctx.rng });
    ctx.progress?.(`${st.file}: handing one password share to each of ${custodians.join(', ')}`);
    await ctx.secrets.handOutPwdShares(st.file, custodians, split);
    if (ctx.signal.aborted) throw incomplete('CANCELLED', `cancelled before ${st.file} was written`, { hint: 'the password shares handed out open nothing: destroy them, then run the step again' });
    writeOutput(ctx, n, st.file, created.file, { pwdShares: { threshold, total, custodians: [...custodians], prime: formatPrime(split.prime) } });
  } finally {
    // share values are bigints, which cannot be wiped (docs/threat-model.md); the password and DKEK share can
    wipe(split.password, created?.share);
  }
}

/** The prime as sc-hsm-tool prints it, always 8 bytes (formatPrintout's "Prime" line). */
function formatPrime(p: bigint): string {
  return formatPrintout(p, []).replace(/^Prime\s*:\s*/, '').trim();
}

/** Every password share must give the password back before anyone writes one down (as `share create` checks). */
function checkRecombines(split: PasswordSplit, threshold: number): void {
  for (const subset of [split.shares.slice(0, threshold), split.shares.slice(-threshold)]) {
    const set = shareSet(subset.map((s, i) => ({ position: i + 1, idText: String(s.id), value: s.value })), split.prime);
    const candidates = passwordCandidates(set);
    const ok = candidates.length > 0 && equalBytes(candidates[0]!.password, split.password);
    wipeCandidates(candidates);
    if (!ok) throw new CeremonyError('bug', 'PWD_SHARES_DO_NOT_RECOMBINE', 'the new password shares do not give the password back', { hint: 'nothing was handed out or written; report this as a bug' });
  }
}

/** Refuses a share this run already imported (docs/plan-format.md §4, import-share). */
function refuseDuplicate(ctx: StepContext, file: string, fingerprint: string): void {
  const twin = ctx.memory.shares?.get(fingerprint);
  if (twin !== undefined) {
    throw checkFailed('DUPLICATE_SHARE', `${file} holds the same DKEK share as ${twin} (fingerprint ${fingerprint}), which this ceremony already imported; it was not imported`, {
      hint: 'the card XORs shares, so a share imported twice cancels itself out; each custodian must bring their own share',
    });
  }
}

function rememberShare(ctx: StepContext, file: string, fingerprint: string): void {
  (ctx.memory.shares ??= new Map()).set(fingerprint, file);
}

async function importShareFile(ctx: StepContext, n: number, st: ImportShareStep): Promise<void> {
  const say = (t: string) => ctx.progress?.(t);
  const split = st.custodian === undefined ? pwdSplitOf(ctx.plan, st.file) : null;
  if (st.custodian === undefined && !split) {
    throw usageError('RUN_PLAN_INVALID', `${st.file} is neither a passphrase file (custodian) nor a password-share file the plan describes (pwdShares)`, {
      hint: 'run "hsm-ceremony plan check" on the plan',
    });
  }
  const file = readInput(ctx, st.file);
  const base = st.file.split('/').pop()!;
  if (st.custodian !== undefined && ctx.secrets.openShareRemotely) {
    if (await importRemotelyOpened(ctx, n, st.file, st.custodian, file)) return;
  }
  const custodians = split ? (st.custodians ?? split.custodians) : [];
  let given: ShareSet | undefined;
  let ids: number[] | undefined;
  await importShares(
    ctx.hsm,
    [
      {
        name: base,
        file,
        secret: async () => {
          if (!split) return { kind: 'passphrase' as const, passphrase: await ctx.secrets.passphrase(st.file, st.custodian!) };
          given = await ctx.secrets.pwdShares(st.file, custodians, split.threshold, split.total);
          return { kind: 'pwd-shares' as const, set: given };
        },
      },
    ],
    {
      kdf: ctx.kdf,
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.kind === 'deriving') say(split ? `opening ${base} with ${given?.shares.length ?? 0} password shares` : `${st.custodian}: opening ${base}`);
        if (e.kind === 'opened') {
          // before IMPORT DKEK SHARE: a share this ceremony already imported is refused here
          refuseDuplicate(ctx, st.file, e.fingerprint);
          if (e.openedWith.kind === 'pwd-shares' && given) {
            const reading = e.openedWith.idReading;
            ids = [...(given.readings.find((r) => r.reading === reading)?.ids ?? [])];
          }
          given = undefined; // share values are bigints: drop the only reference as soon as the file is open
        }
        if (e.kind === 'imported') {
          rememberShare(ctx, st.file, e.fingerprint);
          ctx.record({
            kind: 'share-imported',
            actor: split ? ctx.operator : { role: 'custodian', name: st.custodian! },
            step: n,
            data: {
              file: st.file,
              fingerprint: e.fingerprint,
              imported: e.imported,
              total: e.total,
              outstanding: e.outstanding,
              ...(split && ids ? { pwdShares: { threshold: split.threshold, total: split.total, ids } } : {}),
            },
          });
          say(`${base}: imported${ids ? ` (opened with password shares ${ids.join(', ')})` : ''}; ${e.imported} of ${e.total} shares imported, ${e.outstanding} outstanding`);
        }
      },
    },
  ).finally(() => {
    given = undefined;
  });
}

/**
 * Hosted runs: the custodian opened the file on their own terminal and sent the 32-byte share.
 * False when they have no terminal of their own (the file is then opened here).
 */
async function importRemotelyOpened(ctx: StepContext, n: number, file: string, custodian: string, fileBytes: Uint8Array): Promise<boolean> {
  const status = await readDkekStatus(ctx.hsm);
  if (!status || status.total === 0 || status.outstanding === 0) {
    throw usageError('NO_SHARES_EXPECTED', !status ? 'the device was not initialised for DKEK shares' : 'the device expects no more DKEK shares', {
      hint: 'check the device status; nothing was imported',
    });
  }
  const share = await ctx.secrets.openShareRemotely!(file, custodian, fileBytes);
  if (share === null) return false;
  ctx.progress?.(`${custodian}: opened ${file} on their own terminal`);
  try {
    if (!(share instanceof Uint8Array) || share.length !== DKEK_SHARE_LENGTH) {
      throw checkFailed('SHARE_MALFORMED', `${custodian}'s terminal returned ${share instanceof Uint8Array ? share.length : 'no'} bytes for ${file}, not a ${DKEK_SHARE_LENGTH}-byte DKEK share; nothing was imported`, {
        hint: 'ask the custodian to open the file again',
      });
    }
    const fingerprint = shareFingerprint(share);
    refuseDuplicate(ctx, file, fingerprint);
    const after = await ctx.hsm.importDkekShare(share);
    rememberShare(ctx, file, fingerprint);
    const imported = after.total - after.outstanding;
    ctx.record({
      kind: 'share-imported',
      actor: { role: 'custodian', name: custodian },
      step: n,
      data: { file, fingerprint, imported, total: after.total, outstanding: after.outstanding },
    });
    ctx.progress?.(`${file}: imported, ${imported} of ${after.total}, ${after.outstanding} outstanding`);
    return true;
  } finally {
    if (share instanceof Uint8Array) wipe(share);
  }
}
