/**
 * The coordinator's live join codes, one per slot at most (docs/protocol-channel.md §4.3).
 *
 * `take(slot)` hands the live code to the handshake and forgets it in the same step, so a code
 * admits exactly one hello whatever happens next: that is what limits an attacker to one online
 * guess per code, and what makes two clients racing for one slot end with exactly one winner (the
 * second hello finds no live code and is aborted with unknown-nameplate). A fresh code exists only
 * after `issue(slot)`, which the ceremony asks for when a handshake failed or a session ended.
 */

import { generateJoinCode, wipeJoinCode, type JoinCode } from '../../protocol/channel/join-code.ts';
import type { Rng } from '../../protocol/random.ts';

export class JoinCodeBook {
  readonly #live = new Map<number, JoinCode>();
  readonly #rng: Rng | undefined;

  /** @param rng - random bytes for new codes (default crypto.getRandomValues) */
  constructor(rng?: Rng) {
    this.#rng = rng;
  }

  /**
   * Draws a fresh code for `slot`, replacing (and wiping) any live one.
   *
   * @throws RangeError for a slot outside 1–999
   */
  issue(slot: number): JoinCode {
    this.retire(slot);
    const code = this.#rng ? generateJoinCode(slot, this.#rng) : generateJoinCode(slot);
    this.#live.set(slot, code);
    return code;
  }

  /**
   * The live code for `slot`, removed from the book: the caller owns it and wipes it once the
   * handshake has read it. Null when the slot has no live code (never issued, or already taken).
   */
  take(slot: number): JoinCode | null {
    const code = this.#live.get(slot) ?? null;
    this.#live.delete(slot);
    return code;
  }

  /** True while `slot` has a code nobody has used yet. */
  has(slot: number): boolean {
    return this.#live.has(slot);
  }

  /** Forgets and wipes the slot's live code, if any. */
  retire(slot: number): void {
    const old = this.#live.get(slot);
    if (old) wipeJoinCode(old);
    this.#live.delete(slot);
  }

  /** Forgets and wipes every live code. */
  retireAll(): void {
    for (const slot of [...this.#live.keys()]) this.retire(slot);
  }
}
