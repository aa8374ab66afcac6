/**
 * Join codes (docs/protocol-channel.md §4): the one-time secret a custodian types to join the
 * coordinator, `<nameplate>-<word>-<word>-<word>`, e.g. `3-tango-orbit-lemon`.
 *
 * - The nameplate (1–999) is the custodian slot. It is public: it tells the coordinator which code
 *   to run CPace with, and it is never derived from the secret words (croc#596's lesson).
 * - The three words come from the 256-word list (word-list.ts): 3 × 8 = 24 bits of entropy.
 * - The PRS fed to CPace is the whole normalised code, nameplate included, as ASCII bytes.
 *
 * A join code is a password: it is held as bytes (`JoinCode.bytes`) and wiped after use. The only
 * string form is {@link formatJoinCode}, for the coordinator's screen.
 */

import { utf8, wipe } from '../bytes.ts';
import { channelError, ChannelErrorCode } from './channel-error.ts';
import { defaultRng, drawBytes, type Rng } from '../random.ts';
import { WORD_COUNT, WORD_LIST } from './word-list.ts';

/** Smallest nameplate (slot number). */
export const MIN_NAMEPLATE = 1;
/** Largest nameplate (slot number). */
export const MAX_NAMEPLATE = 999;
/** Words per code. */
export const JOIN_CODE_WORDS = 3;
/** Entropy of a code's secret part: 3 words × log2(256). The nameplate adds none (it is public). */
export const JOIN_CODE_ENTROPY_BITS = JOIN_CODE_WORDS * 8;

/** Longest input {@link parseJoinCode} looks at; a real code is at most 3 + 3 × 7 = 24 bytes. */
const MAX_INPUT_BYTES = 256;

/** A parsed or generated join code. */
export interface JoinCode {
  /** the public slot number, 1–999 */
  readonly nameplate: number;
  /**
   * The normalised code as ASCII bytes, `3-tango-orbit-lemon`: lowercase, single hyphens, nameplate
   * in decimal without leading zeros. Secret; wipe with {@link wipeJoinCode}.
   */
  readonly bytes: Uint8Array;
}

const WORD_BYTES: readonly Uint8Array[] = WORD_LIST.map((w) => utf8(w));
const HYPHEN = 0x2d;

function checkNameplate(nameplate: unknown): asserts nameplate is number {
  if (typeof nameplate !== 'number') throw new TypeError('nameplate must be a number');
  if (!Number.isInteger(nameplate) || nameplate < MIN_NAMEPLATE || nameplate > MAX_NAMEPLATE) {
    throw new RangeError(`nameplate must be an integer from ${MIN_NAMEPLATE} to ${MAX_NAMEPLATE}`);
  }
}

function assemble(nameplate: number, wordIndexes: readonly number[]): JoinCode {
  const parts = [utf8(String(nameplate)), ...wordIndexes.map((i) => WORD_BYTES[i]!)];
  let length = parts.length - 1;
  for (const p of parts) length += p.length;
  const bytes = new Uint8Array(length);
  let off = 0;
  parts.forEach((p, i) => {
    if (i > 0) bytes[off++] = HYPHEN;
    bytes.set(p, off);
    off += p.length;
  });
  return Object.freeze({ nameplate, bytes });
}

/**
 * Draws a fresh join code for a slot: three words, each from one uniformly random byte.
 *
 * @param nameplate - the custodian slot, 1–999
 * @param rng - random bytes (default `crypto.getRandomValues`)
 * @throws TypeError / RangeError for a bad nameplate or an rng that breaks its contract
 */
export function generateJoinCode(nameplate: number, rng: Rng = defaultRng): JoinCode {
  checkNameplate(nameplate);
  const random = drawBytes(rng, JOIN_CODE_WORDS);
  // WORD_COUNT = 256, so a byte indexes the list without bias.
  const indexes = Array.from(random, (b) => b % WORD_COUNT);
  wipe(random);
  return assemble(nameplate, indexes);
}

function isSeparator(b: number): boolean {
  return b === HYPHEN || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function badCode(message: string, detail?: Record<string, unknown>) {
  return channelError(ChannelErrorCode.BAD_JOIN_CODE, message, detail);
}

function findWord(token: Uint8Array): number {
  outer: for (let i = 0; i < WORD_BYTES.length; i++) {
    const w = WORD_BYTES[i]!;
    if (w.length !== token.length) continue;
    for (let j = 0; j < w.length; j++) if (w[j] !== token[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Parses what a person typed: case-insensitive, any run of spaces, tabs, line breaks or hyphens
 * separates the parts, leading and trailing separators are ignored, and the nameplate may carry
 * leading zeros. `" 3 Tango-orbit  LEMON "` parses to `3-tango-orbit-lemon`.
 *
 * Error messages say which part is wrong (the slot number, or word 1, 2 or 3), never what was typed.
 *
 * @param input - the typed code; bytes are preferred (they can be wiped), a string is accepted
 *   because terminal input arrives as one
 * @throws CeremonyError CHANNEL_BAD_JOIN_CODE (kind usage) if the input is not a valid code
 * @throws TypeError if `input` is neither a string nor a Uint8Array
 */
export function parseJoinCode(input: string | Uint8Array): JoinCode {
  let raw: Uint8Array;
  if (typeof input === 'string') raw = utf8(input);
  else if (input instanceof Uint8Array) raw = input.slice();
  else throw new TypeError('join code must be a string or a Uint8Array');
  try {
    if (raw.length > MAX_INPUT_BYTES) {
      throw badCode(`the join code is too long (${raw.length} bytes)`);
    }
    // Lowercase ASCII letters in place; everything else is left for the checks below.
    for (let i = 0; i < raw.length; i++) if (raw[i]! >= 0x41 && raw[i]! <= 0x5a) raw[i] = raw[i]! | 0x20;
    const tokens: Uint8Array[] = [];
    let start = -1;
    for (let i = 0; i <= raw.length; i++) {
      const sep = i === raw.length || isSeparator(raw[i]!);
      if (!sep && start < 0) start = i;
      if (sep && start >= 0) {
        tokens.push(raw.subarray(start, i));
        start = -1;
      }
    }
    if (tokens.length !== 1 + JOIN_CODE_WORDS) {
      throw badCode(
        `the join code needs a slot number and ${JOIN_CODE_WORDS} words, found ${tokens.length} parts`,
        { parts: tokens.length },
      );
    }
    const slot = tokens[0]!;
    let nameplate = 0;
    for (const b of slot) {
      if (b < 0x30 || b > 0x39 || nameplate > MAX_NAMEPLATE) {
        nameplate = -1;
        break;
      }
      nameplate = nameplate * 10 + (b - 0x30);
    }
    if (nameplate < MIN_NAMEPLATE || nameplate > MAX_NAMEPLATE) {
      throw badCode(`the slot number of the join code is not a number from ${MIN_NAMEPLATE} to ${MAX_NAMEPLATE}`);
    }
    const indexes: number[] = [];
    for (let w = 0; w < JOIN_CODE_WORDS; w++) {
      const index = findWord(tokens[1 + w]!);
      if (index < 0) {
        throw badCode(`word ${w + 1} of the join code is not in the word list`, { word: w + 1 });
      }
      indexes.push(index);
    }
    return assemble(nameplate, indexes);
  } finally {
    wipe(raw);
  }
}

/**
 * The CPace password-related string for a code: a fresh copy of the normalised code bytes, e.g.
 * ASCII `3-tango-orbit-lemon`. The nameplate is part of it, so a code typed with the wrong slot
 * number fails confirmation instead of matching another slot's code. The caller wipes the copy.
 *
 * @throws TypeError if `code` is not a JoinCode
 */
export function joinCodePrs(code: JoinCode): Uint8Array {
  if (code === null || typeof code !== 'object' || !(code.bytes instanceof Uint8Array)) {
    throw new TypeError('code must be a JoinCode');
  }
  return code.bytes.slice();
}

/**
 * The code as text, for the coordinator's screen only. Strings cannot be wiped: render it and drop
 * the reference; never log it.
 *
 * @throws TypeError if `code` is not a JoinCode
 */
export function formatJoinCode(code: JoinCode): string {
  const bytes = joinCodePrs(code);
  try {
    return new TextDecoder().decode(bytes);
  } finally {
    wipe(bytes);
  }
}

/** Zeroes the code's bytes; the code is unusable afterwards. */
export function wipeJoinCode(code: JoinCode): void {
  wipe(code.bytes);
}
