/**
 * The simulated card's only source of randomness: HMAC_DRBG with SHA-256 (NIST SP 800-90A rev. 1,
 * §10.1.2), instantiated from a seed the operator can note down. Everything the card draws —
 * device key, serial number, GET CHALLENGE bytes, generated keys, ECDSA hedging, key-blob
 * padding — comes from here, in command order, so the same seed and the same command sequence
 * rebuild the same card byte for byte (docs/simulator.md §6 "Replay").
 *
 * This is a test instrument, not a production DRBG: no reseeding, no prediction resistance, and
 * the state is serialisable on purpose (persistence.ts stores it so a saved card resumes its
 * stream where it stopped).
 */

import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8, wipe } from '../../protocol/bytes.ts';

/** Personalisation string mixed into every instantiation (SP 800-90A "personalization_string"). */
const PERSONALISATION = utf8('hsm-ceremony simulated SmartCard-HSM DRBG v1');

/** Largest single request; SP 800-90A allows 2^19 bits (65536 bytes) per generate call. */
export const DRBG_MAX_REQUEST = 65536;

/** Serialisable DRBG state (all hex-free raw bytes; persistence.ts hex-encodes them). */
export interface DrbgState {
  /** the seed the DRBG was instantiated from (kept so a card can say how to replay it) */
  seed: Uint8Array;
  /** HMAC key K (32 bytes) */
  k: Uint8Array;
  /** chaining value V (32 bytes) */
  v: Uint8Array;
  /** number of generate calls since instantiation */
  counter: number;
}

/** HMAC_DRBG (SHA-256). */
export class Drbg {
  readonly #seed: Uint8Array;
  #k: Uint8Array;
  #v: Uint8Array;
  #counter: number;

  /**
   * Instantiates from `seed` (SP 800-90A: entropy_input = seed, nonce empty, personalisation
   * fixed).
   *
   * @throws {TypeError} if `seed` is not a Uint8Array
   * @throws {RangeError} if `seed` is empty or longer than 256 bytes
   */
  constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array)) throw new TypeError('seed must be a Uint8Array');
    if (seed.length < 1 || seed.length > 256) throw new RangeError('seed must be 1..256 bytes');
    this.#seed = seed.slice();
    this.#k = new Uint8Array(32);
    this.#v = new Uint8Array(32).fill(1);
    this.#counter = 0;
    this.#update(concatBytes(this.#seed, PERSONALISATION));
  }

  /**
   * Rebuilds a DRBG from a saved state, continuing its stream exactly.
   *
   * @throws {RangeError} if K or V is not 32 bytes or the counter is not a non-negative integer
   */
  static fromState(state: DrbgState): Drbg {
    if (state.k.length !== 32 || state.v.length !== 32) throw new RangeError('DRBG state K and V must be 32 bytes');
    if (!Number.isSafeInteger(state.counter) || state.counter < 0) throw new RangeError('DRBG counter must be >= 0');
    const d = new Drbg(state.seed);
    d.#k = state.k.slice();
    d.#v = state.v.slice();
    d.#counter = state.counter;
    return d;
  }

  /** The seed this DRBG was instantiated from (a copy). */
  get seed(): Uint8Array {
    return this.#seed.slice();
  }

  /** A copy of the current state, for persistence. */
  state(): DrbgState {
    return { seed: this.#seed.slice(), k: this.#k.slice(), v: this.#v.slice(), counter: this.#counter };
  }

  /**
   * `n` pseudo-random bytes (SP 800-90A HMAC_DRBG_Generate without additional input).
   *
   * @throws {RangeError} if `n` is not an integer in 0..65536
   */
  generate(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0 || n > DRBG_MAX_REQUEST) {
      throw new RangeError(`n must be an integer in 0..${DRBG_MAX_REQUEST}`);
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      this.#v = hmac(sha256, this.#k, this.#v);
      const take = Math.min(32, n - off);
      out.set(this.#v.subarray(0, take), off);
      off += take;
    }
    this.#update(undefined);
    this.#counter++;
    return out;
  }

  /** The `rng: (n) => Uint8Array` shape the protocol layer expects, drawing from this DRBG. */
  readonly rng = (n: number): Uint8Array => this.generate(n);

  /** SP 800-90A §10.1.2.2 HMAC_DRBG_Update. */
  #update(data: Uint8Array | undefined): void {
    const oldK = this.#k;
    this.#k = hmac(sha256, this.#k, concatBytes(this.#v, Uint8Array.of(0), data ?? new Uint8Array(0)));
    wipe(oldK);
    this.#v = hmac(sha256, this.#k, this.#v);
    if (data && data.length > 0) {
      const k2 = this.#k;
      this.#k = hmac(sha256, this.#k, concatBytes(this.#v, Uint8Array.of(1), data));
      wipe(k2);
      this.#v = hmac(sha256, this.#k, this.#v);
    }
  }
}
