/**
 * The Device Key Encryption Key of the simulated card and the share-import state machine behind
 * `80 52 00 00` (IMPORT DKEK SHARE / DKEK status; spec §3 "DKEK status/import response", §5).
 *
 * ```
 *            INITIALIZE without 92        INITIALIZE 92=0            INITIALIZE 92=n (n>0)
 *                  │                           │                           │
 *                mode none                 mode random                 mode shares, imported 0
 *   (status 00 00 + zero KCV;        (DKEK from the DRBG; status      ── share ──▶ imported k < n
 *    every share answers 6986)        0 0 (pico: 1 0) + KCV)          ── last share ──▶ complete
 *                                                                     (pico without a user-PIN
 *                                                                      session: pending commit,
 *                                                                      committed at next VERIFY)
 * ```
 *
 * A share beyond the configured number answers 6986 (observed on Pico HSM, fixtures README).
 * The DKEK is DKEK = share₁ ⊕ share₂ ⊕ … ⊕ shareₙ (XOR from 32 zero bytes), so order does not
 * matter.
 */

import { wipe } from '../../protocol/bytes.ts';
import { kcv } from '../../protocol/dkek/dkek.ts';

/** How the DKEK came to be (or not). */
export type DkekMode = 'none' | 'random' | 'shares';

/** Persistent DKEK state. */
export interface DkekState {
  mode: DkekMode;
  /** shares configured at INITIALIZE (tag 92) */
  total: number;
  /** shares imported so far */
  imported: number;
  /** XOR of the imported shares; the DKEK once complete (32 bytes) */
  value: Uint8Array;
  /**
   * Pico flavor only: the last share arrived without a user-PIN session, so the firmware could
   * not yet store the DKEK. The next successful user VERIFY commits it; a device restart before
   * that silently replaces it with an unrelated value (fixtures README).
   */
  pendingCommit: boolean;
}

/** A card without DKEK. */
export function noDkek(): DkekState {
  return { mode: 'none', total: 0, imported: 0, value: new Uint8Array(32), pendingCommit: false };
}

/** True when the DKEK can wrap and unwrap keys. */
export function dkekComplete(s: DkekState): boolean {
  if (s.mode === 'random') return true;
  return s.mode === 'shares' && s.total > 0 && s.imported === s.total && !s.pendingCommit;
}

/** The DKEK bytes if complete, else undefined (a view: do not wipe). */
export function dkekValue(s: DkekState): Uint8Array | undefined {
  return dkekComplete(s) ? s.value : undefined;
}

/** Outcome of importing one share. */
export type ImportOutcome = 'imported' | 'not-expected';

/**
 * XORs a 32-byte share into the DKEK. `session` says whether a user-PIN session is open (only
 * matters for the pico flavor's commit rule).
 */
export function importShare(s: DkekState, share: Uint8Array, flavor: 'sc-hsm' | 'pico', session: boolean): ImportOutcome {
  if (s.mode !== 'shares' || s.imported >= s.total) return 'not-expected';
  for (let i = 0; i < 32; i++) s.value[i] = s.value[i]! ^ share[i]!;
  s.imported += 1;
  if (s.imported === s.total && flavor === 'pico' && !session) s.pendingCommit = true;
  return 'imported';
}

/** Pico flavor: a successful user VERIFY stores a pending DKEK. Returns true if it did. */
export function commitPending(s: DkekState): boolean {
  if (!s.pendingCommit) return false;
  s.pendingCommit = false;
  return true;
}

/**
 * Pico flavor: the device restarted with a DKEK still pending. The firmware later reads back an
 * unrelated value and reports the DKEK complete, without any error; `garbage` supplies it.
 */
export function losePending(s: DkekState, garbage: Uint8Array): boolean {
  if (!s.pendingCommit) return false;
  wipe(s.value);
  s.value = garbage.slice(0, 32);
  s.pendingCommit = false;
  return true;
}

/**
 * The 10-byte status `total | outstanding | KCV(8)`.
 *
 * sc-hsm flavor: the KCV once the DKEK is complete, zeros before; a random DKEK reports 0 shares.
 * pico flavor (firmware 6.6): the KCV only inside a user-PIN session and only once committed;
 * a random DKEK reports 1 share, 0 outstanding.
 */
export function dkekStatus(s: DkekState, flavor: 'sc-hsm' | 'pico', session: boolean): Uint8Array {
  const out = new Uint8Array(10);
  if (s.mode === 'random') out[0] = flavor === 'pico' ? 1 : 0;
  if (s.mode === 'shares') {
    out[0] = s.total;
    out[1] = s.total - s.imported;
  }
  const showKcv = dkekComplete(s) && (flavor === 'sc-hsm' || session);
  if (showKcv) out.set(kcv(s.value), 2);
  return out;
}
