/**
 * Which card a command talks to. The rules (docs/card-commands.md §7):
 *
 * 1. `--sim`: the built-in simulator (with `--sim-state FILE` it persists; `--flavor` picks
 *    SmartCard-HSM or Pico HSM behaviour). `--sim` with `--reader` is a usage error.
 * 2. `--reader NAME`: the PC/SC reader whose name contains NAME (case-insensitive; an exact name
 *    wins). No match → usage error listing the readers; several → usage error listing the matches.
 * 3. Neither: the readers that hold a card. Exactly one → that one. Several → usage error listing
 *    them. None (vpcd's two "Virtual PCD" readers are always present and usually empty), or no
 *    PC/SC at all → the built-in simulator, and the description says so and why.
 *
 * A "Virtual PCD" reader is vsmartcard's vpcd: whatever sits in it is software (for example the
 * simulator's bridge), and the description says that too. Nothing outside app/card/ learns more
 * than the description and `TransportInfo`.
 */
import { isCeremonyError, usageError } from '../../protocol/errors.ts';
import { Pcsc, type ReaderStatus } from './pcsc.ts';
import type { CardTransport, TransportInfo } from './transport.ts';

/** Simulator behaviour: a CardContact SmartCard-HSM / Nitrokey HSM, or a Pico HSM. */
export type DeviceFlavor = 'sc-hsm' | 'pico';

export interface OpenDeviceOptions {
  /** part of a PC/SC reader name */
  reader?: string;
  /** use the built-in simulator */
  sim?: boolean;
  /** simulator state file (created when absent); without it the simulated card lives in memory */
  simState?: string;
  /** simulator flavor for a new simulated card */
  flavor?: DeviceFlavor;
}

/** The part of a PC/SC session device selection needs (Pcsc implements it). */
export interface ReaderSession {
  listReaders(): ReaderStatus[];
  connect(readerName: string): Promise<CardTransport>;
  close(): void;
}

export interface DeviceDeps {
  /** opens PC/SC; default `Pcsc.open()` (loads the optional binding) */
  openPcsc?: () => Promise<ReaderSession>;
  /** opens the built-in simulator; default app/simulator's card and transport */
  openSimulator?: (options: { simState?: string; flavor?: DeviceFlavor }) => Promise<CardTransport>;
}

export interface OpenedDevice {
  transport: CardTransport;
  /** one line for the screen and the transcript, e.g. `reader "Nitrokey Nitrokey HSM 00 00"` */
  description: string;
  /** true when the card is the in-process simulator */
  simulated: boolean;
  /** why the simulator was chosen without --sim, or null */
  fallbackReason: string | null;
}

const VIRTUAL_NOTE = 'a virtual reader (vsmartcard vpcd): the card in it is software, not a physical device';

/** The reader list as a message fragment: `"A" (card), "B"`. */
function listing(readers: readonly ReaderStatus[]): string {
  return readers.length === 0 ? 'none' : readers.map((r) => `"${r.name}"${r.cardPresent ? ' (card)' : ''}`).join(', ');
}

/** Closes the PC/SC session together with the card connection. */
class SessionTransport implements CardTransport {
  constructor(
    private readonly inner: CardTransport,
    private readonly session: ReaderSession,
  ) {}
  get info(): TransportInfo {
    return this.inner.info;
  }
  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.inner.transmit(command);
  }
  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      this.session.close();
    }
  }
}

async function defaultOpenSimulator(options: { simState?: string; flavor?: DeviceFlavor }): Promise<CardTransport> {
  const [{ openSimulatedCard }, { SimulatorTransport }] = await Promise.all([import('../simulator/persistence.ts'), import('../simulator/transport.ts')]);
  const { card } = openSimulatedCard({ statePath: options.simState, flavor: options.flavor });
  return new SimulatorTransport(card);
}

function simulatorDetails(o: OpenDeviceOptions): string {
  const flavor = o.flavor === 'pico' ? 'Pico HSM flavor' : o.flavor === 'sc-hsm' ? 'SmartCard-HSM flavor' : 'default flavor';
  return `${flavor}, ${o.simState ? `state in ${o.simState}` : 'in memory, gone when the program ends'}`;
}

function describeReader(r: ReaderStatus): string {
  return r.virtual ? `reader "${r.name}" (${VIRTUAL_NOTE})` : `reader "${r.name}"`;
}

/**
 * Opens the card a command should use, following the rules above.
 *
 * @throws CeremonyError usage CONFLICTING_DEVICE_OPTIONS, READER_NOT_FOUND, READER_AMBIGUOUS,
 *   MULTIPLE_CARDS; device NO_CARD, CARD_IN_USE, PCSC_UNAVAILABLE / NO_PCSCD (only with --reader),
 *   and whatever the simulator reports for a bad state file
 */
export async function openDevice(options: OpenDeviceOptions = {}, deps: DeviceDeps = {}): Promise<OpenedDevice> {
  const openPcsc = deps.openPcsc ?? (() => Pcsc.open());
  const openSimulator = deps.openSimulator ?? defaultOpenSimulator;
  const simOptions = { ...(options.simState ? { simState: options.simState } : {}), ...(options.flavor ? { flavor: options.flavor } : {}) };

  if (options.sim && options.reader !== undefined) {
    throw usageError('CONFLICTING_DEVICE_OPTIONS', '--sim and --reader cannot be used together', {
      hint: 'use --sim for the built-in simulator, or --reader NAME for a real reader',
    });
  }
  if (options.reader !== undefined && options.reader.trim() === '') {
    throw usageError('READER_NOT_FOUND', '--reader needs part of a reader name', { hint: 'run `hsm-ceremony devices` to list the readers' });
  }
  if (options.sim) {
    return { transport: await openSimulator(simOptions), description: `built-in simulator (${simulatorDetails(options)})`, simulated: true, fallbackReason: null };
  }

  if (options.reader !== undefined) {
    const session = await openPcsc(); // without PC/SC an explicit reader is an error, not a fallback
    try {
      const readers = session.listReaders();
      const want = options.reader.toLowerCase();
      const exact = readers.filter((r) => r.name.toLowerCase() === want);
      const matches = exact.length === 1 ? exact : readers.filter((r) => r.name.toLowerCase().includes(want));
      if (matches.length === 0) {
        throw usageError('READER_NOT_FOUND', `no reader name contains "${options.reader}"; readers: ${listing(readers)}`, {
          hint: 'pass part of one of the names above to --reader, or plug the reader in',
          detail: { readers: readers.map((r) => r.name) },
        });
      }
      if (matches.length > 1) {
        throw usageError('READER_AMBIGUOUS', `"${options.reader}" matches ${matches.length} readers: ${listing(matches)}`, {
          hint: 'give more of the name so that only one reader matches',
          detail: { readers: matches.map((r) => r.name) },
        });
      }
      const chosen = matches[0]!;
      const transport = await session.connect(chosen.name);
      return { transport: new SessionTransport(transport, session), description: describeReader(chosen), simulated: false, fallbackReason: null };
    } catch (e) {
      session.close();
      throw e;
    }
  }

  let session: ReaderSession;
  try {
    session = await openPcsc();
  } catch (e) {
    if (isCeremonyError(e) && (e.code === 'PCSC_UNAVAILABLE' || e.code === 'NO_PCSCD')) {
      const reason = e.code === 'NO_PCSCD' ? 'the PC/SC daemon (pcscd) is not running' : 'PC/SC support is not installed';
      return fallback(`${reason}: using the built-in simulator`);
    }
    throw e;
  }
  try {
    const readers = session.listReaders();
    const withCard = readers.filter((r) => r.cardPresent);
    if (withCard.length === 1) {
      const chosen = withCard[0]!;
      const transport = await session.connect(chosen.name);
      return { transport: new SessionTransport(transport, session), description: describeReader(chosen), simulated: false, fallbackReason: null };
    }
    if (withCard.length > 1) {
      throw usageError('MULTIPLE_CARDS', `${withCard.length} readers hold a card: ${listing(withCard)}`, {
        hint: 'choose one with --reader NAME (part of the name is enough), or remove the others',
        detail: { readers: withCard.map((r) => r.name) },
      });
    }
  } catch (e) {
    session.close();
    throw e;
  }
  session.close();
  return fallback('no reader holds a card: using the built-in simulator');

  async function fallback(reason: string): Promise<OpenedDevice> {
    const transport = await openSimulator(simOptions);
    return { transport, description: `${reason} (${simulatorDetails(options)})`, simulated: true, fallbackReason: reason };
  }
}
