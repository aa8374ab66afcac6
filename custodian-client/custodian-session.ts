/**
 * What a custodian (or witness, or security officer) terminal does once joined: show the SAS, then
 * answer whatever the coordinator asks, one request at a time, with every secret typed and used
 * here (docs/protocol.md §7.2).
 *
 * - Import a passphrase share: the share file comes from the coordinator, --share-file or a typed
 *   path; the passphrase is typed hidden (or --passphrase-file); the key derivation runs here with
 *   a progress bar that the coordinator mirrors; only the 32-byte share is sent.
 * - n-of-m: ID and value (and the prime when asked) are typed here or read from this custodian's
 *   own printout (--pwd-shares-file); they are checked here before anything is sent.
 * - Create: 32 bytes from this machine's CSPRNG XOR the card's challenge (neither side alone
 *   chooses the share), encrypted under a passphrase typed twice, saved here without ever
 *   overwriting a file; the share is sent only when the coordinator asks to import it.
 * - Initialise: SO-PIN and the new user PIN typed here (security officer).
 * - A cancelled request, a lost connection or Ctrl-C aborts the prompt or derivation in progress
 *   and wipes what was typed.
 */

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { wipe } from '../protocol/bytes.ts';
import { shareFingerprint } from '../protocol/dkek/dkek.ts';
import { deriveShareFileKey } from '../protocol/dkek/derive.ts';
import { parseShareInput } from '../protocol/dkek/password-shares.ts';
import { decryptShareFile, encryptShareFile, parseShareFile, type ShareFileKdf } from '../protocol/dkek/share-file.ts';
import { CeremonyError, incomplete, isCeremonyError, usageError } from '../protocol/errors.ts';
import { defaultRng, drawBytes, type Rng } from '../protocol/random.ts';
import type { CoordinatorMessage } from '../protocol/wire/coordinator-messages.ts';
import { describeEvent, spacedSas } from '../protocol/wire/event-text.ts';
import { wipeMessage } from '../protocol/wire/message-codec.ts';
import type { Outcome, PublicEvent } from '../protocol/wire/public-events.ts';
import { WIRE_VERSION } from '../protocol/wire/wire-version.ts';
import type { CustodianConnection } from './connection.ts';
import { readBytes, readSecretLine, assertPrivate, writeNewFile } from './files.ts';
import { bigDigits, CLEAR_SCREEN, confirm, isInteractive, progressBar, readLine, type TerminalIo } from './terminal.ts';

/** Files given instead of typing (automation, tests). */
export interface CustodianSources {
  shareFile?: string | undefined;
  passphraseFile?: string | undefined;
  pwdSharesFile?: string | undefined;
  soPinFile?: string | undefined;
  pinFile?: string | undefined;
  /** skip the SAS question (the digits are still shown) */
  yes: boolean;
  /** folder for new share files (create) */
  dir: string;
  /** folder the file options are relative to */
  cwd: string;
  /** answer sign-off requests without asking (automation, tests): accept, or decline with a reason */
  signOff?: { accepted: true } | { accepted: false; reason: string } | undefined;
}

export interface CustodianDeps {
  /** the share-file key derivation; default the worker at the full iteration count */
  kdf?: (signal: AbortSignal, onProgress: (percent: number) => void) => ShareFileKdf;
  rng?: Rng;
  /** benchmark hook: a share was sent; `enterAt` is when the passphrase was entered (performance.now) */
  onShareSent?: (t: { request: number; enterAt: number; kdfMs: number; sentAt: number }) => void;
  /** benchmark hook: the coordinator's result for a request arrived */
  onResult?: (t: { request: number; ok: boolean; at: number }) => void;
}

/** sc-hsm-tool's minimum passphrase length for new shares. */
const MIN_PASSPHRASE = 6;

type Request = Extract<CoordinatorMessage, { request: number }> & { type: `request-${string}` | 'show-pwd-share' };

function defaultKdf(signal: AbortSignal, onProgress: (percent: number) => void): ShareFileKdf {
  return (password, salt) =>
    deriveShareFileKey(password, salt, { signal, onProgress: (done, total) => onProgress(total === 0 ? 100 : Math.floor((done / total) * 100)) });
}

class Declined extends Error {
  constructor(readonly error: CeremonyError) {
    super(error.message);
  }
}

/** The parts of one share in a printout file: raw field bytes (the value is secret). */
interface PrintoutFields {
  prime: Uint8Array | null;
  id: Uint8Array;
  value: Uint8Array;
}

function trimBytes(b: Uint8Array): Uint8Array {
  let s = 0;
  let e = b.length;
  while (s < e && (b[s] === 0x20 || b[s] === 0x09 || b[s] === 0x0d)) s++;
  while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0x09 || b[e - 1] === 0x0d)) e--;
  return b.slice(s, e);
}

/**
 * This custodian's share from an sc-hsm-tool printout: lines `Prime : …`, `Share ID : …`,
 * `Share value : …` (any case and spacing). The file must hold exactly one share: each custodian
 * brings only their own.
 *
 * @throws CeremonyError usage PWD_SHARES_FILE_* when the file holds no share or several
 */
export function ownShareFromPrintout(bytes: Uint8Array): PrintoutFields {
  let prime: Uint8Array | null = null;
  let id: Uint8Array | null = null;
  let value: Uint8Array | null = null;
  let shares = 0;
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const line = bytes.subarray(start, end);
    start = end + 1;
    const colon = line.indexOf(0x3a);
    if (colon < 0) continue;
    let label = '';
    for (const b of line.subarray(0, colon)) label += String.fromCharCode(b);
    label = label.toLowerCase().replace(/\s+/g, ' ').trim().replace(/^please enter /, '');
    const field = trimBytes(line.subarray(colon + 1));
    if (label === 'prime' && prime === null) prime = field;
    else if (label === 'share id') {
      shares++;
      if (id === null) id = field;
      else wipe(field);
    } else if (label === 'share value') {
      if (value === null) value = field;
      else wipe(field);
    } else wipe(field);
  }
  if (shares !== 1 || id === null || value === null) {
    wipe(value ?? undefined, id ?? undefined, prime ?? undefined);
    throw usageError(
      shares > 1 ? 'PWD_SHARES_FILE_SEVERAL' : 'PWD_SHARES_FILE_EMPTY',
      shares > 1 ? `the password-share file holds ${shares} shares; a custodian brings only their own` : 'the password-share file holds no "Share ID" and "Share value" lines',
      { hint: 'give a file with your own share only: "Share ID : …" and "Share value : …" (and "Prime : …")' },
    );
  }
  return { prime, id, value };
}

function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/**
 * Runs the custodian side of a joined ceremony until the coordinator ends it.
 *
 * @returns the exit code: the ceremony's outcome, or this terminal's own failure
 */
export class CustodianSession {
  #conn: CustodianConnection;
  #io: TerminalIo;
  #src: CustodianSources;
  #kdf: NonNullable<CustodianDeps['kdf']>;
  #rng: Rng;
  #deps: CustodianDeps;
  #queue: Request[] = [];
  #current: { id: number; abort: AbortController } | null = null;
  #pumping = false;
  #ready = false;
  #held = new Map<string, Uint8Array>();
  #kinds = new Map<number, string>();
  #outcome: { outcome: Outcome; exitCode: number; message: string } | null = null;
  #failure: CeremonyError | null = null;
  #finished!: (code: number) => void;
  #done: Promise<number>;
  #deferredEvents: PublicEvent[] = [];
  #deferredLines: string[] = [];
  #roles: readonly string[] = [];
  /** the message revision the coordinator speaks (welcome.protocol), 1 until welcomed */
  #protocol = 1;

  constructor(conn: CustodianConnection, io: TerminalIo, sources: CustodianSources, deps: CustodianDeps = {}) {
    this.#conn = conn;
    this.#io = io;
    this.#src = sources;
    this.#kdf = deps.kdf ?? defaultKdf;
    this.#rng = deps.rng ?? defaultRng;
    this.#deps = deps;
    this.#done = new Promise((r) => (this.#finished = r));
  }

  #out(line: string): void {
    this.#io.stdout.write(line + '\n');
  }

  #err(e: CeremonyError): void {
    this.#io.stderr.write(`hsm-custodian: error: ${e.message}\n`);
    if (e.hint) this.#io.stderr.write(`hsm-custodian: hint: ${e.hint}\n`);
  }

  /** Starts answering; resolves with the exit code once the connection has ended. */
  async run(): Promise<number> {
    const conn = this.#conn;
    conn.onMessage = (m) => this.#onMessage(m);
    conn.onClose = (error) => this.#onClose(error);
    this.#out(`\nconnected to the coordinator as slot ${conn.slot}. Compare these six digits with the coordinator screen:\n`);
    this.#out(bigDigits(conn.sas));
    this.#out(`\n  SAS ${spacedSas(conn.sas)}\n`);
    if (!this.#src.yes && isInteractive(this.#io) && conn.open) {
      const ac = new AbortController();
      this.#current = { id: 0, abort: ac };
      let same = false;
      try {
        same = await confirm(this.#io, 'Does the coordinator screen show the same digits for your slot?', ac.signal);
      } catch (e) {
        if (!conn.open) return this.#done;
        this.#failure = isCeremonyError(e) ? e : incomplete('CANCELLED', 'cancelled');
        conn.close();
        return this.#done;
      } finally {
        this.#current = null;
      }
      if (!same) {
        this.#failure = new CeremonyError('check', 'SAS_MISMATCH', 'the six digits differ from the coordinator screen: this connection may be intercepted', {
          hint: 'tell the coordinator; nothing was sent. Ask for a new code and join again',
        });
        this.#err(this.#failure);
        conn.close();
        return this.#done;
      }
    }
    this.#ready = true;
    this.#flushEvents();
    void this.#pump();
    return this.#done;
  }

  /** Ctrl-C: abort what is running, tell the coordinator, leave. */
  interrupt(): void {
    if (this.#current && this.#current.id > 0) {
      this.#conn.send({ type: 'decline', request: this.#current.id, code: 'CANCELLED', message: 'the custodian cancelled' });
    }
    this.#failure ??= incomplete('CANCELLED', 'cancelled on this terminal; what was typed is discarded', { hint: 'ask the coordinator for a new code to join again' });
    this.#current?.abort.abort();
    this.#conn.close();
  }

  #showEvent(e: PublicEvent): void {
    if (!this.#ready || this.#current !== null) {
      // no lines in the middle of a prompt; shown when it is answered
      this.#deferredEvents.push(e);
      return;
    }
    this.#renderEvent(e);
  }

  #renderEvent(e: PublicEvent): void {
    if (e.type === 'ceremony-over') return; // the closing summary says it
    if (e.type === 'deriving' && e.slot === this.#conn.slot) return; // our own bar shows it
    if (e.type === 'deriving' && e.percent % 25 !== 0 && e.percent !== 100) return;
    const line = describeEvent(e);
    if (line !== null) this.#out(`  · ${line}`);
  }

  #flushEvents(): void {
    const lines = this.#deferredLines;
    this.#deferredLines = [];
    for (const l of lines) this.#out(l);
    const events = this.#deferredEvents;
    this.#deferredEvents = [];
    for (const e of events) this.#renderEvent(e);
  }

  #onMessage(m: CoordinatorMessage): void {
    switch (m.type) {
      case 'welcome': {
        this.#roles = m.roles;
        this.#protocol = Math.min(m.protocol, WIRE_VERSION);
        const roles = m.roles.map((r) => (r === 'security-officer' ? 'security officer' : r)).join(' and ');
        const line = `you are ${m.name}, ${roles} (slot ${m.slot}). The ceremony: ${planText(m.plan)}`;
        if (!this.#ready || this.#current !== null) this.#deferredLines.push(line);
        else this.#out(line);
        return;
      }
      case 'event':
        if (m.event.type === 'ceremony-over') {
          this.#outcome = { outcome: m.event.outcome, exitCode: m.event.exitCode, message: m.event.message };
          this.#current?.abort.abort();
        }
        this.#showEvent(m.event);
        return;
      case 'cancel':
        if (this.#current?.id === m.request) {
          this.#out(`the coordinator withdrew its request: ${m.reason}`);
          this.#current.abort.abort();
        } else {
          this.#queue = this.#queue.filter((r) => r.request !== m.request);
        }
        return;
      case 'result': {
        this.#deps.onResult?.({ request: m.request, ok: m.ok, at: performance.now() });
        const kind = this.#kinds.get(m.request) ?? 'request';
        if (m.ok) {
          const what = kind === 'request-share' ? 'your DKEK share is imported into the device' : kind === 'request-pwd-share' ? 'your password share is in' : kind === 'request-pins' ? 'the device is initialised with your PINs' : kind === 'request-pin' ? 'the PIN is verified' : kind === 'request-sign-off' ? 'your answer is recorded in the transcript' : kind === 'request-create' ? 'the coordinator recorded your new share file' : 'done';
          this.#out(`✔ ${what}${kind === 'request-share' ? '. Waiting for the others (you may close this window; staying shows the final check value)' : ''}`);
          return;
        }
        const e = new CeremonyError('check', m.code ?? 'REFUSED', `the coordinator refused: ${m.message ?? 'no reason given'}`, m.hint ? { hint: m.hint } : {});
        if (kind === 'request-share') this.#failure = e;
        this.#err(e);
        return;
      }
      case 'error':
        return; // the connection reports it on close
      case 'request-share':
      case 'request-pwd-share':
      case 'request-pins':
      case 'request-pin':
      case 'request-create':
      case 'request-sign-off':
      case 'show-pwd-share':
        this.#kinds.set(m.request, m.type);
        this.#queue.push(m);
        if (this.#ready) void this.#pump();
        return;
      default: {
        const never: never = m;
        return never;
      }
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && this.#conn.open) {
        const request = this.#queue.shift()!;
        const abort = new AbortController();
        this.#current = { id: request.request, abort };
        try {
          await this.#handle(request, abort.signal);
        } catch (e) {
          if (e instanceof Declined) {
            this.#failure = e.error;
            this.#err(e.error);
            this.#conn.send({ type: 'decline', request: request.request, code: e.error.code, message: e.error.message });
          } else if (abort.signal.aborted || !this.#conn.open) {
            this.#out('(what was typed for that request is discarded)');
          } else {
            const err = isCeremonyError(e) ? e : new CeremonyError('bug', 'INTERNAL', `unexpected error: ${(e as Error)?.message ?? String(e)}`);
            this.#failure = err;
            this.#err(err);
            this.#conn.send({ type: 'decline', request: request.request, code: err.code, message: err.message });
          }
        } finally {
          wipeMessage(request);
          this.#current = null;
          this.#flushEvents();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #onClose(error: CeremonyError | null): void {
    this.#current?.abort.abort();
    for (const r of this.#queue) wipeMessage(r);
    this.#queue = [];
    for (const share of this.#held.values()) wipe(share);
    this.#held.clear();
    this.#flushEvents();
    if (this.#outcome) {
      const o = this.#outcome;
      if (o.outcome === 'done') {
        this.#out(`\n${o.message}`);
        this.#out('\n════════════════════════════════════════\n  your part is done. Thank you.\n════════════════════════════════════════');
      } else {
        this.#out(`\nthe ceremony ended (${o.outcome}): ${o.message}`);
      }
      this.#finished(this.#failure && this.#failure.kind !== 'incomplete' ? this.#failure.exitCode : o.exitCode);
      return;
    }
    if (this.#failure) {
      this.#finished(this.#failure.exitCode);
      return;
    }
    const e = error ?? new CeremonyError('device', 'WIRE_CONNECTION_LOST', 'the coordinator closed the connection before the ceremony was over', { hint: 'ask the coordinator for a new join code and join again; nothing already imported is lost' });
    this.#err(e);
    this.#finished(e.exitCode);
  }

  // ----------------------------------------------------------------------------------------------

  async #handle(m: Request, signal: AbortSignal): Promise<void> {
    switch (m.type) {
      case 'request-share':
        return this.#share(m as Extract<CoordinatorMessage, { type: 'request-share' }>, signal);
      case 'request-pwd-share':
        return this.#pwdShare(m as Extract<CoordinatorMessage, { type: 'request-pwd-share' }>, signal);
      case 'request-pins':
        return this.#pins(m as Extract<CoordinatorMessage, { type: 'request-pins' }>, signal);
      case 'request-pin':
        return this.#pin(m as Extract<CoordinatorMessage, { type: 'request-pin' }>, signal);
      case 'request-create':
        return this.#create(m as Extract<CoordinatorMessage, { type: 'request-create' }>, signal);
      case 'show-pwd-share':
        return this.#showPwdShare(m as Extract<CoordinatorMessage, { type: 'show-pwd-share' }>, signal);
      case 'request-sign-off':
        return this.#signOff(m as Extract<CoordinatorMessage, { type: 'request-sign-off' }>, signal);
      default:
        throw new Declined(usageError('NOT_SUPPORTED', `this terminal cannot answer a ${(m as { type: string }).type}`, { hint: 'update hsm-custodian' }));
    }
  }

  #interactive(): boolean {
    return isInteractive(this.#io);
  }

  #needTty(what: string, flag: string): never {
    throw new Declined(usageError('NO_TTY', `${what} is needed but there is no terminal to type it on`, { hint: `pass ${flag}` }));
  }

  /** Runs the KDF with a local bar, mirroring progress to the coordinator every 10 %. */
  #kdfFor(request: number, signal: AbortSignal, label: string): { kdf: ShareFileKdf; end(): void } {
    const bar = progressBar(this.#io, label);
    let sent = -10;
    const kdf = this.#kdf(signal, (p) => {
      bar.update(p);
      if (p >= sent + 10 || p === 100) {
        sent = p - (p % 10);
        if (this.#conn.open) this.#conn.send({ type: 'progress', request, percent: p });
      }
    });
    return { kdf, end: () => bar.end() };
  }

  async #share(m: Extract<CoordinatorMessage, { type: 'request-share' }>, signal: AbortSignal): Promise<void> {
    if (m.fingerprint !== undefined && this.#held.has(m.fingerprint)) {
      const share = this.#held.get(m.fingerprint)!;
      this.#held.delete(m.fingerprint);
      this.#conn.send({ type: 'share', request: m.request, share });
      wipe(share);
      this.#out(`sent the share you created (fingerprint ${m.fingerprint}); the device is importing it`);
      return;
    }
    this.#out(`\nthe coordinator asks for your DKEK share${m.fileName ? ` (${m.fileName})` : ''}`);
    let file: Uint8Array;
    if (m.file !== undefined) file = m.file.slice();
    else if (this.#src.shareFile !== undefined) file = readBytes(resolve(this.#src.cwd, this.#src.shareFile), 'share file');
    else if (this.#interactive()) {
      const path = await readLine(this.#io, 'Path of your share file (.pbe): ', { hidden: false, maxLength: 4096, signal });
      file = readBytes(resolve(this.#src.cwd, text(path).trim()), 'share file');
    } else this.#needTty('a share file', '--share-file FILE');
    try {
      parseShareFile(file);
    } catch (e) {
      throw new Declined(e as CeremonyError);
    }
    const tries = this.#src.passphraseFile !== undefined ? 1 : 3;
    let share: Uint8Array | null = null;
    let enterAt = 0;
    let kdfMs = 0;
    for (let attempt = 1; attempt <= tries && share === null; attempt++) {
      const pw = this.#src.passphraseFile !== undefined
        ? readSecretLine(resolve(this.#src.cwd, this.#src.passphraseFile), 'passphrase file')
        : this.#interactive()
          ? await readLine(this.#io, 'Passphrase (hidden): ', { hidden: true, signal })
          : this.#needTty('the passphrase', '--passphrase-file FILE');
      enterAt = performance.now();
      const k = this.#kdfFor(m.request, signal, 'deriving the key');
      try {
        share = await decryptShareFile(file, pw, k.kdf);
        kdfMs = performance.now() - enterAt;
      } catch (e) {
        if (isCeremonyError(e) && e.code === 'WRONG_PASSPHRASE') {
          if (attempt < tries) {
            k.end();
            this.#out('wrong passphrase; try again');
            continue;
          }
          throw new Declined(e);
        }
        throw e;
      } finally {
        k.end();
        wipe(pw);
      }
    }
    if (share === null) throw new Declined(usageError('WRONG_PASSPHRASE', 'no passphrase opened the share file'));
    const fingerprint = shareFingerprint(share);
    if (m.fingerprint !== undefined && m.fingerprint !== fingerprint) {
      wipe(share);
      throw new Declined(usageError('NOT_THE_CREATED_SHARE', `this file holds the share ${fingerprint}, not ${m.fingerprint} created in this ceremony`, { hint: 'open the share file created in this ceremony' }));
    }
    if (signal.aborted) {
      wipe(share);
      return;
    }
    this.#conn.send({ type: 'share', request: m.request, share });
    wipe(share);
    this.#deps.onShareSent?.({ request: m.request, enterAt, kdfMs, sentAt: performance.now() });
    this.#out(`sent your share (fingerprint ${fingerprint}); the device is importing it`);
  }

  async #pwdShare(m: Extract<CoordinatorMessage, { type: 'request-pwd-share' }>, signal: AbortSignal): Promise<void> {
    this.#out(`\nthe coordinator asks for your password share of ${m.fileName} (any ${m.threshold} of ${m.total} open it)${m.needPrime ? ', and the prime if you have it' : ''}`);
    let fields: PrintoutFields;
    if (this.#src.pwdSharesFile !== undefined) {
      const path = resolve(this.#src.cwd, this.#src.pwdSharesFile);
      assertPrivate(path, 'password-share file');
      const bytes = readBytes(path, 'password-share file');
      try {
        fields = ownShareFromPrintout(bytes);
      } catch (e) {
        throw new Declined(e as CeremonyError);
      } finally {
        wipe(bytes);
      }
      try {
        parseShareInput({ id: fields.id, value: fields.value, ...(fields.prime ? { prime: fields.prime } : {}) });
      } catch (e) {
        wipe(fields.value);
        throw new Declined(e as CeremonyError);
      }
    } else if (this.#interactive()) {
      fields = await this.#typePwdShare(m.needPrime, signal);
    } else this.#needTty('a password share', '--pwd-shares-file FILE');
    // The prime is public: send it whenever we have it and the coordinator still lacks it.
    const prime = fields.prime === null || !m.needPrime ? undefined : text(fields.prime);
    if (signal.aborted) {
      wipe(fields.value);
      return;
    }
    this.#conn.send({ type: 'pwd-share', request: m.request, id: text(fields.id), value: fields.value, ...(prime !== undefined ? { prime } : {}) });
    wipe(fields.value);
    this.#out(`sent your password share (ID ${text(fields.id)})`);
  }

  async #typePwdShare(needPrime: boolean, signal: AbortSignal): Promise<PrintoutFields> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      let prime: Uint8Array | null = needPrime ? await readLine(this.#io, 'Prime (as printed; press Enter if another custodian types it): ', { hidden: false, maxLength: 96, signal }) : null;
      if (prime !== null && trimBytes(prime).length === 0) prime = null;
      const id = await readLine(this.#io, 'Share ID: ', { hidden: false, maxLength: 8, signal });
      const value = await readLine(this.#io, 'Share value (hidden): ', { hidden: true, maxLength: 96, signal });
      try {
        parseShareInput({ id, value, ...(prime ? { prime } : {}) });
        return { prime, id, value };
      } catch (e) {
        wipe(value);
        if (!isCeremonyError(e) || attempt === 3) throw new Declined(isCeremonyError(e) ? e : usageError('PWD_SHARE_INVALID', 'the password share does not parse'));
        this.#out(`that does not read as a password share: ${e.message}; type it again`);
      }
    }
    throw new Declined(usageError('PWD_SHARE_INVALID', 'the password share does not parse'));
  }

  async #pins(m: Extract<CoordinatorMessage, { type: 'request-pins' }>, signal: AbortSignal): Promise<void> {
    this.#out(`\nsecurity officer: the coordinator will INITIALISE the device for ${m.dkekShares} DKEK share${m.dkekShares === 1 ? '' : 's'} (this erases it)`);
    const soPin = this.#src.soPinFile !== undefined
      ? readSecretLine(resolve(this.#src.cwd, this.#src.soPinFile), 'SO-PIN file')
      : this.#interactive()
        ? await readLine(this.#io, 'SO-PIN (16 hex digits, hidden): ', { hidden: true, maxLength: 47, signal })
        : this.#needTty('the SO-PIN', '--so-pin-file FILE');
    try {
      checkSoPin(soPin);
      const pin = await this.#newPin(signal);
      try {
        if (signal.aborted) return;
        this.#conn.send({ type: 'pins', request: m.request, soPin, pin });
        this.#out('sent the SO-PIN and the new user PIN; the device is being initialised');
      } finally {
        wipe(pin);
      }
    } finally {
      wipe(soPin);
    }
  }

  async #newPin(signal: AbortSignal): Promise<Uint8Array> {
    if (this.#src.pinFile !== undefined) {
      const pin = readSecretLine(resolve(this.#src.cwd, this.#src.pinFile), 'PIN file');
      checkPin(pin);
      return pin;
    }
    if (!this.#interactive()) this.#needTty('the new user PIN', '--pin-file FILE');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const first = await readLine(this.#io, 'New user PIN (6 to 16 characters, hidden): ', { hidden: true, maxLength: 16, signal });
      try {
        checkPin(first);
      } catch (e) {
        wipe(first);
        this.#out((e as Error).message);
        continue;
      }
      const second = await readLine(this.#io, 'Type it again: ', { hidden: true, maxLength: 16, signal });
      let same = first.length === second.length;
      for (let i = 0; same && i < first.length; i++) same = first[i] === second[i];
      wipe(second);
      if (same) return first;
      wipe(first);
      this.#out('the two entries differ; try again');
    }
    throw new Declined(usageError('SECRET_NOT_CONFIRMED', 'no new PIN was confirmed after 3 attempts'));
  }

  async #pin(m: Extract<CoordinatorMessage, { type: 'request-pin' }>, signal: AbortSignal): Promise<void> {
    this.#out('\nthe coordinator needs the user PIN to confirm the DKEK (Pico HSM commits it only then)');
    const pin = this.#src.pinFile !== undefined
      ? readSecretLine(resolve(this.#src.cwd, this.#src.pinFile), 'PIN file')
      : this.#interactive()
        ? await readLine(this.#io, 'User PIN (hidden): ', { hidden: true, maxLength: 16, signal })
        : this.#needTty('the user PIN', '--pin-file FILE');
    try {
      checkPin(pin);
      if (signal.aborted) return;
      this.#conn.send({ type: 'pin', request: m.request, pin });
    } finally {
      wipe(pin);
    }
  }

  async #create(m: Extract<CoordinatorMessage, { type: 'request-create' }>, signal: AbortSignal): Promise<void> {
    // The name comes from the coordinator: a plain file name in --dir, never a path elsewhere.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$/.test(m.fileName) || m.fileName.includes('..')) {
      throw new Declined(usageError('BAD_FILE_NAME', 'the coordinator asked to save the share under a name that is not a plain file name', { hint: 'tell the coordinator; nothing was written' }));
    }
    const path = resolve(this.#src.dir, m.fileName);
    this.#out(`\nthe coordinator asks you to create a new DKEK share, saved here as ${path}`);
    if (statSync(path, { throwIfNoEntry: false })) {
      throw new Declined(usageError('OUTPUT_EXISTS', `${path} already exists and will not be overwritten`, { hint: 'move it away (it may hold another share), then rejoin with a new code' }));
    }
    const pw = await this.#newPassphrase(signal);
    const own = drawBytes(this.#rng, 32);
    const share = new Uint8Array(32);
    for (let i = 0; i < 32; i++) share[i] = own[i]! ^ m.challenge[i]!;
    wipe(own);
    const salt = drawBytes(this.#rng, 8);
    const k = this.#kdfFor(m.request, signal, 'encrypting the share');
    let file: Uint8Array;
    try {
      file = await encryptShareFile(share, pw, salt, k.kdf);
    } catch (e) {
      wipe(share);
      throw e;
    } finally {
      k.end();
      wipe(pw);
    }
    try {
      writeNewFile(path, file, 0o600);
    } catch (e) {
      wipe(share);
      throw new Declined(e as CeremonyError);
    }
    const fingerprint = shareFingerprint(share);
    this.#held.set(fingerprint, share);
    this.#out(`new DKEK share saved to ${path} (fingerprint ${fingerprint})`);
    this.#out('keep the file and its passphrase safe; a paper copy: openssl base64 -in ' + path);
    // revision 2 (host PLAN): the encrypted file goes to the coordinator too, which records its
    // SHA-256 and keeps it under --out; it is public (encrypted under the passphrase typed here)
    this.#conn.send({ type: 'created', request: m.request, fingerprint, ...(this.#protocol >= 2 ? { file } : {}) });
  }

  async #signOff(m: Extract<CoordinatorMessage, { type: 'request-sign-off' }>, signal: AbortSignal): Promise<void> {
    this.#out(`\nstep ${m.step}: ${m.name}, the coordinator asks you to sign off${m.description ? `\n  ${m.description}` : ''}\n  statement: "${m.statement}"`);
    let answer: { accepted: boolean; reason?: string };
    if (this.#src.signOff !== undefined) {
      answer = this.#src.signOff.accepted ? { accepted: true } : { accepted: false, reason: this.#src.signOff.reason };
    } else if (this.#interactive()) {
      const yes = await confirm(this.#io, `Do you, ${m.name}, sign this statement?`, signal);
      if (yes) answer = { accepted: true };
      else {
        const typed = await readLine(this.#io, 'Why do you decline (recorded in the transcript)? ', { hidden: false, maxLength: 500, signal });
        const reason = text(typed).trim();
        wipe(typed);
        answer = { accepted: false, reason: reason.length > 0 ? reason : 'declined without a reason' };
      }
    } else this.#needTty('a sign-off', '--sign-off accept (or decline:REASON)');
    if (signal.aborted) return;
    this.#conn.send({ type: 'sign-off', request: m.request, ...answer });
    this.#out(answer.accepted ? 'you signed off' : 'you declined to sign off');
  }

  async #newPassphrase(signal: AbortSignal): Promise<Uint8Array> {
    if (this.#src.passphraseFile !== undefined) {
      const pw = readSecretLine(resolve(this.#src.cwd, this.#src.passphraseFile), 'passphrase file');
      if (pw.length < MIN_PASSPHRASE) {
        wipe(pw);
        throw new Declined(usageError('PASSPHRASE_TOO_SHORT', `the passphrase must have at least ${MIN_PASSPHRASE} characters`));
      }
      return pw;
    }
    if (!this.#interactive()) this.#needTty('a new passphrase', '--passphrase-file FILE');
    this.#out('choose a passphrase for the new share: more than 10 characters, or several random words');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const first = await readLine(this.#io, 'New passphrase (hidden): ', { hidden: true, signal });
      if (first.length < MIN_PASSPHRASE) {
        wipe(first);
        this.#out(`at least ${MIN_PASSPHRASE} characters are needed`);
        continue;
      }
      const second = await readLine(this.#io, 'Type it again: ', { hidden: true, signal });
      let same = first.length === second.length;
      for (let i = 0; same && i < first.length; i++) same = first[i] === second[i];
      wipe(second);
      if (same) return first;
      wipe(first);
      this.#out('the two entries differ; try again');
    }
    throw new Declined(usageError('PASSPHRASE_NOT_CONFIRMED', 'no passphrase was confirmed after 3 attempts', { hint: 'nothing was written' }));
  }

  async #showPwdShare(m: Extract<CoordinatorMessage, { type: 'show-pwd-share' }>, signal: AbortSignal): Promise<void> {
    if (!this.#interactive() || this.#io.stdout.isTTY !== true) this.#needTty('a screen to show your password share on', 'a terminal');
    const io = this.#io;
    this.#out(`\nyour password share of ${m.fileName} (any ${m.threshold} of ${m.total} open it). Make sure nobody else can see this screen.`);
    await readLine(io, 'Press Enter to show it. ', { hidden: true, maxLength: 4096, signal }).then(wipe);
    io.stdout.write(`\nPrime       : ${m.prime}\nShare ID    : ${m.id}\nShare value : `);
    io.stdout.write(m.value);
    io.stdout.write('\n\nWrite down all three values and keep them safe.\n');
    try {
      await readLine(io, 'Press Enter when written down; the screen will be cleared. ', { hidden: true, maxLength: 4096, signal }).then(wipe);
    } finally {
      io.stdout.write(CLEAR_SCREEN);
    }
    this.#conn.send({ type: 'confirmed', request: m.request });
  }
}

function checkPin(pin: Uint8Array): void {
  if (pin.length < 6 || pin.length > 16) {
    throw new Declined(usageError('USER_PIN_LENGTH', `the user PIN must be 6 to 16 characters, got ${pin.length}`, { hint: 'choose a PIN of 6 to 16 characters' }));
  }
}

function checkSoPin(typed: Uint8Array): void {
  let digits = 0;
  let ok = true;
  for (const c of typed) {
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    if (hex) digits++;
    else if (c !== 0x3a && c !== 0x20) ok = false;
  }
  if (!ok || digits !== 16) {
    throw new Declined(usageError('SO_PIN_FORMAT', 'the SO-PIN must be 16 hexadecimal digits', { hint: 'type the SO-PIN as it was set, e.g. 3537363231383830' }));
  }
}

function planText(p: { mode: string; title?: string | undefined; planSha256?: string | undefined; shares: number; initialize: number | null; pwdShares: { threshold: number; total: number; fileName: string } | null; expectedKcv: string | null }): string {
  const parts: string[] = [];
  if (p.initialize !== null) parts.push(`initialise the device for ${p.initialize} DKEK share${p.initialize === 1 ? '' : 's'}`);
  if (p.mode === 'plan') return `the reviewed plan "${p.title ?? 'unnamed'}"${p.planSha256 ? ` (SHA-256 ${p.planSha256.slice(0, 16)}…)` : ''}; you are asked for what the plan names you for`;
  if (p.mode === 'import-pwd-shares' && p.pwdShares) parts.push(`open ${p.pwdShares.fileName} with ${p.pwdShares.threshold} of ${p.pwdShares.total} password shares and import it`);
  else if (p.mode === 'create-passphrase') parts.push(`each custodian creates and imports a new share (${p.shares} in all)`);
  else parts.push(`import ${p.shares} DKEK share${p.shares === 1 ? '' : 's'}, one per custodian`);
  if (p.expectedKcv) parts.push(`expected KCV ${p.expectedKcv}`);
  return parts.join('; ');
}
