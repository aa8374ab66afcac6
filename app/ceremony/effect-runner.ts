/**
 * The effect runner: performs what the reducer returns, by calling the device operations
 * (operations/*.ts) and the share-file key derivation in worker threads, and feeds the outcome back
 * as events (docs/ceremony-state-machine.md §4). This is the only place of the ceremony where
 * anything is awaited, a file is touched or a card command is sent.
 *
 * Rules kept here:
 * - Card jobs run one at a time (a card takes one command at a time), in the order they started.
 * - At most two share-file derivations run at once (one per core), whatever asks for them.
 * - A job copies the secrets it needs out of the vault synchronously when it starts (or when a
 *   secret is supplied), so the reducer may wipe the vault's copies right after; the job wipes its
 *   copies when done.
 * - Every job ends with exactly one job-done or job-failed event; errors become PublicError
 *   (code, kind, message, hint — never a secret, never a stack).
 * - Cancelling aborts derivations at once; card operations stop at their next safe point.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, toHex, wipe } from '../../protocol/bytes.ts';
import { CeremonyError, incomplete, isCeremonyError, usageError } from '../../protocol/errors.ts';
import { deriveShareFileKey } from '../../protocol/dkek/derive.ts';
import { createShareFile, parseShareFile, type ShareFileKdf } from '../../protocol/dkek/share-file.ts';
import { shareFingerprint, parseKcv, formatKcv } from '../../protocol/dkek/dkek.ts';
import { describeOpenedWith, openShareFile, type ShareSecretInput } from '../../protocol/dkek/open-share-file.ts';
import { parsePrime, parseShareInput, passwordCandidates, shareSet, splitPassword, wipeCandidates } from '../../protocol/dkek/password-shares.ts';
import { equalBytes } from '../../protocol/bytes.ts';
import type { SmartCardHsm } from '../card/sc-hsm.ts';
import type { AppletInfo } from '../card/file-control.ts';
import type { KeyPairSpec } from '../card/key-generation.ts';
import { assertAbsent, writeNewFile } from '../cli/write-new-file.ts';
import { backupFileName } from '../cli/commands/backup.ts';
import { readDeviceStatus } from './operations/read-status.ts';
import { initializeDevice, surveyForInitialize } from './operations/initialize-device.ts';
import { importShares } from './operations/import-shares.ts';
import { confirmDkek } from './operations/confirm-dkek.ts';
import { loginUser, requireCompleteDkek } from './operations/login.ts';
import { backupKey } from './operations/backup-key.ts';
import { restoreKey } from './operations/restore-key.ts';
import { changeSoPin, changeUserPin, unblockUserPin } from './operations/change-pin.ts';
import { generateKey } from './operations/generate-key.ts';
import { inspectBackup } from './operations/inspect-backup.ts';
import { describePublicKey } from './operations/public-key.ts';
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { BackupWritten, GeneratedKeyKind, JobRequest, JobResult, JobSpec, JobUpdate, KeyRow, PublicError, ShareSecretRef } from './jobs.ts';
import type { SecretRef, SecretVault } from './secret-vault.ts';

/** An open card with the applet selected, as the runner needs it. */
export interface CardConnection {
  hsm: SmartCardHsm;
  applet: AppletInfo;
  /** one line: reader or simulator (and why) */
  description: string;
  simulated: boolean;
  virtual: boolean;
  close(): Promise<void>;
}

export interface EffectRunnerDeps {
  vault: SecretVault;
  /** base of relative paths and place of new files */
  cwd: string;
  /** opens the device; called at the first card job and again after the device went away */
  openCard(): Promise<CardConnection>;
  /** erases the terminal, scrollback included */
  clearScreen(): void;
  /** ends the session (after the runner closed the card and wiped the vault) */
  exit(code: number, summary: string[]): void;
  /** randomness for shares, password splits, challenges and key IDs; default crypto.getRandomValues */
  rng?: (n: number) => Uint8Array;
  /** share-file KDF iterations; tests only (the default is sc-hsm-tool's 10 000 000) */
  testOnlyKdfIterations?: number;
  /** derivations at once (default 2) */
  maxDerivations?: number;
}

type Dispatch = (e: CeremonyEvent) => void;

interface RunningJob {
  id: number;
  abort: AbortController;
  /** pending answers to this job's requests, oldest first */
  waiting: { request: JobRequest; resolve(v: unknown): void; reject(e: unknown): void }[];
}

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** A CeremonyError or anything else as the public error the reducer sees. */
export function toPublicError(e: unknown): PublicError {
  if (isCeremonyError(e)) {
    return {
      code: e.code,
      kind: e.kind,
      message: e.message,
      ...(e.hint ? { hint: e.hint } : {}),
      ...(e.detail ? { detail: e.detail } : {}),
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'BUG', kind: 'bug', message: `internal error (a bug in hsm-ceremony): ${message}`, hint: 'nothing secret is shown here; please report it with what you were doing' };
}

/** A counting semaphore for the derivation workers. */
class Slots {
  #free: number;
  readonly #queue: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async take(signal: AbortSignal): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((res, rej) => {
        const go = () => {
          signal.removeEventListener('abort', onAbort);
          res();
        };
        const onAbort = () => {
          const i = this.#queue.indexOf(go);
          if (i >= 0) this.#queue.splice(i, 1);
          rej(incomplete('KDF_CANCELLED', 'key derivation cancelled', { hint: 'nothing was written' }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#queue.push(go);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

const KEY_SPECS: Record<GeneratedKeyKind, KeyPairSpec> = {
  'ec-p256': { type: 'ec', curve: 'P-256' },
  'ec-p384': { type: 'ec', curve: 'P-384' },
  'rsa-2048': { type: 'rsa', bits: 2048 },
};

/** Performs effects and reports back. One per session. */
export class EffectRunner {
  readonly #d: EffectRunnerDeps;
  readonly #rng: (n: number) => Uint8Array;
  readonly #jobs = new Map<number, RunningJob>();
  readonly #slots: Slots;
  #card: Promise<CardConnection> | null = null;
  #cardQueue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(deps: EffectRunnerDeps) {
    this.#d = deps;
    this.#rng = deps.rng ?? defaultRng;
    this.#slots = new Slots(deps.maxDerivations ?? 2);
  }

  /** Number of jobs still running (tests wait for 0). */
  get running(): number {
    return this.#jobs.size;
  }

  /** Performs one effect. Never throws: failures come back as events. */
  run(effect: Effect, dispatch: Dispatch): void {
    switch (effect.type) {
      case 'start-job':
        this.#start(effect.id, effect.job, dispatch);
        return;
      case 'supply-secret':
        this.#answer(effect.id, 'share-secret', () => this.#takeShareSecret(effect.secret));
        return;
      case 'answer-request':
        this.#answer(effect.id, 'confirm-replace', () => effect.ok);
        return;
      case 'cancel-job': {
        const job = this.#jobs.get(effect.id);
        if (job) this.#cancel(job);
        return;
      }
      case 'wipe':
        this.#d.vault.wipe(...effect.refs);
        return;
      case 'clear-screen':
        this.#d.clearScreen();
        return;
      case 'exit':
        void this.close().then(() => this.#d.exit(effect.code, effect.summary));
        return;
      default: {
        const never: never = effect;
        throw new TypeError(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  /** Closes the card and wipes every secret. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#jobs.values()) this.#cancel(job);
    await this.#cardQueue.catch(() => undefined);
    const card = this.#card;
    this.#card = null;
    if (card) await card.then((c) => c.close(), () => undefined).catch(() => undefined);
    this.#d.vault.wipeAll();
  }

  // -------------------------------------------------------------------------------------------

  /** Aborts a job and fails whatever it waits for from the people at the terminal. */
  #cancel(job: RunningJob): void {
    job.abort.abort();
    for (const w of job.waiting.splice(0)) w.reject(incomplete('CANCELLED', 'cancelled', { hint: 'nothing more was sent to the card' }));
  }

  #answer(id: number, kind: JobRequest['kind'], value: () => unknown): void {
    const job = this.#jobs.get(id);
    const i = job ? job.waiting.findIndex((w) => w.request.kind === kind) : -1;
    if (!job || i < 0) {
      // nobody waits (the job ended): still honour the promise that secrets are wiped
      return;
    }
    const [w] = job.waiting.splice(i, 1);
    try {
      w!.resolve(value());
    } catch (e) {
      w!.reject(e);
    }
  }

  /** Builds the operation's secret input from the vault and wipes the vault's references. */
  #takeShareSecret(s: ShareSecretRef): ShareSecretInput {
    const v = this.#d.vault;
    try {
      if (s.kind === 'passphrase') return { kind: 'passphrase', passphrase: v.copy(s.passphrase) };
      const { prime } = parsePrime(s.prime);
      const entries = s.entries.map((x, i) => parseShareInput({ id: x.idText, value: v.bytes(x.value) }, i + 1));
      return { kind: 'pwd-shares', set: shareSet(entries, prime) };
    } finally {
      v.wipe(...(s.kind === 'passphrase' ? [s.passphrase] : s.entries.map((x) => x.value)));
    }
  }

  #request<T>(job: RunningJob, dispatch: Dispatch, request: JobRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (job.abort.signal.aborted) {
        reject(incomplete('CANCELLED', 'cancelled', { hint: 'nothing more was sent to the card' }));
        return;
      }
      job.waiting.push({ request, resolve: resolve as (v: unknown) => void, reject });
      dispatch({ type: 'job-request', id: job.id, request });
    });
  }

  #card_(): Promise<CardConnection> {
    if (!this.#card) {
      this.#card = this.#d.openCard();
      this.#card.catch(() => {
        this.#card = null;
      });
    }
    return this.#card;
  }

  /** Runs `fn` with the card, after every card job started before it. */
  #withCard<T>(fn: (c: CardConnection) => Promise<T>): Promise<T> {
    const run = this.#cardQueue.then(async () => {
      const c = await this.#card_();
      try {
        return await fn(c);
      } catch (e) {
        // a card or reader that went away is opened afresh next time
        if (isCeremonyError(e) && ['CARD_REMOVED', 'READER_GONE', 'TRANSMIT_FAILED'].includes(e.code)) {
          this.#card = null;
          await c.close().catch(() => undefined);
        }
        throw e;
      }
    });
    this.#cardQueue = run.catch(() => undefined);
    return run;
  }

  /** A share-file KDF that reports progress as `part` of job `id`, in a derivation slot. */
  #kdf(id: number, part: number, label: string, signal: AbortSignal, dispatch: Dispatch): ShareFileKdf {
    return async (password, salt) => {
      const release = await this.#slots.take(signal);
      let last = -1;
      try {
        dispatch({ type: 'job-progress', id, part, label, done: 0, total: 1 });
        return await deriveShareFileKey(password, salt, {
          signal,
          ...(this.#d.testOnlyKdfIterations !== undefined ? { iterations: this.#d.testOnlyKdfIterations } : {}),
          onProgress: (done, total) => {
            const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
            if (pct === last) return;
            last = pct;
            dispatch({ type: 'job-progress', id, part, label, done, total });
          },
        });
      } finally {
        release();
      }
    };
  }

  #path(p: string): string {
    return resolve(this.#d.cwd, p);
  }

  #start(id: number, spec: JobSpec, dispatch: Dispatch): void {
    const job: RunningJob = { id, abort: new AbortController(), waiting: [] };
    this.#jobs.set(id, job);
    let work: Promise<JobResult>;
    try {
      work = this.#perform(job, spec, dispatch); // copies its secrets synchronously
    } catch (e) {
      work = Promise.reject(e);
    }
    work.then(
      (result) => {
        this.#jobs.delete(id);
        dispatch({ type: 'job-done', id, result });
      },
      (e) => {
        this.#jobs.delete(id);
        for (const w of job.waiting.splice(0)) w.reject(e);
        dispatch({ type: 'job-failed', id, error: toPublicError(e) });
      },
    );
  }

  /** Starts the work of a job; anything secret is copied before the first await. */
  #perform(job: RunningJob, spec: JobSpec, dispatch: Dispatch): Promise<JobResult> {
    const v = this.#d.vault;
    const signal = job.abort.signal;
    const update = (u: JobUpdate) => dispatch({ type: 'job-update', id: job.id, update: u });
    switch (spec.kind) {
      case 'read-status': {
        const pin = spec.pin !== undefined ? v.copy(spec.pin) : undefined;
        return this.#withCard(async (c) => {
          try {
            const status = await readDeviceStatus(c.hsm, c.applet, { pin });
            return { kind: 'read-status', device: { description: c.description, simulated: c.simulated, virtual: c.virtual, status } };
          } finally {
            wipe(pin);
          }
        });
      }
      case 'survey-initialize':
        return this.#withCard(async (c) => ({ kind: 'survey-initialize', survey: await surveyForInitialize(c.hsm) }));
      case 'initialize': {
        const soPin = v.copy(spec.soPin);
        const userPin = v.copy(spec.pin);
        return this.#withCard(async (c) => {
          try {
            const r = await initializeDevice(c.hsm, { soPin, userPin, dkekShares: spec.dkekShares }, {
              // the reducer had the erasure confirmed for exactly this many keys
              confirmDestroy: (n) => n === spec.keyCount,
              signal,
            });
            return { kind: 'initialize', dkek: r.dkek };
          } finally {
            wipe(soPin, userPin);
          }
        });
      }
      case 'list-files':
        return (async () => {
          const dir = this.#d.cwd;
          const files = readdirSync(dir)
            .filter((f) => spec.extensions.includes(extname(f).toLowerCase()) && !f.startsWith('.'))
            .filter((f) => statSync(join(dir, f), { throwIfNoEntry: false })?.isFile() === true)
            .sort();
          return { kind: 'list-files', dir, files };
        })();
      case 'check-new-file':
        return (async () => {
          const path = this.#path(spec.path);
          assertAbsent(path);
          if (!statSync(dirname(path), { throwIfNoEntry: false })?.isDirectory()) {
            throw usageError('OUTPUT_DIR_MISSING', `the folder ${dirname(path)} does not exist`, { hint: 'create it first, or choose another file name' });
          }
          return { kind: 'check-new-file', path, name: basename(path) };
        })();
      case 'split-password':
        return (async () => {
          const split = splitPassword(spec.threshold, spec.total, this.#rng);
          // like share create: prove two different subsets give the password back before anyone relies on it
          for (const subset of [split.shares.slice(0, spec.threshold), split.shares.slice(-spec.threshold)]) {
            const set = shareSet(subset.map((s, i) => ({ position: i + 1, idText: String(s.id), value: s.value })), split.prime);
            const c = passwordCandidates(set);
            const ok = c.length > 0 && equalBytes(c[0]!.password, split.password);
            wipeCandidates(c);
            if (!ok) {
              wipe(split.password);
              throw new Error('password shares do not recombine to the password');
            }
          }
          const ref = v.putSplit(split);
          return { kind: 'split-password', split: ref, prime: toHex(bigIntToBytes(split.prime, 8), ':'), threshold: spec.threshold, total: spec.total };
        })();
      case 'create-share': {
        const password = spec.secret.kind === 'passphrase' ? v.copy(spec.secret.passphrase) : v.split(spec.secret.split).password.slice();
        const path = this.#path(spec.path);
        const name = basename(path);
        return (async () => {
          let share: Uint8Array | undefined;
          try {
            const created = await createShareFile(password, { kdf: this.#kdf(job.id, 0, `encrypting ${name}`, signal, dispatch), rng: this.#rng });
            share = created.share;
            if (signal.aborted) throw incomplete('KDF_CANCELLED', `cancelled: ${name} was not written`, { hint: 'nothing was written' });
            writeNewFile(path, created.file, 0o600);
            return { kind: 'create-share', path, name, fingerprint: shareFingerprint(share) };
          } finally {
            wipe(password, share);
          }
        })();
      }
      case 'read-share-file':
        return (async () => {
          const path = this.#path(spec.path);
          const file = readInput(path, 'share file');
          parseShareFile(file);
          return { kind: 'read-share-file', path, name: basename(path), sha256: toHex(sha256(file)) };
        })();
      case 'import-shares': {
        const files = spec.files.map((f) => ({ name: f.name, file: readInput(this.#path(f.path), 'share file') }));
        const index = new Map(files.map((f, i) => [f.name, i]));
        let asked = 0;
        // The operation stops its own derivations through the signal it hands to kdf(); when it
        // stops (a wrong passphrase, a refused share), a custodian still being asked for a secret
        // must be released too, or the operation would wait for that secret before it reports.
        let opSignal: AbortSignal | undefined;
        const watch = (s: AbortSignal) => {
          if (opSignal) return;
          opSignal = s;
          s.addEventListener('abort', () => {
            for (const w of job.waiting.splice(0)) w.reject(incomplete('CANCELLED', 'the import stopped', { hint: 'nothing more was sent to the card' }));
          }, { once: true });
        };
        return this.#withCard(async (c) => {
          const r = await importShares(
            c.hsm,
            files.map((f) => ({
              name: f.name,
              file: f.file,
              secret: () => this.#request<ShareSecretInput>(job, dispatch, { kind: 'share-secret', index: asked++, name: f.name }),
            })),
            {
              kdf: (name, s) => {
                watch(s);
                return this.#kdf(job.id, index.get(name) ?? 0, `deriving ${name}`, s, dispatch);
              },
              concurrency: this.#d.maxDerivations ?? 2,
              signal,
              onEvent: (e) => {
                if (e.kind === 'deriving') update({ kind: 'share-deriving', index: e.index, name: e.name });
                else if (e.kind === 'opened') {
                  // A share imported earlier in this session (another run) is refused too. The
                  // operation calls onEvent before its own duplicate check and before the IMPORT,
                  // and an exception here stops the run like its own refusal does.
                  if (spec.alreadyImported.includes(e.fingerprint)) {
                    throw new CeremonyError('check', 'DUPLICATE_SHARE', `${e.name} holds a DKEK share already imported in this session (fingerprint ${e.fingerprint}); it was not imported`, {
                      hint: 'the card XORs shares, so a share imported twice cancels itself out; each custodian must bring their own share',
                    });
                  }
                  update({ kind: 'share-opened', index: e.index, name: e.name, fingerprint: e.fingerprint });
                } else if (e.kind === 'imported') {
                  update({ kind: 'share-imported', index: e.index, name: e.name, fingerprint: e.fingerprint, imported: e.imported, total: e.total, outstanding: e.outstanding });
                }
              },
            },
          );
          return {
            kind: 'import-shares',
            imported: r.imported.map((x) => ({ name: x.name, fingerprint: x.fingerprint, openedWith: describeOpenedWith(x.openedWith) })),
            total: r.status.total,
            outstanding: r.status.outstanding,
          };
        });
      }
      case 'confirm-dkek': {
        const pin = spec.pin !== undefined ? v.copy(spec.pin) : undefined;
        const expectKcv = spec.expectKcv !== null ? parseKcv(spec.expectKcv) : undefined;
        return this.#withCard(async (c) => {
          try {
            return { kind: 'confirm-dkek', confirmation: await confirmDkek(c.hsm, { pin, expectKcv }) };
          } finally {
            wipe(pin);
          }
        });
      }
      case 'verify-share': {
        const secret = this.#copyShareSecret(spec.secret);
        const path = this.#path(spec.path);
        return (async () => {
          try {
            const file = readInput(path, 'share file');
            const opened = await openShareFile(file, secret, this.#kdf(job.id, 0, `deriving ${basename(path)}`, signal, dispatch));
            try {
              return { kind: 'verify-share', name: basename(path), fingerprint: shareFingerprint(opened.share), openedWith: describeOpenedWith(opened.openedWith) };
            } finally {
              wipe(opened.share);
            }
          } finally {
            if (secret.kind === 'passphrase') wipe(secret.passphrase);
          }
        })();
      }
      case 'list-keys':
        return this.#withCard(async (c) => ({ kind: 'list-keys', keys: (await c.hsm.listKeys()).map(keyRow) }));
      case 'inspect-backup':
        return (async () => {
          const path = this.#path(spec.path);
          const file = readInput(path, 'backup file');
          const i = inspectBackup(file);
          return {
            kind: 'inspect-backup',
            info: {
              path,
              name: basename(path),
              sha256: toHex(sha256(file)),
              bytes: file.length,
              kcv: i.kcv,
              keyType: i.keyType,
              label: i.prkd?.label ?? null,
              id: i.prkd?.id ?? null,
              keyReference: i.prkd?.keyReference ?? null,
              bits: i.prkd?.bits ?? (i.certificate?.publicKey?.type === 'rsa' ? i.certificate.publicKey.bits : i.certificate?.publicKey?.type === 'ec' ? i.certificate.publicKey.curve.bits : null),
              hasPrkd: i.prkd !== null,
              hasCertificate: i.certificate !== null,
              certificate: i.certificate ? (i.certificate.kind === 'cv-request' ? 'CV request' : i.certificate.kind === 'cv-certificate' ? 'CV certificate' : 'X.509 certificate') : null,
              holder: i.certificate?.holder ?? null,
              warnings: i.warnings,
            },
          };
        })();
      case 'generate-key': {
        const pin = spec.pin !== undefined ? v.copy(spec.pin) : undefined;
        const id = this.#rng(8).slice();
        return this.#withCard(async (c) => {
          try {
            if (pin) await loginUser(c.hsm, pin);
            const g = await generateKey(c.hsm, spec.keyRef, KEY_SPECS[spec.key], { label: spec.label, id });
            return { kind: 'generate-key', keyRef: g.keyRef, label: spec.label, id: toHex(id), publicKey: g.publicKey ? describePublicKey(g.publicKey) : 'unknown' };
          } finally {
            wipe(pin);
          }
        });
      }
      case 'backup': {
        const pin = spec.pin !== undefined ? v.copy(spec.pin) : undefined;
        const dir = this.#path(spec.dir);
        return this.#withCard(async (c) => {
          try {
            if (pin) await loginUser(c.hsm, pin);
            const dkek = await requireCompleteDkek(c.hsm);
            const labels = new Map((await c.hsm.listKeys()).map((k) => [k.keyRef, k.label]));
            const targets = spec.keyRefs.map((ref) => ({ ref, path: join(dir, backupFileName(ref, labels.get(ref) ?? null)) }));
            for (const t of targets) assertAbsent(t.path); // every name is checked before the first WRAP
            const written: BackupWritten[] = [];
            const failed: { keyRef: number; message: string }[] = [];
            for (const t of targets) {
              if (signal.aborted) {
                throw incomplete('CANCELLED', `stopped after ${written.length} of ${targets.length} backups`, {
                  hint: written.length > 0 ? `the files written are complete: ${written.map((w) => w.name).join(', ')}` : 'no file was written',
                });
              }
              try {
                const b = await backupKey(c.hsm, t.ref, dkek.kcv);
                writeNewFile(t.path, b.file, 0o600);
                const w: BackupWritten = { keyRef: t.ref, path: t.path, name: basename(t.path), label: b.label, keyType: b.keyType, kcv: b.kcv, sha256: b.sha256, warnings: b.warnings };
                written.push(w);
                update({ kind: 'key-backed-up', file: w });
              } catch (e) {
                if (!isCeremonyError(e) || e.kind === 'bug' || e.kind === 'device') throw e;
                failed.push({ keyRef: t.ref, message: e.message });
                update({ kind: 'key-not-backed-up', keyRef: t.ref, message: e.message });
              }
            }
            return { kind: 'backup', written, failed, kcv: formatKcv(dkek.kcv) };
          } finally {
            wipe(pin);
          }
        });
      }
      case 'restore': {
        const pin = spec.pin !== undefined ? v.copy(spec.pin) : new Uint8Array(0);
        const path = this.#path(spec.path);
        return this.#withCard(async (c) => {
          try {
            const file = readInput(path, 'backup file');
            const r = await restoreKey(c.hsm, file, spec.keyRef, {
              pin,
              replace: true,
              confirmReplace: (keyRef, o) => this.#request<boolean>(job, dispatch, { kind: 'confirm-replace', keyRef, occupant: { key: o.key, prkd: o.prkd, certificate: o.certificate, label: o.label } }),
              rng: this.#rng,
              signal,
              onEvent: (e) => {
                const say = (text: string, warning = false) => update({ kind: 'restore-step', text, warning });
                if (e.kind === 'kcv-checked') say(`the backup and the device share DKEK ${e.kcv}: safe to unwrap`);
                else if (e.kind === 'trial-unwrapped') say(`the card accepted the backup in a trial at key reference ${e.trialRef}`);
                else if (e.kind === 'trial-removed') say(`trial key ${e.trialRef} removed again`);
                else if (e.kind === 'old-key-deleted') say(`old key ${e.keyRef} deleted`);
                else if (e.kind === 'unwrapped') say(`unwrapped into key reference ${e.keyRef}`);
                else if (e.kind === 'descriptions-written') say(`key description${e.certificate ? ' and certificate' : ''} written from the backup`);
                else if (e.kind === 'proved') say(`the key signed a fresh challenge (${e.proof.description}), verified with the public key from the backup`);
                else if (e.kind === 'warning') say(e.text, true);
              },
            });
            return {
              kind: 'restore',
              keyRef: r.keyRef,
              kcv: r.kcv,
              keyType: r.keyType,
              label: r.label,
              id: r.id,
              replaced: r.replaced,
              proof: r.proof?.description ?? null,
              publicKeySource: r.publicKeySource,
              warnings: r.warnings,
            };
          } finally {
            wipe(pin);
          }
        });
      }
      case 'change-pin': {
        const current = v.copy(spec.current);
        const next = v.copy(spec.next);
        return this.#withCard(async (c) => {
          try {
            const op = spec.change === 'change-pin' ? changeUserPin : spec.change === 'unblock-pin' ? unblockUserPin : changeSoPin;
            const st = await op(c.hsm, current, next);
            return { kind: 'change-pin', change: spec.change, triesLeft: st.triesLeft };
          } finally {
            wipe(current, next);
          }
        });
      }
      default: {
        const never: never = spec;
        return Promise.reject(new TypeError(`unknown job ${JSON.stringify(never)}`));
      }
    }
  }

  /** A job's own copy of a custodian's secret (verify-share), built synchronously. */
  #copyShareSecret(s: ShareSecretRef): ShareSecretInput {
    const v = this.#d.vault;
    if (s.kind === 'passphrase') return { kind: 'passphrase', passphrase: v.copy(s.passphrase) };
    const { prime } = parsePrime(s.prime);
    const entries = s.entries.map((x, i) => parseShareInput({ id: x.idText, value: v.bytes(x.value) }, i + 1));
    return { kind: 'pwd-shares', set: shareSet(entries, prime) };
  }
}

function keyRow(k: Awaited<ReturnType<SmartCardHsm['listKeys']>>[number]): KeyRow {
  const cert = k.certificate;
  return {
    keyRef: k.keyRef,
    deviceKey: k.deviceKey,
    label: k.label,
    id: k.id,
    type: k.type,
    bits: k.bits,
    holder: cert?.holder ?? null,
    certificate: cert ? (cert.kind === 'cv-request' ? 'CV request' : cert.kind === 'cv-certificate' ? 'CV certificate' : cert.kind === 'x509' ? 'X.509' : 'unknown') : null,
  };
}

/** Reads an input file whole, with a usage error naming it when it cannot be read. */
function readInput(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(path);
    const out = new Uint8Array(b.length);
    out.set(b);
    return out;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('INPUT_UNREADABLE', `cannot read the ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? 'error')}`, {
      hint: 'check the path',
    });
  }
}
