/**
 * What every device command shares: the flags that pick the card (--reader, --sim, --sim-state,
 * --flavor), the sources of the user PIN and the SO-PIN (--secrets-file, --pin-file,
 * --so-pin-file, or a hidden prompt), and opening the card with the applet selected.
 *
 * Rules kept here:
 * - PINs come only from a terminal (hidden), the secrets file or a PIN file, never from argv, and
 *   are Uint8Arrays the caller wipes.
 * - A rehearsal secrets file (`"rehearsal": true`) is refused as soon as the chosen card turns out
 *   to be real, before any APDU (docs/secrets-file.md).
 * - A command that changes the card refuses the silent simulator fallback of device selection: a
 *   forgotten device must not look like an initialised one. Read-only commands accept it and say so.
 */
import { basename } from 'node:path';
import type { CliIo } from './command.ts';
import { loadSecretsFile, assertOwnerOnly, type SecretsFile } from './secrets-file.ts';
import { isInteractive, readFirstLine, readHidden } from './secret-input.ts';
import { openDevice, type DeviceDeps, type DeviceFlavor, type OpenedDevice } from '../card/device.ts';
import { SmartCardHsm } from '../card/sc-hsm.ts';
import type { AppletInfo } from '../card/file-control.ts';
import type { CardTransport } from '../card/transport.ts';
import { deviceError, usageError } from '../../protocol/errors.ts';
import { equalBytes, wipe } from '../../protocol/bytes.ts';

/** parseArgs definitions shared by every device command. */
export const deviceOptions = {
  reader: { type: 'string' },
  sim: { type: 'boolean' },
  'sim-state': { type: 'string' },
  flavor: { type: 'string' },
  'secrets-file': { type: 'string' },
  'pin-file': { type: 'string' },
  'so-pin-file': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The values parseArgs returns for `deviceOptions`. */
export interface DeviceFlags {
  reader?: string | undefined;
  sim?: boolean | undefined;
  'sim-state'?: string | undefined;
  flavor?: string | undefined;
  'secrets-file'?: string | undefined;
  'pin-file'?: string | undefined;
  'so-pin-file'?: string | undefined;
  json?: boolean | undefined;
}

/** Help text for the shared flags, appended to each command's help. */
export const DEVICE_OPTIONS_HELP = `Device selection:
  --reader NAME        the PC/SC reader whose name contains NAME
  --sim                the built-in simulator (in memory unless --sim-state is given)
  --sim-state FILE     keep the simulated card in FILE (created when absent)
  --flavor F           simulator behaviour: sc-hsm (default) or pico
  Without these: the one reader that holds a card; the simulator when none does (read-only
  commands only).
Secrets (never on the command line; typed hidden on a terminal otherwise):
  --secrets-file PATH  pin / soPin / shares (docs/secrets-file.md)
  --pin-file PATH      the user PIN on the first line (mode 0600)
  --so-pin-file PATH   the SO-PIN (16 hex digits) on the first line (mode 0600)
  --json               one JSON document on stdout instead of text`;

/**
 * Test seam: lets tests record or disturb the APDUs of commands run in-process (runCli). Never set
 * outside tests.
 */
export const testOnlyDeviceHooks: {
  wrapTransport?: ((t: CardTransport) => CardTransport) | undefined;
  deps?: DeviceDeps | undefined;
} = {};

/** An open card with the applet selected. */
export interface CardSession {
  hsm: SmartCardHsm;
  device: OpenedDevice;
  applet: AppletInfo;
  /** true for the simulator or a virtual (vpcd) reader */
  virtual: boolean;
  close(): Promise<void>;
}

function parseFlavor(text: string | undefined): DeviceFlavor | undefined {
  if (text === undefined) return undefined;
  if (text !== 'sc-hsm' && text !== 'pico') {
    throw usageError('BAD_FLAVOR', `--flavor takes sc-hsm or pico, got "${text}"`, { hint: 'sc-hsm imitates a CardContact SmartCard-HSM, pico a Pico HSM' });
  }
  return text;
}

/**
 * The secrets of one device command: user PIN and SO-PIN, from --pin-file / --so-pin-file, the
 * secrets file, or the terminal. Loaded and validated before the card is opened.
 */
export class DeviceSecrets {
  readonly file: SecretsFile | undefined;
  private readonly held: Uint8Array[] = [];

  constructor(
    private readonly flags: DeviceFlags,
    private readonly io: CliIo,
  ) {
    this.file = flags['secrets-file'] ? loadSecretsFile(flags['secrets-file'], io.cwd) : undefined;
  }

  /**
   * Refuses rehearsal secrets for a real device (before any APDU).
   * @throws CeremonyError usage REHEARSAL_SECRETS_REAL_DEVICE
   */
  checkDevice(device: OpenedDevice): void {
    if (this.file?.rehearsal && !device.simulated) {
      throw usageError('REHEARSAL_SECRETS_REAL_DEVICE', `${basename(this.file.path)} holds rehearsal secrets, but the card is a real device (${device.description})`, {
        hint: 'rehearsal secrets are for the simulator (--sim); give real secrets in a file without "rehearsal": true, or type them',
      });
    }
  }

  /** True when the user PIN can be had without a prompt. */
  hasPin(): boolean {
    return this.flags['pin-file'] !== undefined || this.file?.pin !== undefined;
  }

  /** True when the SO-PIN can be had without a prompt. */
  hasSoPin(): boolean {
    return this.flags['so-pin-file'] !== undefined || this.file?.soPin !== undefined;
  }

  /**
   * The user PIN, or undefined when none is given and `prompt` is false or there is no terminal
   * and it is not `required`. The returned array is wiped by `wipe()`.
   * @throws CeremonyError usage NO_TTY when required and nothing gives it
   */
  async pin(opts: { required: boolean; prompt: boolean; confirm?: boolean; label?: string }): Promise<Uint8Array | undefined> {
    return this.secret('pin-file', this.file?.pin, 'user PIN', opts);
  }

  /** The SO-PIN as typed (16 hex digits), like `pin`. */
  async soPin(opts: { required: boolean; prompt: boolean; confirm?: boolean; label?: string }): Promise<Uint8Array | undefined> {
    return this.secret('so-pin-file', this.file?.soPin, 'SO-PIN', opts);
  }

  /** Reads a secret from a named file flag (e.g. --new-pin-file) or the terminal. */
  async fromFileOrPrompt(path: string | undefined, what: string, opts: { required: boolean; confirm?: boolean; label?: string }): Promise<Uint8Array | undefined> {
    if (path !== undefined) return this.keep(readPinFile(path, what));
    return this.prompt(what, { ...opts, prompt: true }, `pass the ${what} in a file (mode 0600)`);
  }

  private async secret(
    flag: 'pin-file' | 'so-pin-file',
    fromSecretsFile: Uint8Array | undefined,
    what: string,
    opts: { required: boolean; prompt: boolean; confirm?: boolean; label?: string },
  ): Promise<Uint8Array | undefined> {
    const path = this.flags[flag];
    if (path !== undefined) return this.keep(readPinFile(path, what));
    if (fromSecretsFile) return this.keep(fromSecretsFile.slice());
    return this.prompt(what, opts, `pass --${flag} PATH or put "${flag === 'pin-file' ? 'pin' : 'soPin'}" in --secrets-file`);
  }

  private async prompt(what: string, opts: { required: boolean; prompt: boolean; confirm?: boolean; label?: string }, hint: string): Promise<Uint8Array | undefined> {
    if (!opts.prompt || !isInteractive(this.io)) {
      if (!opts.required) return undefined;
      throw usageError('NO_TTY', `the ${what} is needed but there is no terminal to type it on`, { hint: `${hint} (docs/secrets-file.md)` });
    }
    const label = opts.label ?? what;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const first = await readHidden(this.io, `${label}: `, 64);
      if (!opts.confirm) return this.keep(first);
      const second = await readHidden(this.io, `${label} again: `, 64);
      const same = equalBytes(first, second);
      wipe(second);
      if (same) return this.keep(first);
      wipe(first);
      this.io.stderr.write('hsm-ceremony: the two entries differ; try again\n');
    }
    throw usageError('SECRET_NOT_CONFIRMED', `no ${what} was confirmed after 3 attempts`, { hint: 'nothing was changed; run the command again' });
  }

  private keep(b: Uint8Array): Uint8Array {
    this.held.push(b);
    return b;
  }

  /** Wipes every secret handed out and the secrets file. */
  wipe(): void {
    for (const b of this.held) wipe(b);
    this.held.length = 0;
    this.file?.wipe();
  }
}

/**
 * The first line of a PIN file, which must be readable by its owner only.
 * @throws CeremonyError usage SECRETS_FILE_PERMISSIONS, SECRET_SOURCE_UNREADABLE, SECRET_EMPTY
 */
export function readPinFile(path: string, what: string): Uint8Array {
  try {
    assertOwnerOnly(path, `the ${what} file`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw usageError('SECRET_SOURCE_UNREADABLE', `cannot read the ${what} from ${path}: no such file`, { hint: 'check the path' });
    }
    throw e;
  }
  return readFirstLine({ path }, what);
}

/**
 * Opens the card the flags name and selects the SmartCard-HSM applet. Writes one line naming the
 * device to stderr (stdout stays clean for --json) unless `announce` is false.
 *
 * @throws CeremonyError device NO_CARD when `changesCard` and selection fell back to the simulator
 *   without --sim; usage REHEARSAL_SECRETS_REAL_DEVICE; everything openDevice and SELECT throw
 */
export async function openCard(flags: DeviceFlags, io: CliIo, opts: { changesCard: boolean; secrets?: DeviceSecrets; announce?: boolean }): Promise<CardSession> {
  const flavor = parseFlavor(flags.flavor);
  if (!flags.sim && (flags['sim-state'] !== undefined || flavor !== undefined)) {
    throw usageError('USAGE', '--sim-state and --flavor go with --sim', { hint: 'add --sim to use the built-in simulator' });
  }
  const device = await openDevice(
    {
      ...(flags.reader !== undefined ? { reader: flags.reader } : {}),
      ...(flags.sim ? { sim: true } : {}),
      ...(flags['sim-state'] !== undefined ? { simState: flags['sim-state'] } : {}),
      ...(flavor ? { flavor } : {}),
    },
    testOnlyDeviceHooks.deps ?? {},
  );
  let transport = device.transport;
  try {
    if (opts.changesCard && device.fallbackReason !== null) {
      throw deviceError('NO_CARD', `no device found (${device.fallbackReason.replace(/: using the built-in simulator$/, '')}); this command changes a card and will not run on a simulator by accident`, {
        hint: 'insert the device (or name its reader with --reader), or pass --sim to rehearse on the simulator',
      });
    }
    opts.secrets?.checkDevice(device);
    if (testOnlyDeviceHooks.wrapTransport) transport = testOnlyDeviceHooks.wrapTransport(transport);
    if (opts.announce !== false) io.stderr.write(`device: ${device.description}\n`);
    if (device.simulated && flags.sim && flags['sim-state'] === undefined && opts.changesCard) {
      io.stderr.write('hsm-ceremony: note: this simulated card lives in memory; what this command changes is gone when it ends (use --sim-state FILE to keep it)\n');
    }
    const hsm = new SmartCardHsm(transport);
    const applet = await hsm.selectApplet();
    return {
      hsm,
      device,
      applet,
      virtual: device.simulated || transport.info.virtual,
      close: () => transport.close(),
    };
  } catch (e) {
    await transport.close().catch(() => undefined);
    throw e;
  }
}

/** Parses a key reference flag: 1..255 (0 is the device key and never a target). */
export function parseKeyRef(text: string | undefined, flag = '--key-ref'): number {
  if (text === undefined) throw usageError('USAGE', `${flag} N is required`, { hint: 'list the keys with "hsm-ceremony keys" to find the reference' });
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 255) {
    throw usageError('BAD_KEY_REF', `${flag} takes a key reference from 1 to 255, got "${text}"`, {
      hint: 'key reference 0 is the device authentication key and cannot be backed up or replaced',
    });
  }
  return Number(text);
}
