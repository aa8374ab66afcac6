/**
 * Changing PINs: the user PIN (CHANGE REFERENCE DATA, also how a transport PIN is replaced),
 * unblocking it with the SO-PIN (RESET RETRY COUNTER with a new PIN), and changing the SO-PIN.
 * The PIN state is read first, so a blocked PIN is reported as such, and a wrong PIN says how many
 * tries are left, in words.
 */
import type { PinStatus, SmartCardHsm } from '../../card/sc-hsm.ts';
import { CardError } from '../../card/status-words.ts';
import { checkUserPin } from '../../card/initialize-options.ts';
import { parseSoPin } from '../../card/initialize-options.ts';
import { checkFailed, deviceError } from '../../../protocol/errors.ts';
import { wipe } from '../../../protocol/bytes.ts';
import { UNBLOCK_HINT } from './login.ts';

const SO_BLOCKED_HINT = "a blocked SO-PIN cannot be unblocked; only the vendor's tools can reset such a device";

function wrongPin(e: unknown, what: 'user PIN' | 'SO-PIN'): unknown {
  if (!(e instanceof CardError)) return e;
  // the PIN was usable just before (requireUsable), so 69 83 now means this entry used the last try
  const n = e.sw === 0x6983 ? 0 : e.triesLeft;
  if (n === null) return e;
  const code = what === 'user PIN' ? 'WRONG_PIN' : 'WRONG_SO_PIN';
  if (n === 0) {
    return checkFailed(code, `the ${what} is wrong, and that was the last try: it is now blocked`, { hint: what === 'user PIN' ? UNBLOCK_HINT : SO_BLOCKED_HINT, detail: { triesLeft: 0 } });
  }
  return checkFailed(code, `the ${what} is wrong: ${n} ${n === 1 ? 'try' : 'tries'} left before it is blocked; nothing was changed`, {
    hint: n === 1 ? 'check it very carefully: one more wrong entry blocks it' : 'check it and try again',
    detail: { triesLeft: n },
  });
}

async function requireUsable(hsm: SmartCardHsm, pin: 'user' | 'so'): Promise<PinStatus> {
  const s = await hsm.pinStatus(pin);
  if (s.state === 'not-initialized') throw deviceError('NOT_INITIALIZED', 'the device has never been initialised', { hint: 'initialise it first: hsm-ceremony init' });
  if (s.state === 'blocked') {
    throw pin === 'user'
      ? deviceError('PIN_BLOCKED', 'the user PIN is blocked: no tries are left', { hint: UNBLOCK_HINT })
      : deviceError('SO_PIN_BLOCKED', 'the SO-PIN is blocked: no tries are left', { hint: SO_BLOCKED_HINT });
  }
  return s;
}

/**
 * Changes the user PIN (or replaces a transport PIN). Checks both PINs' lengths before any APDU.
 *
 * @throws CeremonyError usage USER_PIN_LENGTH; check WRONG_PIN; device PIN_BLOCKED, NOT_INITIALIZED
 */
export async function changeUserPin(hsm: SmartCardHsm, currentPin: Uint8Array, newPin: Uint8Array): Promise<PinStatus> {
  checkUserPin(currentPin, 'current user PIN');
  checkUserPin(newPin, 'new user PIN');
  await requireUsable(hsm, 'user');
  try {
    await hsm.changePin(currentPin, newPin);
  } catch (e) {
    throw wrongPin(e, 'user PIN');
  }
  return hsm.pinStatus('user');
}

/**
 * Unblocks the user PIN with the SO-PIN and sets `newPin` (RESET RETRY COUNTER). Works on a PIN
 * that is not blocked too (it then just sets a new one).
 *
 * @throws CeremonyError usage SO_PIN_FORMAT, USER_PIN_LENGTH; check WRONG_SO_PIN; device
 *   SO_PIN_BLOCKED; CardError CARD_CONDITIONS_NOT_SATISFIED when the device forbids it
 */
export async function unblockUserPin(hsm: SmartCardHsm, soPin: Uint8Array, newPin: Uint8Array): Promise<PinStatus> {
  wipe(parseSoPin(soPin));
  checkUserPin(newPin, 'new user PIN');
  await requireUsable(hsm, 'so');
  try {
    await hsm.unblockPin(soPin, newPin);
  } catch (e) {
    throw wrongPin(e, 'SO-PIN');
  }
  return hsm.pinStatus('user');
}

/**
 * Changes the SO-PIN (both as 16 hex digits).
 *
 * @throws CeremonyError usage SO_PIN_FORMAT; check WRONG_SO_PIN; device SO_PIN_BLOCKED
 */
export async function changeSoPin(hsm: SmartCardHsm, currentSoPin: Uint8Array, newSoPin: Uint8Array): Promise<PinStatus> {
  wipe(parseSoPin(currentSoPin));
  wipe(parseSoPin(newSoPin));
  await requireUsable(hsm, 'so');
  try {
    await hsm.changeSoPin(currentSoPin, newSoPin);
  } catch (e) {
    throw wrongPin(e, 'SO-PIN');
  }
  return hsm.pinStatus('so');
}
