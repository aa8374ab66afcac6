/**
 * A small, strict BER/DER TLV reader and writer: just what the SmartCard-HSM formats need (wrap
 * files, PKCS#15 PRKD, CV certificates, X.509). docs/backup-format.md §2 lists the rules.
 *
 * Tags are handled as plain numbers holding their encoded bytes, so the two-byte CV tags read as
 * written in BSI TR-03110: `0x7f21`, `0x5f20`, `0x7f49`. Lengths may use the short form or the
 * long forms `81`, `82`, `83`, `84`; the indefinite form (`80`) is refused because nothing in these
 * formats uses it and sc-hsm-tool cannot read it either.
 *
 * The reader throws `DerError` (a RangeError with a stable `code`). It is a programming-level
 * error: the format layers (wrap-file, key-blob, cvc, prkd, x509) catch it and turn it into a
 * `CeremonyError` that names the file and tells the user what to do.
 */

/** Stable codes carried by `DerError`. */
export type DerErrorCode =
  /** the header or the value runs past the end of the input */
  | 'DER_TRUNCATED'
  /** a length form this reader refuses (more than 4 length bytes, or a value over 2^32-1) */
  | 'DER_BAD_LENGTH'
  /** the indefinite length form `80` */
  | 'DER_INDEFINITE_LENGTH'
  /** a multi-byte tag longer than 4 bytes */
  | 'DER_BAD_TAG'
  /** bytes left over after the last TLV where the caller expected none */
  | 'DER_TRAILING_DATA'
  /** an OBJECT IDENTIFIER that is empty, non-minimal or unterminated, or a dotted string that is not an OID */
  | 'DER_BAD_OID'
  /** a TLV other than the one the caller required */
  | 'DER_UNEXPECTED_TAG';

/** A malformed TLV structure. `offset` is where in the input the problem was found. */
export class DerError extends RangeError {
  readonly code: DerErrorCode;
  readonly offset: number;
  constructor(code: DerErrorCode, message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'DerError';
    this.code = code;
    this.offset = offset;
  }
}

/** One decoded tag-length-value element. */
export interface Tlv {
  /** the tag bytes as one number, e.g. 0x30, 0x04, 0x7f21, 0x5f20 */
  tag: number;
  /** bit 6 of the first tag byte: the value is itself a sequence of TLVs */
  constructed: boolean;
  /** the value bytes (a subarray view of the input, not a copy) */
  value: Uint8Array;
  /** where this TLV starts in the input */
  offset: number;
  /** tag bytes plus length bytes */
  headerLength: number;
  /** headerLength + value.length */
  totalLength: number;
  /** false when the length used more bytes than DER's minimal form (BER allows it, DER does not) */
  minimalLength: boolean;
}

/**
 * Reads one TLV starting at `offset`. The TLV must end at or before `end` (default: the end of
 * `bytes`).
 *
 * @throws {TypeError} if `bytes` is not a Uint8Array
 * @throws {DerError} DER_TRUNCATED, DER_BAD_LENGTH, DER_INDEFINITE_LENGTH or DER_BAD_TAG
 */
export function readTlv(bytes: Uint8Array, offset = 0, end = bytes.length): Tlv {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError('offset must be a non-negative integer');
  if (!Number.isInteger(end) || end > bytes.length || end < offset) {
    throw new RangeError('end must be an integer between offset and bytes.length');
  }
  let p = offset;
  if (p >= end) throw new DerError('DER_TRUNCATED', 'expected a tag but the input ended', p);
  const first = bytes[p++]!;
  let tag = first;
  if ((first & 0x1f) === 0x1f) {
    // High tag number form: continuation bytes have bit 8 set; the last one has it clear.
    let more = true;
    let n = 1;
    while (more) {
      if (p >= end) throw new DerError('DER_TRUNCATED', 'multi-byte tag runs past the end', offset);
      const b = bytes[p++]!;
      tag = tag * 256 + b;
      more = (b & 0x80) !== 0;
      if (++n > 4) throw new DerError('DER_BAD_TAG', 'tag longer than 4 bytes', offset);
    }
  }
  if (p >= end) throw new DerError('DER_TRUNCATED', 'expected a length but the input ended', p);
  const l0 = bytes[p++]!;
  let length: number;
  let minimalLength = true;
  if (l0 < 0x80) {
    length = l0;
  } else if (l0 === 0x80) {
    throw new DerError('DER_INDEFINITE_LENGTH', 'indefinite length is not allowed', p - 1);
  } else {
    const n = l0 & 0x7f;
    if (n > 4) throw new DerError('DER_BAD_LENGTH', `length uses ${n} bytes (at most 4 allowed)`, p - 1);
    if (p + n > end) throw new DerError('DER_TRUNCATED', 'length bytes run past the end', p - 1);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[p++]!;
    // DER: the long form only when needed, and with no leading zero byte.
    minimalLength = length >= 0x80 && bytes[p - n] !== 0;
  }
  const headerLength = p - offset;
  if (length > end - p) {
    throw new DerError('DER_TRUNCATED', `value of ${length} bytes runs past the end (${end - p} left)`, offset);
  }
  return {
    tag,
    constructed: (first & 0x20) !== 0,
    value: bytes.subarray(p, p + length),
    offset,
    headerLength,
    totalLength: headerLength + length,
    minimalLength,
  };
}

/**
 * Reads consecutive TLVs filling `bytes[start, end)` exactly.
 *
 * @throws {DerError} as readTlv; a truncated final TLV is DER_TRUNCATED
 */
export function readAllTlvs(bytes: Uint8Array, start = 0, end = bytes.length): Tlv[] {
  const out: Tlv[] = [];
  let p = start;
  while (p < end) {
    const t = readTlv(bytes, p, end);
    out.push(t);
    p += t.totalLength;
  }
  return out;
}

/**
 * Reads the children of a constructed TLV, whose value must be a whole number of TLVs.
 *
 * @throws {DerError} as readAllTlvs
 */
export function readChildren(parent: Tlv): Tlv[] {
  return readAllTlvs(parent.value);
}

/**
 * Reads exactly one TLV with the given tag that fills `bytes` completely.
 *
 * @throws {DerError} DER_UNEXPECTED_TAG, DER_TRAILING_DATA, or as readTlv
 */
export function readSingleTlv(bytes: Uint8Array, tag: number): Tlv {
  const t = readTlv(bytes, 0);
  if (t.tag !== tag) {
    throw new DerError('DER_UNEXPECTED_TAG', `expected tag ${tagHex(tag)}, found ${tagHex(t.tag)}`, 0);
  }
  if (t.totalLength !== bytes.length) {
    throw new DerError('DER_TRAILING_DATA', `${bytes.length - t.totalLength} bytes after the TLV`, t.totalLength);
  }
  return t;
}

/** The first child with the given tag, or undefined. */
export function findTlv(tlvs: readonly Tlv[], tag: number): Tlv | undefined {
  return tlvs.find((t) => t.tag === tag);
}

/** A tag as upper-case hex, e.g. `7F21`, for messages. */
export function tagHex(tag: number): string {
  const s = tag.toString(16).toUpperCase();
  return s.length % 2 === 0 ? s : `0${s}`;
}

/**
 * DER length bytes: short form below 128, else `81`/`82`/`83`/`84` + the minimal big-endian length.
 *
 * @throws {RangeError} for a negative, fractional or over-4-GiB length
 */
export function encodeLength(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new RangeError(`length must be an integer 0..2^32-1, got ${length}`);
  }
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** The bytes of a tag number as used by this module (0x7f21 → 7F 21). */
export function encodeTag(tag: number): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) throw new RangeError(`tag out of range: ${tag}`);
  const bytes: number[] = [];
  let n = tag;
  do {
    bytes.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  return Uint8Array.from(bytes);
}

/**
 * One TLV with a minimal DER length. `value` may be several parts, which are concatenated (handy
 * for constructed values built from child TLVs).
 *
 * @throws {RangeError} if the tag or total length is out of range
 */
export function encodeTlv(tag: number, ...value: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const v of value) {
    if (!(v instanceof Uint8Array)) throw new TypeError('value parts must be Uint8Array');
    n += v.length;
  }
  const t = encodeTag(tag);
  const l = encodeLength(n);
  const out = new Uint8Array(t.length + l.length + n);
  out.set(t, 0);
  out.set(l, t.length);
  let p = t.length + l.length;
  for (const v of value) {
    out.set(v, p);
    p += v.length;
  }
  return out;
}

/**
 * Content bytes of an OBJECT IDENTIFIER (no tag, no length) from its dotted form.
 *
 * @throws {DerError} DER_BAD_OID for anything that is not at least two numeric arcs with a valid
 *   first pair
 */
export function encodeOid(dotted: string): Uint8Array {
  if (typeof dotted !== 'string' || !/^\d+(\.\d+)+$/.test(dotted)) {
    throw new DerError('DER_BAD_OID', `not a dotted OID: ${JSON.stringify(dotted)}`, 0);
  }
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 > 2n || (a0 < 2n && a1 > 39n)) throw new DerError('DER_BAD_OID', `bad first arcs in ${dotted}`, 0);
  const out: number[] = [];
  const push = (v: bigint): void => {
    const groups: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  };
  push(a0 * 40n + a1);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

/**
 * The dotted form of OBJECT IDENTIFIER content bytes.
 *
 * @throws {DerError} DER_BAD_OID if empty, unterminated, or an arc has a leading 0x80 byte
 */
export function decodeOid(content: Uint8Array): string {
  if (!(content instanceof Uint8Array)) throw new TypeError('content must be a Uint8Array');
  if (content.length === 0) throw new DerError('DER_BAD_OID', 'empty OID', 0);
  const arcs: bigint[] = [];
  let v = 0n;
  let start = true;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (start && b === 0x80) throw new DerError('DER_BAD_OID', 'non-minimal OID arc', i);
    start = false;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
      start = true;
    }
  }
  if (!start) throw new DerError('DER_BAD_OID', 'unterminated OID arc', content.length);
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}
