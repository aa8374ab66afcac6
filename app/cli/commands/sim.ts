/**
 * `hsm-ceremony sim --vpcd [HOST:PORT]`: runs the simulated SmartCard-HSM behind vsmartcard's vpcd
 * so that pcscd — and any PC/SC program, OpenSC's tools included — sees it as a card in a
 * "Virtual PCD" reader. Runs until SIGINT or SIGTERM. docs/simulator.md §10.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { fromHex, toHex } from '../../../protocol/bytes.ts';
import { usageError } from '../../../protocol/errors.ts';
import type { Flavor } from '../../simulator/card-os.ts';
import { openSimulatedCard } from '../../simulator/persistence.ts';
import { parseVpcdAddress, VpcdBridge, VPCD_DEFAULT_PORT } from '../../simulator/vpcd.ts';

/** Parsed `sim` options. */
export interface SimOptions {
  host: string;
  port: number;
  statePath: string | undefined;
  flavor: Flavor | undefined;
  seed: Uint8Array | undefined;
  trace: boolean;
}

const HELP = `usage: hsm-ceremony sim --vpcd [HOST:PORT] [--sim-state FILE] [--flavor sc-hsm|pico]
                        [--seed HEX] [--trace]

Runs the simulated SmartCard-HSM as a card in a vsmartcard "Virtual PCD" reader of the local
pcscd, until interrupted (Ctrl-C). OpenSC's sc-hsm-tool, pkcs15-tool and pkcs11-tool, and
hsm-ceremony itself, then use it like a device.

  --vpcd [HOST:PORT]   vpcd endpoint (default 127.0.0.1:35963 = reader "Virtual PCD 00 00";
                       port 35964 = "Virtual PCD 00 01"); reconnects while vpcd is not there
  --sim-state FILE     keep the card in FILE (created if missing, saved after every change;
                       it holds the simulated card's PINs and keys in clear)
  --flavor F           sc-hsm (default): a CardContact SmartCard-HSM; pico: Pico HSM 6.6 quirks
  --seed HEX           DRBG seed of a new card (1..256 bytes); the same seed and the same
                       commands rebuild the same card. Printed at start when not given.
  --trace              log each command header and status word (never command data)

Not for real keys: the simulator is a rehearsal and test instrument (docs/simulator.md).`;

/**
 * Parses `sim` arguments. `--vpcd` takes an optional value: the next argument unless it starts
 * with `-`.
 *
 * @throws {CeremonyError} usage USAGE for anything wrong, naming the option
 */
export function parseSimArgs(argv: string[], cwd: string): SimOptions {
  const args = [...argv];
  let vpcd: string | undefined;
  let vpcdGiven = false;
  const i = args.indexOf('--vpcd');
  if (i >= 0) {
    vpcdGiven = true;
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('-')) {
      vpcd = next;
      args.splice(i, 2);
    } else {
      args.splice(i, 1);
    }
  }
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        'sim-state': { type: 'string' },
        flavor: { type: 'string' },
        seed: { type: 'string' },
        trace: { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw usageError('USAGE', (e as Error).message.replace(/\.$/, '').toLowerCase(), { hint: 'hsm-ceremony sim --help' });
  }
  if (!vpcdGiven) {
    throw usageError('USAGE', 'sim needs --vpcd: the simulator only runs behind a vpcd reader', {
      hint: 'hsm-ceremony sim --vpcd  (start pcscd with vsmartcard-vpcd installed first)',
    });
  }
  let address;
  try {
    address = parseVpcdAddress(vpcd);
  } catch (e) {
    throw usageError('USAGE', `--vpcd: ${(e as Error).message}`, { hint: 'use HOST:PORT, e.g. 127.0.0.1:35963' });
  }
  const flavor = values.flavor;
  if (flavor !== undefined && flavor !== 'sc-hsm' && flavor !== 'pico') {
    throw usageError('USAGE', `--flavor must be sc-hsm or pico, not ${JSON.stringify(flavor)}`, { hint: 'hsm-ceremony sim --help' });
  }
  let seed: Uint8Array | undefined;
  if (values.seed !== undefined) {
    try {
      seed = fromHex(values.seed, '--seed');
    } catch (e) {
      throw usageError('USAGE', (e as Error).message, { hint: 'give the seed as hex digits, e.g. --seed 00112233' });
    }
    if (seed.length < 1 || seed.length > 256) throw usageError('USAGE', '--seed must be 1..256 bytes', { hint: 'give between 2 and 512 hex digits' });
  }
  return {
    host: address.host,
    port: address.port,
    statePath: values['sim-state'] === undefined ? undefined : resolve(cwd, values['sim-state']),
    flavor: flavor as Flavor | undefined,
    seed,
    trace: values.trace === true,
  };
}

/**
 * Runs the bridge until `signal` aborts. Prints what was started (flavor, seed, serial, reader)
 * and a line per connection change.
 *
 * @throws {CeremonyError} from loading or creating the state file
 */
export async function runSimulator(o: SimOptions, io: CliIo, signal: AbortSignal): Promise<number> {
  const { card, created } = openSimulatedCard({ statePath: o.statePath, flavor: o.flavor, seed: o.seed });
  const serial = card.deviceChr.slice(0, -5);
  const reader = o.host === '127.0.0.1' || o.host === 'localhost' ? `Virtual PCD 00 ${String(o.port - VPCD_DEFAULT_PORT).padStart(2, '0')}` : `vpcd ${o.host}:${o.port}`;
  io.stdout.write(
    [
      `simulated SmartCard-HSM (${card.flavor} flavor), serial ${serial}`,
      `  seed   : ${toHex(card.seed)}${created ? '' : ' (loaded)'}`,
      `  state  : ${o.statePath ?? 'in memory only (lost on exit)'}`,
      `  reader : ${reader} (vpcd at ${o.host}:${o.port})`,
    ].join('\n') + '\n',
  );
  const bridge = new VpcdBridge(card, {
    host: o.host,
    port: o.port,
    traceHeaders: o.trace,
    log: (line) => io.stderr.write(`hsm-ceremony sim: ${line}\n`),
  });
  bridge.start();
  await new Promise<void>((done) => {
    if (signal.aborted) done();
    else signal.addEventListener('abort', () => done(), { once: true });
  });
  await bridge.stop();
  io.stdout.write(`stopped after ${bridge.apduCount} commands\n`);
  return 0;
}

export const sim: Command = {
  path: ['sim'],
  summary: 'run the simulated SmartCard-HSM behind vpcd for pcscd and OpenSC',
  help: HELP,
  async run(argv, io) {
    const options = parseSimArgs(argv, io.cwd);
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runSimulator(options, io, stop.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
