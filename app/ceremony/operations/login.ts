/**
 * Logging in with the user PIN and reading the DKEK status, worded for people. Every device
 * operation that needs the PIN goes through `loginUser`, so a wrong, blocked or transport PIN reads
 * the same everywhere: tries left in words, and how to unblock.
 *
 * The PIN state is read first (VERIFY without data costs no try), so a blocked PIN is reported as
 * blocked instead of burning nothing and answering a puzzling status word.
 */
import type { DkekStatus, SmartCardHsm } from '../../card/sc-hsm.ts';
import { CardError, isCardError } from '../../card/status-words.ts';
import { checkFailed, deviceError } from '../../../protocol/errors.ts';

/** What to do about a blocked user PIN, in one line. */
export const UNBLOCK_HINT = 'unblock it with the SO-PIN: hsm-ceremony pin unblock (a new PIN is set at the same time)';

/**
 * Verifies the user PIN unless this session already has.
 *
 * @throws CeremonyError check WRONG_PIN (tries left in the message; exit 1), device PIN_BLOCKED,
 *   TRANSPORT_PIN, NOT_INITIALIZED; CardError for other refusals
 */
export async function loginUser(hsm: SmartCardHsm, pin: Uint8Array): Promise<void> {
  const status = await hsm.pinStatus('user');
  if (status.state === 'verified') return;
  if (status.state === 'blocked') {
    throw deviceError('PIN_BLOCKED', 'the user PIN is blocked: no tries are left', { hint: UNBLOCK_HINT });
  }
  if (status.state === 'transport') {
    throw deviceError('TRANSPORT_PIN', 'the user PIN is still the transport PIN', { hint: 'set your own PIN first: hsm-ceremony pin change' });
  }
  if (status.state === 'not-initialized') {
    throw deviceError('NOT_INITIALIZED', 'the device has never been initialised, so it has no user PIN', { hint: 'initialise it first: hsm-ceremony init' });
  }
  try {
    await hsm.verifyPin(pin);
  } catch (e) {
    if (e instanceof CardError && e.triesLeft !== null) {
      const n = e.triesLeft;
      if (n === 0) {
        throw checkFailed('WRONG_PIN', 'the user PIN is wrong, and that was the last try: the PIN is now blocked', { hint: UNBLOCK_HINT, detail: { triesLeft: 0 } });
      }
      throw checkFailed('WRONG_PIN', `the user PIN is wrong: ${n} ${n === 1 ? 'try' : 'tries'} left before it is blocked`, {
        hint: n === 1 ? 'check the PIN very carefully: one more wrong PIN blocks it' : 'check the PIN and try again',
        detail: { triesLeft: n },
      });
    }
    if (isCardError(e, 0x6983)) {
      // tries were left a moment ago: this wrong PIN used the last one (some cards answer 69 83, not 63 C0)
      throw checkFailed('WRONG_PIN', 'the user PIN is wrong, and that was the last try: the PIN is now blocked', { hint: UNBLOCK_HINT, detail: { triesLeft: 0 } });
    }
    throw e;
  }
}

/**
 * The DKEK status, or null when the device has no DKEK set up (`6D 00`: not initialised with DKEK
 * shares, or not a device that supports them).
 *
 * @throws CardError for other refusals
 */
export async function readDkekStatus(hsm: SmartCardHsm): Promise<DkekStatus | null> {
  try {
    return await hsm.dkekStatus();
  } catch (e) {
    if (isCardError(e, 0x6d00)) return null;
    throw e;
  }
}

/**
 * The DKEK status of a device that must have a complete DKEK with a known KCV (backup, restore).
 * Log in first: Pico HSM reports a zero KCV until the user PIN is verified.
 *
 * @throws CeremonyError device NO_DKEK, DKEK_INCOMPLETE, DKEK_KCV_UNKNOWN
 */
export async function requireCompleteDkek(hsm: SmartCardHsm): Promise<DkekStatus> {
  const status = await readDkekStatus(hsm);
  if (!status) {
    throw deviceError('NO_DKEK', 'the device has no DKEK, so keys cannot be wrapped or unwrapped', {
      hint: 'initialise the device with DKEK shares (hsm-ceremony init --dkek-shares N) and import them',
    });
  }
  if (status.outstanding > 0) {
    throw deviceError('DKEK_INCOMPLETE', `the device DKEK is incomplete: ${status.outstanding} of ${status.total} shares still missing`, {
      hint: 'import the missing shares first: hsm-ceremony share import FILE…',
    });
  }
  if (!status.kcvKnown) {
    throw deviceError('DKEK_KCV_UNKNOWN', 'the device reports no DKEK key check value', {
      hint: 'verify the user PIN in the same session (Pico HSM shows the KCV only then) and retry',
    });
  }
  return status;
}
