/**
 * Randomness for every protocol module. Every function that needs random bytes takes an injected
 * `rng` so tests and rehearsals are deterministic; outside tests it is `crypto.getRandomValues`.
 */

/** Source of random bytes: returns a fresh array of exactly `n` bytes. */
export type Rng = (n: number) => Uint8Array;

/** `crypto.getRandomValues` (the Web Crypto global, so this stays free of node:* imports). */
export const defaultRng: Rng = (n) => crypto.getRandomValues(new Uint8Array(n));

/**
 * Calls `rng(n)` and checks that it kept its contract, so a broken generator fails loudly instead
 * of producing short or shared buffers.
 *
 * @throws TypeError if `rng` is not a function or does not return a Uint8Array
 * @throws RangeError if it returns the wrong number of bytes
 */
export function drawBytes(rng: Rng, n: number): Uint8Array {
  if (typeof rng !== 'function') throw new TypeError('rng must be a function (n) => Uint8Array');
  const out = rng(n);
  if (!(out instanceof Uint8Array)) throw new TypeError('rng must return a Uint8Array');
  if (out.length !== n) throw new RangeError(`rng returned ${out.length} bytes, expected ${n}`);
  return out;
}
