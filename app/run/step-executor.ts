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
import { fromHex, toHex, wipe } from '../../protocol/bytes.ts';
import { checkFailed, usageError } from '../../protocol/errors.ts';
import { createShareFile, type ShareFileKdf } from '../../protocol/dkek/share-file.ts';
import { formatKcv } from '../../protocol/dkek/dkek.ts';
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
import { backupFileName, type Plan, type PlanStep, type SignOffStep } from '../plan/plan-schema.ts';
import { normalizePlanPath } from '../plan/plan-rules.ts';
import type { Actor } from '../transcript/event.ts';
import type { AppendEvent } from '../transcript/writer.ts';

/** Where a run's secrets and confirmations come from. Every returned array is the caller's to wipe. */
export interface RunSecrets {
  pin(): Promise<Uint8Array>;
  soPin(): Promise<Uint8Array>;
  /** the passphrase of share file `file` (its plan path), for creating or importing it */
  passphrase(file: string, custodian: string): Promise<Uint8Array>;
  /** whether `name` signs off (true) or declines (false) */
  signOff(name: string, statement: string): Promise<{ accepted: boolean; reason?: string }>;
}

/** What the run remembers between steps (and rebuilds from the transcript on resume). */
export interface RunMemory {
  /** the KCV recorded for the DKEK (expect-kcv or the first backup), which every later KCV must equal */
  kcv: string | null;
  /** plan output paths (normalised) this run wrote */
  written: Set<string>;
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
function writeOutput(ctx: StepContext, step: number, path: string, data: Uint8Array, extra: { kcv?: string; keyRef?: number } = {}): void {
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
    case 'create-share': {
      if (st.custodian === undefined) {
        throw usageError('RUN_UNSUPPORTED', 'this runner creates passphrase share files only; password-share (T/N) files are made with "hsm-ceremony share create --pwd-shares"', {
          hint: 'create the file beforehand and list it under shareFiles',
        });
      }
      const abs = join(ctx.outDir, st.file);
      if (existsSync(abs)) {
        throw usageError('OUTPUT_EXISTS', `${abs} already exists and will not be overwritten`, {
          hint: 'move it away (or choose another --out folder) and continue the ceremony; if a crash left it, it was never recorded and is not the custodian\'s share',
        });
      }
      if (ctx.recordedShareFile) {
        writeOutput(ctx, n, st.file, ctx.recordedShareFile(st.file));
        return;
      }
      const passphrase = await ctx.secrets.passphrase(st.file, st.custodian);
      try {
        say(`${st.custodian}: deriving the key of ${st.file}`);
        const created = await createShareFile(passphrase, { kdf: ctx.kdf(st.file, ctx.signal), rng: ctx.rng });
        try {
          writeOutput(ctx, n, st.file, created.file);
        } finally {
          wipe(created.share);
        }
      } finally {
        wipe(passphrase);
      }
      return;
    }
    case 'import-share': {
      if (st.custodian === undefined) {
        throw usageError('RUN_UNSUPPORTED', 'this runner imports passphrase share files only; import a password-share file with "hsm-ceremony share import"', {
          hint: 'import it by hand, note the deviation, and skip this step with that reason',
        });
      }
      const custodian = st.custodian;
      const file = readInput(ctx, st.file);
      const base = st.file.split('/').pop()!;
      await importShares(
        ctx.hsm,
        [{ name: base, file, secret: async () => ({ kind: 'passphrase' as const, passphrase: await ctx.secrets.passphrase(st.file, custodian) }) }],
        {
          kdf: ctx.kdf,
          signal: ctx.signal,
          onEvent: (e) => {
            if (e.kind === 'deriving') say(`${custodian}: opening ${base}`);
            if (e.kind === 'imported') {
              ctx.record({
                kind: 'share-imported',
                actor: { role: 'custodian', name: custodian },
                step: n,
                data: { file: st.file, fingerprint: e.fingerprint, imported: e.imported, total: e.total, outstanding: e.outstanding },
              });
              say(`${base}: imported, ${e.imported} of ${e.total}, ${e.outstanding} outstanding`);
            }
          },
        },
      );
      return;
    }
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
