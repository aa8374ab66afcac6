/**
 * The one holder of the secrets a ceremony session types or makes: PINs, SO-PINs, passphrases,
 * password-share values and n-of-m password splits. The reducer and every screen see only a
 * `SecretRef` (a number); the effect runner resolves refs when it performs an effect and the vault
 * wipes each secret when the reducer says so (effect `wipe`) or when the session ends (`wipeAll`).
 *
 * Why a vault: the reducer's state and its events must be loggable and comparable in tests, so they
 * may not hold secret bytes (docs/ceremony-state-machine.md §2). Keeping every secret in one place
 * also makes "wipe everything" at Ctrl-C one call.
 *
 * JavaScript cannot promise that a wiped Uint8Array left no copy behind (the engine may have moved
 * it), and keystrokes reach the process as short strings before they are copied here; see
 * docs/user-guide.md "The terminal interface" for what that means in practice.
 */
import { wipe } from '../../protocol/bytes.ts';
import type { PasswordSplit } from '../../protocol/dkek/password-shares.ts';

/** A handle on a secret held by the vault. Public: it says nothing about the secret. */
export type SecretRef = number;

type Entry = { kind: 'bytes'; bytes: Uint8Array } | { kind: 'split'; split: PasswordSplit };

/** Holds secrets by reference. */
export class SecretVault {
  #next = 1;
  readonly #entries = new Map<SecretRef, Entry>();

  /**
   * Takes ownership of `bytes` (the vault wipes them) and returns their reference.
   * @throws {TypeError} if `bytes` is not a Uint8Array
   */
  put(bytes: Uint8Array): SecretRef {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const ref = this.#next++;
    this.#entries.set(ref, { kind: 'bytes', bytes });
    return ref;
  }

  /** Takes ownership of a password split (its password is wiped with it; share values are bigints, which cannot be wiped). */
  putSplit(split: PasswordSplit): SecretRef {
    const ref = this.#next++;
    this.#entries.set(ref, { kind: 'split', split });
    return ref;
  }

  /**
   * The bytes behind `ref`, still owned by the vault (do not wipe or keep them).
   * @throws {RangeError} when `ref` is unknown or already wiped, or holds a split
   */
  bytes(ref: SecretRef): Uint8Array {
    const e = this.#entries.get(ref);
    if (!e || e.kind !== 'bytes') throw new RangeError(`secret ${ref} is not held (already wiped?)`);
    return e.bytes;
  }

  /** A copy of the bytes behind `ref`, owned (and to be wiped) by the caller. */
  copy(ref: SecretRef): Uint8Array {
    return this.bytes(ref).slice();
  }

  /**
   * The password split behind `ref`, still owned by the vault.
   * @throws {RangeError} when `ref` is unknown or holds bytes
   */
  split(ref: SecretRef): PasswordSplit {
    const e = this.#entries.get(ref);
    if (!e || e.kind !== 'split') throw new RangeError(`secret ${ref} is not a held password split`);
    return e.split;
  }

  /** True while `ref` is held. */
  has(ref: SecretRef): boolean {
    return this.#entries.has(ref);
  }

  /** How many secrets are held (tests check that a finished flow leaves none). */
  get size(): number {
    return this.#entries.size;
  }

  /** Wipes and forgets the given secrets; unknown refs are ignored. */
  wipe(...refs: SecretRef[]): void {
    for (const ref of refs) {
      const e = this.#entries.get(ref);
      if (!e) continue;
      if (e.kind === 'bytes') wipe(e.bytes);
      else wipe(e.split.password);
      this.#entries.delete(ref);
    }
  }

  /** Wipes everything (end of session, Ctrl-C). */
  wipeAll(): void {
    this.wipe(...this.#entries.keys());
  }
}
