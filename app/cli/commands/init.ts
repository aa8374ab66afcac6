import { parseArgs } from 'node:util';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, type CardSession } from '../device-options.ts';
import { isInteractive, readLineBytes } from '../secret-input.ts';
import { withInterrupt } from '../progress.ts';
import { checkInitializeOptions, DEFAULT_RETRY_COUNTER, type InitializeOptions } from '../../card/initialize-options.ts';
import { initializeDevice, type InitializeSurvey } from '../../ceremony/operations/initialize-device.ts';
import { usageError } from '../../../protocol/errors.ts';
import { wipe } from '../../../protocol/bytes.ts';

function parseCount(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,3}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw usageError('USAGE', `${flag} takes a number from ${min} to ${max}, got "${text}"`, { hint: 'see hsm-ceremony init --help' });
  }
  return Number(text);
}

/** The DKEK choice: exactly one of --dkek-shares N, --dkek-random, --no-dkek. */
function dkekChoice(values: { 'dkek-shares'?: string | undefined; 'dkek-random'?: boolean | undefined; 'no-dkek'?: boolean | undefined }): number | null {
  const given = [values['dkek-shares'] !== undefined, values['dkek-random'] === true, values['no-dkek'] === true].filter(Boolean).length;
  if (given > 1) throw usageError('USAGE', 'give only one of --dkek-shares N, --dkek-random, --no-dkek');
  if (given === 0) {
    throw usageError('DKEK_CHOICE_MISSING', 'say how the device gets its DKEK: --dkek-shares N, --dkek-random or --no-dkek', {
      hint: 'without a DKEK no key on this device can ever be backed up or restored (sc-hsm-tool silently initialises that way); --dkek-shares N lets N custodians each bring a share, --dkek-random makes the device pick one nobody knows (backups then restore only into this device)',
    });
  }
  if (values['no-dkek']) return null;
  if (values['dkek-random']) return 0;
  return parseCount(values['dkek-shares'], '--dkek-shares', 1, 127)!;
}

async function confirmDestroy(io: CliIo, flag: number | undefined, count: number, survey: InitializeSurvey): Promise<boolean> {
  if (flag !== undefined && flag !== count) {
    throw usageError('DESTROY_COUNT_MISMATCH', `--yes-destroy-keys ${flag} does not match the ${count} keys on the device (key references ${survey.keyRefs.join(', ')}); nothing was changed`, {
      hint: 'list them with hsm-ceremony keys and back up what must survive before re-initialising',
    });
  }
  io.stderr.write(`hsm-ceremony: warning: re-initialising erases the ${count} key${count === 1 ? '' : 's'} on this device (key reference${count === 1 ? '' : 's'} ${survey.keyRefs.join(', ')}) and its DKEK\n`);
  if (!isInteractive(io)) {
    if (flag === undefined) {
      throw usageError('KEYS_WOULD_BE_DESTROYED', `the device holds ${count} key${count === 1 ? '' : 's'} that initialising would destroy; nothing was changed`, {
        hint: `back them up first (hsm-ceremony backup --all --out DIR); to go ahead without a terminal pass --yes-destroy-keys ${count}`,
      });
    }
    return true;
  }
  const phrase = `destroy ${count} key${count === 1 ? '' : 's'}`;
  const typed = await readLineBytes(io, `Type "${phrase}" to erase them: `, { hidden: false, maxLength: 64 });
  const ok = new TextDecoder().decode(typed) === phrase;
  wipe(typed);
  if (!ok) io.stderr.write('hsm-ceremony: that is not the phrase; nothing was changed\n');
  return ok;
}

export const init: Command = {
  path: ['init'],
  summary: 'initialise a device: SO-PIN, user PIN, DKEK shares (like sc-hsm-tool --initialize)',
  help: `usage: hsm-ceremony init (--dkek-shares N | --dkek-random | --no-dkek) [--pin-retry N] [--label TEXT]
                         [--yes-destroy-keys N] [device options] [--json]

Initialises the device as sc-hsm-tool --initialize does. This ERASES every key on it.
  --dkek-shares N        the DKEK will be made of N shares (1-127), imported with share import
  --dkek-random          the device makes a random DKEK (backups restore only into this device)
  --no-dkek              no DKEK: keys on this device can never be backed up or restored
  --pin-retry N          wrong user-PIN tries before it blocks (default ${DEFAULT_RETRY_COUNTER}; at most 3 for a
                         6-character PIN, 5 for 7 characters, 10 otherwise)
  --label TEXT           token label (written to EF.TokenInfo)
  --yes-destroy-keys N   without a terminal: confirms that the N keys on the device may be erased
The SO-PIN is 16 hexadecimal digits (a device initialised before needs its current SO-PIN); the
user PIN has 6 to 16 characters. Both are typed twice at hidden prompts, or come from the secrets
file / --so-pin-file / --pin-file. Everything is checked before the first command reaches the card.
On a terminal, erasing keys needs the typed phrase "destroy N keys".

${DEVICE_OPTIONS_HELP}`,
  async run(argv: string[], io: CliIo) {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        ...deviceOptions,
        'dkek-shares': { type: 'string' },
        'dkek-random': { type: 'boolean' },
        'no-dkek': { type: 'boolean' },
        'pin-retry': { type: 'string' },
        label: { type: 'string' },
        'yes-destroy-keys': { type: 'string' },
      },
    });
    const dkekShares = dkekChoice(values);
    const retryCounter = parseCount(values['pin-retry'], '--pin-retry', 1, 10) ?? DEFAULT_RETRY_COUNTER;
    const destroyFlag = parseCount(values['yes-destroy-keys'], '--yes-destroy-keys', 0, 255);
    const secrets = new DeviceSecrets(values, io);
    let card: CardSession | undefined;
    try {
      if (!secrets.hasSoPin() && isInteractive(io)) {
        io.stderr.write('The SO-PIN unblocks the user PIN and re-initialises the device: 16 hexadecimal digits.\nFor a device that was initialised before, give its current SO-PIN.\n');
      }
      const soPin = (await secrets.soPin({ required: true, prompt: true, confirm: true, label: 'SO-PIN (16 hex digits)' }))!;
      const userPin = (await secrets.pin({ required: true, prompt: true, confirm: true, label: 'New user PIN (6-16 characters)' }))!;
      const options: InitializeOptions = { userPin, soPin, retryCounter, dkekShares, ...(values.label !== undefined ? { label: values.label } : {}) };
      checkInitializeOptions(options); // every rule before the first APDU
      card = await openCard(values, io, { changesCard: true, secrets });
      const hsm = card.hsm;
      const result = await withInterrupt((signal) =>
        initializeDevice(hsm, options, {
          signal,
          confirmDestroy: (count, survey) => confirmDestroy(io, destroyFlag, count, survey),
          onEvent: (e) => {
            if (e.kind === 'survey' && e.survey.initialized && e.survey.keyRefs.length === 0 && !values.json) {
              io.stderr.write('hsm-ceremony: note: the device was initialised before; its PINs and DKEK are replaced\n');
            }
          },
        }),
      );
      if (values.json) {
        io.stdout.write(JSON.stringify({ initialized: true, device: card.device.description, keysErased: result.survey.keyRefs.length, dkekMode: dkekShares === null ? 'none' : dkekShares === 0 ? 'random' : 'shares', dkek: result.dkek, retryCounter, label: values.label ?? null }) + '\n');
        return 0;
      }
      const out = [`Device initialised (${card.device.description})`];
      if (result.survey.keyRefs.length > 0) out.push(`  keys erased        : ${result.survey.keyRefs.length}`);
      out.push(`  user PIN tries     : ${retryCounter}`);
      if (values.label !== undefined) out.push(`  label              : ${values.label}`);
      // what was asked decides the wording: a device answers "0 shares" both without a DKEK and with a random one
      if (dkekShares === null) out.push('  DKEK               : none (keys on this device can never be backed up)');
      else if (dkekShares === 0 || !result.dkek) out.push(`  DKEK               : random, made by the device${result.dkek?.kcv ? `, KCV ${result.dkek.kcv}` : ''}`);
      else out.push(`  DKEK shares        : ${result.dkek.total} expected; import them with: hsm-ceremony share import FILE…`);
      io.stdout.write(out.join('\n') + '\n');
      return 0;
    } finally {
      secrets.wipe();
      await card?.close();
    }
  },
};
