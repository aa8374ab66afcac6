import { parseArgs } from 'node:util';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, type CardSession } from '../device-options.ts';
import { readDeviceStatus, type DeviceStatus, type PinSummary } from '../../ceremony/operations/read-status.ts';

function pinLine(p: PinSummary): string {
  switch (p.state) {
    case 'verified':
      return `verified in this session${p.triesLeft !== null ? ` (${p.triesLeft} tries)` : ''}`;
    case 'not-verified':
      return String(p.triesLeft);
    case 'blocked':
      return '0 (blocked: unblock it with hsm-ceremony pin unblock)';
    case 'transport':
      return 'transport PIN active: change it first with hsm-ceremony pin change';
    case 'not-initialized':
      return 'not set';
  }
}

/** The status in sc-hsm-tool's layout (spec §7 print_info), plus keys, label and the device kind. */
export function formatStatus(s: DeviceStatus, card: Pick<CardSession, 'device' | 'virtual'>): string {
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`${name.padEnd(21)}: ${value}`);
  field('Device', card.device.description);
  if (card.device.simulated) lines.push('  (a simulated device: nothing here touches real hardware)');
  else if (card.virtual) lines.push('  (a virtual reader: the card in it is software)');
  field('Version', s.version);
  lines.push('Config options       :');
  if (s.userPinResetWithSoPin) lines.push('  User PIN reset with SO-PIN enabled');
  if (s.transportPinMode) lines.push('  Transport-PIN mode enabled');
  if (!s.initialized) {
    lines.push('SmartCard-HSM has never been initialized. Please use hsm-ceremony init to set SO-PIN and user PIN.');
    return lines.join('\n');
  }
  field('SO-PIN tries left', pinLine(s.soPin));
  field('User PIN tries left', pinLine(s.userPin));
  if (!s.dkek) {
    field('DKEK', 'none (initialised without DKEK shares: keys cannot be backed up)');
  } else {
    // "0 shares" is what a device answers both for a random DKEK and for none; only a KCV tells them apart
    field('DKEK shares', s.dkek.total === 0 ? (s.dkek.kcv ? '0 (random DKEK made by the device)' : '0 (no DKEK, or a random one whose KCV is not shown)') : String(s.dkek.total));
    if (s.dkek.outstanding > 0) lines.push(`DKEK import pending, ${s.dkek.outstanding} share(s) still missing`);
    else if (s.dkek.kcv) field('DKEK key check value', s.dkek.kcv);
    else field('DKEK key check value', s.loggedIn ? 'not shown by the device' : 'not shown until the user PIN is verified (give --pin-file, the secrets file or --login)');
  }
  field('Keys', s.keys === 0 ? 'none' : `${s.keys} (key reference${s.keys === 1 ? '' : 's'} ${s.keyRefs.join(', ')})`);
  field('Device key', s.deviceKey ? 'present (key reference 0)' : 'absent');
  if (s.label !== null) field('Label', s.label);
  return lines.join('\n');
}

export const status: Command = {
  path: ['status'],
  summary: 'show the device: version, PIN tries, DKEK shares and KCV, keys (like sc-hsm-tool)',
  help: `usage: hsm-ceremony status [device options] [--login] [--json]

Shows what sc-hsm-tool shows without an action: firmware version, configuration options, SO-PIN
and user PIN tries left, DKEK shares (total and outstanding) and the DKEK key check value (KCV),
plus the number of keys, the token label, and whether the device is the built-in simulator or a
virtual reader.

With the user PIN available (--pin-file, the secrets file, or --login to type it) it logs in
first: Pico HSM shows the real KCV only after the PIN is verified (sc-hsm-tool always shows zeros
there). A wrong PIN costs a try.

${DEVICE_OPTIONS_HELP}`,
  async run(argv: string[], io: CliIo) {
    const { values } = parseArgs({ args: argv, strict: true, options: { ...deviceOptions, login: { type: 'boolean' } } });
    const secrets = new DeviceSecrets(values, io);
    let card: CardSession | undefined;
    try {
      card = await openCard(values, io, { changesCard: false, secrets, announce: values.json === true });
      const pin = await secrets.pin({ required: values.login === true, prompt: values.login === true });
      const s = await readDeviceStatus(card.hsm, card.applet, { pin });
      if (values.json) {
        io.stdout.write(JSON.stringify({ device: { description: card.device.description, simulated: card.device.simulated, virtual: card.virtual }, ...s }) + '\n');
      } else {
        io.stdout.write(formatStatus(s, card) + '\n');
      }
      return 0;
    } finally {
      secrets.wipe();
      await card?.close();
    }
  },
};
