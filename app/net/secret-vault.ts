/**
 * Where the coordinator keeps the secrets that arrive over the network (shares, password-share
 * values, PINs) while the ceremony logic refers to them by number (hosted-ceremony.ts). One owner,
 * one place to wipe: `take` hands an array over (the taker wipes it), `discard` wipes in place,
 * `wipeAll` runs when the ceremony ends however it ends.
 */

import { wipe } from '../../protocol/bytes.ts';
import type { SecretRef } from './hosted-ceremony.ts';

export class SecretVault {
  readonly #items = new Map<SecretRef, Uint8Array>();
  #next = 1;

  /** Stores `bytes` (the vault owns them from now on) and returns their ref. */
  put(bytes: Uint8Array): SecretRef {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const ref = this.#next++;
    this.#items.set(ref, bytes);
    return ref;
  }

  /**
   * The bytes behind `ref`, still owned by the vault (do not keep or wipe them).
   *
   * @throws RangeError for a ref that is not (or no longer) in the vault: a defect
   */
  peek(ref: SecretRef): Uint8Array {
    const b = this.#items.get(ref);
    if (!b) throw new RangeError(`secret ${ref} is not in the vault`);
    return b;
  }

  /**
   * Removes and returns the bytes behind `ref`; the caller owns and wipes them.
   *
   * @throws RangeError for a ref that is not in the vault
   */
  take(ref: SecretRef): Uint8Array {
    const b = this.peek(ref);
    this.#items.delete(ref);
    return b;
  }

  /** Wipes and forgets the given refs; unknown refs are ignored. */
  discard(refs: readonly SecretRef[]): void {
    for (const r of refs) {
      wipe(this.#items.get(r));
      this.#items.delete(r);
    }
  }

  /** Number of secrets held (tests assert it drops to 0). */
  get size(): number {
    return this.#items.size;
  }

  /** Wipes and forgets everything. */
  wipeAll(): void {
    for (const b of this.#items.values()) wipe(b);
    this.#items.clear();
  }
}
