/**
 * Byte helpers shared by every format. Secrets live in Uint8Array only (strings cannot be wiped);
 * `wipe` zeroes them, with the usual JavaScript caveat: the engine may have made copies we cannot
 * reach (docs/threat-model.md).
 */

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array, sep = ''): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && sep) s += sep;
    const b = bytes[i]!;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

export function toHexUpper(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}

/**
 * Strict hex decoding: an even number of hex digits, optionally separated by ':' or whitespace
 * between bytes. Throws RangeError naming `what` on anything else.
 */
export function fromHex(text: string, what = 'hex string'): Uint8Array {
  const clean = text.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new RangeError(`${what} is not hex (expected pairs of 0-9 a-f)`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time comparison for equal-length inputs (length itself is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Zeroes every given array in place. */
export function wipe(...arrays: (Uint8Array | undefined | null)[]): void {
  for (const a of arrays) if (a) a.fill(0);
}

export function u16be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`u16 out of range: ${n}`);
  return new Uint8Array([n >> 8, n & 0xff]);
}

export function readU16be(b: Uint8Array, off: number): number {
  if (off + 2 > b.length) throw new RangeError('truncated u16');
  return (b[off]! << 8) | b[off + 1]!;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** Big-endian bytes of a non-negative bigint; `length` pads (or throws if it does not fit). */
export function bigIntToBytes(n: bigint, length?: number): Uint8Array {
  if (n < 0n) throw new RangeError('negative integer');
  const out: number[] = [];
  while (n > 0n) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  if (length === undefined) return new Uint8Array(out);
  if (out.length > length) throw new RangeError(`integer does not fit in ${length} bytes`);
  const r = new Uint8Array(length);
  r.set(out, length - out.length);
  return r;
}
