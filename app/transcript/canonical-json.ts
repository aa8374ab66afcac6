/**
 * Canonical JSON for transcript lines (docs/transcript-format.md §3). One value has exactly one
 * encoding, so a line's bytes — and therefore its SHA-256 and the signatures over it — follow from
 * its content alone, and a verifier can insist that every line is already canonical.
 *
 * The rules are those of RFC 8785 (JCS) restricted to the values a transcript needs: objects with
 * members sorted by key (UTF-16 code units), no insignificant whitespace, strings escaped as
 * ECMAScript's JSON.stringify escapes them, and integers only (safe integers, no `-0`), so no
 * floating-point formatting question ever arises.
 */

/** A value canonical JSON can encode. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function describe(path: string): string {
  return path === '' ? 'the value' : path;
}

function encode(value: unknown, path: string, out: string[]): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isSafeInteger(value)) throw new RangeError(`${describe(path)} must be a safe integer, got ${String(value)}`);
      if (Object.is(value, -0)) throw new RangeError(`${describe(path)} must not be -0`);
      out.push(String(value));
      return;
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new RangeError(`${describe(path)} holds a lone UTF-16 surrogate`);
      out.push(JSON.stringify(value));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`${describe(path)} has type ${typeof value}, which canonical JSON cannot hold`);
  }
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v, i) => {
      if (i > 0) out.push(',');
      encode(v, `${path}[${i}]`, out);
    });
    out.push(']');
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${describe(path)} is a ${(value as object).constructor?.name ?? 'non-plain object'}, not a plain object`);
  }
  const keys = Object.keys(value).sort();
  out.push('{');
  keys.forEach((k, i) => {
    const v = (value as Record<string, unknown>)[k];
    const p = path === '' ? k : `${path}.${k}`;
    if (v === undefined) throw new TypeError(`${p} is undefined; leave the member out or use null`);
    if (LONE_SURROGATE.test(k)) throw new RangeError(`a key in ${describe(path)} holds a lone UTF-16 surrogate`);
    if (i > 0) out.push(',');
    out.push(JSON.stringify(k), ':');
    encode(v, p, out);
  });
  out.push('}');
}

/**
 * Encodes `value` as canonical JSON.
 *
 * @throws {TypeError} for a value JSON cannot hold (undefined, functions, bigint, class instances,
 *   typed arrays), naming its path
 * @throws {RangeError} for a number that is not a safe integer, `-0`, or a lone surrogate
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  encode(value, '', out);
  return out.join('');
}

/** True if `text` is exactly the canonical encoding of what it parses to. */
export function isCanonicalJson(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    return canonicalJson(parsed) === text;
  } catch {
    return false;
  }
}
