/**
 * Confirming a DKEK after its last share: verify the user PIN, then read the key check value and
 * compare it with the one the custodians expect.
 *
 * Why the PIN: Pico HSM firmware keeps the DKEK pending after the last share and commits it only at
 * the next successful user-PIN VERIFY; a restart before that silently replaces it with a wrong value
 * (fixtures README). It also shows a zero KCV until the PIN is verified. So the ceremony verifies
 * the PIN and reads the KCV right after the last share, in the same card session.
 */
import type { SmartCardHsm } from '../../card/sc-hsm.ts';
import { formatKcv } from '../../../protocol/dkek/dkek.ts';
import { equalBytes } from '../../../protocol/bytes.ts';
import { checkFailed, deviceError, type CeremonyError } from '../../../protocol/errors.ts';
import { loginUser, readDkekStatus } from './login.ts';

export interface DkekConfirmation {
  total: number;
  outstanding: number;
  /** the device KCV (16 upper-case hex digits), or null when it does not show one */
  kcv: string | null;
  /** the user PIN was verified in this session */
  loggedIn: boolean;
  /** the expected KCV, when one was given */
  expected: string | null;
  /** null when nothing was compared */
  matches: boolean | null;
}

/**
 * Verifies the PIN (when given) and reads the KCV; compares it with `expectKcv` (when given).
 * A mismatch is returned, not thrown, so the caller can show the status first (`mismatchError`).
 *
 * @throws CeremonyError device NO_DKEK; the loginUser errors (check WRONG_PIN …)
 */
export async function confirmDkek(hsm: SmartCardHsm, o: { pin?: Uint8Array | undefined; expectKcv?: Uint8Array | undefined }): Promise<DkekConfirmation> {
  if (o.pin) await loginUser(hsm, o.pin);
  const status = await readDkekStatus(hsm);
  if (!status) throw deviceError('NO_DKEK', 'the device has no DKEK', { hint: 'initialise it with hsm-ceremony init --dkek-shares N' });
  const known = status.kcvKnown && status.outstanding === 0;
  const kcv = known ? formatKcv(status.kcv) : null;
  const expected = o.expectKcv ? formatKcv(o.expectKcv) : null;
  return {
    total: status.total,
    outstanding: status.outstanding,
    kcv,
    loggedIn: o.pin !== undefined,
    expected,
    matches: o.expectKcv ? known && equalBytes(status.kcv, o.expectKcv) : null,
  };
}

/** The error for a confirmation whose KCV could not be compared or differs; undefined when it matches. */
export function mismatchError(c: DkekConfirmation): CeremonyError | undefined {
  if (c.matches !== false) return undefined;
  if (c.kcv === null) {
    return checkFailed('KCV_UNKNOWN', `the device shows no key check value, so it could not be compared with the expected ${c.expected}`, {
      hint: c.outstanding > 0 ? 'shares are still outstanding; import them first' : 'give the user PIN (--pin-file or the secrets file): Pico HSM shows the KCV only after PIN verification',
    });
  }
  return checkFailed('KCV_MISMATCH', `the device DKEK has key check value ${c.kcv}, but ${c.expected} was expected`, {
    hint: 'a share was wrong or missing, or the expected KCV belongs to another DKEK; no backup made under the expected DKEK will restore here',
  });
}
