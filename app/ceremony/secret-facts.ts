/**
 * What the reducer may know about a typed secret without holding it: its length, whether it obeys
 * the rule for its kind (sc-hsm-tool's rules, spec §1 and §6), advice, and whether it equals the
 * entry it confirms. The screen that takes the keystrokes computes these facts from the bytes the
 * moment they are submitted, stores the bytes in the vault, and sends the reducer only the facts and
 * the reference (docs/ceremony-state-machine.md §2).
 *
 * Facts never contain the secret or anything derived from its content beyond the rule checks.
 */
import { equalBytes, wipe } from '../../protocol/bytes.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import { parseSoPin, USER_PIN_MAX, USER_PIN_MIN } from '../card/initialize-options.ts';
import { parseShareInput } from '../../protocol/dkek/password-shares.ts';
import { passphraseAdvice } from '../cli/commands/share-create.ts';

/**
 * Which rule a secret prompt applies:
 * - `new-user-pin`: a new user PIN, 6 to 16 bytes (sc-hsm-tool `--pin`);
 * - `user-pin`: the current user PIN (the card judges it; 1 to 16 bytes);
 * - `so-pin`: an SO-PIN as typed, exactly 16 hex digits (`:` or spaces between pairs allowed);
 * - `new-passphrase`: a share-file passphrase being set, at least 6 characters (sc-hsm-tool's
 *   interactive minimum) with advice above that;
 * - `passphrase`: the passphrase of an existing share file (any non-empty bytes);
 * - `pwd-share-value`: one custodian's n-of-m "Share value" (hex).
 */
export type SecretKind = 'new-user-pin' | 'user-pin' | 'so-pin' | 'new-passphrase' | 'passphrase' | 'pwd-share-value';

/** Public facts about one typed secret. */
export interface SecretFacts {
  kind: SecretKind;
  /** UTF-8 bytes */
  bytes: number;
  /** characters (code points) */
  chars: number;
  /** true when the secret obeys the rule of its kind */
  ok: boolean;
  /** why not, in the style of CeremonyError messages (never quotes the secret) */
  problem?: string;
  /** non-blocking advice (passphrases) */
  advice: string[];
  /** only for a confirming entry: whether it equals the entry it confirms */
  matches?: boolean;
}

function countChars(b: Uint8Array): number {
  let n = 0;
  for (const x of b) if ((x & 0xc0) !== 0x80) n++;
  return n;
}

/**
 * Computes the facts of `secret` under `kind`; with `confirms`, also whether both are equal.
 * Neither array is kept or modified.
 *
 * @throws {TypeError} if `secret` (or `confirms`) is not a Uint8Array
 */
export function secretFacts(secret: Uint8Array, kind: SecretKind, confirms?: Uint8Array): SecretFacts {
  if (!(secret instanceof Uint8Array)) throw new TypeError('secret must be a Uint8Array');
  if (confirms !== undefined && !(confirms instanceof Uint8Array)) throw new TypeError('confirms must be a Uint8Array');
  const facts: SecretFacts = { kind, bytes: secret.length, chars: countChars(secret), ok: true, advice: [] };
  const fail = (problem: string): SecretFacts => ({ ...facts, ok: false, problem });
  if (confirms !== undefined) facts.matches = equalBytes(secret, confirms);
  if (secret.length === 0) return fail('nothing was typed');
  switch (kind) {
    case 'new-user-pin':
      if (secret.length < USER_PIN_MIN || secret.length > USER_PIN_MAX) {
        return fail(`the user PIN must be ${USER_PIN_MIN} to ${USER_PIN_MAX} characters, got ${secret.length}`);
      }
      return facts;
    case 'user-pin':
      if (secret.length > USER_PIN_MAX) return fail(`a user PIN has at most ${USER_PIN_MAX} characters, got ${secret.length}`);
      return facts;
    case 'so-pin':
      try {
        wipe(parseSoPin(secret));
      } catch (e) {
        if (isCeremonyError(e)) return fail(e.message);
        throw e;
      }
      return facts;
    case 'new-passphrase': {
      const { ok, advice } = passphraseAdvice(secret);
      if (!ok) return fail(advice[0] ?? 'the passphrase is too short');
      return { ...facts, advice };
    }
    case 'passphrase':
      return facts;
    case 'pwd-share-value':
      try {
        parseShareInput({ id: '1', value: secret });
      } catch (e) {
        if (isCeremonyError(e)) return fail(e.message.replace(/^share 1 \(id 1\) has /, 'this is '));
        throw e;
      }
      return facts;
    default: {
      const never: never = kind;
      throw new TypeError(`unknown secret kind ${String(never)}`);
    }
  }
}
