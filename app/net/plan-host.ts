/**
 * The network side of `hsm-ceremony host PLAN` (docs/protocol.md §7.3): one slot per person the
 * plan names (custodians, security officer, witnesses), each with one-time join codes, and one
 * request at a time per slot. The plan runner asks through `ask()`; a request waits for its person
 * to join, is re-sent when they rejoin after a disconnect, and settles with their answer.
 *
 * Rules kept here:
 * - a terminal answers only the request it was sent: any other answer (another request number, a
 *   type that does not answer it) closes that connection (WIRE_UNEXPECTED_MESSAGE), its secret
 *   bytes are wiped, and nothing is recorded or settled;
 * - a connection that ends gets a fresh code (the old one is spent); a pending request stays and is
 *   sent again on the next join;
 * - a slot nobody joins within the join timeout is given up: its code is retired and what waits on
 *   it fails with SLOT_TIMED_OUT (sign-offs then fall back to the coordinator);
 * - host PLAN speaks message revision 2 only (request-sign-off, created with the file);
 * - the transcript gets public facts only: joins with the SAS, leaves, codes issued (never the
 *   code), requests sent and settled (what was asked, never the answer's content).
 */
import { incomplete, type CeremonyError } from '../../protocol/errors.ts';
import type { Rng } from '../../protocol/random.ts';
import type { CoordinatorMessage } from '../../protocol/wire/coordinator-messages.ts';
import type { CustodianMessage } from '../../protocol/wire/custodian-messages.ts';
import { wipeMessage } from '../../protocol/wire/message-codec.ts';
import type { PlanSummary, PublicEvent, SlotInfo, SlotRole } from '../../protocol/wire/public-events.ts';
import { CloseCode } from '../../protocol/wire/wire-error.ts';
import { WIRE_VERSION } from '../../protocol/wire/wire-version.ts';
import type { ActorRole } from '../transcript/event.ts';
import type { AppendEvent } from '../transcript/writer.ts';
import { CeremonyServer, type SecureSession } from './ceremony-server.ts';
import { ceremonyUrl } from './ceremony-runner.ts';
import { removeCodeFile, writeCodeFile } from './codes-out.ts';
import type { HostView } from './host-view.ts';
import { JoinCodeBook } from './join-code-book.ts';

/** What a request asks for, as the transcript names it. */
export type RequestWhat = 'pins' | 'pin' | 'create-share' | 'open-share' | 'pwd-share' | 'show-pwd-share' | 'sign-off';

/** The answer types that settle each kind of request (besides decline). */
const ANSWERS: Record<RequestWhat, CustodianMessage['type']> = {
  pins: 'pins',
  pin: 'pin',
  'create-share': 'created',
  'open-share': 'share',
  'pwd-share': 'pwd-share',
  'show-pwd-share': 'confirmed',
  'sign-off': 'sign-off',
};

const WHAT_TEXT: Record<RequestWhat, string> = {
  pins: 'the SO-PIN and the new user PIN',
  pin: 'the user PIN',
  'create-share': 'to create a new DKEK share on their terminal',
  'open-share': 'their DKEK share (opened on their terminal)',
  'pwd-share': 'their password share',
  'show-pwd-share': 'to write down their password share',
  'sign-off': 'their sign-off',
};

export interface PlanSlot extends SlotInfo {
  /** the transcript role of this person */
  actorRole: ActorRole;
}

export interface PlanHostOptions {
  slots: readonly PlanSlot[];
  plan: PlanSummary;
  listen: { host: string; port: number };
  server?: { maxConnections?: number; handshakeTimeoutMs?: number; idleTimeoutMs?: number };
  view: HostView;
  codesOut: string | null;
  /** appends a public event to the transcript */
  record(e: AppendEvent): void;
  /** how long a code waits for its person (ms) */
  joinTimeoutMs: number;
  rng?: Rng;
}

interface Pending {
  id: number;
  what: RequestWhat;
  /** builds the message (again, on a rejoin); it may hold a copy of public or secret bytes */
  build(id: number): CoordinatorMessage;
  resolve(m: CustodianMessage): void;
  reject(e: CeremonyError): void;
  /** release whatever build() holds */
  dispose(): void;
}

interface SlotLive {
  info: PlanSlot;
  session: SecureSession | null;
  generation: number;
  timer: NodeJS.Timeout | null;
  timedOut: boolean;
  pending: Pending | null;
  /** asks waiting for the pending one to settle */
  queue: (() => void)[];
}

export class PlanHost {
  readonly codes: JoinCodeBook;
  #o: PlanHostOptions;
  #server: CeremonyServer | null = null;
  #slots = new Map<number, SlotLive>();
  #nextRequest = 1;
  #url = '';
  #closed = false;

  constructor(o: PlanHostOptions) {
    this.#o = o;
    this.codes = new JoinCodeBook(o.rng);
    for (const s of o.slots) this.#slots.set(s.slot, { info: s, session: null, generation: 0, timer: null, timedOut: false, pending: null, queue: [] });
  }

  get url(): string {
    return this.#url;
  }

  /** The slot of the person named `name` (case-insensitive), or null when they have none. */
  slotOf(name: string): PlanSlot | null {
    const l = name.toLowerCase();
    for (const s of this.#slots.values()) if (s.info.name.toLowerCase() === l) return s.info;
    return null;
  }

  /** True while the person's slot can still be joined or is joined (not timed out). */
  reachable(name: string): boolean {
    const s = this.#live(name);
    return s !== null && !s.timedOut;
  }

  /** Public facts per slot, for screens and tests. */
  status(): { slot: number; name: string; roles: readonly SlotRole[]; joined: boolean; sas: string | null; asked: RequestWhat | null; timedOut: boolean }[] {
    return [...this.#slots.values()].map((s) => ({
      slot: s.info.slot,
      name: s.info.name,
      roles: s.info.roles,
      joined: s.session !== null,
      sas: s.session?.sas ?? null,
      asked: s.pending?.what ?? null,
      timedOut: s.timedOut,
    }));
  }

  /**
   * Listens and shows a code for every slot.
   *
   * @throws CeremonyError usage LISTEN_FAILED when the address cannot be bound
   */
  async start(): Promise<string> {
    const o = this.#o;
    this.#server = new CeremonyServer({
      host: o.listen.host,
      port: o.listen.port,
      ...(o.server ?? {}),
      ...(o.rng ? { rng: o.rng } : {}),
      minVersion: 2,
      takeCode: (slot) => this.codes.take(slot),
      onCodeBurnt: (slot, error) => {
        const s = this.#slots.get(slot);
        if (!s) return;
        this.#publish({ type: 'handshake-failed', slot, name: s.info.name, code: error.code, message: error.message });
        this.#issue(s, 'the previous code was used up by a failed join');
      },
      onSession: (session) => this.#onSession(session),
      log: (line) => o.view.note(line),
    });
    const addr = await this.#server.listen();
    this.#url = ceremonyUrl(addr.host, addr.port);
    this.#publish({ type: 'listening', url: this.#url, slots: o.slots.map((s) => ({ slot: s.slot, name: s.name, roles: s.roles.slice() })), plan: o.plan });
    for (const s of this.#slots.values()) this.#issue(s, 'the ceremony started');
    return this.#url;
  }

  /** A public event for the coordinator screen and every joined terminal. */
  publish(e: PublicEvent): void {
    this.#publish(e);
  }

  /**
   * Sends a request to `name`'s terminal (once they have joined, again after each rejoin) and
   * resolves with the answer; the caller wipes its secret bytes.
   *
   * @throws CeremonyError the terminal's decline (its code, kind usage), incomplete SLOT_TIMED_OUT
   *   when nobody joins the slot in time, incomplete CANCELLED when the signal aborts or the host closes
   */
  ask<T extends CustodianMessage['type']>(
    name: string,
    what: RequestWhat,
    build: (id: number) => CoordinatorMessage,
    options: { signal: AbortSignal; step?: number; dispose?: () => void },
  ): Promise<Extract<CustodianMessage, { type: T }>> {
    const s = this.#live(name);
    if (!s) return Promise.reject(incomplete('NO_SLOT', `${name} has no terminal in this ceremony`));
    return new Promise((resolve, reject) => {
      const go = () => {
        if (this.#closed || options.signal.aborted) {
          options.dispose?.();
          reject(incomplete('CANCELLED', 'the ceremony was stopped'));
          this.#next(s);
          return;
        }
        if (s.timedOut) {
          options.dispose?.();
          reject(timedOut(s));
          this.#next(s);
          return;
        }
        const id = this.#nextRequest++;
        const onAbort = () => p.reject(incomplete('CANCELLED', 'the ceremony was stopped'));
        const settle = () => {
          options.signal.removeEventListener('abort', onAbort);
          if (s.pending === p) s.pending = null;
          options.dispose?.();
          this.#next(s);
        };
        const p: Pending = {
          id,
          what,
          build,
          resolve: (m) => {
            settle();
            this.#request(s, p, m.type === 'decline' ? 'declined' : 'answered', m.type === 'decline' ? m.code : undefined, options.step);
            resolve(m as Extract<CustodianMessage, { type: T }>);
          },
          reject: (e) => {
            if (s.pending !== p) return;
            settle();
            if (s.session) s.session.send({ type: 'cancel', request: id, reason: e.message.slice(0, 300) });
            this.#request(s, p, 'withdrawn', e.code, options.step);
            reject(e);
          },
          dispose: () => options.dispose?.(),
        };
        options.signal.addEventListener('abort', onAbort, { once: true });
        s.pending = p;
        this.#publish({ type: 'asked', slot: s.info.slot, name: s.info.name, what: WHAT_TEXT[what] });
        if (s.session) {
          sendOnce(s.session, build(id));
          this.#request(s, p, 'sent', undefined, options.step);
        }
      };
      if (s.pending === null) go();
      else s.queue.push(go);
    });
  }

  /** Stops listening, withdraws what waits, closes every connection, retires every code. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots.values()) {
      if (s.timer) clearTimeout(s.timer);
      s.pending?.reject(incomplete('CANCELLED', 'the ceremony ended'));
      for (const q of s.queue.splice(0)) q();
      this.codes.retire(s.info.slot);
    }
    for (const s of this.#slots.values()) {
      if (s.session) s.session.close(CloseCode.normal, 'the ceremony is over');
    }
    await this.#server?.close();
    this.codes.retireAll();
    if (this.#o.codesOut !== null) for (const s of this.#o.slots) removeCodeFile(this.#o.codesOut, s.name);
  }

  // ----------------------------------------------------------------------------------------------

  #live(name: string): SlotLive | null {
    const info = this.slotOf(name);
    return info ? this.#slots.get(info.slot)! : null;
  }

  #next(s: SlotLive): void {
    const q = s.queue.shift();
    if (q) q();
  }

  #actor(s: SlotLive) {
    return { role: s.info.actorRole, name: s.info.name };
  }

  #request(s: SlotLive, p: Pending, state: 'sent' | 'resent' | 'answered' | 'declined' | 'withdrawn', code: string | undefined, step: number | undefined): void {
    this.#o.record({
      kind: 'participant-request',
      actor: this.#actor(s),
      step: step ?? null,
      data: { slot: String(s.info.slot), request: p.id, what: p.what, state, ...(code !== undefined && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? { code } : {}) },
    });
  }

  #publish(e: PublicEvent): void {
    this.#o.view.event(e);
    for (const s of this.#slots.values()) s.session?.send({ type: 'event', event: e });
  }

  #issue(s: SlotLive, reason: string): void {
    if (this.#closed || s.timedOut) return;
    s.generation += 1;
    const code = this.codes.issue(s.info.slot);
    if (this.#o.codesOut !== null) writeCodeFile(this.#o.codesOut, s.info.name, code);
    this.#o.view.code(s.info, code, this.#url);
    this.#publish({ type: 'code-issued', slot: s.info.slot, name: s.info.name, generation: s.generation, reason });
    this.#o.record({ kind: 'join-code-issued', actor: this.#actor(s), step: null, data: { slot: String(s.info.slot), generation: s.generation, reason } });
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => this.#timeout(s), this.#o.joinTimeoutMs);
    s.timer.unref();
  }

  #timeout(s: SlotLive): void {
    if (s.session !== null || this.#closed) return;
    s.timedOut = true;
    this.codes.retire(s.info.slot);
    if (this.#o.codesOut !== null) removeCodeFile(this.#o.codesOut, s.info.name);
    this.#publish({ type: 'warning', code: 'SLOT_TIMED_OUT', message: `slot ${s.info.slot} (${s.info.name}) timed out: nobody joined in time; its code no longer works` });
    s.pending?.reject(timedOut(s));
  }

  #onSession(session: SecureSession): void {
    const s = this.#slots.get(session.slot);
    if (!s || this.#closed || (s.session && s.session.open)) {
      session.close(CloseCode.protocolError, 'the slot is taken', { code: 'WIRE_CEREMONY_OVER', message: 'this slot cannot be joined now', hint: 'ask the coordinator' });
      return;
    }
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.session = session;
    session.onMessage = (m) => this.#onMessage(s, session, m);
    session.onClose = (reason) => this.#onClose(s, session, reason);
    session.send({ type: 'welcome', protocol: WIRE_VERSION, slot: s.info.slot, name: s.info.name, roles: s.info.roles.slice(), plan: this.#o.plan, slots: this.#o.slots.map((x) => ({ slot: x.slot, name: x.name, roles: x.roles.slice() })) });
    this.#publish({ type: 'slot-joined', slot: s.info.slot, name: s.info.name, sas: session.sas });
    this.#o.record({ kind: 'custodian-joined', actor: this.#actor(s), step: null, data: { via: 'network', slot: String(s.info.slot), sas: session.sas } });
    const p = s.pending;
    if (p) {
      sendOnce(session, p.build(p.id));
      this.#request(s, p, 'resent', undefined, undefined);
    }
  }

  #onClose(s: SlotLive, session: SecureSession, reason: string): void {
    if (s.session !== session) return;
    s.session = null;
    if (this.#closed) {
      this.#o.record({ kind: 'custodian-left', actor: this.#actor(s), step: null, data: { reason: 'the ceremony ended' } });
      return;
    }
    this.#publish({ type: 'slot-left', slot: s.info.slot, name: s.info.name, reason });
    this.#o.record({ kind: 'custodian-left', actor: this.#actor(s), step: null, data: { reason: reason.slice(0, 2000) || 'the connection ended' } });
    this.#issue(s, 'the previous connection ended');
  }

  #onMessage(s: SlotLive, session: SecureSession, m: CustodianMessage): void {
    if (m.type === 'hello') {
      wipeMessage(m);
      return;
    }
    const p = s.pending;
    const request = m.request;
    if (m.type === 'progress') {
      if (p && p.id === request) this.#publish({ type: 'deriving', slot: s.info.slot, name: s.info.name, percent: m.percent });
      return;
    }
    if (!p || p.id !== request || (m.type !== 'decline' && ANSWERS[p.what] !== m.type)) {
      // an answer to a request this terminal was not sent: hostile or broken; nothing is settled
      wipeMessage(m);
      session.close(CloseCode.protocolError, 'unexpected message', {
        code: 'WIRE_UNEXPECTED_MESSAGE',
        message: `a ${m.type} message for request ${request}, which was not asked of this terminal`,
        hint: 'rejoin with a fresh code; the coordinator asks again',
      });
      return;
    }
    p.resolve(m);
  }
}

/** Sends a freshly built request and wipes its bytes fields (a challenge, a shown share) once sealed. */
function sendOnce(session: SecureSession, m: CoordinatorMessage): void {
  try {
    session.send(m);
  } finally {
    wipeMessage(m);
  }
}

function timedOut(s: SlotLive): CeremonyError {
  return incomplete('SLOT_TIMED_OUT', `${s.info.name} (slot ${s.info.slot}) did not join in time`, {
    hint: 'continue the ceremony later with --resume when they can join (hsm-ceremony host PLAN --transcript FILE)',
  });
}
