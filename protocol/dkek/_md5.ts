/**
 * MD5 (RFC 1321), written for one job: the share-file key derivation of sc-hsm-tool
 * (docs/dkek-share-format.md §4). Two functions live here:
 *
 * - `md5(bytes)`: the general hash, used once at the start of each EVP_BytesToKey chain, where the
 *   input is `D_{i-1} || password || salt` of arbitrary length. Table-driven and unhurried.
 * - `md5RepeatJs(state, n)`: `state := MD5(state)` n times, where `state` is a 16-byte digest. A
 *   16-byte message is exactly one 64-byte block whose words 4..15 are constants (the 0x80 byte,
 *   zeros, the bit length 128), so the compression is unrolled with those words folded into the
 *   round constants and there is no padding, no length bookkeeping and no allocation. This is the
 *   plain-JS path; `_md5-wasm.ts` is the same computation in WebAssembly. Both are cross-checked
 *   against each other and against node:crypto in test/unit/md5-chain.test.ts.
 *
 * Internal to protocol/dkek (underscore prefix): use `md5-chain.ts`.
 */

/** The 64 additive constants T[i] = floor(|sin(i + 1)| * 2^32) of RFC 1321 §3.4. */
export const MD5_T: readonly number[] = [
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/** Left-rotation amounts, four per round (RFC 1321 §3.4). */
export const MD5_SHIFTS: readonly (readonly number[])[] = [
  [7, 12, 17, 22],
  [5, 9, 14, 20],
  [4, 11, 16, 23],
  [6, 10, 15, 21],
];

/** The initial chaining value A, B, C, D (RFC 1321 §3.3), as signed 32-bit integers. */
export const MD5_IV: readonly number[] = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476];

/** Which message word step `i` (0..63) adds (RFC 1321 §3.4: rounds use i, 5i+1, 3i+5, 7i mod 16). */
export function md5MessageIndex(i: number): number {
  const r = i >> 4;
  if (r === 0) return i;
  if (r === 1) return (5 * i + 1) & 15;
  if (r === 2) return (3 * i + 5) & 15;
  return (7 * i) & 15;
}

/**
 * The constant message words of a block that carries exactly 16 bytes of data: word 4 holds the
 * 0x80 end marker, word 14 the message length in bits (128), the rest are zero. Words 0..3 are the
 * data and are marked `undefined`.
 */
export const SINGLE_DIGEST_BLOCK_WORDS: readonly (number | undefined)[] = [
  undefined, undefined, undefined, undefined, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 0,
];

/** One compression of the 16 little-endian words `m` into `h` (4 words), in place. */
function compress(h: Int32Array, m: Int32Array): void {
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  for (let i = 0; i < 64; i++) {
    const r = i >> 4;
    let f: number;
    if (r === 0) f = d ^ (b & (c ^ d));
    else if (r === 1) f = c ^ (d & (b ^ c));
    else if (r === 2) f = b ^ c ^ d;
    else f = c ^ (b | ~d);
    const t = (a + f + MD5_T[i]! + m[md5MessageIndex(i)]!) | 0;
    const s = MD5_SHIFTS[r]![i & 3]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
}

/**
 * MD5 of `data` (RFC 1321). Returns a fresh 16-byte digest; the internal block buffer is wiped.
 * @throws {TypeError} if `data` is not a Uint8Array
 */
export function md5(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  const h = Int32Array.from(MD5_IV);
  const block = new Uint8Array(64);
  const words = new Int32Array(16);
  const fullBlocks = data.length >>> 6;
  const loadWords = (): void => {
    for (let w = 0; w < 16; w++) {
      const o = 4 * w;
      words[w] = block[o]! | (block[o + 1]! << 8) | (block[o + 2]! << 16) | (block[o + 3]! << 24);
    }
  };
  for (let n = 0; n < fullBlocks; n++) {
    block.set(data.subarray(64 * n, 64 * n + 64));
    loadWords();
    compress(h, words);
  }
  // Final block(s): the rest of the data, 0x80, zeros, then the bit length as a 64-bit little-endian
  // integer in the last 8 bytes (RFC 1321 §3.1, §3.2).
  const rest = data.length - 64 * fullBlocks;
  block.fill(0);
  block.set(data.subarray(64 * fullBlocks));
  block[rest] = 0x80;
  if (rest >= 56) {
    loadWords();
    compress(h, words);
    block.fill(0);
  }
  const bits = data.length * 8;
  block[56] = bits & 0xff;
  block[57] = (bits >>> 8) & 0xff;
  block[58] = (bits >>> 16) & 0xff;
  block[59] = (bits >>> 24) & 0xff;
  const high = Math.floor(bits / 0x100000000);
  block[60] = high & 0xff;
  block[61] = (high >>> 8) & 0xff;
  block[62] = (high >>> 16) & 0xff;
  block[63] = (high >>> 24) & 0xff;
  loadWords();
  compress(h, words);
  block.fill(0);
  words.fill(0);
  const out = new Uint8Array(16);
  writeWords(out, h[0]!, h[1]!, h[2]!, h[3]!);
  h.fill(0);
  return out;
}

/** Stores four words little-endian into the 16 bytes of `out`. */
export function writeWords(out: Uint8Array, w0: number, w1: number, w2: number, w3: number): void {
  out[0] = w0;
  out[1] = w0 >>> 8;
  out[2] = w0 >>> 16;
  out[3] = w0 >>> 24;
  out[4] = w1;
  out[5] = w1 >>> 8;
  out[6] = w1 >>> 16;
  out[7] = w1 >>> 24;
  out[8] = w2;
  out[9] = w2 >>> 8;
  out[10] = w2 >>> 16;
  out[11] = w2 >>> 24;
  out[12] = w3;
  out[13] = w3 >>> 8;
  out[14] = w3 >>> 16;
  out[15] = w3 >>> 24;
}

/** Reads little-endian word `w` (0..3) of a 16-byte digest. */
export function readWord(bytes: Uint8Array, w: number): number {
  const o = 4 * w;
  return bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
}

/**
 * `state := MD5(state)`, `n` times, in place, in plain JavaScript. `state` is a 16-byte digest; an
 * MD5 digest is the four chaining words little-endian, which are exactly the message words 0..3
 * of the next block, so the loop never converts to bytes. The unrolled steps below follow RFC 1321
 * §3.4 with the variables renamed instead of rotated; the constant words 4..15 of a 16-byte
 * message are folded into the additive constants: word 4 (0x80) at steps 4, 23, 37, 60 and word
 * 14 (128) at steps 14, 25, 35, 50 add `T + 0x80` or `T + 128`; the zero words vanish.
 *
 * Callers validate `state.length === 16` and `n`; this is the hot loop.
 */
export function md5RepeatJs(state: Uint8Array, n: number): void {
  let x0 = readWord(state, 0);
  let x1 = readWord(state, 1);
  let x2 = readWord(state, 2);
  let x3 = readWord(state, 3);
  let a: number, b: number, c: number, d: number, t: number;
  for (let k = 0; k < n; k++) {
    a = 0x67452301;
    b = -271733879; // 0xefcdab89
    c = -1732584194; // 0x98badcfe
    d = 0x10325476;
    // round 1
    t = (a + (d ^ (b & (c ^ d))) + x0 + 0xd76aa478) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + (c ^ (a & (b ^ c))) + x1 + 0xe8c7b756) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + (b ^ (d & (a ^ b))) + x2 + 0x242070db) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + (a ^ (c & (d ^ a))) + x3 + 0xc1bdceee) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + (d ^ (b & (c ^ d))) + 0xf57c102f) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + (c ^ (a & (b ^ c))) + 0x4787c62a) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + (b ^ (d & (a ^ b))) + 0xa8304613) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + (a ^ (c & (d ^ a))) + 0xfd469501) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + (d ^ (b & (c ^ d))) + 0x698098d8) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + (c ^ (a & (b ^ c))) + 0x8b44f7af) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + (b ^ (d & (a ^ b))) + 0xffff5bb1) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + (a ^ (c & (d ^ a))) + 0x895cd7be) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
    t = (a + (d ^ (b & (c ^ d))) + 0x6b901122) | 0; a = (b + ((t << 7) | (t >>> 25))) | 0;
    t = (d + (c ^ (a & (b ^ c))) + 0xfd987193) | 0; d = (a + ((t << 12) | (t >>> 20))) | 0;
    t = (c + (b ^ (d & (a ^ b))) + 0xa679440e) | 0; c = (d + ((t << 17) | (t >>> 15))) | 0;
    t = (b + (a ^ (c & (d ^ a))) + 0x49b40821) | 0; b = (c + ((t << 22) | (t >>> 10))) | 0;
    // round 2
    t = (a + (c ^ (d & (b ^ c))) + x1 + 0xf61e2562) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + (b ^ (c & (a ^ b))) + 0xc040b340) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + (a ^ (b & (d ^ a))) + 0x265e5a51) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + (d ^ (a & (c ^ d))) + x0 + 0xe9b6c7aa) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + (c ^ (d & (b ^ c))) + 0xd62f105d) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + (b ^ (c & (a ^ b))) + 0x02441453) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + (a ^ (b & (d ^ a))) + 0xd8a1e681) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + (d ^ (a & (c ^ d))) + 0xe7d3fc48) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + (c ^ (d & (b ^ c))) + 0x21e1cde6) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + (b ^ (c & (a ^ b))) + 0xc3370856) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + (a ^ (b & (d ^ a))) + x3 + 0xf4d50d87) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + (d ^ (a & (c ^ d))) + 0x455a14ed) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
    t = (a + (c ^ (d & (b ^ c))) + 0xa9e3e905) | 0; a = (b + ((t << 5) | (t >>> 27))) | 0;
    t = (d + (b ^ (c & (a ^ b))) + x2 + 0xfcefa3f8) | 0; d = (a + ((t << 9) | (t >>> 23))) | 0;
    t = (c + (a ^ (b & (d ^ a))) + 0x676f02d9) | 0; c = (d + ((t << 14) | (t >>> 18))) | 0;
    t = (b + (d ^ (a & (c ^ d))) + 0x8d2a4c8a) | 0; b = (c + ((t << 20) | (t >>> 12))) | 0;
    // round 3
    t = (a + (b ^ c ^ d) + 0xfffa3942) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + 0x8771f681) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + 0x6d9d6122) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + 0xfde5388c) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (b ^ c ^ d) + x1 + 0xa4beea44) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + 0x4bded029) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + 0xf6bb4b60) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + 0xbebfbc70) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (b ^ c ^ d) + 0x289b7ec6) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + x0 + 0xeaa127fa) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + x3 + 0xd4ef3085) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + 0x04881d05) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
    t = (a + (b ^ c ^ d) + 0xd9d4d039) | 0; a = (b + ((t << 4) | (t >>> 28))) | 0;
    t = (d + (a ^ b ^ c) + 0xe6db99e5) | 0; d = (a + ((t << 11) | (t >>> 21))) | 0;
    t = (c + (d ^ a ^ b) + 0x1fa27cf8) | 0; c = (d + ((t << 16) | (t >>> 16))) | 0;
    t = (b + (c ^ d ^ a) + x2 + 0xc4ac5665) | 0; b = (c + ((t << 23) | (t >>> 9))) | 0;
    // round 4
    t = (a + (c ^ (b | ~d)) + x0 + 0xf4292244) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + 0x432aff97) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + 0xab942427) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + 0xfc93a039) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
    t = (a + (c ^ (b | ~d)) + 0x655b59c3) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + x3 + 0x8f0ccc92) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + 0xffeff47d) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + x1 + 0x85845dd1) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
    t = (a + (c ^ (b | ~d)) + 0x6fa87e4f) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + 0xfe2ce6e0) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + 0xa3014314) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + 0x4e0811a1) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;
    t = (a + (c ^ (b | ~d)) + 0xf7537f02) | 0; a = (b + ((t << 6) | (t >>> 26))) | 0;
    t = (d + (b ^ (a | ~c)) + 0xbd3af235) | 0; d = (a + ((t << 10) | (t >>> 22))) | 0;
    t = (c + (a ^ (d | ~b)) + x2 + 0x2ad7d2bb) | 0; c = (d + ((t << 15) | (t >>> 17))) | 0;
    t = (b + (d ^ (c | ~a)) + 0xeb86d391) | 0; b = (c + ((t << 21) | (t >>> 11))) | 0;

    x0 = (a + 0x67452301) | 0;
    x1 = (b - 271733879) | 0;
    x2 = (c - 1732584194) | 0;
    x3 = (d + 0x10325476) | 0;
  }
  writeWords(state, x0, x1, x2, x3);
}
