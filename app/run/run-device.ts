/**
 * The device a plan runs on: for `--rehearse`, the built-in simulator made from a random seed
 * (recorded in the transcript so `replay --against simulator` can rebuild the same card), kept in
 * `--sim-state FILE` when given so a crashed rehearsal can be resumed; otherwise the card the
 * device flags name (app/cli/device-options.ts).
 */
import { existsSync } from 'node:fs';
import { SmartCardHsm, EF_DEVICE_CERTS } from '../card/sc-hsm.ts';
import type { AppletInfo } from '../card/file-control.ts';
import { openSimulatedCard } from '../simulator/persistence.ts';
import { SimulatorTransport } from '../simulator/transport.ts';
import type { SimulatedCard } from '../simulator/card-os.ts';
import { serialFromChr } from '../../protocol/dkek/cvc.ts';
import { toHex, fromHex } from '../../protocol/bytes.ts';
import { usageError } from '../../protocol/errors.ts';
import { decodeCertificate } from '../ceremony/operations/public-key.ts';
import type { DeviceInfo } from '../transcript/event.ts';

export interface RunDevice {
  hsm: SmartCardHsm;
  applet: AppletInfo;
  info: DeviceInfo;
  /** the simulator's seed (hex) in a rehearsal */
  seed?: string;
  card?: SimulatedCard;
  close(): Promise<void>;
}

/** The device serial as the tools show it: its device certificate's holder minus five digits. */
export async function deviceSerial(hsm: SmartCardHsm): Promise<string | null> {
  const certs = await hsm.tryReadFile(EF_DEVICE_CERTS).catch(() => null);
  const holder = certs ? decodeCertificate(certs)?.holder : null;
  return holder && /^[\x20-\x7e]{6,16}$/.test(holder) ? serialFromChr(holder) : null;
}

/**
 * Opens the rehearsal simulator. A new run makes a new card from `rng(32)`; a resumed run must
 * continue the same card from `statePath`, whose seed must be the one the transcript recorded.
 *
 * @throws CeremonyError usage RESUME_NEEDS_SIM_STATE when resuming without a state file;
 *   usage SIM_STATE_MISMATCH when the state file holds another card
 */
export async function openRehearsalDevice(o: { statePath?: string | undefined; rng: (n: number) => Uint8Array; resumeSeed?: string | undefined }): Promise<RunDevice> {
  if (o.resumeSeed !== undefined && (o.statePath === undefined || !existsSync(o.statePath))) {
    throw usageError('RESUME_NEEDS_SIM_STATE', 'a rehearsal can be resumed only on the same simulated card, kept with --sim-state FILE', {
      hint: 'give the --sim-state file of the interrupted rehearsal; without one, start the rehearsal again with a new transcript',
    });
  }
  const seed = o.resumeSeed !== undefined ? fromHex(o.resumeSeed) : o.statePath !== undefined && existsSync(o.statePath) ? undefined : o.rng(32);
  const { card } = openSimulatedCard({ statePath: o.statePath, ...(seed ? { seed } : {}) });
  const transport = new SimulatorTransport(card);
  const hsm = new SmartCardHsm(transport);
  const applet = await hsm.selectApplet();
  return {
    hsm,
    applet,
    card,
    seed: toHex(card.seed),
    info: { reader: 'simulator', simulated: true, serial: serialFromChr(card.deviceChr), firmware: applet.versionText },
    close: () => transport.close(),
  };
}
