/**
 * Opening the card for an interactive session: device selection (app/card/device.ts: --sim,
 * --reader, or the one reader holding a card, else the simulator with the reason in the
 * description), then SELECT of the SmartCard-HSM applet. Unlike the plain commands it writes
 * nothing to the terminal: the device panel shows the description.
 */
import { openDevice, type DeviceDeps, type OpenDeviceOptions } from '../card/device.ts';
import { SmartCardHsm } from '../card/sc-hsm.ts';
import type { CardConnection } from './effect-runner.ts';

/**
 * Opens and selects the device.
 * @throws whatever openDevice and SELECT throw (CeremonyError usage/device, CardError)
 */
export async function openCardConnection(options: OpenDeviceOptions, deps: DeviceDeps = {}): Promise<CardConnection> {
  const device = await openDevice(options, deps);
  try {
    const hsm = new SmartCardHsm(device.transport);
    const applet = await hsm.selectApplet();
    return {
      hsm,
      applet,
      description: device.description,
      simulated: device.simulated,
      virtual: device.simulated || device.transport.info.virtual,
      close: () => device.transport.close(),
    };
  } catch (e) {
    await device.transport.close().catch(() => undefined);
    throw e;
  }
}
