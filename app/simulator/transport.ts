/**
 * The in-process CardTransport over a simulated card — what `--sim` and the no-card fallback use.
 * Opening a transport is a new connection: the card's session (selected applet, verified PINs)
 * starts empty, as after a card reset. Faults and recording hook in here (faults.ts).
 */

import { deviceError } from '../../protocol/errors.ts';
import type { CardTransport, TransportInfo } from '../card/transport.ts';
import type { SimulatedCard } from './card-os.ts';
import type { ApduRecorder, FaultInjector } from './faults.ts';

/** Reader name the simulator reports. */
export const SIMULATOR_READER = 'hsm-ceremony simulator';

/** Options for a simulator transport. */
export interface SimulatorTransportOptions {
  faults?: FaultInjector;
  recorder?: ApduRecorder;
  /** replaces setTimeout for delay faults (tests can pass a fake clock) */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CardTransport implementation over a SimulatedCard. */
export class SimulatorTransport implements CardTransport {
  readonly info: TransportInfo;
  readonly card: SimulatedCard;
  readonly #faults: FaultInjector | undefined;
  readonly #recorder: ApduRecorder | undefined;
  readonly #sleep: (ms: number) => Promise<void>;
  #removed = false;
  #closed = false;
  #busy = false;

  constructor(card: SimulatedCard, options: SimulatorTransportOptions = {}) {
    this.card = card;
    this.#faults = options.faults;
    this.#recorder = options.recorder;
    this.#sleep = options.sleep ?? realSleep;
    card.powerOn();
    this.info = { kind: 'simulator', reader: SIMULATOR_READER, virtual: true, atr: card.atr };
  }

  /** True after a remove fault fired and until insertCard(). */
  get cardRemoved(): boolean {
    return this.#removed;
  }

  /** Puts the card back after a remove fault: a power-on, so the session starts empty. */
  insertCard(): void {
    this.#removed = false;
    this.card.powerOn();
  }

  /**
   * Sends one command to the card. Commands are processed one at a time, like a real reader.
   *
   * @throws CeremonyError device CARD_REMOVED when a remove fault fired (now or earlier);
   *   device TRANSMIT_FAILED after close() or on overlapping calls
   */
  async transmit(command: Uint8Array): Promise<Uint8Array> {
    if (!(command instanceof Uint8Array)) throw new TypeError('command must be a Uint8Array');
    if (this.#closed) throw deviceError('TRANSMIT_FAILED', 'the simulated card connection is closed', { hint: 'open a new connection to the simulator' });
    if (this.#busy) throw deviceError('TRANSMIT_FAILED', 'a command is already in progress on the simulated card', { hint: 'await each transmit before sending the next command' });
    this.#busy = true;
    try {
      return await this.#transmit(command);
    } finally {
      this.#busy = false;
    }
  }

  async #transmit(command: Uint8Array): Promise<Uint8Array> {
    if (this.#removed) return this.#fail(command);
    const actions = this.#faults?.decide(command) ?? [];
    for (const a of actions) if (a.kind === 'delay') await this.#sleep(a.ms);
    const remove = actions.find((a) => a.kind === 'remove');
    const scripted = actions.find((a) => a.kind === 'sw');
    if (remove && remove.when === 'before') {
      this.#pull();
      return this.#fail(command);
    }
    let response: Uint8Array | undefined;
    if (!scripted || scripted.process === true) response = this.card.process(command);
    if (remove) {
      this.#pull();
      return this.#fail(command);
    }
    if (scripted) {
      const data = scripted.data ?? new Uint8Array(0);
      response = new Uint8Array(data.length + 2);
      response.set(data);
      response[data.length] = scripted.sw >> 8;
      response[data.length + 1] = scripted.sw & 0xff;
    }
    this.#recorder?.record(command, response);
    return response!;
  }

  #pull(): void {
    this.#removed = true;
    this.card.powerOff();
  }

  #fail(command: Uint8Array): never {
    this.#recorder?.record(command, undefined, 'CARD_REMOVED');
    throw deviceError('CARD_REMOVED', 'the card was removed', {
      hint: 'insert the card again; the command may or may not have been carried out, so check the card state before repeating it',
    });
  }

  /** Ends the connection. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}
