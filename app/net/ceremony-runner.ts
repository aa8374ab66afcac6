/**
 * Runs a hosted ceremony: owns the server, the join codes, the secret vault and the card session,
 * feeds events to the pure reducer (hosted-ceremony.ts) and performs the effects it returns.
 *
 * - Events are processed one at a time, in order; an effect that completes later (a card command,
 *   a key derivation) comes back as a new event.
 * - Card commands run strictly one after another (a card answers one command at a time).
 * - Secrets: incoming bytes fields go into the vault at once, and the reducer sees refs and public
 *   facts (fingerprints). Each card effect takes its secret out of the vault and wipes it after
 *   the command; everything left is wiped when the ceremony ends.
 */

import { shareFingerprint } from '../../protocol/dkek/dkek.ts';
import { openShareFile } from '../../protocol/dkek/open-share-file.ts';
import { parseShareInput, passwordCandidates, shareSet, wipeCandidates, type ShareEntry } from '../../protocol/dkek/password-shares.ts';
import type { ShareFileKdf } from '../../protocol/dkek/share-file.ts';
import { isCeremonyError, type CeremonyError } from '../../protocol/errors.ts';
import { wipe } from '../../protocol/bytes.ts';
import type { Rng } from '../../protocol/random.ts';
import type { CustodianMessage } from '../../protocol/wire/custodian-messages.ts';
import { wipeMessage } from '../../protocol/wire/message-codec.ts';
import { COORDINATOR_SLOT, type PublicEvent } from '../../protocol/wire/public-events.ts';
import { CloseCode } from '../../protocol/wire/wire-error.ts';
import { WIRE_PATH } from '../../protocol/wire/wire-version.ts';
import type { SmartCardHsm } from '../card/sc-hsm.ts';
import { confirmDkek } from '../ceremony/operations/confirm-dkek.ts';
import { initializeDevice } from '../ceremony/operations/initialize-device.ts';
import { readDkekStatus } from '../ceremony/operations/login.ts';
import { CeremonyServer, type SecureSession } from './ceremony-server.ts';
import { removeCodeFile, writeCodeFile } from './codes-out.ts';
import {
  initialWorld,
  reduceHosted,
  type Failure,
  type HostedCeremonyConfig,
  type HostedEffect,
  type HostedEvent,
  type HostedWorld,
  type InboundMessage,
  type PinSource,
  type PwdEntry,
} from './hosted-ceremony.ts';
import type { HostView } from './host-view.ts';
import { JoinCodeBook } from './join-code-book.ts';
import { SecretVault } from './secret-vault.ts';

/** The coordinator's own secrets, used when no security officer types them. */
export interface LocalSecrets {
  /** the SO-PIN as typed (16 hex digits); the runner wipes it */
  soPin(): Promise<Uint8Array>;
  /** the new user PIN for initialisation; the runner wipes it */
  newPin(): Promise<Uint8Array>;
  /** the user PIN for the final verification, or undefined if none can be had */
  pin(): Promise<Uint8Array | undefined>;
}

export interface RunnerOptions {
  /** the ceremony, without its URL (known once listening) */
  config: Omit<HostedCeremonyConfig, 'url'>;
  hsm: SmartCardHsm;
  deviceDescription: string;
  local: LocalSecrets;
  /** the expected KCV (8 bytes), or null */
  expectKcv: Uint8Array | null;
  /** n-of-m: the share file's 64 bytes */
  pwdFile: Uint8Array | null;
  /** the share-file key derivation with a progress callback (a worker) */
  kdf(signal: AbortSignal, onProgress: (percent: number) => void): ShareFileKdf;
  /** called when re-initialising would erase keys; true to go on */
  confirmDestroy(keyCount: number): boolean | Promise<boolean>;
  view: HostView;
  codesOut: string | null;
  listen: { host: string; port: number };
  server?: { maxConnections?: number; handshakeTimeoutMs?: number; idleTimeoutMs?: number };
  rng?: Rng;
  now?: () => number;
  /** how often slot timeouts are checked (ms); default 1000 */
  tickMs?: number;
}

function failureOf(e: unknown): Failure {
  if (isCeremonyError(e)) return { code: e.code, message: e.message, kind: e.kind, hint: e.hint };
  return { code: 'INTERNAL', message: `an unexpected error: ${(e as Error)?.message ?? String(e)}`, kind: 'bug', hint: 'this is a bug in hsm-ceremony; please report it' };
}

/** The URL custodians use: ws://HOST:PORT/v1 (IPv6 in brackets). */
export function ceremonyUrl(host: string, port: number): string {
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}${WIRE_PATH}`;
}

export class CeremonyRunner {
  readonly vault = new SecretVault();
  readonly codes: JoinCodeBook;
  #o: RunnerOptions;
  #world!: HostedWorld;
  #server: CeremonyServer | null = null;
  #sessions = new Map<number, SecureSession>();
  #queue: HostedEvent[] = [];
  #busy = false;
  #card: Promise<void> = Promise.resolve();
  #abort = new AbortController();
  #finished!: (code: number) => void;
  #done: Promise<number>;
  #tick: NodeJS.Timeout | null = null;
  #url = '';
  #exitCode: number | null = null;

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.codes = new JoinCodeBook(options.rng);
    this.#done = new Promise((r) => (this.#finished = r));
  }

  /** The world as the reducer last left it (public; for tests and views). */
  get world(): HostedWorld {
    return this.#world;
  }

  /** The URL, once listening. */
  get url(): string {
    return this.#url;
  }

  /** The server, once listening (tests read its connection count). */
  get server(): CeremonyServer | null {
    return this.#server;
  }

  /**
   * Starts the server and the ceremony; resolves with the exit code when the ceremony is over.
   *
   * @throws CeremonyError LISTEN_FAILED when the address cannot be bound
   */
  async run(): Promise<number> {
    const o = this.#o;
    this.#server = new CeremonyServer({
      host: o.listen.host,
      port: o.listen.port,
      ...(o.server ?? {}),
      ...(o.rng ? { rng: o.rng } : {}),
      takeCode: (slot) => this.codes.take(slot),
      onCodeBurnt: (slot, error) => this.dispatch({ type: 'code-burnt', slot, code: error.code, message: error.message }),
      onSession: (session) => this.#onSession(session),
      log: (line) => o.view.note(line),
    });
    const addr = await this.#server.listen();
    this.#url = ceremonyUrl(addr.host, addr.port);
    this.#world = initialWorld({ ...o.config, url: this.#url });
    this.#tick = setInterval(() => this.dispatch({ type: 'tick' }), o.tickMs ?? 1000);
    this.#tick.unref();
    this.dispatch({ type: 'start' });
    const code = await this.#done;
    await this.#shutdown();
    return code;
  }

  /** Cancels the ceremony (Ctrl-C on the coordinator). */
  cancel(reason: string): void {
    this.dispatch({ type: 'cancel', reason });
  }

  /** Feeds one event; events raised while another is processed are queued and run in order. */
  dispatch(event: HostedEvent): void {
    this.#queue.push(event);
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        const e = this.#queue.shift()!;
        const now = (this.#o.now ?? Date.now)();
        const { world, effects } = reduceHosted(this.#world, e, now);
        this.#world = world;
        for (const fx of effects) this.#perform(fx);
      }
    } finally {
      this.#busy = false;
    }
  }

  #onSession(session: SecureSession): void {
    const old = this.#sessions.get(session.slot);
    if (old && old.open) {
      // Cannot happen (a slot's code admits one hello), but never let two sessions share a slot.
      session.close(CloseCode.protocolError, 'the slot is taken');
      return;
    }
    this.#sessions.set(session.slot, session);
    session.onMessage = (m) => this.#onMessage(session, m);
    session.onClose = (reason) => {
      if (this.#sessions.get(session.slot) === session) this.#sessions.delete(session.slot);
      this.dispatch({ type: 'left', slot: session.slot, connection: session.id, reason });
    };
    this.dispatch({ type: 'joined', slot: session.slot, connection: session.id, sas: session.sas });
  }

  /** Moves a message's secrets into the vault and hands the reducer the public rest. */
  #onMessage(session: SecureSession, m: CustodianMessage): void {
    let inbound: InboundMessage;
    switch (m.type) {
      case 'hello':
        wipeMessage(m);
        return; // the server handles hello; a second one never gets here
      case 'progress':
      case 'created':
      case 'confirmed':
      case 'decline':
        inbound = m;
        break;
      case 'sign-off':
        // only a plan host (plan-host.ts) asks for sign-offs: an answer nobody asked for
        session.close(CloseCode.protocolError, 'unexpected message', { code: 'WIRE_UNEXPECTED_MESSAGE', message: 'a sign-off that was not asked for', hint: 'update hsm-custodian' });
        return;
      case 'share': {
        const fingerprint = shareFingerprint(m.share);
        inbound = { type: 'share', request: m.request, share: this.vault.put(m.share), fingerprint };
        break;
      }
      case 'pwd-share':
        inbound = { type: 'pwd-share', request: m.request, id: m.id, value: this.vault.put(m.value), prime: m.prime };
        break;
      case 'pins':
        inbound = { type: 'pins', request: m.request, soPin: this.vault.put(m.soPin), pin: this.vault.put(m.pin) };
        break;
      case 'pin':
        inbound = { type: 'pin', request: m.request, pin: this.vault.put(m.pin) };
        break;
      default: {
        const never: never = m;
        return never;
      }
    }
    this.dispatch({ type: 'message', slot: session.slot, connection: session.id, message: inbound });
  }

  #session(slot: number, connection: number): SecureSession | null {
    const s = this.#sessions.get(slot);
    return s && s.id === connection && s.open ? s : null;
  }

  #publish(event: PublicEvent): void {
    this.#o.view.event(event);
    for (const s of this.#sessions.values()) s.send({ type: 'event', event });
  }

  /** Runs a card command after the previous one; its outcome comes back as an event. */
  #onCard(work: () => Promise<HostedEvent>, onError: (f: Failure) => HostedEvent): void {
    this.#card = this.#card.then(async () => {
      let next: HostedEvent;
      try {
        next = await work();
      } catch (e) {
        next = onError(failureOf(e));
      }
      this.dispatch(next);
    });
  }

  /** A copy of a PIN (the caller wipes it); vault entries stay where they are. */
  async #pin(source: PinSource, kind: 'so' | 'new' | 'verify'): Promise<Uint8Array | undefined> {
    if (source !== 'local') return this.vault.peek(source).slice();
    if (kind === 'so') return this.#o.local.soPin();
    if (kind === 'new') return this.#o.local.newPin();
    return this.#o.local.pin();
  }

  #perform(fx: HostedEffect): void {
    const o = this.#o;
    switch (fx.type) {
      case 'send':
        this.#session(fx.slot, fx.connection)?.send(fx.message);
        return;
      case 'send-create': {
        const s = this.#session(fx.slot, fx.connection);
        const challenge = this.vault.take(fx.challenge);
        try {
          s?.send({ type: 'request-create', request: fx.request, fileName: fx.fileName, challenge });
        } finally {
          wipe(challenge);
        }
        return;
      }
      case 'broadcast':
        this.#publish(fx.event);
        return;
      case 'close': {
        const s = this.#session(fx.slot, fx.connection);
        if (s) s.close(fx.error ? CloseCode.protocolError : CloseCode.normal, fx.error?.message ?? 'done', fx.error ?? undefined);
        return;
      }
      case 'issue-code': {
        const code = this.codes.issue(fx.slot);
        const slot = o.config.slots.find((s) => s.slot === fx.slot)!;
        if (o.codesOut !== null) writeCodeFile(o.codesOut, slot.name, code);
        o.view.code(slot, code, this.#url);
        return;
      }
      case 'retire-code':
        this.codes.retire(fx.slot);
        return;
      case 'read-card-status':
        this.#onCard(
          async () => {
            // A device that was never initialised refuses DKEK STATUS; ask the SO-PIN state first.
            const so = await o.hsm.pinStatus('so');
            if (so.state === 'not-initialized') return { type: 'card-status', dkek: null, description: `${o.deviceDescription}, never initialised` };
            const status = await readDkekStatus(o.hsm);
            return { type: 'card-status', dkek: status ? { total: status.total, outstanding: status.outstanding } : null, description: o.deviceDescription };
          },
          (failure) => ({ type: 'card-failed', step: 'status', failure }),
        );
        return;
      case 'initialize-card':
        this.#onCard(
          async () => {
            const soPin = await this.#pin(fx.soPin, 'so');
            const pin = await this.#pin(fx.pin, 'new');
            try {
              const r = await initializeDevice(
                o.hsm,
                { soPin: soPin!, userPin: pin!, dkekShares: fx.dkekShares },
                { confirmDestroy: (n) => o.confirmDestroy(n), signal: this.#abort.signal },
              );
              // the coordinator's own new PIN is needed again for the final verification
              if (fx.pin === 'local') this.#keepVerifyPin(pin!);
              return { type: 'card-initialized', total: r.dkek?.total ?? fx.dkekShares, outstanding: r.dkek?.outstanding ?? fx.dkekShares };
            } finally {
              wipe(soPin, pin);
            }
          },
          (failure) => ({ type: 'card-failed', step: 'initialize', failure }),
        );
        return;
      case 'import-share':
        this.#onCard(
          async () => {
            const share = this.vault.take(fx.share);
            try {
              const status = await o.hsm.importDkekShare(share);
              return { type: 'card-imported', slot: fx.slot, fingerprint: fx.fingerprint, total: status.total, outstanding: status.outstanding };
            } finally {
              wipe(share);
            }
          },
          (failure) => ({ type: 'card-failed', step: 'import', failure, slot: fx.slot }),
        );
        return;
      case 'open-pwd-file':
        void this.#openPwdFile(fx.entries);
        return;
      case 'check-pwd-shares':
        this.dispatch(this.#checkPwdShares(fx.entries));
        return;
      case 'get-challenge':
        this.#onCard(
          async () => {
            const challenge = await o.hsm.getChallenge(32, { secret: true });
            return { type: 'challenge', slot: fx.slot, request: fx.request, challenge: this.vault.put(challenge) };
          },
          (failure) => ({ type: 'card-failed', step: 'challenge', failure, slot: fx.slot }),
        );
        return;
      case 'confirm-dkek':
        this.#onCard(
          async () => {
            const pin = fx.pin === null ? undefined : fx.pin === 'local' && this.#verifyPin ? this.#takeVerifyPin() : await this.#pin(fx.pin, 'verify');
            try {
              const c = await confirmDkek(o.hsm, { pin, expectKcv: o.expectKcv ?? undefined });
              return { type: 'kcv', kcv: c.kcv, expected: c.expected, matches: c.matches, outstanding: c.outstanding };
            } finally {
              wipe(pin);
              // the effect consumes a PIN typed on the security officer's terminal
              if (typeof fx.pin === 'number') this.vault.discard([fx.pin]);
            }
          },
          (failure) => ({ type: 'card-failed', step: 'confirm', failure }),
        );
        return;
      case 'discard':
        this.vault.discard(fx.refs);
        return;
      case 'finish':
        this.#exitCode = fx.exitCode;
        this.#abort.abort();
        for (const s of this.#sessions.values()) s.close(CloseCode.normal, 'the ceremony is over');
        this.#finished(fx.exitCode);
        return;
      default: {
        const never: never = fx;
        return never;
      }
    }
  }

  // The user PIN the coordinator's own secrets gave at initialisation, kept for the final
  // verification so a typed PIN is not asked twice. (A security officer's PIN stays in the vault.)
  #verifyPin: Uint8Array | null = null;
  #keepVerifyPin(pin: Uint8Array): void {
    wipe(this.#verifyPin);
    this.#verifyPin = pin.slice();
  }
  #takeVerifyPin(): Uint8Array {
    const p = this.#verifyPin!;
    this.#verifyPin = null;
    return p;
  }

  #entries(entries: readonly PwdEntry[]): ShareEntry[] {
    return entries.map((e, i) => parseShareInput({ id: e.id, value: this.vault.peek(e.value), prime: e.prime ?? undefined }, i + 1));
  }

  async #openPwdFile(entries: readonly PwdEntry[]): Promise<void> {
    const o = this.#o;
    const used = entries.length;
    try {
      const set = shareSet(this.#entries(entries));
      let last = -1;
      const kdf = o.kdf(this.#abort.signal, (percent) => {
        if (percent === last) return;
        last = percent;
        this.#publish({ type: 'deriving', slot: COORDINATOR_SLOT, name: 'coordinator', percent });
      });
      const opened = await openShareFile(o.pwdFile!, { kind: 'pwd-shares', set }, kdf);
      const fingerprint = shareFingerprint(opened.share);
      this.dispatch({ type: 'pwd-opened', share: this.vault.put(opened.share), fingerprint, used });
    } catch (e) {
      this.dispatch({ type: 'pwd-open-failed', failure: failureOf(e), used });
    }
  }

  #checkPwdShares(entries: readonly PwdEntry[]): HostedEvent {
    try {
      const candidates = passwordCandidates(shareSet(this.#entries(entries)));
      const checked = candidates.length > 0 && candidates[0]!.checked;
      wipeCandidates(candidates);
      return { type: 'pwd-checked', consistent: checked, checked: entries.length, message: checked ? 'every password share fits' : 'the password shares could not be cross-checked' };
    } catch (e) {
      const err = e as CeremonyError;
      return { type: 'pwd-checked', consistent: false, checked: entries.length, message: err.message ?? 'the password shares do not fit together' };
    }
  }

  async #shutdown(): Promise<void> {
    if (this.#tick) clearInterval(this.#tick);
    await this.#card.catch(() => undefined);
    // let the last messages (ceremony-over) leave before the sockets go
    await new Promise((r) => setTimeout(r, 200));
    await this.#server?.close();
    this.codes.retireAll();
    this.vault.wipeAll();
    wipe(this.#verifyPin);
    this.#verifyPin = null;
    if (this.#o.codesOut !== null) for (const s of this.#o.config.slots) removeCodeFile(this.#o.codesOut, s.name);
  }

  /** The exit code once finished, else null. */
  get exitCode(): number | null {
    return this.#exitCode;
  }
}
