/**
 * The JSON encoding of ceremony messages (docs/protocol.md §3), written so that no secret ever
 * becomes a JavaScript string.
 *
 * - A message is one JSON object (RFC 8259, UTF-8), sealed as one channel frame.
 * - Fields whose name is in {@link BYTES_FIELDS} carry bytes: on the wire a string of lowercase hex
 *   digits, in memory a Uint8Array. The encoder writes those hex digits straight into the output
 *   buffer and the decoder reads them with `parseSecretJson`, which keeps every string value as
 *   bytes; so a share, a PIN or a password-share value goes from Uint8Array to frame and back
 *   without an unwipeable string copy. The name decides, everywhere: a field called `share` is
 *   bytes in every message type, and no other field is.
 * - Every other string field is ordinary (public) text.
 *
 * Nothing here validates message shapes; the zod schemas of each direction do that after decoding.
 */

import { wipe } from '../bytes.ts';
import { CeremonyError } from '../errors.ts';
import { parseSecretJson, type SecretJson } from '../secret-json.ts';
import { wireError, WireErrorCode } from './wire-error.ts';

/**
 * Field names that always carry bytes (hex on the wire). Secret: `share`, `value`, `soPin`, `pin`,
 * `challenge`. Public but binary: `file` (an encrypted .pbe share file).
 */
export const BYTES_FIELDS: ReadonlySet<string> = new Set(['share', 'value', 'soPin', 'pin', 'challenge', 'file']);

/** A JSON value as messages hold it: strings are public, Uint8Arrays are bytes fields. */
export type WireValue = string | number | boolean | null | Uint8Array | readonly WireValue[] | { readonly [key: string]: WireValue | undefined };

const TEXT = new TextEncoder();
const HEX_DIGITS = TEXT.encode('0123456789abcdef');

class ByteWriter {
  buf = new Uint8Array(256);
  n = 0;
  ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    wipe(this.buf); // may have held hex digits of a secret
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.n++] = b;
  }
  text(s: string): void {
    const bytes = TEXT.encode(s);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.n);
    this.n += bytes.length;
  }
  hex(bytes: Uint8Array): void {
    this.ensure(bytes.length * 2 + 2);
    this.buf[this.n++] = 0x22;
    for (const b of bytes) {
      this.buf[this.n++] = HEX_DIGITS[b >> 4]!;
      this.buf[this.n++] = HEX_DIGITS[b & 15]!;
    }
    this.buf[this.n++] = 0x22;
  }
  take(): Uint8Array {
    const out = this.buf.slice(0, this.n);
    wipe(this.buf);
    return out;
  }
}

function write(w: ByteWriter, value: WireValue, key: string | null, depth: number): void {
  if (depth > 16) throw new RangeError('message nests too deeply');
  if (value instanceof Uint8Array) {
    if (key === null || !BYTES_FIELDS.has(key)) throw new TypeError(`bytes are only allowed in a bytes field, not in ${key ?? 'an array'}`);
    w.hex(value);
    return;
  }
  if (key !== null && BYTES_FIELDS.has(key)) throw new TypeError(`field ${key} must be a Uint8Array`);
  if (value === null || typeof value === 'boolean') {
    w.text(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`field ${key ?? '(array item)'} is not a finite number`);
    w.text(JSON.stringify(value));
  } else if (typeof value === 'string') {
    w.text(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    w.byte(0x5b);
    value.forEach((item: WireValue, i: number) => {
      if (i > 0) w.byte(0x2c);
      write(w, item, null, depth + 1);
    });
    w.byte(0x5d);
  } else if (typeof value === 'object') {
    w.byte(0x7b);
    let first = true;
    for (const [k, v] of Object.entries(value as Record<string, WireValue | undefined>)) {
      if (v === undefined) continue;
      if (!first) w.byte(0x2c);
      first = false;
      w.text(JSON.stringify(k));
      w.byte(0x3a);
      write(w, v, k, depth + 1);
    }
    w.byte(0x7d);
  } else {
    throw new TypeError(`field ${key ?? '(array item)'} has an unsupported type ${typeof value}`);
  }
}

/**
 * Encodes a message object as UTF-8 JSON bytes. Uint8Array values (allowed only in bytes fields)
 * become lowercase hex strings without passing through a JavaScript string. `undefined` fields are
 * left out. The caller wipes the result once sealed if it held secrets.
 *
 * @throws TypeError if bytes appear outside a bytes field or a bytes field is not a Uint8Array
 * @throws RangeError for non-finite numbers or nesting deeper than 16
 */
export function encodeWireJson(message: { readonly [key: string]: WireValue | undefined }): Uint8Array {
  const w = new ByteWriter();
  try {
    write(w, message, null, 0);
    return w.take();
  } catch (e) {
    wipe(w.buf);
    throw e;
  }
}

function hexNibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Every Uint8Array inside a decoded tree, for wiping it on failure. */
export function wipeWireValue(value: unknown): void {
  if (value instanceof Uint8Array) wipe(value);
  else if (Array.isArray(value)) for (const v of value) wipeWireValue(v);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) wipeWireValue(v);
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

function convert(value: SecretJson, key: string | null, path: string, made: Uint8Array[]): unknown {
  if (value instanceof Uint8Array) {
    if (key !== null && BYTES_FIELDS.has(key)) {
      if (value.length % 2 !== 0) throw wireError(WireErrorCode.BAD_FIELD, `field ${path} is not lowercase hex`, { path });
      const out = new Uint8Array(value.length / 2);
      made.push(out);
      for (let i = 0; i < out.length; i++) {
        const hi = hexNibble(value[2 * i]!);
        const lo = hexNibble(value[2 * i + 1]!);
        if (hi < 0 || lo < 0) {
          throw wireError(WireErrorCode.BAD_FIELD, `field ${path} is not lowercase hex`, { path });
        }
        out[i] = (hi << 4) | lo;
      }
      return out;
    }
    return utf8Fatal.decode(value); // public text; parseSecretJson already checked the UTF-8
  }
  if (Array.isArray(value)) return value.map((v, i) => convert(v, null, `${path}[${i}]`, made));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const childPath = path === '' ? k : `${path}.${k}`;
      // defineProperty, not assignment: a key named __proto__ must stay a plain (unknown) field
      Object.defineProperty(out, k, { value: convert(v, k, childPath, made), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/**
 * Decodes one message's JSON bytes into a plain object: bytes fields as Uint8Array (hex decoded),
 * every other string as a string. The input is wiped (it may hold hex digits of a secret).
 *
 * @throws CeremonyError WIRE_MALFORMED if the bytes are not one JSON object (nesting is limited to
 *   32 levels by the parser); WIRE_BAD_FIELD if a bytes field is not an even-length lowercase hex
 *   string
 */
export function decodeWireJson(bytes: Uint8Array): Record<string, unknown> {
  let tree: SecretJson;
  try {
    tree = parseSecretJson(bytes);
  } catch {
    throw wireError(WireErrorCode.MALFORMED, 'the message is not valid JSON');
  } finally {
    wipe(bytes);
  }
  const made: Uint8Array[] = [];
  try {
    if (tree === null || typeof tree !== 'object' || Array.isArray(tree) || tree instanceof Uint8Array) {
      throw wireError(WireErrorCode.MALFORMED, 'the message is not a JSON object');
    }
    return convert(tree, null, '', made) as Record<string, unknown>;
  } catch (e) {
    for (const m of made) wipe(m);
    if (e instanceof CeremonyError) throw e;
    throw wireError(WireErrorCode.MALFORMED, 'the message is not valid UTF-8 JSON');
  } finally {
    wipeWireValue(tree);
  }
}
