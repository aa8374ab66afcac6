/**
 * n-of-m password shares exactly as OpenSC's `sc-hsm-tool` makes and reads them
 * (spec/sc-hsm-dkek.md §2; our own specification: docs/password-shares.md).
 *
 * sc-hsm-tool can protect a DKEK share file with a random 8-byte password instead of a passphrase,
 * and split that password with Shamir's scheme over GF(p) for a random 64-bit safe prime p. This
 * module splits (byte-compatible with the tool's printout), parses printouts and typed shares with
 * every quirk the tool has, finds the threshold from the shares themselves, names shares that do
 * not fit, and orders the password candidates so the slow KDF normally runs once.
 *
 * Secrets: the password bytes are returned in Uint8Arrays the caller owns and must `wipe()`. Share
 * values and polynomial coefficients are bigints, which JavaScript cannot wipe; this module keeps
 * them in as few places as it can and never puts them in an error message
 * (docs/password-shares.md §8).
 */
import { bytesToBigInt, toHex, wipe } from '../bytes.ts';
import { CeremonyError, checkFailed, usageError } from '../errors.ts';
import {
  type Rng,
  defaultRng,
  drawBytes,
  isProbablePrime,
  isSafePrime,
  mod,
  modInverse,
  randomSafePrime64,
} from './prime.ts';

export type { Rng } from './prime.ts';

/** One share: the x coordinate (sc-hsm-tool's "Share ID", 1..n) and y = f(x) mod p. */
export interface PasswordShare {
  readonly id: number;
  /** secret */
  readonly value: bigint;
}

/** What {@link splitPassword} returns. */
export interface PasswordSplit {
  /** the 8 raw password bytes, fed as-is to the share file's KDF; secret, caller wipes */
  readonly password: Uint8Array;
  /** the public 64-bit safe prime */
  readonly prime: bigint;
  /** shares for x = 1..total, in order */
  readonly shares: readonly PasswordShare[];
}

/** sc-hsm-tool's limits (spec §2 "Argument rules"); 255 because it casts the counts to a byte. */
export const PWD_SHARES_MIN_TOTAL = 3;
export const PWD_SHARES_MAX_TOTAL = 255;
export const PWD_SHARES_MIN_THRESHOLD = 2;
/** The password is always GET CHALLENGE(8) with the top bit cleared. */
export const PASSWORD_LENGTH = 8;
/** sc-hsm-tool gives up after this many primes not above the secret (never happens, p > 2^63 > s). */
export const PRIME_MAX_TRIES = 1000;

/** Stable error codes of this module (docs/password-shares.md §9). */
export type PasswordShareErrorCode =
  | 'PWD_SHARES_TOTAL_TOO_SMALL'
  | 'PWD_SHARES_TOTAL_TOO_LARGE'
  | 'PWD_SHARES_THRESHOLD_TOO_SMALL'
  | 'PWD_SHARES_THRESHOLD_ABOVE_TOTAL'
  | 'PWD_SHARES_PRIME_MISSING'
  | 'PWD_SHARES_PRIME_GARBLED'
  | 'PWD_SHARES_PRIME_NOT_64_BIT'
  | 'PWD_SHARES_PRIME_COMPOSITE'
  | 'PWD_SHARES_PRIME_MISMATCH'
  | 'PWD_SHARE_ID_MISSING'
  | 'PWD_SHARE_ID_INVALID'
  | 'PWD_SHARE_ID_ZERO'
  | 'PWD_SHARE_ID_DUPLICATE'
  | 'PWD_SHARE_VALUE_MISSING'
  | 'PWD_SHARE_VALUE_EMPTY'
  | 'PWD_SHARE_VALUE_GARBLED'
  | 'PWD_SHARE_VALUE_TOO_LARGE'
  | 'PWD_SHARES_TOO_FEW'
  | 'PWD_SHARES_OUTLIERS'
  | 'PWD_SHARES_INCONSISTENT'
  | 'PWD_SHARES_PRIME_NOT_FOUND';

const usage = (code: PasswordShareErrorCode, message: string, hint: string, detail?: Record<string, unknown>) =>
  usageError(code, message, detail === undefined ? { hint } : { hint, detail });

function assertCount(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer`);
}

// ---------------------------------------------------------------------------------------------
// Splitting (docs/password-shares.md §3)

/**
 * Makes a random password and splits it `threshold`-of-`total`, exactly as
 * `sc-hsm-tool --create-dkek-share F --pwd-shares-threshold t --pwd-shares-total n` does:
 * password = rng(8) with the top bit of byte 0 cleared; secret s = that big-endian integer;
 * p = a random 64-bit safe prime above s; f(x) = s + a_1·x + … + a_{t-1}·x^{t-1} with each a_k
 * uniform in [0, p); share i = (i, f(i) mod p) for i = 1..n.
 *
 * The order in which `rng` is consumed is: 8 password bytes, the prime's candidates, then 8 bytes
 * per coefficient draw. The caller owns and must wipe `password`.
 *
 * @throws TypeError if `threshold` or `total` is not an integer, or `rng` is not a byte source
 * @throws CeremonyError (usage) PWD_SHARES_TOTAL_TOO_SMALL (n < 3), PWD_SHARES_TOTAL_TOO_LARGE
 *   (n > 255), PWD_SHARES_THRESHOLD_TOO_SMALL (t < 2), PWD_SHARES_THRESHOLD_ABOVE_TOTAL (t > n)
 * @throws CeremonyError (bug) PWD_SHARES_PRIME_NOT_FOUND if no prime above the secret is found
 */
export function splitPassword(threshold: number, total: number, rng: Rng = defaultRng): PasswordSplit {
  assertCount(threshold, 'threshold');
  assertCount(total, 'total');
  validateSplitCounts(threshold, total);

  const password = drawBytes(rng, PASSWORD_LENGTH);
  password[0]! &= 0x7f;
  const secret = bytesToBigInt(password);

  let prime = 0n;
  for (let tries = 0; tries < PRIME_MAX_TRIES && prime <= secret; tries++) prime = randomSafePrime64(rng);
  if (prime <= secret) {
    wipe(password);
    throw new CeremonyError('bug', 'PWD_SHARES_PRIME_NOT_FOUND', 'no prime above the secret was found', {
      hint: 'the random number generator is broken; report this as a bug',
    });
  }

  const coefficients: bigint[] = [secret];
  for (let k = 1; k < threshold; k++) coefficients.push(randomBelow(prime, rng));
  const shares: PasswordShare[] = [];
  for (let x = 1; x <= total; x++) shares.push({ id: x, value: evaluatePolynomial(coefficients, BigInt(x), prime) });
  coefficients.fill(0n);
  return { password, prime, shares };
}

/**
 * Checks sc-hsm-tool's rules for `--pwd-shares-threshold` / `--pwd-shares-total`
 * (n ≥ 3, t ≥ 2, t ≤ n, n ≤ 255), so a UI can validate before asking for anything else.
 *
 * @throws CeremonyError (usage) with the codes listed at {@link splitPassword}
 */
export function validateSplitCounts(threshold: number, total: number): void {
  assertCount(threshold, 'threshold');
  assertCount(total, 'total');
  if (total < PWD_SHARES_MIN_TOTAL) {
    throw usage('PWD_SHARES_TOTAL_TOO_SMALL', `total of ${total} password shares is below the minimum of 3`,
      'sc-hsm-tool splits a password into at least 3 shares; use a passphrase for fewer custodians');
  }
  if (total > PWD_SHARES_MAX_TOTAL) {
    throw usage('PWD_SHARES_TOTAL_TOO_LARGE', `total of ${total} password shares is above the maximum of 255`,
      'sc-hsm-tool stores the share count in one byte; use at most 255 shares');
  }
  if (threshold < PWD_SHARES_MIN_THRESHOLD) {
    throw usage('PWD_SHARES_THRESHOLD_TOO_SMALL', `threshold of ${threshold} is below the minimum of 2`,
      'a threshold of 1 would let every custodian open the share alone; use a passphrase instead');
  }
  if (threshold > total) {
    throw usage('PWD_SHARES_THRESHOLD_ABOVE_TOTAL', `threshold of ${threshold} is above the total of ${total} shares`,
      'choose a threshold no larger than the number of shares');
  }
}

/** Uniform in [0, bound) by rejection from 8-byte draws (bound ≤ 2^64; p > 2^63 accepts ≥ 1/2). */
function randomBelow(bound: bigint, rng: Rng): bigint {
  for (let i = 0; i < 1000; i++) {
    const bytes = drawBytes(rng, 8);
    const v = bytesToBigInt(bytes);
    wipe(bytes);
    if (v < bound) return v;
  }
  throw new RangeError('rng yielded no value below the prime in 1000 draws');
}

/** f(x) mod p by Horner's rule; coefficients[0] is the constant term. */
function evaluatePolynomial(coefficients: readonly bigint[], x: bigint, p: bigint): bigint {
  let y = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) y = (y * x + coefficients[k]!) % p;
  return y;
}

// ---------------------------------------------------------------------------------------------
// Formatting (docs/password-shares.md §4)

/**
 * sc-hsm-tool's hex form of a number: `BN_bn2bin` (minimal big-endian, leading zero bytes dropped)
 * printed as lowercase two-digit bytes joined by ':'. Zero gives the empty string.
 *
 * @throws TypeError if `n` is not a bigint
 * @throws RangeError if `n` is negative
 */
export function formatHexColon(n: bigint): string {
  if (typeof n !== 'bigint') throw new TypeError('n must be a bigint');
  if (n < 0n) throw new RangeError('n must not be negative');
  const bytes = bigIntToFixedBytes(n, byteLength(n));
  const text = toHex(bytes, ':');
  wipe(bytes);
  return text;
}

/**
 * The lines sc-hsm-tool prints for shares: `Prime       : …` once, then `Share ID    : <decimal>`
 * and `Share value : …` per share, each ending in "\n". With one share this is exactly one of the
 * tool's creation screens; with all shares it is the layout of the printout fixture
 * (fixtures/opensc-pico/s3-shares.txt). The text contains share values: show it, never log it.
 *
 * @throws TypeError if `prime` is not a bigint or a share is malformed
 * @throws RangeError if `prime` does not fit in 8 bytes
 */
export function formatPrintout(prime: bigint, shares: readonly PasswordShare[]): string {
  if (typeof prime !== 'bigint') throw new TypeError('prime must be a bigint');
  if (prime < 0n || prime >= 1n << 64n) throw new RangeError('prime must fit in 8 bytes');
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array');
  // The prime is always 8 bytes: a 64-bit prime from BN_generate_prime_ex has its top bits set.
  let out = `Prime       : ${toHex(bigIntToFixedBytes(prime, 8), ':')}\n`;
  for (const share of shares) {
    if (typeof share?.id !== 'number' || typeof share.value !== 'bigint') {
      throw new TypeError('each share must be { id: number, value: bigint }');
    }
    out += `Share ID    : ${share.id.toString(10)}\n`;
    out += `Share value : ${formatHexColon(share.value)}\n`;
  }
  return out;
}

function byteLength(n: bigint): number {
  let len = 0;
  for (let v = n; v > 0n; v >>= 8n) len++;
  return len;
}

/** Big-endian into a fresh Uint8Array of `length` (no intermediate arrays to leave behind). */
function bigIntToFixedBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`integer does not fit in ${length} bytes`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing (docs/password-shares.md §5)

/** A share as written, before the IDs are interpreted. */
export interface ShareEntry {
  /** 1-based position in the input, used to name the share in messages */
  readonly position: number;
  /** the ID exactly as written (trimmed); decimal as printed, or hex as sc-hsm-tool's importer reads it */
  readonly idText: string;
  /** secret */
  readonly value: bigint;
  /** the prime written with this share, if any */
  readonly prime?: bigint;
  /** 1-based line of the `Share ID` line, when parsed from a printout */
  readonly line?: number;
}

/** One way of reading all IDs: as printed (decimal) or as sc-hsm-tool's importer parses them (hex). */
export type IdReading = 'decimal' | 'hex';

/** A validated set of shares, ready for {@link passwordCandidates}. */
export interface ShareSet {
  readonly prime: bigint;
  /** false when p is prime but (p-1)/2 is not: sc-hsm-tool never makes such a prime (a warning) */
  readonly primeIsSafe: boolean;
  readonly shares: readonly ShareEntry[];
  /** the ID readings under which every ID is in 1..255 and no two are equal; decimal first */
  readonly readings: readonly { readonly reading: IdReading; readonly ids: readonly number[] }[];
}

/** Text input: a string, or ASCII bytes so a caller can keep share values out of strings. */
export type TextInput = string | Uint8Array;

/**
 * Parses what sc-hsm-tool prints (or what a custodian copied from it): lines `Prime : hex`,
 * `Share ID : id`, `Share value : hex`, in any case, with any spacing around the ':', optionally
 * prefixed by `Please enter ` (the importer's prompts). The prime may appear once or with every
 * share; all copies must agree. Other lines ("Share 1 of 3", banners, blank lines) are ignored;
 * CRLF is accepted. Hex fields accept any case, ':' or whitespace between bytes or none at all,
 * and leading zero bytes dropped or kept (§5.2).
 *
 * @throws TypeError if `text` is neither a string nor a Uint8Array
 * @throws CeremonyError (usage) for any malformed field, naming the line and the share; see
 *   {@link shareSet} for the checks on the set as a whole
 */
export function parsePrintout(text: TextInput): ShareSet {
  const bytes = toInputBytes(text, 'text');
  const entries: ShareEntry[] = [];
  const primes: { prime: bigint; line: number }[] = [];
  let open: { idText: string; line: number } | undefined;
  let lineNo = 0;
  let start = 0;
  try {
    while (start <= bytes.length) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      lineNo++;
      let lineEnd = end;
      if (lineEnd > start && bytes[lineEnd - 1] === 0x0d) lineEnd--;
      const line = bytes.subarray(start, lineEnd);
      start = end + 1;

      const colon = line.indexOf(0x3a);
      if (colon < 0) continue;
      const label = labelOf(line.subarray(0, colon));
      const field = line.subarray(colon + 1);
      if (label === 'prime') {
        primes.push({ prime: parsePrimeField(field, `line ${lineNo}`), line: lineNo });
      } else if (label === 'share id') {
        if (open) throw valueMissing(entries.length + 1, open.idText, open.line);
        open = { idText: parseIdField(field, entries.length + 1, `line ${lineNo}`), line: lineNo };
      } else if (label === 'share value') {
        if (!open) {
          throw usage('PWD_SHARE_ID_MISSING', `line ${lineNo} has a share value without a share id before it`,
            'write the "Share ID" line of each share directly above its "Share value" line');
        }
        const position = entries.length + 1;
        const value = parseValueField(field, `share ${position} (id ${open.idText}, line ${open.line})`);
        entries.push({ position, idText: open.idText, value, line: open.line });
        open = undefined;
      }
    }
    if (open) throw valueMissing(entries.length + 1, open.idText, open.line);
  } finally {
    if (typeof text === 'string') wipe(bytes);
  }

  const first = primes[0];
  if (first) {
    for (const other of primes) {
      if (other.prime !== first.prime) {
        throw usage('PWD_SHARES_PRIME_MISMATCH', `the prime on line ${other.line} differs from the prime on line ${first.line}`,
          'all shares of one split have the same prime; check both lines against the printouts',
          { lines: [first.line, other.line] });
      }
    }
  }
  return shareSet(entries, first?.prime);
}

function valueMissing(position: number, idText: string, line: number): CeremonyError {
  return usage('PWD_SHARE_VALUE_MISSING', `share ${position} (id ${idText}, line ${line}) has no share value`,
    'write the "Share value" line directly below the "Share ID" line', { position, id: idText, line });
}

/** Normalised label of a printout line: lowercase, single spaces, without "please enter". */
function labelOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  s = s.toLowerCase().replace(/\s+/g, ' ').trim();
  return s.startsWith('please enter ') ? s.slice('please enter '.length) : s;
}

/**
 * Parses one typed share (the importer's three prompts). `prime` is what the first custodian
 * types; an empty or absent prime means "not given with this share". `position` (1-based) names
 * the share in messages.
 *
 * @throws TypeError if a field is neither a string nor a Uint8Array
 * @throws CeremonyError (usage) PWD_SHARE_ID_INVALID, PWD_SHARE_ID_ZERO, PWD_SHARE_VALUE_EMPTY,
 *   PWD_SHARE_VALUE_GARBLED, PWD_SHARES_PRIME_GARBLED, PWD_SHARES_PRIME_NOT_64_BIT,
 *   PWD_SHARES_PRIME_COMPOSITE
 */
export function parseShareInput(
  input: { readonly prime?: TextInput | undefined; readonly id: TextInput; readonly value: TextInput },
  position = 1,
): ShareEntry {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be { prime?, id, value }');
  if (!Number.isInteger(position) || position < 1) throw new RangeError('position must be a positive integer');
  const idBytes = toInputBytes(input.id, 'id');
  const idText = parseIdField(idBytes, position, `share ${position}`);
  const valueBytes = toInputBytes(input.value, 'value');
  try {
    const value = parseValueField(valueBytes, `share ${position} (id ${idText})`);
    let prime: bigint | undefined;
    if (input.prime !== undefined) {
      const primeBytes = toInputBytes(input.prime, 'prime');
      if (!isBlank(primeBytes)) prime = parsePrimeField(primeBytes, `the prime given with share ${position}`);
    }
    return prime === undefined ? { position, idText, value } : { position, idText, value, prime };
  } finally {
    if (typeof input.value === 'string') wipe(valueBytes);
  }
}

/**
 * Parses and checks a prime on its own (the importer asks for it once, before any share).
 * Returns the prime and whether it is a safe prime (a non-safe prime is accepted with a warning).
 *
 * @throws CeremonyError (usage) PWD_SHARES_PRIME_GARBLED, PWD_SHARES_PRIME_NOT_64_BIT,
 *   PWD_SHARES_PRIME_COMPOSITE
 */
export function parsePrime(text: TextInput): { prime: bigint; isSafe: boolean } {
  const prime = parsePrimeField(toInputBytes(text, 'prime'), 'the prime');
  return { prime, isSafe: isSafePrime(prime) };
}

/**
 * Validates entries as one set and works out which ID readings are possible (§5.3, §5.4):
 * at least 2 shares; one prime (given here and/or with shares, all equal) that is a 64-bit prime;
 * every value below it; no ID equal to 0; and at least one reading (decimal, hex) under which all
 * IDs are in 1..255 and distinct.
 *
 * @throws CeremonyError (usage) PWD_SHARES_TOO_FEW, PWD_SHARES_PRIME_MISSING,
 *   PWD_SHARES_PRIME_MISMATCH, PWD_SHARES_PRIME_NOT_64_BIT, PWD_SHARES_PRIME_COMPOSITE,
 *   PWD_SHARE_VALUE_TOO_LARGE, PWD_SHARE_ID_ZERO, PWD_SHARE_ID_INVALID, PWD_SHARE_ID_DUPLICATE
 */
export function shareSet(entries: readonly ShareEntry[], prime?: bigint): ShareSet {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  if (prime !== undefined && typeof prime !== 'bigint') throw new TypeError('prime must be a bigint');
  if (entries.length < 2) {
    throw usage('PWD_SHARES_TOO_FEW', `${entries.length} password share${entries.length === 1 ? '' : 's'} given, at least 2 are needed`,
      'enter at least as many shares as the threshold of the split');
  }
  let p = prime;
  let pFrom = 'the prime given first';
  for (const e of entries) {
    if (e.prime === undefined) continue;
    if (p === undefined) {
      p = e.prime;
      pFrom = `the prime of ${nameOf(e)}`;
    } else if (e.prime !== p) {
      throw usage('PWD_SHARES_PRIME_MISMATCH', `${nameOf(e)} has a different prime than ${pFrom}`,
        'all shares of one split have the same prime; check it against the printouts',
        { position: e.position, id: e.idText });
    }
  }
  if (p === undefined) {
    throw usage('PWD_SHARES_PRIME_MISSING', 'no prime was given',
      'enter the prime printed with the shares (the "Prime" line, 8 bytes in hex)');
  }
  checkPrime(p, 'the prime');
  for (const e of entries) {
    if (typeof e?.value !== 'bigint' || typeof e.idText !== 'string') throw new TypeError('entries must be ShareEntry objects');
    if (e.value >= p) {
      throw usage('PWD_SHARE_VALUE_TOO_LARGE', `${nameOf(e)} has a value that is not below the prime`,
        'a share value is always smaller than the prime; check the value and the prime for typos',
        { position: e.position, id: e.idText });
    }
  }
  const readings = idReadings(entries);
  return { prime: p, primeIsSafe: isSafePrime(p), shares: entries, readings };
}

function nameOf(e: ShareEntry): string {
  return e.line === undefined ? `share ${e.position} (id ${e.idText})` : `share ${e.position} (id ${e.idText}, line ${e.line})`;
}

/** The readings under which every ID is valid and distinct; throws when there is none. */
function idReadings(entries: readonly ShareEntry[]): ShareSet['readings'] {
  const out: { reading: IdReading; ids: number[] }[] = [];
  let firstError: CeremonyError | undefined;
  for (const reading of ['decimal', 'hex'] as const) {
    const digits = reading === 'decimal' ? /^[0-9]+$/ : /^[0-9a-f]+$/i;
    const ids: number[] = [];
    let error: CeremonyError | undefined;
    const seen = new Map<number, ShareEntry>();
    for (const e of entries) {
      if (!digits.test(e.idText)) {
        // Only the decimal reading can fail this way (parseIdField accepts hex digits only).
        error = usage('PWD_SHARE_ID_INVALID', `${nameOf(e)} has an id that is not a decimal number`,
          'share ids are printed in decimal');
        break;
      }
      const id = parseInt(e.idText, reading === 'decimal' ? 10 : 16);
      if (id === 0) {
        throw usage('PWD_SHARE_ID_ZERO', `${nameOf(e)} has id 0`,
          'share ids start at 1; the share at 0 would be the password itself', { position: e.position, id: e.idText });
      }
      if (id > PWD_SHARES_MAX_TOTAL) {
        error = usage('PWD_SHARE_ID_INVALID', `${nameOf(e)} has an id above 255`,
          'sc-hsm-tool numbers shares 1 to 255; check the id', { position: e.position, id: e.idText });
        break;
      }
      const twin = seen.get(id);
      if (twin) {
        error = usage('PWD_SHARE_ID_DUPLICATE', `${nameOf(twin)} and ${nameOf(e)} have the same id`,
          'each share has its own id; one of the two was entered twice or with a wrong id',
          { positions: [twin.position, e.position], id: e.idText });
        break;
      }
      seen.set(id, e);
      ids.push(id);
    }
    if (error) firstError ??= error;
    else if (!out.some((r) => r.ids.every((id, i) => id === ids[i]))) out.push({ reading, ids });
  }
  if (out.length === 0) throw firstError!;
  return out;
}

// Field parsers. All work on bytes so share values never become strings.

function toInputBytes(value: TextInput, name: string): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`${name} must be a string or a Uint8Array`);
}

function isBlank(bytes: Uint8Array): boolean {
  return bytes.every(isSpace);
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a || b === 0x0b || b === 0x0c;
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/**
 * A hex number as sc-hsm-tool prints or a person copies it (§5.2): groups of hex digits separated
 * by runs of ':' and whitespace (or one group with no separator). Every group after the first must
 * have an even number of digits, so a dropped digit inside the number is an error, not a guess;
 * the first group may be odd (a dropped leading zero). Returns undefined for an empty field and
 * a string reason for a garbled one.
 */
function parseHex(bytes: Uint8Array, quote: boolean): bigint | undefined | { garbled: string } {
  let value = 0n;
  let groups = 0;
  let groupDigits = 0;
  let digits = 0;
  const endGroup = (): string | undefined => {
    if (groupDigits === 0) return undefined;
    groups++;
    const odd = groupDigits % 2 === 1 && groups > 1;
    groupDigits = 0;
    return odd ? `byte group ${groups} has an odd number of hex digits` : undefined;
  };
  for (const b of bytes) {
    if (b === 0x3a || isSpace(b)) {
      const bad = endGroup();
      if (bad) return { garbled: bad };
      continue;
    }
    const d = hexDigit(b);
    if (d < 0) {
      // Only a public field (the prime) may quote the character; for a share value even a typo says
      // something about the secret.
      const shown = quote && b >= 0x21 && b <= 0x7e ? `'${String.fromCharCode(b)}'` : 'a character';
      return { garbled: `${shown} is not a hex digit` };
    }
    value = (value << 4n) | BigInt(d);
    groupDigits++;
    digits++;
  }
  const bad = endGroup();
  if (bad) return { garbled: bad };
  return digits === 0 ? undefined : value;
}

function parseValueField(bytes: Uint8Array, where: string): bigint {
  const v = parseHex(bytes, false);
  if (v === undefined) {
    throw usage('PWD_SHARE_VALUE_EMPTY', `${where} has an empty share value`,
      'copy the "Share value" from the printout (write 00 if it was printed empty)');
  }
  if (typeof v !== 'bigint') {
    throw usage('PWD_SHARE_VALUE_GARBLED', `${where} has a share value that is not hex: ${v.garbled}`,
      'write the value as pairs of hex digits, with or without ":" between them');
  }
  return v;
}

function parsePrimeField(bytes: Uint8Array, where: string): bigint {
  const v = parseHex(bytes, true);
  if (v === undefined || typeof v !== 'bigint') {
    const why = v === undefined ? 'is empty' : `is not hex: ${v.garbled}`;
    throw usage('PWD_SHARES_PRIME_GARBLED', `${where} ${why}`,
      'copy the "Prime" line from the printout: 8 pairs of hex digits, e.g. c3:72:ff:83:be:5a:1f:df');
  }
  checkPrime(v, where);
  return v;
}

function checkPrime(p: bigint, where: string): void {
  const bits = p === 0n ? 0 : p.toString(2).length;
  if (bits !== 64) {
    throw usage('PWD_SHARES_PRIME_NOT_64_BIT', `${where} has ${bits} bits, sc-hsm-tool primes have 64`,
      'check the prime against the printout: it is 8 bytes (16 hex digits) and starts with c, d, e or f');
  }
  if (!isProbablePrime(p)) {
    throw usage('PWD_SHARES_PRIME_COMPOSITE', `${where} is not a prime number`,
      'the prime was mistyped; copy it again from the printout');
  }
}

function parseIdField(bytes: Uint8Array, position: number, where: string): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  s = s.trim();
  if (!/^[0-9a-f]+$/i.test(s)) {
    const shown = /^[\x21-\x7e ]{1,16}$/.test(s) ? ` "${s}"` : '';
    throw usage('PWD_SHARE_ID_INVALID', `${where} has an invalid share id${shown}`,
      'the share id is the number printed as "Share ID" (1, 2, 3, …)', { position });
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Reconstruction and degree detection (docs/password-shares.md §6)

/**
 * Lagrange interpolation at x = 0 over GF(p): s = Σ y_i · Π_{j≠i} x_j / (x_j − x_i) mod p, the
 * formula sc-hsm-tool's importer uses. With k points it returns f(0) of the unique polynomial of
 * degree < k through them; it cannot tell whether that was the splitter's polynomial (use
 * {@link passwordCandidates} for that).
 *
 * @throws TypeError if `p` is not a bigint or a point is malformed
 * @throws RangeError if fewer than 1 point, p < 3, or some id is ≡ 0 or two ids are ≡ mod p
 */
export function reconstructSecret(points: readonly { readonly id: number | bigint; readonly value: bigint }[], p: bigint): bigint {
  if (typeof p !== 'bigint') throw new TypeError('p must be a bigint');
  if (p < 3n) throw new RangeError('p must be at least 3');
  if (!Array.isArray(points) || points.length < 1) throw new RangeError('points must hold at least 1 point');
  const xs = points.map((pt, i) => {
    if (typeof pt?.value !== 'bigint' || (typeof pt.id !== 'number' && typeof pt.id !== 'bigint')) {
      throw new TypeError(`points[${i}] must be { id: number | bigint, value: bigint }`);
    }
    const x = mod(BigInt(pt.id), p);
    if (x === 0n) throw new RangeError(`points[${i}] has id ≡ 0 mod p`);
    return x;
  });
  let s = 0n;
  for (let i = 0; i < xs.length; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      if (xs[j] === xs[i]) throw new RangeError(`points[${i}] and points[${j}] have the same id`);
      num = (num * xs[j]!) % p;
      den = (den * mod(xs[j]! - xs[i]!, p)) % p;
    }
    s = (s + mod(points[i]!.value, p) * ((num * modInverse(den, p)) % p)) % p;
  }
  return s;
}

/**
 * A polynomial in Newton form, grown one point at a time (O(j) per point, one inversion of a
 * product of public ID differences), so degree detection never re-interpolates from scratch.
 */
class NewtonPolynomial {
  private readonly xs: bigint[] = [];
  private readonly cs: bigint[] = [];
  constructor(private readonly p: bigint) {}

  get size(): number {
    return this.xs.length;
  }

  add(x: bigint, y: bigint): void {
    let basis = 1n;
    for (const xi of this.xs) basis = (basis * mod(x - xi, this.p)) % this.p;
    const c = (mod(y - this.at(x), this.p) * modInverse(basis, this.p)) % this.p;
    this.xs.push(x);
    this.cs.push(c);
  }

  at(x: bigint): bigint {
    let r = 0n;
    for (let i = this.cs.length - 1; i >= 0; i--) r = (r * mod(x - this.xs[i]!, this.p) + this.cs[i]!) % this.p;
    return r;
  }

  wipe(): void {
    this.cs.fill(0n);
  }
}

/** Outcome of degree detection for one ID reading (docs/password-shares.md §6.2). */
export type ShareAnalysis =
  /** all shares lie on one polynomial of degree threshold-1 (checked: more shares than threshold) */
  | { readonly kind: 'consistent'; readonly threshold: number; readonly checked: boolean; readonly secret: bigint }
  /** a strict majority lies on one polynomial of degree threshold-1; `outliers` are indexes into the input */
  | { readonly kind: 'outliers'; readonly threshold: number; readonly outliers: readonly number[]; readonly secret: bigint }
  /** some shares fit a lower degree, but not a majority: the set cannot be trusted */
  | { readonly kind: 'inconsistent' };

/** Work limit (≈ modular multiplications) for locating outliers among many shares (§6.3). */
export const OUTLIER_SEARCH_BUDGET = 3_000_000;

/**
 * Finds the threshold from the shares alone (§6.2): for j = 2..k−1 interpolate the first j
 * shares and test the rest; the smallest j where all the rest fit is the threshold. If no j
 * fits, look for a subset of j shares (smallest j first) whose polynomial at least j+1 shares
 * satisfy: if those are a strict majority the others are outliers, otherwise the set is
 * inconsistent. With no such subset the k shares are taken as a k-of-n set (checked: false).
 *
 * `points` must have distinct non-zero ids below p (as from a {@link ShareSet} reading).
 */
export function analyzeShares(points: readonly PasswordShare[], p: bigint): ShareAnalysis {
  const k = points.length;
  if (k < 2) throw new RangeError('at least 2 points are needed');
  const xs = points.map((pt) => BigInt(pt.id));
  const ys = points.map((pt) => pt.value);

  // Fast path: the shares in the given order (early exit at the first share that does not fit).
  const poly = new NewtonPolynomial(p);
  poly.add(xs[0]!, ys[0]!);
  for (let j = 2; j < k; j++) {
    poly.add(xs[j - 1]!, ys[j - 1]!);
    let all = true;
    for (let i = j; i < k && all; i++) all = poly.at(xs[i]!) === ys[i]!;
    if (all) {
      const secret = poly.at(0n);
      poly.wipe();
      return { kind: 'consistent', threshold: j, checked: true, secret };
    }
  }
  poly.add(xs[k - 1]!, ys[k - 1]!);
  const secretAll = poly.at(0n);
  poly.wipe();

  // Slow path: locate shares that do not fit (needs j + 2 ≤ k: one extra witness, one outlier).
  let budget = OUTLIER_SEARCH_BUDGET;
  for (let j = 2; j <= k - 2 && budget > 0; j++) {
    const combo = Array.from({ length: j }, (_, i) => i);
    for (;;) {
      budget -= j * j + 64 * j + k * j;
      if (budget <= 0) break;
      const sub = new NewtonPolynomial(p);
      for (const i of combo) sub.add(xs[i]!, ys[i]!);
      const fits: number[] = [];
      for (let i = 0; i < k; i++) if (combo.includes(i) || sub.at(xs[i]!) === ys[i]!) fits.push(i);
      if (fits.length >= j + 1) {
        const secret = sub.at(0n);
        sub.wipe();
        if (2 * fits.length > k) {
          const outliers = xs.map((_, i) => i).filter((i) => !fits.includes(i));
          return { kind: 'outliers', threshold: j, outliers, secret };
        }
        return { kind: 'inconsistent' };
      }
      sub.wipe();
      if (!nextCombination(combo, k)) break;
    }
  }
  return { kind: 'consistent', threshold: k, checked: false, secret: secretAll };
}

/** Advances `combo` (sorted indexes into 0..n-1) to the next combination in lexicographic order. */
function nextCombination(combo: number[], n: number): boolean {
  const j = combo.length;
  let i = j - 1;
  while (i >= 0 && combo[i] === n - j + i) i--;
  if (i < 0) return false;
  combo[i]!++;
  for (let m = i + 1; m < j; m++) combo[m] = combo[m - 1]! + 1;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Password candidates (docs/password-shares.md §7)

/**
 * How a candidate's bytes were formed from the reconstructed secret s:
 * - `padded`: s as 8 big-endian bytes, what sc-hsm-tool used when it created the share file;
 * - `minimal`: s without leading zero bytes, what sc-hsm-tool's importer feeds the KDF (its
 *   leading-zero bug: differs from `padded` 1 time in 128);
 * - `wrapped`: s + p as 8 bytes, for printouts from sc-hsm-tool before 0.16, whose secret could
 *   exceed p (the shares then only encode s mod p).
 */
export type CandidateForm = 'padded' | 'minimal' | 'wrapped';

/** One password to try against the share file. */
export interface PasswordCandidate {
  /** secret; the caller wipes it (see {@link wipeCandidates}) */
  readonly password: Uint8Array;
  readonly idReading: IdReading;
  readonly form: CandidateForm;
  /** the threshold found from the shares */
  readonly threshold: number;
  /** false when exactly `threshold` shares were given, so nothing could cross-check them */
  readonly checked: boolean;
}

/**
 * The passwords the given shares can stand for, in the order to try them with the (slow) KDF so
 * that the common case needs one run (§7):
 * 1. per usable ID reading (decimal before hex; when extra shares confirmed one reading, only the
 *    confirmed ones) the `padded` form, then the `minimal` form if it differs;
 * 2. then, per usable reading, the `wrapped` form if s + p < 2^64.
 * Readings are ranked by evidence (§7.1): one that extra shares confirmed (consistent, checked)
 * wins and unconfirmed readings are dropped. Otherwise a reading under which more shares than
 * needed lie on a lower-degree polynomial (outliers, or inconsistent) is almost certainly the right
 * reading with wrong shares, so its finding is thrown rather than falling back to a reading that
 * nothing supports. Only when no reading has any evidence are the unchecked readings offered.
 *
 * @throws CeremonyError (check) PWD_SHARES_OUTLIERS naming every share that does not fit, or
 *   PWD_SHARES_INCONSISTENT when no majority of shares agrees
 */
export function passwordCandidates(set: ShareSet): PasswordCandidate[] {
  if (typeof set !== 'object' || set === null || typeof set.prime !== 'bigint' || !Array.isArray(set.shares)) {
    throw new TypeError('set must be a ShareSet');
  }
  type Usable = { reading: IdReading; threshold: number; checked: boolean; secret: bigint };
  const usable: Usable[] = [];
  let failure: { reading: IdReading; ids: readonly number[]; analysis: ShareAnalysis } | undefined;
  for (const { reading, ids } of set.readings) {
    const analysis = analyzeShares(ids.map((id, i) => ({ id, value: set.shares[i]!.value })), set.prime);
    if (analysis.kind === 'consistent') usable.push({ reading, ...analysis });
    else failure ??= { reading, ids, analysis };
  }
  // Evidence against a reading's shares only appears by chance with probability about k²/p.
  if (usable.some((u) => u.checked)) usable.splice(0, usable.length, ...usable.filter((u) => u.checked));
  else if (failure) throw inconsistency(set, failure);

  const out: PasswordCandidate[] = [];
  for (const u of usable) {
    const base = { idReading: u.reading, threshold: u.threshold, checked: u.checked };
    out.push({ password: bigIntToFixedBytes(u.secret, PASSWORD_LENGTH), form: 'padded', ...base });
    const len = byteLength(u.secret);
    if (len < PASSWORD_LENGTH) out.push({ password: bigIntToFixedBytes(u.secret, len), form: 'minimal', ...base });
  }
  for (const u of usable) {
    const wrapped = u.secret + set.prime;
    if (wrapped < 1n << 64n) {
      out.push({ password: bigIntToFixedBytes(wrapped, PASSWORD_LENGTH), form: 'wrapped', idReading: u.reading,
        threshold: u.threshold, checked: u.checked });
    }
  }
  return out;
}

function inconsistency(
  set: ShareSet,
  failure: { reading: IdReading; ids: readonly number[]; analysis: ShareAnalysis },
): CeremonyError {
  const otherReading = set.readings.length > 1
    ? ` (ids read as ${failure.reading}; the ${failure.reading === 'decimal' ? 'hex' : 'decimal'} reading fits no better)`
    : '';
  const a = failure.analysis;
  if (a.kind === 'outliers') {
    const named = a.outliers.map((i) => nameOf(set.shares[i]!));
    const list = named.length === 1 ? named[0]! : `${named.slice(0, -1).join(', ')} and ${named.at(-1)!}`;
    const verb = named.length === 1 ? 'does' : 'do';
    return checkFailed('PWD_SHARES_OUTLIERS',
      `${list} ${verb} not fit the other shares${otherReading}`,
      {
        hint: 'check the named shares against their printouts and enter them again, or leave them out',
        detail: {
          reading: failure.reading,
          threshold: a.threshold,
          outliers: a.outliers.map((i) => ({ position: set.shares[i]!.position, id: set.shares[i]!.idText })),
        },
      });
  }
  return checkFailed('PWD_SHARES_INCONSISTENT', `shares are inconsistent${otherReading}`, {
    hint: 'the shares do not come from one split, or several were mistyped; check every share against its printout',
    detail: { reading: failure.reading },
  });
}

/** Wipes the password bytes of every candidate. */
export function wipeCandidates(candidates: readonly PasswordCandidate[]): void {
  for (const c of candidates) wipe(c.password);
}
