/**
 * PIN objects of the simulated card: the user PIN (reference 0x81) and the SO-PIN (0x88, the
 * 8-byte "initialisation code"). Each has a value, a retry limit and a remaining-tries counter
 * that survive power cycles; whether a PIN is *verified* is session state and lives in card-os.ts.
 *
 * Status words (spec §3, apdu-trace.txt): 9000 verified / correct, 63Cx wrong with x tries left,
 * 6983 blocked, 6A88 no such PIN (never initialised).
 */

import { equalBytes, wipe } from '../../protocol/bytes.ts';

/** Persistent state of one PIN. */
export interface PinState {
  /** the PIN bytes; null before the card was initialised */
  value: Uint8Array | null;
  /** retry limit (user PIN: INITIALIZE tag 91, default 3; SO-PIN: 15) */
  max: number;
  /** tries left; 0 = blocked */
  remaining: number;
}

/** SO-PIN retry limit (what OpenSC and the devices report: 63CF before any failure). */
export const SO_PIN_RETRIES = 15;

/** Outcome of presenting a PIN value. */
export type PinCheck =
  | { result: 'ok' }
  | { result: 'wrong'; remaining: number }
  | { result: 'blocked' }
  | { result: 'absent' };

/** A PIN that does not exist yet. */
export function absentPin(max: number): PinState {
  return { value: null, max, remaining: max };
}

/**
 * Compares `candidate` with the PIN, updating the retry counter: a match resets it to the limit,
 * a mismatch decrements it. A blocked PIN is not compared at all.
 */
export function checkPin(pin: PinState, candidate: Uint8Array): PinCheck {
  if (pin.value === null) return { result: 'absent' };
  if (pin.remaining === 0) return { result: 'blocked' };
  if (equalBytes(pin.value, candidate)) {
    pin.remaining = pin.max;
    return { result: 'ok' };
  }
  pin.remaining -= 1;
  if (pin.remaining === 0) return { result: 'blocked' };
  return { result: 'wrong', remaining: pin.remaining };
}

/** Sets a new PIN value (copy), wiping the old one, and resets the retry counter. */
export function setPin(pin: PinState, value: Uint8Array, max = pin.max): void {
  wipe(pin.value);
  pin.value = value.slice();
  pin.max = max;
  pin.remaining = max;
}

/** The status word for a PinCheck (9000, 63Cx, 6983, 6A88). */
export function pinCheckSw(c: PinCheck): number {
  switch (c.result) {
    case 'ok':
      return 0x9000;
    case 'wrong':
      return 0x63c0 | Math.min(c.remaining, 15);
    case 'blocked':
      return 0x6983;
    case 'absent':
      return 0x6a88;
  }
}

/** The status word a PIN-status query (VERIFY without data) answers when not verified. */
export function pinStatusSw(pin: PinState): number {
  if (pin.value === null) return 0x6a88;
  if (pin.remaining === 0) return 0x6983;
  return 0x63c0 | Math.min(pin.remaining, 15);
}
