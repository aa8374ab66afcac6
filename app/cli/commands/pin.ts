import { parseArgs } from 'node:util';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, type CardSession } from '../device-options.ts';
import { changeSoPin, changeUserPin, unblockUserPin } from '../../ceremony/operations/change-pin.ts';
import { checkUserPin, parseSoPin } from '../../card/initialize-options.ts';
import type { PinStatus, SmartCardHsm } from '../../card/sc-hsm.ts';
import { wipe } from '../../../protocol/bytes.ts';

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, options: { ...deviceOptions, 'new-pin-file': { type: 'string' }, 'new-so-pin-file': { type: 'string' } } });
}

function triesText(s: PinStatus): string {
  if (s.state === 'verified') return 'verified in this session';
  if (s.triesLeft !== null) return `${s.triesLeft} ${s.triesLeft === 1 ? 'try' : 'tries'} left`;
  return s.state;
}

/** Gathers the secrets (checked before the card is opened), then runs `op` on the card. */
async function runPinCommand(
  io: CliIo,
  values: Values,
  gather: (secrets: DeviceSecrets) => Promise<[Uint8Array, Uint8Array]>,
  op: (hsm: SmartCardHsm, a: Uint8Array, b: Uint8Array) => Promise<PinStatus>,
  done: (s: PinStatus) => { text: string; json: Record<string, unknown> },
): Promise<number> {
  const secrets = new DeviceSecrets(values, io);
  let card: CardSession | undefined;
  try {
    const [a, b] = await gather(secrets);
    card = await openCard(values, io, { changesCard: true, secrets });
    const after = await op(card.hsm, a, b);
    const d = done(after);
    io.stdout.write((values.json ? JSON.stringify(d.json) : d.text) + '\n');
    return 0;
  } finally {
    secrets.wipe();
    await card?.close();
  }
}

const NEW_PIN_HELP = `  --new-pin-file PATH     the new user PIN on the first line (mode 0600); else typed twice`;

export const pinChange: Command = {
  path: ['pin', 'change'],
  summary: 'change the user PIN (also replaces a transport PIN)',
  help: `usage: hsm-ceremony pin change [--new-pin-file PATH] [device options] [--json]

Changes the user PIN (6-16 characters). The current PIN comes from --pin-file, the secrets file or
a hidden prompt; the new one from --new-pin-file or is typed twice. A wrong current PIN costs a try
and says how many are left.
${NEW_PIN_HELP}

${DEVICE_OPTIONS_HELP}`,
  async run(argv, io) {
    const { values } = parse(argv);
    return runPinCommand(
      io,
      values,
      async (s) => {
        const current = (await s.pin({ required: true, prompt: true, label: 'Current user PIN' }))!;
        checkUserPin(current, 'current user PIN');
        const next = (await s.fromFileOrPrompt(values['new-pin-file'], 'new user PIN', { required: true, confirm: true, label: 'New user PIN (6-16 characters)' }))!;
        checkUserPin(next, 'new user PIN');
        return [current, next];
      },
      changeUserPin,
      (st) => ({ text: `user PIN changed (${triesText(st)})`, json: { changed: 'user PIN', state: st.state, triesLeft: st.triesLeft } }),
    );
  },
};

export const pinUnblock: Command = {
  path: ['pin', 'unblock'],
  summary: 'unblock the user PIN with the SO-PIN and set a new one',
  help: `usage: hsm-ceremony pin unblock [--new-pin-file PATH] [device options] [--json]

Resets the user PIN's retry counter with the SO-PIN (RESET RETRY COUNTER) and sets a new user PIN.
The SO-PIN (16 hex digits) comes from --so-pin-file, the secrets file or a hidden prompt; a wrong
SO-PIN costs an SO-PIN try and says how many are left. Works only on devices initialised with
"user PIN reset with SO-PIN enabled" (sc-hsm-tool and hsm-ceremony init always enable it).
${NEW_PIN_HELP}

${DEVICE_OPTIONS_HELP}`,
  async run(argv, io) {
    const { values } = parse(argv);
    return runPinCommand(
      io,
      values,
      async (s) => {
        const so = (await s.soPin({ required: true, prompt: true, label: 'SO-PIN (16 hex digits)' }))!;
        wipe(parseSoPin(so));
        const next = (await s.fromFileOrPrompt(values['new-pin-file'], 'new user PIN', { required: true, confirm: true, label: 'New user PIN (6-16 characters)' }))!;
        checkUserPin(next, 'new user PIN');
        return [so, next];
      },
      unblockUserPin,
      (st) => ({ text: `user PIN unblocked and set (${triesText(st)})`, json: { changed: 'user PIN', unblocked: true, state: st.state, triesLeft: st.triesLeft } }),
    );
  },
};

export const pinChangeSo: Command = {
  path: ['pin', 'change-so'],
  summary: 'change the SO-PIN',
  help: `usage: hsm-ceremony pin change-so [--new-so-pin-file PATH] [device options] [--json]

Changes the SO-PIN (16 hexadecimal digits). The current SO-PIN comes from --so-pin-file, the
secrets file or a hidden prompt; the new one from --new-so-pin-file or is typed twice. A wrong
SO-PIN costs a try and says how many are left; a blocked SO-PIN cannot be unblocked.
  --new-so-pin-file PATH  the new SO-PIN on the first line (mode 0600)

${DEVICE_OPTIONS_HELP}`,
  async run(argv, io) {
    const { values } = parse(argv);
    return runPinCommand(
      io,
      values,
      async (s) => {
        const current = (await s.soPin({ required: true, prompt: true, label: 'Current SO-PIN (16 hex digits)' }))!;
        wipe(parseSoPin(current));
        const next = (await s.fromFileOrPrompt(values['new-so-pin-file'], 'new SO-PIN', { required: true, confirm: true, label: 'New SO-PIN (16 hex digits)' }))!;
        wipe(parseSoPin(next));
        return [current, next];
      },
      changeSoPin,
      (st) => ({ text: `SO-PIN changed (${triesText(st)})`, json: { changed: 'SO-PIN', state: st.state, triesLeft: st.triesLeft } }),
    );
  },
};
