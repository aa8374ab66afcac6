/**
 * INITIALIZE DEVICE options: sc-hsm-tool's rules (spec §6), checked before any APDU is sent, and
 * the exact TLVs it sends. Also the PIN rules the other PIN commands share.
 *
 * PINs and SO-PINs are Uint8Array only. The SO-PIN is taken as typed: 16 hexadecimal digits (ASCII
 * bytes, `:` or spaces between byte pairs allowed as sc_hex_to_bin does) that become 8 bytes. Every
 * copy made here is the caller's to wipe (`encodeInitializeData` returns a buffer holding secrets).
 */
import { concatBytes, wipe } from '../../protocol/bytes.ts';
import { usageError } from '../../protocol/errors.ts';

/** User PIN length limits enforced by sc-hsm-tool and the card (bytes). */
export const USER_PIN_MIN = 6;
export const USER_PIN_MAX = 16;
/** The SO-PIN is 8 bytes on the card, typed as 16 hex digits. */
export const SO_PIN_LENGTH = 8;
/** Retry counter default and ceiling (sc-hsm-tool `--pin-retry`). */
export const DEFAULT_RETRY_COUNTER = 3;
export const MAX_RETRY_COUNTER = 10;
/** DKEK share count range that fits sc-hsm-tool's signed char. */
export const MAX_DKEK_SHARES = 127;
/** Options word: bit 0 = RESET RETRY COUNTER with the SO-PIN allowed (sc-hsm-tool always sets it). */
export const INIT_OPTIONS_RRC_ENABLED = 0x0001;

export interface InitializeOptions {
  /** new user PIN, 6 to 16 bytes as typed */
  userPin: Uint8Array;
  /** SO-PIN as typed: 16 hex digits (ASCII). On a card initialised before, this must be its current SO-PIN. */
  soPin: Uint8Array;
  /** wrong user-PIN tries before it blocks; default 3, at most 3 for a 6-byte PIN, 5 for 7, 10 otherwise */
  retryCounter?: number;
  /**
   * DKEK shares the device will expect: omitted (undefined/null) = no DKEK, so no key can ever be
   * wrapped or unwrapped; 0 = the device makes a random DKEK; 1..127 = that many shares to import
   */
  dkekShares?: number | null;
  /** token label written to EF.TokenInfo 2F03 after initialisation (1..127 UTF-8 bytes) */
  label?: string;
}

function requireBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/**
 * Checks a user PIN's length (6..16 bytes).
 *
 * @throws {TypeError} if `pin` is not a Uint8Array
 * @throws CeremonyError usage USER_PIN_LENGTH
 */
export function checkUserPin(pin: Uint8Array, what = 'user PIN'): void {
  requireBytes(pin, what);
  if (pin.length < USER_PIN_MIN || pin.length > USER_PIN_MAX) {
    throw usageError('USER_PIN_LENGTH', `the ${what} must be ${USER_PIN_MIN} to ${USER_PIN_MAX} characters, got ${pin.length}`, {
      hint: `choose a PIN of ${USER_PIN_MIN} to ${USER_PIN_MAX} characters`,
    });
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * The 8 SO-PIN bytes from the SO-PIN as typed: exactly 16 hex digits, optionally with `:` or
 * spaces between byte pairs. Returns a new array the caller must wipe. The input is not modified.
 *
 * @throws {TypeError} if `typed` is not a Uint8Array
 * @throws CeremonyError usage SO_PIN_FORMAT (the message never echoes the input)
 */
export function parseSoPin(typed: Uint8Array): Uint8Array {
  requireBytes(typed, 'SO-PIN');
  const out = new Uint8Array(SO_PIN_LENGTH);
  let n = 0;
  let ok = true;
  for (let i = 0; i < typed.length && ok; ) {
    const c = typed[i]!;
    if (c === 0x3a || c === 0x20) {
      // a separator only between byte pairs
      if (i === 0 || i === typed.length - 1) ok = false;
      i++;
      continue;
    }
    const hi = hexValue(c);
    const lo = i + 1 < typed.length ? hexValue(typed[i + 1]!) : -1;
    if (hi < 0 || lo < 0 || n >= SO_PIN_LENGTH) {
      ok = false;
      break;
    }
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  if (!ok || n !== SO_PIN_LENGTH) {
    wipe(out);
    throw usageError('SO_PIN_FORMAT', 'the SO-PIN must be exactly 16 hexadecimal digits', {
      hint: 'type the SO-PIN as 16 characters 0-9 a-f, e.g. the factory default 3537363231383830',
    });
  }
  return out;
}

/** The highest retry counter sc-hsm-tool allows for a user PIN of this length. */
export function maxRetryCounterFor(pinLength: number): number {
  if (pinLength <= 6) return 3;
  if (pinLength === 7) return 5;
  return MAX_RETRY_COUNTER;
}

/**
 * Checks every option the way sc-hsm-tool does (with one addition: a retry counter of 0 is refused,
 * since it would create a blocked PIN). Nothing is sent to the card.
 *
 * @throws {TypeError} for a PIN that is not a Uint8Array
 * @throws CeremonyError usage USER_PIN_LENGTH, SO_PIN_FORMAT, RETRY_COUNTER_RANGE, DKEK_SHARES_RANGE, LABEL_LENGTH
 */
export function checkInitializeOptions(o: InitializeOptions): void {
  checkUserPin(o.userPin, 'user PIN');
  wipe(parseSoPin(o.soPin));
  const retry = o.retryCounter ?? DEFAULT_RETRY_COUNTER;
  const max = maxRetryCounterFor(o.userPin.length);
  if (!Number.isInteger(retry) || retry < 1 || retry > max) {
    throw usageError('RETRY_COUNTER_RANGE', `the PIN retry counter must be 1 to ${max} for a ${o.userPin.length}-character PIN, got ${String(retry)}`, {
      hint: 'a 6-character PIN allows at most 3 tries, 7 characters at most 5, longer PINs at most 10',
    });
  }
  const shares = o.dkekShares;
  if (shares !== undefined && shares !== null && (!Number.isInteger(shares) || shares < 0 || shares > MAX_DKEK_SHARES)) {
    throw usageError('DKEK_SHARES_RANGE', `the number of DKEK shares must be 0 to ${MAX_DKEK_SHARES}, got ${String(shares)}`, {
      hint: 'use 0 for a random DKEK, 1..127 for that many shares, or leave it out for no DKEK',
    });
  }
  if (o.label !== undefined) {
    const n = typeof o.label === 'string' ? new TextEncoder().encode(o.label).length : -1;
    if (n < 1 || n > 127) {
      throw usageError('LABEL_LENGTH', `the token label must be 1 to 127 bytes, got ${n < 0 ? 'no text' : n}`, {
        hint: 'choose a shorter label',
      });
    }
  }
}

/**
 * The INITIALIZE DEVICE data field, TLVs in sc-hsm-tool's order: `80 02 00 01` options, `81 L` user
 * PIN, `82 08` SO-PIN, `91 01` retry counter, `92 01` DKEK shares (only when given). The result holds
 * both PINs: wipe it after sending.
 *
 * @throws as checkInitializeOptions
 */
export function encodeInitializeData(o: InitializeOptions): Uint8Array {
  checkInitializeOptions(o);
  const so = parseSoPin(o.soPin);
  const parts: Uint8Array[] = [
    Uint8Array.of(0x80, 0x02, INIT_OPTIONS_RRC_ENABLED >> 8, INIT_OPTIONS_RRC_ENABLED & 0xff),
    Uint8Array.of(0x81, o.userPin.length),
    o.userPin,
    Uint8Array.of(0x82, SO_PIN_LENGTH),
    so,
    Uint8Array.of(0x91, 0x01, o.retryCounter ?? DEFAULT_RETRY_COUNTER),
  ];
  if (o.dkekShares !== undefined && o.dkekShares !== null) parts.push(Uint8Array.of(0x92, 0x01, o.dkekShares));
  const data = concatBytes(...parts);
  wipe(so);
  return data;
}
