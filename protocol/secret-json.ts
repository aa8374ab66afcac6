/**
 * A JSON reader that never turns string values into JavaScript strings. `JSON.parse` would leave
 * every passphrase in an immutable, unwipeable string; this reader returns string VALUES as UTF-8
 * bytes in Uint8Arrays the caller can wipe. Object keys are ordinary strings (they are names, not
 * secrets). Strict RFC 8259: no comments, no trailing commas, no duplicate keys.
 */

export type SecretJson = Uint8Array | number | boolean | null | SecretJson[] | { [key: string]: SecretJson };

export class SecretJsonError extends SyntaxError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} at line ${line}, column ${column}`);
  }
}

/** Parses `text` (UTF-8 bytes). Throws SecretJsonError with a line and column; never echoes input. */
export function parseSecretJson(text: Uint8Array): SecretJson {
  let i = 0;
  const fail = (msg: string): never => {
    let line = 1;
    let col = 1;
    for (let k = 0; k < i && k < text.length; k++) {
      if (text[k] === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    throw new SecretJsonError(msg, line, col);
  };
  const ws = () => {
    while (i < text.length && (text[i] === 0x20 || text[i] === 0x09 || text[i] === 0x0a || text[i] === 0x0d)) i++;
  };
  const expect = (c: number, what: string) => {
    if (text[i] !== c) fail(`expected ${what}`);
    i++;
  };
  const literal = (word: string, value: SecretJson): SecretJson => {
    for (let k = 0; k < word.length; k++) if (text[i + k] !== word.charCodeAt(k)) fail('unexpected token');
    i += word.length;
    return value;
  };
  const hex4 = (): number => {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = text[i++];
      if (c === undefined) fail('unterminated escape');
      const d = c! >= 0x30 && c! <= 0x39 ? c! - 0x30 : (c! | 0x20) >= 0x61 && (c! | 0x20) <= 0x66 ? (c! | 0x20) - 0x57 : -1;
      if (d < 0) fail('bad \\u escape');
      v = (v << 4) | d;
    }
    return v;
  };
  const str = (): Uint8Array => {
    expect(0x22, '"');
    const out = new Uint8Array(text.length); // upper bound; trimmed below
    let n = 0;
    const put = (cp: number) => {
      if (cp < 0x80) out[n++] = cp;
      else if (cp < 0x800) {
        out[n++] = 0xc0 | (cp >> 6);
        out[n++] = 0x80 | (cp & 63);
      } else if (cp < 0x10000) {
        out[n++] = 0xe0 | (cp >> 12);
        out[n++] = 0x80 | ((cp >> 6) & 63);
        out[n++] = 0x80 | (cp & 63);
      } else {
        out[n++] = 0xf0 | (cp >> 18);
        out[n++] = 0x80 | ((cp >> 12) & 63);
        out[n++] = 0x80 | ((cp >> 6) & 63);
        out[n++] = 0x80 | (cp & 63);
      }
    };
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      i++;
      if (c === 0x22) break;
      if (c! < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        out[n++] = c!;
        continue;
      }
      const e = text[i++];
      switch (e) {
        case 0x22: put(0x22); break;
        case 0x5c: put(0x5c); break;
        case 0x2f: put(0x2f); break;
        case 0x62: put(0x08); break;
        case 0x66: put(0x0c); break;
        case 0x6e: put(0x0a); break;
        case 0x72: put(0x0d); break;
        case 0x74: put(0x09); break;
        case 0x75: {
          let cp = hex4();
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (text[i] !== 0x5c || text[i + 1] !== 0x75) fail('lone surrogate');
            i += 2;
            const lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail('bad surrogate pair');
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) fail('lone surrogate');
          put(cp);
          break;
        }
        default:
          fail('bad escape');
      }
    }
    const r = out.slice(0, n);
    out.fill(0);
    return r;
  };
  const num = (): number => {
    const start = i;
    if (text[i] === 0x2d) i++;
    while (i < text.length && /[0-9.eE+-]/.test(String.fromCharCode(text[i]!))) i++;
    const s = new TextDecoder().decode(text.subarray(start, i));
    if (!/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(s)) fail('bad number');
    return Number(s);
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const value = (depth: number): SecretJson => {
    if (depth > 32) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === 0x7b) {
      i++;
      const obj: { [key: string]: SecretJson } = Object.create(null);
      ws();
      if (text[i] === 0x7d) {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const kb = str();
        let key: string;
        try {
          key = decoder.decode(kb);
        } catch {
          return fail('key is not UTF-8');
        }
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key "${key}"`);
        ws();
        expect(0x3a, '":"');
        obj[key] = value(depth + 1);
        ws();
        if (text[i] === 0x2c) {
          i++;
          continue;
        }
        expect(0x7d, '"," or "}"');
        return obj;
      }
    }
    if (c === 0x5b) {
      i++;
      const arr: SecretJson[] = [];
      ws();
      if (text[i] === 0x5d) {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === 0x2c) {
          i++;
          continue;
        }
        expect(0x5d, '"," or "]"');
        return arr;
      }
    }
    if (c === 0x22) return str();
    if (c === 0x74) return literal('true', true);
    if (c === 0x66) return literal('false', false);
    if (c === 0x6e) return literal('null', null);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return num();
    return fail(c === undefined ? 'unexpected end of input' : 'unexpected token');
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing data after the JSON value');
  return v;
}

/** Zeroes every byte string in a parsed tree. */
export function wipeSecretJson(v: SecretJson): void {
  if (v instanceof Uint8Array) v.fill(0);
  else if (Array.isArray(v)) v.forEach(wipeSecretJson);
  else if (v !== null && typeof v === 'object') Object.values(v).forEach(wipeSecretJson);
}
