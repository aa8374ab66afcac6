/**
 * The hosted ceremony as a pure reducer: `reduceHosted(state, event, now) → { state, effects }`
 * (docs/protocol.md §7). It never awaits, never touches a socket, a card or a clock: the runner
 * (ceremony-runner.ts) performs the effects and feeds their outcomes back as events. So a whole
 * ceremony is a list of events that tests can replay.
 *
 * Secrets never enter this module. The runner moves every secret bytes field of an incoming
 * message (a share, a password-share value, a PIN) into its vault and hands the reducer a
 * `SecretRef` number instead, plus public facts computed from it (a share's fingerprint). Effects
 * name refs; the runner resolves them. State, events and effects are therefore public data, and
 * `broadcast` events go unfiltered to every screen, the `--json` stream and (later) the transcript.
 *
 * Rules the reducer enforces:
 * - one request outstanding per slot; a reply that names another request closes that connection
 *   (WIRE_UNEXPECTED_MESSAGE) and changes nothing else;
 * - a share whose fingerprint was imported (or is being imported) in this ceremony is refused
 *   before it reaches the card: the card XORs shares, so the same share twice cancels itself out;
 * - never more imports than the plan and the card allow;
 * - a slot whose connection ends gets a fresh code; what it already gave stays given;
 * - after the last share: verify the user PIN and read the KCV in the same card session (Pico HSM
 *   commits the DKEK only then), then compare with the expected KCV.
 */

import type { CoordinatorMessage } from '../../protocol/wire/coordinator-messages.ts';
import {
  COORDINATOR_SLOT,
  outcomeExitCode,
  progressText,
  type Outcome,
  type PlanSummary,
  type PublicEvent,
  type SlotInfo,
  type SlotRole,
} from '../../protocol/wire/public-events.ts';
import { WIRE_VERSION } from '../../protocol/wire/wire-version.ts';
import type { ErrorKind } from '../../protocol/errors.ts';

/** A handle to secret bytes held by the runner's vault. */
export type SecretRef = number;

/** Where a PIN comes from: a vault ref (typed on the security officer's terminal) or the coordinator's own secrets. */
export type PinSource = SecretRef | 'local';

export type CeremonyMode = PlanSummary['mode'];

/** Everything fixed when the ceremony starts (public). */
export interface HostedCeremonyConfig {
  slots: readonly SlotInfo[];
  plan: PlanSummary;
  /** the URL custodians use, e.g. ws://127.0.0.1:41234/v1 */
  url: string;
  /** initialise the device first, for `dkekShares` shares; null to use the device as it is */
  initialize: { dkekShares: number } | null;
  /** slot of the security officer, whose terminal types the SO-PIN and user PIN; null = the coordinator's own secrets */
  securityOfficer: number | null;
  /** share files the coordinator holds for custodians (import-passphrase), by slot; public bytes */
  shareFiles: Readonly<Record<number, { fileName: string; file: Uint8Array }>>;
  /** n-of-m: the one share file, its threshold and total */
  pwdShares: { fileName: string; threshold: number; total: number } | null;
  /** how long a slot's code may wait for its custodian (ms) */
  joinTimeoutMs: number;
  /** shares imported by an earlier run of this ceremony (from --resume), by slot name */
  resumed: readonly { name: string; fingerprint: string }[];
}

export type RequestKind = 'share' | 'pwd-share' | 'pins' | 'pin' | 'create' | 'challenge';

export interface SlotState {
  readonly slot: number;
  readonly name: string;
  readonly roles: readonly SlotRole[];
  /** the live connection, or null */
  connection: number | null;
  sas: string | null;
  /** codes issued so far (1 = the first) */
  generation: number;
  /** when the current code was issued (ms), or null while connected, timed out or over */
  codeSince: number | null;
  timedOut: boolean;
  request: { id: number; kind: RequestKind } | null;
  /** this custodian's DKEK share: not yet, on its way to the card, or imported */
  share: 'none' | 'importing' | 'imported';
  fingerprint: string | null;
  /** create-passphrase: the fingerprint of the share made on this custodian's terminal */
  created: string | null;
  /** import-pwd-shares: this custodian's password share is in */
  pwdGiven: boolean;
  /** the request whose share is at the card; its result is sent when the card answers */
  awaitingCard: number | null;
}

export type Phase = 'starting' | 'initializing' | 'collecting' | 'confirming' | 'over';

export interface PwdEntry {
  slot: number;
  id: string;
  prime: string | null;
  value: SecretRef;
}

export interface HostedCeremonyState {
  readonly config: HostedCeremonyConfig;
  phase: Phase;
  nextRequest: number;
  /** the device's DKEK counters as last read */
  card: { total: number; outstanding: number } | null;
  /** shares this run still has to import */
  planned: number;
  /** shares imported by this run */
  importedThisRun: number;
  /** imports sent to the card and not yet answered */
  importing: number;
  /** fingerprints imported or being imported in this ceremony (resumed ones included) */
  fingerprints: string[];
  /** the PINs from the security officer (initialisation), or null */
  pins: { soPin: SecretRef; pin: SecretRef } | null;
  /** the security officer's last answered pins/pin request, for its result */
  pinRequest: number | null;
  /** the user PIN for the final verification */
  verifyPin: PinSource | null;
  pwd: {
    entries: PwdEntry[];
    primeKnown: boolean;
    /** entries in the combination running now, or 0 */
    combining: number;
    /** entries the last failed combination used (a retry needs more) */
    failedWith: number;
    /** entries the successful combination used, or 0 */
    usedCount: number;
    /** entries covered by the last consistency check */
    checkedCount: number;
    done: boolean;
  };
  outcome: { outcome: Outcome; exitCode: number; code: string | null; message: string } | null;
}

/** What an incoming message looks like once the runner has moved its secrets to the vault. */
export type InboundMessage =
  | { type: 'progress'; request: number; percent: number }
  | { type: 'share'; request: number; share: SecretRef; fingerprint: string }
  | { type: 'pwd-share'; request: number; id: string; value: SecretRef; prime?: string | undefined }
  | { type: 'pins'; request: number; soPin: SecretRef; pin: SecretRef }
  | { type: 'pin'; request: number; pin: SecretRef }
  | { type: 'created'; request: number; fingerprint: string }
  | { type: 'confirmed'; request: number }
  | { type: 'decline'; request: number; code: string; message: string };

/** A failure reported by the runner (public parts of a CeremonyError). */
export interface Failure {
  code: string;
  message: string;
  kind: ErrorKind;
  hint?: string | undefined;
}

export type HostedEvent =
  | { type: 'start' }
  | { type: 'card-status'; dkek: { total: number; outstanding: number } | null; description: string }
  | { type: 'code-burnt'; slot: number; code: string; message: string }
  | { type: 'joined'; slot: number; connection: number; sas: string }
  | { type: 'left'; slot: number; connection: number; reason: string }
  | { type: 'message'; slot: number; connection: number; message: InboundMessage }
  | { type: 'card-initialized'; total: number; outstanding: number }
  | { type: 'card-imported'; slot: number; fingerprint: string; total: number; outstanding: number }
  | { type: 'challenge'; slot: number; request: number; challenge: SecretRef }
  | { type: 'pwd-opened'; share: SecretRef; fingerprint: string; used: number }
  | { type: 'pwd-open-failed'; failure: Failure; used: number }
  | { type: 'pwd-checked'; consistent: boolean; message: string; checked: number }
  | { type: 'kcv'; kcv: string | null; expected: string | null; matches: boolean | null; outstanding: number }
  | { type: 'card-failed'; step: 'status' | 'initialize' | 'import' | 'challenge' | 'confirm'; failure: Failure; slot?: number }
  | { type: 'cancel'; reason: string }
  | { type: 'tick' };

export type HostedEffect =
  /** send one public message to a slot's live connection */
  | { type: 'send'; slot: number; connection: number; message: CoordinatorMessage }
  /** send a request-create carrying the card challenge held in the vault */
  | { type: 'send-create'; slot: number; connection: number; request: number; fileName: string; challenge: SecretRef }
  /** a public event for every screen, the JSON stream and the transcript */
  | { type: 'broadcast'; event: PublicEvent }
  /** send `error` (when a code is given) and close the connection */
  | { type: 'close'; slot: number; connection: number; error: { code: string; message: string; hint: string } | null }
  /** draw a fresh join code for the slot (the previous one is already retired) */
  | { type: 'issue-code'; slot: number; generation: number }
  /** retire the slot's live code for good */
  | { type: 'retire-code'; slot: number }
  | { type: 'read-card-status' }
  | { type: 'initialize-card'; soPin: PinSource; pin: PinSource; dkekShares: number }
  | { type: 'import-share'; slot: number; share: SecretRef; fingerprint: string }
  | { type: 'open-pwd-file'; entries: readonly PwdEntry[] }
  | { type: 'check-pwd-shares'; entries: readonly PwdEntry[] }
  | { type: 'get-challenge'; slot: number; request: number }
  | { type: 'confirm-dkek'; pin: PinSource | null }
  /** wipe these vault entries */
  | { type: 'discard'; refs: readonly SecretRef[] }
  /** the ceremony is over: close every connection after the last sends, exit with this code */
  | { type: 'finish'; outcome: Outcome; exitCode: number };

export interface Step {
  state: HostedCeremonyState;
  effects: HostedEffect[];
}

/**
 * The ceremony part of the state before anything happened. Resumed shares (an earlier run's record)
 * count as imported.
 *
 * @throws RangeError for a config that names a slot twice or a security officer that is no slot
 */
export function initialHostedState(config: HostedCeremonyConfig): HostedCeremonyState {
  const seen = new Set<number>();
  for (const s of config.slots) {
    if (seen.has(s.slot)) throw new RangeError(`slot ${s.slot} appears twice`);
    seen.add(s.slot);
  }
  if (config.securityOfficer !== null && !seen.has(config.securityOfficer)) {
    throw new RangeError('securityOfficer must be one of the slots');
  }
  return {
    config,
    phase: 'starting',
    nextRequest: 1,
    card: null,
    planned: 0,
    importedThisRun: 0,
    importing: 0,
    fingerprints: config.resumed.map((r) => r.fingerprint),
    pins: null,
    pinRequest: null,
    verifyPin: null,
    pwd: { entries: [], primeKnown: false, combining: 0, failedWith: 0, usedCount: 0, checkedCount: 0, done: false },
    outcome: null,
  };
}

/** The per-slot state lives beside the ceremony state so the reducer can copy it cheaply. */
export interface HostedWorld {
  ceremony: HostedCeremonyState;
  slots: SlotState[];
}

/** The initial world: ceremony state plus one SlotState per configured slot. */
export function initialWorld(config: HostedCeremonyConfig): HostedWorld {
  const resumed = new Map(config.resumed.map((r) => [r.name, r.fingerprint]));
  const ceremony = initialHostedState(config);
  return {
    ceremony,
    slots: config.slots.map((s) => ({
      slot: s.slot,
      name: s.name,
      roles: s.roles,
      connection: null,
      sas: null,
      generation: 0,
      codeSince: null,
      timedOut: false,
      request: null,
      share: resumed.has(s.name) ? 'imported' : 'none',
      fingerprint: resumed.get(s.name) ?? null,
      created: null,
      pwdGiven: false,
      awaitingCard: null,
    })),
  };
}

export interface WorldStep {
  world: HostedWorld;
  effects: HostedEffect[];
}

// ------------------------------------------------------------------------------------------------
// helpers (they mutate the draft copy made at the top of reduceHosted)

interface Draft {
  c: HostedCeremonyState;
  slots: SlotState[];
  fx: HostedEffect[];
  now: number;
}

const isCustodian = (s: SlotState) => s.roles.includes('custodian');
const isOfficer = (d: Draft, s: SlotState) => d.c.config.securityOfficer === s.slot;
const byNumber = (d: Draft, slot: number) => d.slots.find((s) => s.slot === slot);

function broadcast(d: Draft, event: PublicEvent): void {
  d.fx.push({ type: 'broadcast', event });
}

function send(d: Draft, s: SlotState, message: CoordinatorMessage): void {
  if (s.connection !== null) d.fx.push({ type: 'send', slot: s.slot, connection: s.connection, message });
}

function warn(d: Draft, code: string, message: string): void {
  broadcast(d, { type: 'warning', code, message });
}

function result(d: Draft, s: SlotState, request: number, failure: Omit<Failure, 'kind'> | null): void {
  send(d, s, {
    type: 'result',
    request,
    ok: failure === null,
    code: failure?.code ?? null,
    message: failure?.message ?? null,
    hint: failure?.hint ?? null,
  });
}

function issueCode(d: Draft, s: SlotState, reason: string): void {
  if (d.c.phase === 'over' || s.timedOut) return;
  s.generation += 1;
  s.codeSince = d.now;
  d.fx.push({ type: 'issue-code', slot: s.slot, generation: s.generation });
  broadcast(d, { type: 'code-issued', slot: s.slot, name: s.name, generation: s.generation, reason });
}

function newRequest(d: Draft, s: SlotState, kind: RequestKind): number {
  const id = d.c.nextRequest++;
  s.request = { id, kind };
  return id;
}

function progressEvent(d: Draft, slot: number, name: string, fingerprint: string): PublicEvent {
  const card = d.c.card!;
  return {
    type: 'share-imported',
    slot,
    name,
    fingerprint,
    imported: card.total - card.outstanding,
    total: card.total,
    outstanding: card.outstanding,
  };
}

function finish(d: Draft, outcome: Outcome, code: string | null, message: string, kind?: ErrorKind): void {
  if (d.c.phase === 'over') return;
  d.c.phase = 'over';
  const exitCode = outcomeExitCode(outcome, kind === 'check' || kind === 'usage' || kind === 'device' || kind === 'incomplete' || kind === 'bug' ? kind : undefined);
  d.c.outcome = { outcome, exitCode, code, message };
  broadcast(d, { type: 'ceremony-over', outcome, exitCode, code, message });
  const refs: SecretRef[] = [];
  for (const s of d.slots) {
    s.request = null;
    s.codeSince = null;
    d.fx.push({ type: 'retire-code', slot: s.slot });
  }
  for (const e of d.c.pwd.entries) refs.push(e.value);
  d.c.pwd.entries = [];
  if (d.c.pins) refs.push(d.c.pins.soPin, d.c.pins.pin);
  d.c.pins = null;
  if (typeof d.c.verifyPin === 'number') refs.push(d.c.verifyPin);
  d.c.verifyPin = null;
  if (refs.length > 0) d.fx.push({ type: 'discard', refs });
  d.fx.push({ type: 'finish', outcome, exitCode });
}

function failWith(d: Draft, f: Failure): void {
  finish(d, 'failed', f.code, f.message, f.kind);
}

/** Secret refs an inbound message carries (to discard when it is refused). */
export function refsOf(m: InboundMessage): SecretRef[] {
  switch (m.type) {
    case 'share':
      return [m.share];
    case 'pwd-share':
      return [m.value];
    case 'pins':
      return [m.soPin, m.pin];
    case 'pin':
      return [m.pin];
    case 'progress':
    case 'created':
    case 'confirmed':
    case 'decline':
      return [];
    default: {
      const never: never = m;
      return never;
    }
  }
}

/** Does this slot's custodian still have to give something in the current plan? */
function custodianOwes(d: Draft, s: SlotState): boolean {
  if (!isCustodian(s)) return false;
  switch (d.c.config.plan.mode) {
    case 'import-passphrase':
    case 'create-passphrase':
      return s.share === 'none';
    case 'import-pwd-shares':
      return !s.pwdGiven && !d.c.pwd.done;
    case 'create-pwd-shares':
      return false;
    default:
      return false;
  }
}

/** Can the ceremony still finish if no further slot times out? */
function stillPossible(d: Draft): boolean {
  const alive = (s: SlotState) => !s.timedOut;
  if (d.c.phase === 'initializing' && d.c.config.securityOfficer !== null && d.c.pins === null) {
    if (!alive(byNumber(d, d.c.config.securityOfficer)!)) return false;
  }
  if (d.c.phase === 'confirming' && d.c.verifyPin === null && d.c.config.securityOfficer !== null) {
    if (!alive(byNumber(d, d.c.config.securityOfficer)!)) return false;
  }
  const mode = d.c.config.plan.mode;
  if (mode === 'import-pwd-shares') {
    if (d.c.pwd.done) return true;
    const possible = d.slots.filter((s) => isCustodian(s) && (s.pwdGiven || alive(s))).length;
    return possible >= d.c.config.pwdShares!.threshold;
  }
  return d.slots.every((s) => !isCustodian(s) || s.share !== 'none' || alive(s));
}

/** What to ask a connected slot that has no open request, given the phase. */
function ask(d: Draft, s: SlotState): void {
  if (s.connection === null || s.request !== null || d.c.phase === 'over') return;
  const cfg = d.c.config;
  if (d.c.phase === 'initializing' && isOfficer(d, s) && d.c.pins === null) {
    const request = newRequest(d, s, 'pins');
    send(d, s, { type: 'request-pins', request, dkekShares: cfg.initialize!.dkekShares });
    broadcast(d, { type: 'asked', slot: s.slot, name: s.name, what: 'SO-PIN and user PIN to initialise the device' });
    return;
  }
  if (d.c.phase === 'confirming' && isOfficer(d, s) && d.c.verifyPin === null) {
    const request = newRequest(d, s, 'pin');
    send(d, s, { type: 'request-pin', request });
    broadcast(d, { type: 'asked', slot: s.slot, name: s.name, what: 'the user PIN to confirm the DKEK' });
    return;
  }
  if (d.c.phase !== 'collecting' || !custodianOwes(d, s)) return;
  if (d.c.importedThisRun + d.c.importing >= d.c.planned && cfg.plan.mode !== 'import-pwd-shares') return;
  switch (cfg.plan.mode) {
    case 'import-passphrase': {
      const request = newRequest(d, s, 'share');
      const held = cfg.shareFiles[s.slot];
      send(d, s, {
        type: 'request-share',
        request,
        fileName: held?.fileName ?? null,
        ...(held ? { file: held.file } : {}),
      });
      broadcast(d, { type: 'asked', slot: s.slot, name: s.name, what: 'their DKEK share (passphrase typed on their terminal)' });
      return;
    }
    case 'create-passphrase': {
      if (s.created === null) {
        const request = newRequest(d, s, 'challenge');
        d.fx.push({ type: 'get-challenge', slot: s.slot, request });
      } else {
        const request = newRequest(d, s, 'share');
        send(d, s, { type: 'request-share', request, fileName: `${s.name}.pbe`, fingerprint: s.created });
        broadcast(d, { type: 'asked', slot: s.slot, name: s.name, what: 'the share they created, for import' });
      }
      return;
    }
    case 'import-pwd-shares': {
      // The prime is public; every custodian who has it may type it until one has.
      const needPrime = !d.c.pwd.primeKnown;
      const request = newRequest(d, s, 'pwd-share');
      const ps = cfg.pwdShares!;
      send(d, s, { type: 'request-pwd-share', request, fileName: ps.fileName, threshold: ps.threshold, total: ps.total, needPrime });
      broadcast(d, { type: 'asked', slot: s.slot, name: s.name, what: `their password share${needPrime ? ' (and the prime, if they have it)' : ''}` });
      return;
    }
    case 'create-pwd-shares':
    case 'plan': // a plan host (plan-host.ts) asks through the plan's steps, not this reducer
      return;
    default: {
      const never: never = cfg.plan.mode;
      return never;
    }
  }
}

function askEveryone(d: Draft): void {
  for (const s of d.slots) ask(d, s);
}

/** Cancels open requests that the plan no longer needs (e.g. extra shares once the DKEK is complete). */
function cancelNeedless(d: Draft, reason: string): void {
  for (const s of d.slots) {
    if (s.request === null || s.connection === null) continue;
    const k = s.request.kind;
    const needless =
      ((k === 'share' || k === 'challenge' || k === 'create') && d.c.importedThisRun + d.c.importing >= d.c.planned) ||
      (k === 'pwd-share' && d.c.pwd.done);
    if (needless) {
      send(d, s, { type: 'cancel', request: s.request.id, reason });
      s.request = null;
    }
  }
}

function startCollecting(d: Draft): void {
  const card = d.c.card!;
  const cfg = d.c.config;
  const oneFile = cfg.plan.mode === 'import-pwd-shares' || cfg.plan.mode === 'create-pwd-shares';
  const wanted = oneFile ? (cfg.resumed.length > 0 ? 0 : 1) : d.slots.filter((s) => isCustodian(s) && s.share === 'none').length;
  if (card.outstanding === 0) {
    d.c.planned = 0;
    startConfirming(d);
    return;
  }
  if (wanted > card.outstanding) {
    failWith(d, {
      code: 'TOO_MANY_SHARES',
      message: `this ceremony would import ${wanted} shares, but the device expects only ${card.outstanding} more (${progressText(card.total - card.outstanding, card.total, card.outstanding)})`,
      kind: 'usage',
      hint: 'name only the custodians whose shares are missing, or re-initialise the device with --init --dkek-shares N',
    });
    return;
  }
  d.c.planned = wanted;
  d.c.phase = 'collecting';
  if (wanted === 0) {
    startConfirming(d);
    return;
  }
  askEveryone(d);
}

function startConfirming(d: Draft): void {
  d.c.phase = 'confirming';
  cancelNeedless(d, 'every share this ceremony needs has been imported');
  const card = d.c.card!;
  if (card.outstanding > 0) {
    finish(d, 'incomplete', 'DKEK_INCOMPLETE', `this ceremony imported its shares, but the device still expects ${card.outstanding} more (${progressText(card.total - card.outstanding, card.total, card.outstanding)})`, 'incomplete');
    return;
  }
  if (d.c.verifyPin === null && d.c.config.securityOfficer === null) d.c.verifyPin = 'local';
  if (d.c.verifyPin === null && d.c.pins !== null) {
    d.c.verifyPin = d.c.pins.pin;
    d.fx.push({ type: 'discard', refs: [d.c.pins.soPin] });
    d.c.pins = null;
  }
  if (d.c.verifyPin !== null) {
    const pin = d.c.verifyPin;
    d.c.verifyPin = null; // handed to the effect, which wipes it
    d.fx.push({ type: 'confirm-dkek', pin });
    return;
  }
  askEveryone(d); // the security officer is asked for the PIN
}

function slotFor(d: Draft, slot: number, connection: number): SlotState | null {
  const s = byNumber(d, slot);
  return s && s.connection === connection ? s : null;
}

function protocolClose(d: Draft, s: SlotState, message: string): void {
  if (s.connection === null) return;
  d.fx.push({
    type: 'close',
    slot: s.slot,
    connection: s.connection,
    error: { code: 'WIRE_UNEXPECTED_MESSAGE', message, hint: 'rejoin with a new join code from the coordinator' },
  });
}

function onMessage(d: Draft, s: SlotState, m: InboundMessage): void {
  const refs = refsOf(m);
  const discard = () => {
    if (refs.length > 0) d.fx.push({ type: 'discard', refs });
  };
  if (d.c.phase === 'over') {
    discard();
    return;
  }
  const open = s.request;
  if (open === null || open.id !== m.request) {
    discard();
    protocolClose(d, s, `a ${m.type} message for request ${m.request}, which is not open`);
    return;
  }
  const expected: Record<RequestKind, InboundMessage['type'][]> = {
    share: ['share', 'progress', 'decline'],
    'pwd-share': ['pwd-share', 'decline'],
    pins: ['pins', 'decline'],
    pin: ['pin', 'decline'],
    create: ['created', 'progress', 'decline'],
    challenge: [],
  };
  if (!expected[open.kind].includes(m.type)) {
    discard();
    protocolClose(d, s, `a ${m.type} message answering a ${open.kind} request`);
    return;
  }
  switch (m.type) {
    case 'progress':
      broadcast(d, { type: 'deriving', slot: s.slot, name: s.name, percent: m.percent });
      return;
    case 'decline':
      s.request = null;
      warn(d, 'REQUEST_DECLINED', `${s.name} could not answer: ${m.message}`);
      d.fx.push({ type: 'close', slot: s.slot, connection: s.connection!, error: null });
      return;
    case 'share': {
      s.request = null;
      if (d.c.fingerprints.includes(m.fingerprint)) {
        discard();
        const failure = {
          code: 'SHARE_ALREADY_IMPORTED',
          message: `a share with fingerprint ${m.fingerprint} was already imported in this ceremony`,
          hint: 'the same share twice cancels itself out in the DKEK; bring your own share file and rejoin with a new code',
        };
        result(d, s, m.request, failure);
        broadcast(d, { type: 'share-refused', slot: s.slot, name: s.name, code: failure.code, message: failure.message });
        d.fx.push({ type: 'close', slot: s.slot, connection: s.connection!, error: null });
        return;
      }
      if (d.c.phase !== 'collecting' || d.c.importedThisRun + d.c.importing >= d.c.planned) {
        discard();
        result(d, s, m.request, { code: 'SHARE_NOT_NEEDED', message: 'the ceremony needs no more shares', hint: 'nothing to do' });
        return;
      }
      if (s.created !== null && m.fingerprint !== s.created) {
        discard();
        const failure = {
          code: 'SHARE_NOT_THE_CREATED_ONE',
          message: `the share sent has fingerprint ${m.fingerprint}, not ${s.created} as created`,
          hint: 'open the share file created in this ceremony and rejoin with a new code',
        };
        result(d, s, m.request, failure);
        broadcast(d, { type: 'share-refused', slot: s.slot, name: s.name, code: failure.code, message: failure.message });
        d.fx.push({ type: 'close', slot: s.slot, connection: s.connection!, error: null });
        return;
      }
      s.share = 'importing';
      s.awaitingCard = m.request;
      s.fingerprint = m.fingerprint;
      d.c.fingerprints.push(m.fingerprint);
      d.c.importing += 1;
      d.fx.push({ type: 'import-share', slot: s.slot, share: m.share, fingerprint: m.fingerprint });
      cancelNeedless(d, 'every share this ceremony needs is on its way to the card');
      return;
    }
    case 'pwd-share': {
      s.request = null;
      const pwd = d.c.pwd;
      if (m.prime !== undefined) pwd.primeKnown = true;
      s.pwdGiven = true;
      pwd.entries.push({ slot: s.slot, id: m.id, prime: m.prime ?? null, value: m.value });
      const threshold = d.c.config.pwdShares!.threshold;
      result(d, s, m.request, null);
      broadcast(d, { type: 'pwd-share-received', slot: s.slot, name: s.name, received: pwd.entries.length, threshold });
      maybeCombine(d);
      return;
    }
    case 'pins':
      s.request = null;
      if (d.c.phase !== 'initializing' || !isOfficer(d, s) || d.c.pins !== null) {
        discard();
        protocolClose(d, s, 'PINs that were not asked for');
        return;
      }
      d.c.pins = { soPin: m.soPin, pin: m.pin };
      d.c.pinRequest = m.request;
      d.fx.push({ type: 'initialize-card', soPin: m.soPin, pin: m.pin, dkekShares: d.c.config.initialize!.dkekShares });
      return;
    case 'pin':
      s.request = null;
      if (d.c.phase !== 'confirming') {
        discard();
        return;
      }
      d.c.pinRequest = m.request;
      d.fx.push({ type: 'confirm-dkek', pin: m.pin });
      return;
    case 'created':
      s.request = null;
      if (d.c.fingerprints.includes(m.fingerprint)) {
        const failure = { code: 'SHARE_ALREADY_IMPORTED', message: `a share with fingerprint ${m.fingerprint} was already imported in this ceremony`, hint: 'create the share again' };
        result(d, s, m.request, failure);
        d.fx.push({ type: 'close', slot: s.slot, connection: s.connection!, error: null });
        return;
      }
      s.created = m.fingerprint;
      broadcast(d, { type: 'share-created', slot: s.slot, name: s.name, fingerprint: m.fingerprint });
      ask(d, s);
      return;
    case 'confirmed':
      s.request = null;
      return;
    default: {
      const never: never = m;
      return never;
    }
  }
}

function maybeCombine(d: Draft): void {
  const pwd = d.c.pwd;
  const threshold = d.c.config.pwdShares!.threshold;
  if (pwd.done || pwd.combining > 0 || d.c.phase !== 'collecting') {
    if (pwd.done && pwd.combining === 0 && pwd.entries.length > pwd.checkedCount) {
      pwd.checkedCount = pwd.entries.length;
      d.fx.push({ type: 'check-pwd-shares', entries: pwd.entries.slice() });
    }
    return;
  }
  if (pwd.entries.length < threshold || pwd.entries.length <= pwd.failedWith) return;
  if (!pwd.primeKnown) {
    const more = d.slots.some((s) => isCustodian(s) && !s.pwdGiven && !s.timedOut);
    if (!more) {
      failWith(d, {
        code: 'PWD_SHARES_PRIME_MISSING',
        message: 'every custodian gave a password share, but none gave the prime',
        kind: 'usage',
        hint: 'the prime is printed with the shares ("Prime : …"); start again and have one custodian type it',
      });
    }
    return;
  }
  pwd.combining = pwd.entries.length;
  d.fx.push({ type: 'open-pwd-file', entries: pwd.entries.slice() });
}

function onLeft(d: Draft, s: SlotState, reason: string): void {
  s.connection = null;
  s.sas = null;
  s.request = null; // whatever was half-typed there is discarded on that terminal
  broadcast(d, { type: 'slot-left', slot: s.slot, name: s.name, reason });
  issueCode(d, s, 'the previous connection ended');
}

/**
 * One step of the hosted ceremony. Pure: the inputs are not modified; the returned world is a new
 * copy. `now` is the current time in milliseconds (used for slot timeouts only).
 */
export function reduceHosted(world: HostedWorld, event: HostedEvent, now: number): WorldStep {
  const d: Draft = {
    c: structuredCloneState(world.ceremony),
    slots: world.slots.map((s) => ({ ...s, request: s.request === null ? null : { ...s.request } })),
    fx: [],
    now,
  };
  step(d, event);
  return { world: { ceremony: d.c, slots: d.slots }, effects: d.fx };
}

function structuredCloneState(c: HostedCeremonyState): HostedCeremonyState {
  return {
    ...c,
    card: c.card === null ? null : { ...c.card },
    fingerprints: c.fingerprints.slice(),
    pins: c.pins === null ? null : { ...c.pins },
    pwd: { ...c.pwd, entries: c.pwd.entries.slice() },
    outcome: c.outcome === null ? null : { ...c.outcome },
  };
}

function step(d: Draft, e: HostedEvent): void {
  if (d.c.phase === 'over' && e.type !== 'message' && e.type !== 'left' && e.type !== 'joined') return;
  switch (e.type) {
    case 'start': {
      const cfg = d.c.config;
      broadcast(d, { type: 'listening', url: cfg.url, slots: cfg.slots.slice(), plan: cfg.plan });
      for (const s of d.slots) issueCode(d, s, 'the ceremony started');
      d.fx.push({ type: 'read-card-status' });
      return;
    }
    case 'card-status': {
      const cfg = d.c.config;
      if (cfg.initialize !== null) {
        d.c.phase = 'initializing';
        if (e.dkek) broadcast(d, { type: 'card', total: e.dkek.total, outstanding: e.dkek.outstanding, imported: e.dkek.total - e.dkek.outstanding, description: e.description });
        if (cfg.securityOfficer === null) {
          d.fx.push({ type: 'initialize-card', soPin: 'local', pin: 'local', dkekShares: cfg.initialize.dkekShares });
        } else {
          askEveryone(d);
        }
        return;
      }
      if (e.dkek === null) {
        failWith(d, {
          code: 'NO_DKEK',
          message: 'the device has no DKEK shares to import (it was initialised without --dkek-shares)',
          kind: 'device',
          hint: 'initialise it for this ceremony: add --init --dkek-shares N',
        });
        return;
      }
      d.c.card = { ...e.dkek };
      const imported = e.dkek.total - e.dkek.outstanding;
      broadcast(d, { type: 'card', total: e.dkek.total, outstanding: e.dkek.outstanding, imported, description: e.description });
      if (imported < cfg.resumed.length) {
        failWith(d, {
          code: 'RESUME_MISMATCH',
          message: `the record names ${cfg.resumed.length} imported shares, but the device holds only ${imported}`,
          kind: 'usage',
          hint: 'the device was re-initialised or is another device; start a new ceremony without --resume',
        });
        return;
      }
      if (imported > cfg.resumed.length) {
        warn(d, 'UNRECORDED_IMPORTS', `the device already holds ${imported} shares, ${imported - cfg.resumed.length} of them not in this ceremony's record; only ${e.dkek.outstanding} more will be imported`);
      }
      startCollecting(d);
      return;
    }
    case 'card-initialized': {
      d.c.card = { total: e.total, outstanding: e.outstanding };
      if (d.c.pins) {
        d.c.verifyPin = d.c.pins.pin;
        d.fx.push({ type: 'discard', refs: [d.c.pins.soPin] });
        d.c.pins = null;
      }
      const so = d.c.config.securityOfficer === null ? null : byNumber(d, d.c.config.securityOfficer)!;
      if (so && d.c.pinRequest !== null) result(d, so, d.c.pinRequest, null);
      d.c.pinRequest = null;
      broadcast(d, { type: 'initialized', dkekShares: e.total });
      broadcast(d, { type: 'card', total: e.total, outstanding: e.outstanding, imported: e.total - e.outstanding, description: 'initialised' });
      startCollecting(d);
      return;
    }
    case 'code-burnt': {
      const s = byNumber(d, e.slot);
      if (!s) return;
      broadcast(d, { type: 'handshake-failed', slot: s.slot, name: s.name, code: e.code, message: e.message });
      issueCode(d, s, 'the previous code was used up by a failed join');
      return;
    }
    case 'joined': {
      const s = byNumber(d, e.slot);
      if (!s) return;
      s.connection = e.connection;
      s.sas = e.sas;
      s.codeSince = null;
      if (d.c.phase === 'over') {
        d.fx.push({ type: 'close', slot: s.slot, connection: e.connection, error: { code: 'WIRE_CEREMONY_OVER', message: 'the ceremony is over', hint: 'read the coordinator screen for the outcome' } });
        return;
      }
      const cfg = d.c.config;
      send(d, s, { type: 'welcome', protocol: WIRE_VERSION, slot: s.slot, name: s.name, roles: s.roles.slice(), plan: cfg.plan, slots: cfg.slots.slice() });
      broadcast(d, { type: 'slot-joined', slot: s.slot, name: s.name, sas: e.sas });
      if (d.c.card) {
        const c = d.c.card;
        send(d, s, { type: 'event', event: { type: 'card', total: c.total, outstanding: c.outstanding, imported: c.total - c.outstanding, description: 'current status' } });
      }
      ask(d, s);
      return;
    }
    case 'left': {
      const s = slotFor(d, e.slot, e.connection);
      if (!s) return;
      if (d.c.phase === 'over') {
        s.connection = null;
        return;
      }
      onLeft(d, s, e.reason);
      return;
    }
    case 'message': {
      const s = slotFor(d, e.slot, e.connection);
      if (!s) {
        const refs = refsOf(e.message);
        if (refs.length > 0) d.fx.push({ type: 'discard', refs });
        return;
      }
      onMessage(d, s, e.message);
      return;
    }
    case 'card-imported': {
      const s = byNumber(d, e.slot);
      d.c.importing = Math.max(0, d.c.importing - 1);
      d.c.importedThisRun += 1;
      d.c.card = { total: e.total, outstanding: e.outstanding };
      const name = s?.name ?? 'coordinator';
      if (s) {
        s.share = 'imported';
        if (s.awaitingCard !== null) result(d, s, s.awaitingCard, null);
        s.awaitingCard = null;
      }
      broadcast(d, progressEvent(d, e.slot, name, e.fingerprint));
      if (d.c.importedThisRun >= d.c.planned || e.outstanding === 0) {
        startConfirming(d);
      } else {
        askEveryone(d);
      }
      return;
    }
    case 'challenge': {
      const s = byNumber(d, e.slot);
      if (!s || s.connection === null || s.request?.id !== e.request || d.c.phase !== 'collecting') {
        d.fx.push({ type: 'discard', refs: [e.challenge] });
        return;
      }
      s.request = { id: e.request, kind: 'create' };
      d.fx.push({ type: 'send-create', slot: s.slot, connection: s.connection, request: e.request, fileName: `${s.name}.pbe`, challenge: e.challenge });
      broadcast(d, { type: 'asked', slot: s.slot, name: s.name, what: 'to create a new DKEK share on their terminal' });
      return;
    }
    case 'pwd-opened': {
      const pwd = d.c.pwd;
      pwd.combining = 0;
      pwd.done = true;
      pwd.usedCount = e.used;
      pwd.checkedCount = e.used;
      if (d.c.fingerprints.includes(e.fingerprint)) {
        d.fx.push({ type: 'discard', refs: [e.share] });
        failWith(d, { code: 'SHARE_ALREADY_IMPORTED', message: `the share in ${d.c.config.pwdShares!.fileName} (fingerprint ${e.fingerprint}) was already imported`, kind: 'check', hint: 'the device already holds this share; nothing more to do' });
        return;
      }
      d.c.fingerprints.push(e.fingerprint);
      d.c.importing += 1;
      d.fx.push({ type: 'import-share', slot: COORDINATOR_SLOT, share: e.share, fingerprint: e.fingerprint });
      cancelNeedless(d, 'enough password shares are in; the share file is open');
      maybeCombine(d); // check the shares that arrived meanwhile
      return;
    }
    case 'pwd-open-failed': {
      const pwd = d.c.pwd;
      pwd.combining = 0;
      pwd.failedWith = e.used;
      warn(d, e.failure.code, `the password shares could not open ${d.c.config.pwdShares!.fileName}: ${e.failure.message}`);
      if (pwd.entries.length > e.used) {
        maybeCombine(d);
        return;
      }
      const more = d.slots.some((s) => isCustodian(s) && !s.pwdGiven && !s.timedOut);
      if (!more) failWith(d, e.failure);
      return;
    }
    case 'pwd-checked': {
      if (!e.consistent) warn(d, 'PWD_SHARES_DO_NOT_FIT', e.message);
      maybeCombine(d);
      return;
    }
    case 'kcv': {
      const so = d.c.config.securityOfficer === null ? null : byNumber(d, d.c.config.securityOfficer)!;
      if (so && d.c.pinRequest !== null) result(d, so, d.c.pinRequest, null);
      d.c.pinRequest = null;
      broadcast(d, { type: 'kcv', kcv: e.kcv, expected: e.expected, matches: e.matches });
      if (e.matches === false) {
        finish(d, 'kcv-mismatch', e.kcv === null ? 'KCV_UNKNOWN' : 'KCV_MISMATCH', e.kcv === null ? `the device shows no key check value to compare with ${e.expected}` : `the device DKEK has KCV ${e.kcv}, but ${e.expected} was expected`, 'check');
      } else {
        finish(d, 'done', null, e.kcv === null ? 'every share is imported; the device shows no KCV' : `every share is imported; the DKEK key check value is ${e.kcv}`);
      }
      return;
    }
    case 'card-failed': {
      const f = e.failure;
      const so = d.c.config.securityOfficer === null ? null : byNumber(d, d.c.config.securityOfficer)!;
      // A PIN typed wrong on the security officer's terminal: tell them, ask again.
      if ((e.step === 'initialize' || e.step === 'confirm') && so && (f.kind === 'check' || f.kind === 'usage') && f.code !== 'PIN_BLOCKED') {
        if (e.step === 'initialize' && d.c.pins) {
          d.fx.push({ type: 'discard', refs: [d.c.pins.soPin, d.c.pins.pin] });
          d.c.pins = null;
        }
        warn(d, f.code, f.message);
        if (d.c.pinRequest !== null) result(d, so, d.c.pinRequest, f);
        d.c.pinRequest = null;
        askEveryone(d);
        return;
      }
      if (e.step === 'challenge' && e.slot !== undefined) {
        const s = byNumber(d, e.slot);
        if (s) s.request = null;
      }
      failWith(d, f);
      return;
    }
    case 'cancel':
      finish(d, 'cancelled', 'CANCELLED', `the coordinator cancelled the ceremony: ${e.reason}`, 'incomplete');
      return;
    case 'tick': {
      let changed = false;
      for (const s of d.slots) {
        if (s.codeSince === null || s.timedOut || s.connection !== null) continue;
        if (d.now - s.codeSince < d.c.config.joinTimeoutMs) continue;
        s.timedOut = true;
        s.codeSince = null;
        changed = true;
        d.fx.push({ type: 'retire-code', slot: s.slot });
        const minutes = Math.round(d.c.config.joinTimeoutMs / 60000);
        const span = d.c.config.joinTimeoutMs >= 60000 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${Math.round(d.c.config.joinTimeoutMs / 1000)} seconds`;
        warn(d, 'SLOT_TIMED_OUT', `slot ${s.slot} (${s.name}) timed out: nobody joined within ${span}; its code no longer works`);
      }
      if (changed && !stillPossible(d)) {
        const missing = d.slots.filter((s) => s.timedOut && (custodianOwes(d, s) || isOfficer(d, s))).map((s) => s.name);
        finish(d, 'incomplete', 'SLOT_TIMED_OUT', `the ceremony cannot finish: ${missing.join(', ')} did not join in time`, 'incomplete');
      }
      return;
    }
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** The public slot list of a config (for screens). */
export function slotSummary(world: HostedWorld): { slot: number; name: string; roles: readonly SlotRole[]; connected: boolean; share: SlotState['share'] }[] {
  return world.slots.map((s) => ({ slot: s.slot, name: s.name, roles: s.roles, connected: s.connection !== null, share: s.share }));
}
