/**
 * The action menu: which actions the device's state allows, and why the others are not available
 * right now (shown, dimmed, rather than hidden, so people learn what each needs).
 */
import type { CeremonyState, Option, Prompt, Screen } from './state.ts';

/** Every menu action, in menu order. */
export type MenuAction =
  | 'status'
  | 'login'
  | 'initialize'
  | 'create-shares'
  | 'import-shares'
  | 'keys'
  | 'generate-key'
  | 'backup'
  | 'restore'
  | 'pins'
  | 'inspect'
  | 'verify-share'
  | 'help'
  | 'quit';

function deviceReason(s: CeremonyState): string | undefined {
  if (!s.device) return s.deviceError ? 'no device (see the error above; choose Status to retry)' : 'the device has not been read yet';
  return undefined;
}

/** The menu options for the current device state. */
export function menuOptions(s: CeremonyState): Option[] {
  const noDevice = deviceReason(s);
  const st = s.device?.status;
  const initialized = st?.initialized === true;
  const dkek = st?.dkek ?? null;
  const notInit = noDevice ?? (initialized ? undefined : 'the device is not initialized yet');
  const noExport =
    dkek === null ? 'the device has no DKEK, so keys cannot be exported or imported' : dkek.outstanding > 0 ? `the DKEK is incomplete: ${dkek.outstanding} of ${dkek.total} shares outstanding` : undefined;
  const opt = (value: MenuAction, key: string, label: string, hint: string, disabled?: string): Option => ({
    value,
    key,
    label,
    hint,
    ...(disabled ? { disabled } : {}),
  });
  return [
    opt('status', 's', 'Status', 'read the device again and show all it reports'),
    opt('login', 'l', 'Log in with the user PIN', 'Pico HSM shows the real KCV only after the PIN is verified',
      notInit ?? (st?.loggedIn ? 'already logged in in this session' : st?.userPin.state === 'blocked' ? 'the user PIN is blocked' : undefined)),
    opt('initialize', 'i', initialized ? 'Re-initialize the device' : 'Initialize the device', 'set SO-PIN, user PIN and the DKEK scheme (erases the device)', noDevice),
    opt('create-shares', 'c', 'Create DKEK share files', 'new random shares, each under a passphrase or n-of-m password shares'),
    opt('import-shares', 'm', 'Import DKEK shares', 'custodians open their share files; imported in order',
      notInit ?? (dkek === null ? 'the device was initialized without DKEK shares' : dkek.total === 0 ? 'the device made its own random DKEK' : dkek.outstanding === 0 ? `all ${dkek.total} shares are imported` : undefined)),
    opt('keys', 'k', 'Keys', 'reference, ID, label, type, size and certificate of every key', notInit),
    opt('generate-key', 'g', 'Generate a key pair', 'EC or RSA, made on the device (e.g. to rehearse a backup)',
      notInit ?? (dkek && dkek.outstanding > 0 ? 'DKEK shares are outstanding: the device makes no keys until they are imported' : undefined)),
    opt('backup', 'b', 'Back up keys', 'one, several or all keys to wrap files, each checked against the device KCV', notInit ?? noExport ?? (st && st.keys === 0 ? 'there are no keys to back up' : undefined)),
    opt('restore', 'r', 'Restore a key', 'from a backup file: KCV checked first, the restored key proven to sign', notInit ?? noExport),
    opt('pins', 'p', 'PINs', 'change the user PIN, unblock it with the SO-PIN, change the SO-PIN', notInit),
    opt('inspect', 'n', 'Inspect a backup file', 'offline: what a wrap file holds, its KCV and SHA-256'),
    opt('verify-share', 'v', 'Verify a share file passphrase', 'offline: does this passphrase open this share file?'),
    opt('help', 'h', 'Help', 'what each action does, keys, and how a ceremony goes'),
    opt('quit', 'q', 'Quit', 'end the session'),
  ];
}

export function menuPrompt(s: CeremonyState): Prompt {
  return { kind: 'choose', title: 'What next?', body: [], options: menuOptions(s) };
}

export function menuScreen(s: CeremonyState): Screen {
  return { flow: 'menu', prompt: menuPrompt(s) };
}
