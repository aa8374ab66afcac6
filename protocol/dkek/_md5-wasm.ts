/**
 * The hot loop of the share-file KDF as WebAssembly: `state := MD5(state)` repeated, where `state`
 * is a 16-byte digest (docs/dkek-share-format.md §7, "Implementation note"). The module is not a
 * downloaded or prebuilt artefact: `buildMd5RepeatModule()` below writes its bytes instruction by
 * instruction from the RFC 1321 tables in `_md5.ts`, so what runs is what this file says.
 *
 * Module shape (WebAssembly 1.0 binary format, no proposals needed):
 *
 *   (memory (export "memory") 1)          ;; bytes 0..15 hold the digest, little-endian words
 *   (func (export "iterate") (param $n i32) (local $x0..$x3 $a $b $c $d i32)
 *     load x0..x3 from memory[0..16]
 *     while n != 0: a..d := IV; 64 unrolled steps; x_k := {a,b,c,d}_k + IV_k; n := n - 1
 *     store x0..x3 to memory[0..16])
 *
 * The message words 4..15 of a 16-byte message are constants (0x80 marker, zeros, bit length
 * 128); they are folded into the step constants exactly as in `md5RepeatJs`.
 *
 * Why chunks: V8 compiles WebAssembly first with its baseline compiler (Liftoff) and swaps in the
 * optimised code (TurboFan) only for later calls; it never replaces a running frame. One call that
 * runs all 10^7 iterations therefore stays on baseline code and is ~1.6x slower. Callers run a few
 * thousand iterations per call (`WASM_CALL_ITERATIONS`).
 *
 * Internal to protocol/dkek (underscore prefix): use `md5-chain.ts`.
 */
import { MD5_IV, MD5_SHIFTS, MD5_T, SINGLE_DIGEST_BLOCK_WORDS, md5MessageIndex } from './_md5.ts';

/** Iterations per call into WebAssembly: small enough that V8 tiers up to TurboFan early. */
export const WASM_CALL_ITERATIONS = 4096;

// Opcodes and type codes used (WebAssembly core spec §5.4 and §5.3).
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Rotl: 0x77,
} as const;
const VOID_BLOCK = 0x40;
const I32 = 0x7f;

/** Unsigned LEB128 (core spec §5.2.2). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (core spec §5.2.2), as `i32.const` needs. */
function sleb(n: number): number[] {
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  const bytes = Array.from(s, (ch) => ch.charCodeAt(0));
  return [...uleb(bytes.length), ...bytes];
}

// Local indices: the parameter n, the four message words (= the running digest), the state.
const N = 0;
const X = [1, 2, 3, 4] as const;
const A = 5;
const B = 6;
const C = 7;
const D = 8;

/** Instructions for the 64 MD5 steps over locals a..d with message words x0..x3 (RFC 1321 §3.4). */
function emitSteps(code: number[]): void {
  const get = (l: number) => code.push(OP.localGet, l);
  const vars = [A, B, C, D];
  for (let i = 0; i < 64; i++) {
    const round = i >> 4;
    // Renaming instead of rotating: step i updates vars[-i mod 4] from the next three.
    const j = i & 3;
    const t = vars[(4 - j) & 3]!;
    const p = vars[(5 - j) & 3]!;
    const q = vars[(6 - j) & 3]!;
    const r = vars[(7 - j) & 3]!;
    // The round function of (p, q, r) = (b, c, d).
    if (round === 0) {
      get(r); get(p); get(q); get(r); // d ^ (b & (c ^ d))
      code.push(OP.i32Xor, OP.i32And, OP.i32Xor);
    } else if (round === 1) {
      get(q); get(r); get(p); get(q); // c ^ (d & (b ^ c))
      code.push(OP.i32Xor, OP.i32And, OP.i32Xor);
    } else if (round === 2) {
      get(p); get(q); code.push(OP.i32Xor); get(r); code.push(OP.i32Xor); // b ^ c ^ d
    } else {
      get(q); get(p); get(r); // c ^ (b | ~d)
      code.push(OP.i32Const, ...sleb(-1), OP.i32Xor, OP.i32Or, OP.i32Xor);
    }
    get(t);
    code.push(OP.i32Add);
    const g = md5MessageIndex(i);
    const constantWord = SINGLE_DIGEST_BLOCK_WORDS[g];
    let k = MD5_T[i]!;
    if (constantWord === undefined) {
      get(X[g as 0 | 1 | 2 | 3]);
      code.push(OP.i32Add);
    } else {
      k = (k + constantWord) | 0;
    }
    code.push(OP.i32Const, ...sleb(k), OP.i32Add);
    code.push(OP.i32Const, ...sleb(MD5_SHIFTS[round]![j]!), OP.i32Rotl);
    get(p);
    code.push(OP.i32Add, OP.localSet, t);
  }
}

/**
 * The bytes of the WebAssembly module described at the top of this file. Pure and deterministic:
 * the same bytes on every call.
 */
export function buildMd5RepeatModule(): Uint8Array {
  const code: number[] = [];
  const memarg = (offset: number) => [2 /* align 2^2 */, ...uleb(offset)];
  for (let w = 0; w < 4; w++) {
    code.push(OP.i32Const, 0, OP.i32Load, ...memarg(4 * w), OP.localSet, X[w]!);
  }
  code.push(OP.block, VOID_BLOCK);
  code.push(OP.localGet, N, OP.i32Eqz, OP.brIf, 0);
  code.push(OP.loop, VOID_BLOCK);
  const state = [A, B, C, D];
  for (let w = 0; w < 4; w++) code.push(OP.i32Const, ...sleb(MD5_IV[w]!), OP.localSet, state[w]!);
  emitSteps(code);
  for (let w = 0; w < 4; w++) {
    code.push(OP.localGet, state[w]!, OP.i32Const, ...sleb(MD5_IV[w]!), OP.i32Add, OP.localSet, X[w]!);
  }
  code.push(OP.localGet, N, OP.i32Const, 1, OP.i32Sub, OP.localSet, N);
  code.push(OP.localGet, N, OP.brIf, 0); // back to the loop head while n != 0
  code.push(OP.end, OP.end); // loop, block
  for (let w = 0; w < 4; w++) {
    code.push(OP.i32Const, 0, OP.localGet, X[w]!, OP.i32Store, ...memarg(4 * w));
  }
  code.push(OP.end); // function body

  const body = [...uleb(1), ...uleb(8), I32, ...code]; // one local group: 8 x i32
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [...uleb(1), 0x60, ...uleb(1), I32, ...uleb(0)]), // type 0: (i32) -> ()
    ...section(3, [...uleb(1), ...uleb(0)]), // function 0 has type 0
    ...section(5, [...uleb(1), 0x00, ...uleb(1)]), // one memory, min 1 page, no max
    ...section(7, [
      ...uleb(2),
      ...name('memory'), 0x02, ...uleb(0),
      ...name('iterate'), 0x00, ...uleb(0),
    ]),
    ...section(10, [...uleb(1), ...uleb(body.length), ...body]),
  ]);
}

/** A loaded instance: the digest lives in `digest` (a view of the instance's memory). */
export interface Md5RepeatWasm {
  /** bytes 0..15 of the instance memory */
  readonly digest: Uint8Array;
  /** `digest := MD5(digest)`, `n` times; call with at most `WASM_CALL_ITERATIONS` for speed */
  iterate(n: number): void;
}

/**
 * The slice of the WebAssembly JS API used here. The project's TypeScript lib (ES2023, no DOM) has
 * no WebAssembly declarations, and protocol/ must not depend on DOM typings, so it is typed here.
 */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let cached: Md5RepeatWasm | null | undefined;

/**
 * Compiles and instantiates the module once per thread (synchronously: it is about 2 KB).
 * Returns null where WebAssembly is unavailable or refuses the module, so callers fall back to
 * `md5RepeatJs`. The instance is shared within a thread; the KDF is synchronous, so calls never
 * interleave.
 */
export function loadMd5RepeatWasm(): Md5RepeatWasm | null {
  if (cached !== undefined) return cached;
  cached = null;
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) return cached;
  try {
    const instance = new api.Instance(new api.Module(buildMd5RepeatModule()), {});
    const memory = instance.exports['memory'] as { buffer: ArrayBuffer };
    const iterate = instance.exports['iterate'] as (n: number) => void;
    cached = { digest: new Uint8Array(memory.buffer, 0, 16), iterate };
  } catch {
    // A runtime that forbids compiling WebAssembly (e.g. a strict CSP) gets the plain-JS loop.
  }
  return cached;
}
