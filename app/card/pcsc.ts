/**
 * CardTransport over pcsc-lite, through the optional native binding `smartcard` (N-API; chosen in
 * docs/decisions/0002-pcsc-binding.md). The binding is loaded lazily with a dynamic `import()`, so
 * the program, the simulator and `npm install` all work on a machine without libpcsclite; asking
 * for a real reader there fails with PCSC_UNAVAILABLE and says how to install it.
 *
 * Errors are CeremonyErrors of kind 'device':
 * - PCSC_UNAVAILABLE: the binding is not installed or did not build;
 * - NO_PCSCD: the PC/SC daemon is not running (or stopped mid-session);
 * - CARD_REMOVED: the card went away (or was reset by another program) during or between commands;
 * - READER_GONE: the reader was unplugged or is unknown;
 * - CARD_IN_USE: another program holds the card exclusively;
 * - NO_CARD: the reader holds no card;
 * - TRANSMIT_FAILED / PCSC_ERROR: anything else pcsc-lite reports.
 *
 * The binding throws plain `Error`s whose messages are fixed strings per PC/SC return code
 * ("Card was removed", "Sharing violation", …); `classifyPcscError` maps them. The exact binding
 * version is pinned, and test/unit/card-pcsc.test.ts checks the mapping against a real pcscd.
 */
import { Buffer } from 'node:buffer';
import { deviceError, type CeremonyError } from '../../protocol/errors.ts';
import type { CardTransport, TransportInfo } from './transport.ts';

// -------------------------------------------------------------------------------------------------
// The part of the `smartcard` package this adapter uses (declared here so type-checking does not
// depend on the optional package being installed).

/** A reader as the binding lists it. */
export interface BindingReader {
  readonly name: string;
  readonly state: number;
  readonly atr: Uint8Array | null;
  connect(shareMode?: number, protocol?: number): Promise<BindingCard>;
}

/** A connected card. */
export interface BindingCard {
  readonly protocol: number;
  readonly atr: Uint8Array | null;
  transmit(command: Uint8Array, options?: { maxRecvLength?: number }): Promise<Uint8Array>;
  disconnect(disposition?: number): void;
}

export interface BindingReaderState {
  name: string;
  state: number;
  changed: boolean;
  atr: Uint8Array | null;
}

/** A PC/SC context (SCardEstablishContext). */
export interface BindingContext {
  readonly isValid: boolean;
  listReaders(): BindingReader[];
  waitForChange(readers?: BindingReader[], timeout?: number): Promise<BindingReaderState[] | null>;
  cancel(): void;
  close(): void;
}

/** What the adapter needs from the `smartcard` module. */
export interface PcscBinding {
  Context: new () => BindingContext;
  SCARD_SHARE_EXCLUSIVE: number;
  SCARD_PROTOCOL_T1: number;
  SCARD_LEAVE_CARD: number;
  SCARD_RESET_CARD: number;
  SCARD_STATE_PRESENT: number;
  SCARD_STATE_EXCLUSIVE: number;
  SCARD_STATE_MUTE: number;
}

/** How to load a module by name; injectable so tests can simulate a missing binding. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** The npm package holding the binding (exact version pinned in package.json). */
export const PCSC_BINDING_PACKAGE = 'smartcard';

const INSTALL_HINT =
  'install pcscd and libpcsclite-dev (Debian: apt-get install pcscd libpcsclite-dev g++ make python3), then run `npm rebuild smartcard`; or use --sim for the built-in simulator';

let cachedBinding: Promise<PcscBinding> | undefined;

/**
 * Loads the native PC/SC binding once.
 *
 * @throws CeremonyError device PCSC_UNAVAILABLE when it is not installed or fails to load
 */
export async function loadPcscBinding(importer?: ModuleImporter): Promise<PcscBinding> {
  if (importer) return importBinding(importer);
  cachedBinding ??= importBinding((s) => import(s)).catch((e: unknown) => {
    cachedBinding = undefined;
    throw e;
  });
  return cachedBinding;
}

async function importBinding(importer: ModuleImporter): Promise<PcscBinding> {
  let mod: unknown;
  try {
    mod = await importer(PCSC_BINDING_PACKAGE);
  } catch (cause) {
    throw deviceError('PCSC_UNAVAILABLE', 'the PC/SC binding (npm package smartcard) is not installed or did not build', { hint: INSTALL_HINT, cause });
  }
  // CommonJS seen from ESM: the exports may sit on `default`.
  const m = mod as Partial<PcscBinding> & { default?: Partial<PcscBinding> };
  const b = (typeof m.Context === 'function' ? m : m.default) as Partial<PcscBinding> | undefined;
  if (!b || typeof b.Context !== 'function' || typeof b.SCARD_SHARE_EXCLUSIVE !== 'number') {
    throw deviceError('PCSC_UNAVAILABLE', 'the installed smartcard package does not look like the PC/SC binding this version expects', { hint: INSTALL_HINT });
  }
  return b as PcscBinding;
}

// -------------------------------------------------------------------------------------------------
// Errors

export type PcscErrorCode = 'NO_PCSCD' | 'CARD_REMOVED' | 'READER_GONE' | 'CARD_IN_USE' | 'NO_CARD' | 'TRANSMIT_FAILED' | 'PCSC_ERROR';

/**
 * Turns a binding error into a CeremonyError naming what happened. `during` says what was being
 * done ("connecting to", "sending a command to"); `reader` names the reader.
 */
export function classifyPcscError(error: unknown, during: 'listing readers' | 'waiting for a card' | 'connecting to' | 'sending a command to' | 'opening PC/SC', reader?: string): CeremonyError {
  const text = error instanceof Error ? error.message : String(error);
  const where = reader ? ` "${reader}"` : '';
  const at = during === 'connecting to' || during === 'sending a command to' ? `${during} the card in${where || ' the reader'}` : during;
  const make = (code: PcscErrorCode, message: string, hint: string): CeremonyError => deviceError(code, message, { hint, cause: error, detail: { pcsc: text, ...(reader ? { reader } : {}) } });
  if (/service not running|service stopped|no service|service not available/i.test(text)) {
    return make('NO_PCSCD', `the PC/SC daemon (pcscd) is not running (while ${at})`, 'start pcscd (e.g. `sudo systemctl start pcscd` or run `pcscd`), then retry; or use --sim');
  }
  if (/card was reset/i.test(text)) {
    return make('CARD_REMOVED', `the card was reset by another program while ${at}; its PIN session is lost`, 'close other programs that use the card (browsers, OpenSC tools) and repeat the step');
  }
  if (/card was removed|card is unpowered|card is unresponsive/i.test(text)) {
    return make('CARD_REMOVED', `the card was removed while ${at}`, 'insert the device again and repeat the step; check its state before going on');
  }
  if (/no smart card present/i.test(text)) {
    return during === 'sending a command to'
      ? make('CARD_REMOVED', `the card was removed while ${at}`, 'insert the device again and repeat the step; check its state before going on')
      : make('NO_CARD', `no card in${where || ' the reader'}`, 'insert the device, or choose another reader with --reader');
  }
  if (/reader unavailable|unknown reader|no readers available/i.test(text)) {
    return make('READER_GONE', `the reader${where} went away while ${at}`, 'plug the reader or device in again and retry');
  }
  if (/sharing violation/i.test(text)) {
    return make('CARD_IN_USE', `another program is using the card in${where || ' the reader'}`, 'close other programs that use the card (browsers, OpenSC tools, gpg-agent/scdaemon) and retry');
  }
  if (during === 'sending a command to') {
    return make('TRANSMIT_FAILED', `could not send the command to the card${where ? ` in${where}` : ''}: ${text}`, 'remove and reinsert the device, then retry');
  }
  return make('PCSC_ERROR', `pcsc-lite failed while ${at}: ${text}`, 'check that pcscd is running and the reader is connected, then retry');
}

// -------------------------------------------------------------------------------------------------
// Readers

/** A reader and what is in it. */
export interface ReaderStatus {
  name: string;
  /** a card is present (and powered or powerable) */
  cardPresent: boolean;
  /** its ATR, when present */
  atr: Uint8Array | null;
  /** another program holds it exclusively */
  exclusive: boolean;
  /** vsmartcard's "Virtual PCD" reader (a virtual card behind vpcd, e.g. the simulator's bridge) */
  virtual: boolean;
}

/** True for vsmartcard vpcd readers. */
export function isVirtualReader(name: string): boolean {
  return /Virtual PCD/i.test(name);
}

/** How long a failed command waits for pcscd to report the card's absence before giving up. */
const LOST_CARD_SETTLE_MS = 1500;

/** What a probe of the reader says after a failed command. */
export type CardPresence = 'present' | 'absent' | 'reader-gone' | 'unknown';

/** Receive buffer for one answer: 65536 data bytes + SW1 SW2 (an extended Le of 0000). */
const MAX_RESPONSE = 65538;

export interface ConnectOptions {
  /**
   * what to do with the card on close: 'leave' (default) keeps its state; 'reset' drops the PIN
   * session. Pico HSM commits a pending DKEK at the next PIN VERIFY, so the default leaves it be.
   */
  onClose?: 'leave' | 'reset';
}

/** A PC/SC session: list readers, wait for a card, connect. Close it when done. */
export class Pcsc {
  private readonly binding: PcscBinding;
  private readonly context: BindingContext;
  private closed = false;

  private constructor(binding: PcscBinding, context: BindingContext) {
    this.binding = binding;
    this.context = context;
  }

  /**
   * Loads the binding and establishes a PC/SC context.
   *
   * @throws CeremonyError device PCSC_UNAVAILABLE, NO_PCSCD
   */
  static async open(deps: { binding?: PcscBinding; importer?: ModuleImporter } = {}): Promise<Pcsc> {
    const binding = deps.binding ?? (await loadPcscBinding(deps.importer));
    let context: BindingContext;
    try {
      context = new binding.Context();
    } catch (e) {
      throw classifyPcscError(e, 'opening PC/SC');
    }
    return new Pcsc(binding, context);
  }

  private status(name: string, state: number, atr: Uint8Array | null): ReaderStatus {
    const b = this.binding;
    const present = (state & b.SCARD_STATE_PRESENT) !== 0 && (state & b.SCARD_STATE_MUTE) === 0;
    return {
      name,
      cardPresent: present,
      atr: present && atr ? Uint8Array.from(atr) : null,
      exclusive: (state & b.SCARD_STATE_EXCLUSIVE) !== 0,
      virtual: isVirtualReader(name),
    };
  }

  /**
   * Every reader pcscd knows, with what it holds.
   *
   * @throws CeremonyError device NO_PCSCD, PCSC_ERROR
   */
  listReaders(): ReaderStatus[] {
    try {
      return this.context.listReaders().map((r) => this.status(r.name, r.state, r.atr));
    } catch (e) {
      throw classifyPcscError(e, 'listing readers');
    }
  }

  /**
   * Waits until a reader (whose name contains `reader`, if given) holds a card, and returns it.
   * Returns null after `timeoutMs` or when `signal` aborts.
   *
   * @throws CeremonyError device NO_PCSCD, PCSC_ERROR
   */
  async waitForCard(options: { reader?: string; timeoutMs: number; signal?: AbortSignal }): Promise<ReaderStatus | null> {
    const deadline = Date.now() + options.timeoutMs;
    const onAbort = () => this.context.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        let readers: BindingReader[];
        try {
          readers = this.context.listReaders();
        } catch (e) {
          throw classifyPcscError(e, 'waiting for a card');
        }
        const match = readers
          .filter((r) => options.reader === undefined || r.name.includes(options.reader))
          .map((r) => this.status(r.name, r.state, r.atr))
          .find((r) => r.cardPresent);
        if (match) return match;
        const left = deadline - Date.now();
        if (left <= 0 || options.signal?.aborted) return null;
        // Wake up at least once a second so readers plugged in meanwhile are seen.
        let changes: BindingReaderState[] | null;
        try {
          changes = await this.context.waitForChange(readers, Math.min(left, 1000));
        } catch (e) {
          throw classifyPcscError(e, 'waiting for a card');
        }
        if (changes === null) return null; // cancelled
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Connects exclusively to the card in the reader named exactly `readerName`, with T=1.
   *
   * @throws CeremonyError device READER_GONE, NO_CARD, CARD_IN_USE, NO_PCSCD, PCSC_ERROR
   */
  async connect(readerName: string, options: ConnectOptions = {}): Promise<PcscTransport> {
    let reader: BindingReader | undefined;
    try {
      reader = this.context.listReaders().find((r) => r.name === readerName);
    } catch (e) {
      throw classifyPcscError(e, 'connecting to', readerName);
    }
    if (!reader) throw classifyPcscError(new Error('Unknown reader'), 'connecting to', readerName);
    let card: BindingCard;
    try {
      card = await reader.connect(this.binding.SCARD_SHARE_EXCLUSIVE, this.binding.SCARD_PROTOCOL_T1);
    } catch (e) {
      throw classifyPcscError(e, 'connecting to', readerName);
    }
    const atr = card.atr ?? reader.atr;
    const info: TransportInfo = {
      kind: 'pcsc',
      reader: readerName,
      virtual: isVirtualReader(readerName),
      atr: atr ? Uint8Array.from(atr) : new Uint8Array(0),
    };
    const disposition = options.onClose === 'reset' ? this.binding.SCARD_RESET_CARD : this.binding.SCARD_LEAVE_CARD;
    return new PcscTransport(card, info, disposition, () => this.probe(readerName));
  }

  /**
   * Where the card in `readerName` stands now, to explain a failed command: still present, absent
   * (removed), the reader gone, or unknown (pcscd itself unreachable).
   */
  probe(readerName: string): CardPresence {
    try {
      const r = this.context.listReaders().find((x) => x.name === readerName);
      if (!r) return 'reader-gone';
      return this.status(r.name, r.state, r.atr).cardPresent ? 'present' : 'absent';
    } catch {
      return 'unknown';
    }
  }

  /** Releases the PC/SC context. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.context.close();
    } catch {
      // the daemon may already be gone; nothing left to release
    }
  }
}

/** One exclusive connection to a card through pcsc-lite. */
export class PcscTransport implements CardTransport {
  readonly info: TransportInfo;
  private card: BindingCard | null;
  private readonly disposition: number;
  private readonly probe: () => CardPresence;

  /**
   * @param probe tells whether the card is still in the reader; used to explain a failed command,
   *   since a virtual reader answers a vanished card with an empty response and then "Transaction
   *   failed" rather than "Card was removed"
   */
  constructor(card: BindingCard, info: TransportInfo, disposition: number, probe: () => CardPresence = () => 'unknown') {
    this.card = card;
    this.info = info;
    this.disposition = disposition;
    this.probe = probe;
  }

  /**
   * Explains a failed command by looking at the reader: pcscd may need a moment to notice a card
   * that vanished mid-command, so the reader is polled for up to LOST_CARD_SETTLE_MS.
   */
  private async lost(cause: unknown): Promise<CeremonyError> {
    const where = this.info.reader;
    const until = Date.now() + LOST_CARD_SETTLE_MS;
    for (;;) {
      const presence = this.probe();
      if (presence === 'absent') return classifyPcscError(new Error('Card was removed', { cause }), 'sending a command to', where);
      if (presence === 'reader-gone') return classifyPcscError(new Error('Reader unavailable', { cause }), 'sending a command to', where);
      if (presence === 'unknown' || Date.now() >= until) return classifyPcscError(cause, 'sending a command to', where);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Sends one APDU; returns data + SW1 SW2.
   *
   * @throws CeremonyError device CARD_REMOVED, READER_GONE, NO_PCSCD, TRANSMIT_FAILED
   */
  async transmit(command: Uint8Array): Promise<Uint8Array> {
    if (!this.card) {
      throw deviceError('CARD_REMOVED', `the connection to "${this.info.reader}" is closed`, { hint: 'connect to the card again' });
    }
    let answer: Uint8Array;
    try {
      // A Buffer view over the caller's bytes (no copy here; the binding copies into its own buffer).
      const view = Buffer.from(command.buffer, command.byteOffset, command.byteLength);
      answer = await this.card.transmit(view, { maxRecvLength: MAX_RESPONSE });
    } catch (e) {
      const first = classifyPcscError(e, 'sending a command to', this.info.reader);
      throw first.code === 'TRANSMIT_FAILED' || first.code === 'PCSC_ERROR' ? await this.lost(e) : first;
    }
    if (answer.length < 2) {
      // No status word: the card stopped answering mid-command (vpcd reports a vanished card so).
      throw await this.lost(new Error(`the card returned ${answer.length} bytes, no status word`));
    }
    // Copy out of the binding's Buffer (which may be a slice of a shared pool) and clear it.
    const out = Uint8Array.from(answer);
    answer.fill(0);
    return out;
  }

  /** Disconnects (leaving or resetting the card, as chosen at connect). Safe to call twice. */
  async close(): Promise<void> {
    const card = this.card;
    this.card = null;
    if (!card) return;
    try {
      card.disconnect(this.disposition);
    } catch {
      // the card or reader is already gone: nothing to release
    }
  }
}
