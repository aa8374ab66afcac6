/**
 * ISO/IEC 7816-4 status words as the SmartCard-HSM (and Pico HSM) use them, named, explained in
 * words, and turned into `CardError`s that say what happened and what to do next.
 *
 * The table follows what OpenSC's iso7816.c and card-sc-hsm.c interpret (spec §3 "Other status
 * words OpenSC interprets") plus what Pico HSM firmware 6.6 was seen to answer in
 * `shared/fixtures/opensc-pico/apdu-trace.txt` (e.g. `69 86` for one DKEK share too many, `64 00`
 * for an UNWRAP under a foreign DKEK). docs/card-commands.md §5 has the same table for readers.
 *
 * A command may override the generic wording for a status word (for example `6A 88` on the SO-PIN
 * status means "never initialised"): see `CardErrorContext.overrides`.
 */
import { CeremonyError } from '../../protocol/errors.ts';

/** Status words that are success or a warning the command layer handles itself. */
export const SW_OK = 0x9000;
/** "End of file reached before reading Le bytes": a short final READ BINARY. */
export const SW_END_OF_FILE = 0x6282;

export interface StatusWordInfo {
  /** stable upper-snake name, e.g. FILE_NOT_FOUND; also the CardError code after `CARD_` */
  name: string;
  /** what the card said, in words, lowercase, no final period */
  meaning: string;
  /** what to do next */
  hint: string;
}

const TABLE: ReadonlyMap<number, StatusWordInfo> = new Map([
  [0x6282, { name: 'END_OF_FILE', meaning: 'the end of the file was reached before all requested bytes were read', hint: 'this is normal for the last chunk of a file; if it persists the file is shorter than expected' }],
  [0x6283, { name: 'FILE_DEACTIVATED', meaning: 'the selected file is deactivated', hint: 'the file cannot be used until it is activated again' }],
  [0x6300, { name: 'VERIFICATION_FAILED', meaning: 'verification failed', hint: 'check the PIN or key and try again' }],
  [0x6400, { name: 'EXECUTION_ERROR', meaning: 'the card could not execute the command (state unchanged)', hint: 'for UNWRAP this means the wrapped key was made under a different DKEK: compare the key check values before retrying' }],
  [0x6581, { name: 'MEMORY_FAILURE', meaning: 'the card reported a memory failure', hint: 'retry once; if it repeats the device may be worn out or damaged' }],
  [0x6700, { name: 'WRONG_LENGTH', meaning: 'the card rejected the length of the command', hint: 'the reader may not support extended-length APDUs; try another reader, or report this as a bug' }],
  [0x6881, { name: 'LOGICAL_CHANNEL_NOT_SUPPORTED', meaning: 'the logical channel is not supported', hint: 'report this as a bug' }],
  [0x6882, { name: 'SECURE_MESSAGING_NOT_SUPPORTED', meaning: 'secure messaging is not supported', hint: 'report this as a bug' }],
  [0x6982, { name: 'SECURITY_STATUS_NOT_SATISFIED', meaning: 'the card refused: the user PIN has not been verified in this session', hint: 'verify the user PIN first, then repeat the step' }],
  [0x6983, { name: 'PIN_BLOCKED', meaning: 'the PIN is blocked: no tries are left', hint: 'unblock the user PIN with the SO-PIN (RESET RETRY COUNTER); a blocked SO-PIN cannot be unblocked' }],
  [0x6984, { name: 'PIN_NOT_USABLE', meaning: 'the PIN cannot be used: it is still a transport PIN or the device is not initialised', hint: 'change the transport PIN to your own PIN first, or initialise the device' }],
  [0x6985, { name: 'CONDITIONS_NOT_SATISFIED', meaning: 'the card refused: conditions of use not satisfied', hint: 'check that the key may be exported or used this way and that the DKEK is complete' }],
  [0x6986, { name: 'COMMAND_NOT_ALLOWED', meaning: 'the card does not allow this command in its current state', hint: 'for IMPORT DKEK SHARE this means every share is already imported; read the DKEK status' }],
  [0x6A80, { name: 'WRONG_DATA', meaning: 'the card rejected the data in the command', hint: 'for UNWRAP this means the wrapped key does not match the DKEK or is damaged' }],
  [0x6A81, { name: 'FUNCTION_NOT_SUPPORTED', meaning: 'the function is not supported by this card', hint: 'check the firmware version of the device' }],
  [0x6A82, { name: 'FILE_NOT_FOUND', meaning: 'the file or application was not found', hint: 'check the key reference or file identifier' }],
  [0x6A84, { name: 'NOT_ENOUGH_MEMORY', meaning: 'the card has not enough memory left', hint: 'delete keys or files that are no longer needed' }],
  [0x6A86, { name: 'INCORRECT_P1P2', meaning: 'the card rejected the command parameters (P1/P2)', hint: 'check the key reference; otherwise report this as a bug' }],
  [0x6A87, { name: 'LC_INCONSISTENT', meaning: 'the command length is inconsistent with its parameters', hint: 'report this as a bug' }],
  [0x6A88, { name: 'REFERENCED_DATA_NOT_FOUND', meaning: 'the referenced key, PIN or key domain was not found', hint: 'check the key reference; a key domain that is incomplete or missing also answers this' }],
  [0x6A89, { name: 'FILE_EXISTS', meaning: 'a file with this identifier already exists', hint: 'choose another key reference or delete the existing file first' }],
  [0x6B00, { name: 'WRONG_P1P2', meaning: 'the card rejected the command parameters', hint: 'report this as a bug' }],
  [0x6D00, { name: 'INS_NOT_SUPPORTED', meaning: 'the card does not support this command', hint: 'the device may not be a SmartCard-HSM, or was not initialised for this function' }],
  [0x6E00, { name: 'CLA_NOT_SUPPORTED', meaning: 'the card does not support this command class', hint: 'the device is probably not a SmartCard-HSM; check the reader selection' }],
  [0x6F00, { name: 'NO_PRECISE_DIAGNOSIS', meaning: 'the card failed without saying why', hint: 'retry once; if it repeats, remove and reinsert the device' }],
]);

/**
 * Name and words for a status word. `63Cx` is "x tries left" and `61xx`/`6Cxx` are the transport
 * hints the APDU layer consumes; an unknown SW gets `UNKNOWN_STATUS`.
 */
export function describeStatusWord(sw: number): StatusWordInfo {
  if (!Number.isInteger(sw) || sw < 0 || sw > 0xffff) throw new RangeError(`sw must be a 16-bit integer, got ${sw}`);
  if (sw === SW_OK) return { name: 'OK', meaning: 'success', hint: '' };
  if ((sw & 0xfff0) === 0x63c0) {
    const n = sw & 0x0f;
    return n === 0
      ? { name: 'WRONG_PIN', meaning: 'wrong PIN: no tries left, the PIN is now blocked', hint: 'unblock the user PIN with the SO-PIN (RESET RETRY COUNTER)' }
      : { name: 'WRONG_PIN', meaning: `wrong PIN: ${n} ${n === 1 ? 'try' : 'tries'} left`, hint: n === 1 ? 'one more wrong PIN blocks it: check the PIN carefully before trying again' : 'check the PIN and try again' };
  }
  if ((sw & 0xff00) === 0x6100) return { name: 'MORE_DATA', meaning: `${sw & 0xff || 256} more response bytes are available`, hint: 'send GET RESPONSE' };
  if ((sw & 0xff00) === 0x6c00) return { name: 'WRONG_LE', meaning: `the expected length is wrong; the card has ${sw & 0xff || 256} bytes`, hint: 'repeat the command with that Le' };
  const known = TABLE.get(sw);
  if (known) return known;
  return { name: 'UNKNOWN_STATUS', meaning: 'the card answered with a status word hsm-ceremony does not know', hint: 'remove and reinsert the device and retry; report the status word if it repeats' };
}

/** Formats a status word the way the trace and docs print it: `63C2`. */
export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** The number of tries left in a `63Cx` answer, or null for any other status word. */
export function triesLeftFromSw(sw: number): number | null {
  return (sw & 0xfff0) === 0x63c0 ? sw & 0x0f : null;
}

/** What a command says about a failed status word, to word the error for the user. */
export interface CardErrorContext {
  /** the command in words, e.g. "VERIFY user PIN" or "IMPORT DKEK SHARE" */
  command: string;
  /** per-SW wording that fits this command better than the generic table */
  overrides?: Readonly<Record<number, { meaning?: string; hint?: string }>>;
}

/**
 * A status word other than success, as an error. `kind` is 'check' for a wrong PIN (`63Cx`) and
 * 'device' for everything else. The message never contains command data, so no secret can leak
 * through it.
 */
export class CardError extends CeremonyError {
  /** the status word, e.g. 0x6982 */
  readonly sw: number;
  /** its stable name, e.g. SECURITY_STATUS_NOT_SATISFIED */
  readonly swName: string;
  /** the command that failed, in words */
  readonly command: string;
  /** tries left for a `63Cx` answer, else null */
  readonly triesLeft: number | null;

  constructor(sw: number, context: CardErrorContext) {
    const info = describeStatusWord(sw);
    const o = context.overrides?.[sw];
    const meaning = o?.meaning ?? info.meaning;
    const hint = o?.hint ?? info.hint;
    const triesLeft = triesLeftFromSw(sw);
    const kind = info.name === 'WRONG_PIN' || sw === 0x6300 ? 'check' : 'device';
    super(kind, `CARD_${info.name}`, `${context.command}: ${meaning} (SW ${swHex(sw)})`, {
      hint,
      detail: { sw: swHex(sw), swName: info.name, command: context.command, ...(triesLeft === null ? {} : { triesLeft }) },
    });
    this.name = 'CardError';
    this.sw = sw;
    this.swName = info.name;
    this.command = context.command;
    this.triesLeft = triesLeft;
  }
}

/** True when `e` is a CardError for the given status word. */
export function isCardError(e: unknown, sw?: number): e is CardError {
  return e instanceof CardError && (sw === undefined || e.sw === sw);
}
