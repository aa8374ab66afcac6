/**
 * Fault injection and APDU recording for tests of everything above the transport: the ceremony
 * must survive a card pulled mid-command, a card that answers an unexpected status word, and a
 * slow card. Rules are matched against each command in order; docs/simulator.md §8.
 *
 * ```ts
 * const faults = new FaultInjector([
 *   { ins: 0x52, nth: 2, action: { kind: 'remove', when: 'after' } }, // 2nd share import is
 *                                                                      // applied, answer lost
 *   { ins: 0x72, action: { kind: 'sw', sw: 0x6a88 } },                 // every WRAP fails
 *   { action: { kind: 'delay', ms: 50 } },                             // every command is slow
 * ]);
 * ```
 */

import { toHex } from '../../protocol/bytes.ts';
import { parseCommand } from '../card/apdu.ts';

/** What happens to a matching command. */
export type FaultAction =
  /**
   * The card is pulled. `before`: the command never reaches it. `after`: the card processes it
   * (state changes persist) but the response is lost. The transport then throws CARD_REMOVED
   * until the card is inserted again.
   */
  | { kind: 'remove'; when: 'before' | 'after' }
  /**
   * Answer with a scripted status word (and optional data) instead. `process: true` lets the card
   * process the command first (its state changes), then replaces the answer.
   */
  | { kind: 'sw'; sw: number; data?: Uint8Array; process?: boolean }
  /** Wait this long before answering (the command is processed normally). */
  | { kind: 'delay'; ms: number };

/** One rule. A command matches when every given criterion holds. */
export interface FaultRule {
  /** instruction byte to match (e.g. 0x52 IMPORT DKEK SHARE) */
  ins?: number;
  /** custom predicate over the raw command bytes */
  match?: (command: Uint8Array) => boolean;
  /** fire on the nth matching command only (1-based); default: every matching command */
  nth?: number;
  /** stop after firing this many times; default: no limit (remove rules: once) */
  times?: number;
  action: FaultAction;
}

/** Decides, command by command, which faults apply. */
export class FaultInjector {
  readonly #rules: { rule: FaultRule; seen: number; fired: number }[] = [];

  constructor(rules: FaultRule[] = []) {
    for (const r of rules) this.add(r);
  }

  /**
   * Adds a rule at the end.
   *
   * @throws {RangeError} for a status word outside 0x6000..0x9FFF, a negative delay, or nth/times
   *   below 1
   */
  add(rule: FaultRule): void {
    const a = rule.action;
    if (a.kind === 'sw' && (!Number.isInteger(a.sw) || a.sw < 0x6000 || a.sw > 0x9fff)) throw new RangeError('action.sw must be a status word 6000..9FFF');
    if (a.kind === 'delay' && (!Number.isFinite(a.ms) || a.ms < 0)) throw new RangeError('action.ms must be >= 0');
    if (rule.nth !== undefined && (!Number.isInteger(rule.nth) || rule.nth < 1)) throw new RangeError('nth must be >= 1');
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) throw new RangeError('times must be >= 1');
    this.#rules.push({ rule, seen: 0, fired: 0 });
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules.length = 0;
  }

  /** The actions that apply to this command, in rule order (each rule's counters advance). */
  decide(command: Uint8Array): FaultAction[] {
    const out: FaultAction[] = [];
    for (const r of this.#rules) {
      const { rule } = r;
      if (rule.ins !== undefined && command[1] !== rule.ins) continue;
      if (rule.match && !rule.match(command)) continue;
      r.seen++;
      if (rule.nth !== undefined && r.seen !== rule.nth) continue;
      const limit = rule.times ?? (rule.action.kind === 'remove' ? 1 : Infinity);
      if (r.fired >= limit) continue;
      r.fired++;
      out.push(rule.action);
    }
    return out;
  }
}

/** One recorded exchange. */
export interface RecordedExchange {
  /** the command as sent (secret-bearing data redacted unless the recorder was told not to) */
  command: Uint8Array;
  /** the response, or undefined if the transport threw */
  response?: Uint8Array;
  /** the CeremonyError code the transport threw, if any */
  error?: string;
}

/**
 * Instructions whose command data carries secrets: VERIFY, CHANGE REFERENCE DATA, RESET RETRY
 * COUNTER (PINs), INITIALIZE (PINs), IMPORT DKEK SHARE (a share).
 */
const SECRET_INS = new Set([0x20, 0x24, 0x2c, 0x50, 0x52]);

/** Keeps every command and response that passed through a transport, for assertions. */
export class ApduRecorder {
  readonly exchanges: RecordedExchange[] = [];
  readonly #redact: boolean;

  /**
   * @param options.redact replace the data of secret-bearing commands with 0x2A bytes of the same
   *   length (default true: a recording never holds a PIN or share, even in a test log)
   */
  constructor(options: { redact?: boolean } = {}) {
    this.#redact = options.redact ?? true;
  }

  /** Adds one exchange (copies the bytes). */
  record(command: Uint8Array, response: Uint8Array | undefined, error?: string): void {
    const cmd = command.slice();
    if (this.#redact && SECRET_INS.has(cmd[1]!)) {
      try {
        const parsed = parseCommand(cmd);
        const start = parsed.extended ? 7 : 5;
        if (parsed.data.length > 0) cmd.fill(0x2a, start, start + parsed.data.length);
      } catch {
        cmd.fill(0x2a, 4); // malformed: keep only the header
      }
    }
    const e: RecordedExchange = { command: cmd };
    if (response) e.response = response.slice();
    if (error) e.error = error;
    this.exchanges.push(e);
  }

  /** Forgets everything recorded so far. */
  clear(): void {
    this.exchanges.length = 0;
  }

  /** A pcscd-like text log: `APDU: …` / `SW: …` lines. */
  toText(): string {
    return this.exchanges
      .map((e) => `APDU: ${toHex(e.command, ' ').toUpperCase()}\n${e.response ? `SW: ${toHex(e.response, ' ').toUpperCase()}` : `ERROR: ${e.error}`}`)
      .join('\n');
  }
}
