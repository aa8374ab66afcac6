/**
 * The session loop: holds the state, runs every event through the reducer, hands the effects to the
 * runner, and lets the screens subscribe (React's useSyncExternalStore). Events dispatched while an
 * event is being handled (a runner that answers at once) are queued, so the reducer always sees
 * events one at a time, in order.
 *
 * Two doors for the screens that must touch secrets, both keeping the bytes out of the state:
 * `submitSecret` (a hidden input's bytes go to the vault; the reducer gets a reference and the
 * public facts) and `shareToShow` (the one place a secret is read back: a password share shown to
 * its own custodian).
 */
import { wipe } from '../../protocol/bytes.ts';
import { formatPrintout } from '../../protocol/dkek/password-shares.ts';
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { EffectRunner } from './effect-runner.ts';
import { reduce } from './reducer.ts';
import { secretFacts } from './secret-facts.ts';
import type { SecretRef, SecretVault } from './secret-vault.ts';
import type { CeremonyState } from './state.ts';

export interface CeremonyStoreOptions {
  state: CeremonyState;
  vault: SecretVault;
  /** performs effects; absent in reducer-only tests (effects are then only recorded) */
  runner?: EffectRunner;
  /** sees every event and the effects it produced (tests, debugging); public data only */
  onStep?: (event: CeremonyEvent, effects: Effect[]) => void;
}

export class CeremonyStore {
  #state: CeremonyState;
  readonly vault: SecretVault;
  readonly #runner: EffectRunner | undefined;
  readonly #onStep: CeremonyStoreOptions['onStep'];
  readonly #listeners = new Set<() => void>();
  readonly #queue: CeremonyEvent[] = [];
  #busy = false;

  constructor(o: CeremonyStoreOptions) {
    this.#state = o.state;
    this.vault = o.vault;
    this.#runner = o.runner;
    this.#onStep = o.onStep;
  }

  getState = (): CeremonyState => this.#state;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Handles an event (and everything it triggers synchronously), then notifies the screens. */
  dispatch = (event: CeremonyEvent): void => {
    this.#queue.push(event);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let e = this.#queue.shift(); e !== undefined; e = this.#queue.shift()) {
        const { state, effects } = reduce(this.#state, e);
        this.#state = state;
        this.#onStep?.(e, effects);
        for (const effect of effects) this.#runner?.run(effect, this.dispatch);
      }
    } finally {
      this.#busy = false;
    }
    for (const l of this.#listeners) l();
  };

  /**
   * A hidden input was submitted: the vault takes `bytes` over, the reducer gets the reference and
   * the facts the current prompt's rule yields. Ignored (and wiped) when no secret is asked for.
   */
  submitSecret(bytes: Uint8Array): void {
    const p = this.#state.screen.prompt;
    if (p.kind !== 'secret') {
      wipe(bytes);
      return;
    }
    const confirms = p.confirmOf !== undefined && this.vault.has(p.confirmOf) ? this.vault.bytes(p.confirmOf) : undefined;
    const facts = secretFacts(bytes, p.secretKind, confirms);
    const ref = this.vault.put(bytes);
    this.dispatch({ type: 'secret-entered', ref, facts });
  }

  /**
   * The lines of password share `custodian` (1-based) of the split `ref`, exactly as sc-hsm-tool
   * prints them — for the share-reveal screen only.
   * @throws {RangeError} when the split is no longer held or has no such share
   */
  shareToShow(ref: SecretRef, custodian: number): string[] {
    const split = this.vault.split(ref);
    const share = split.shares[custodian - 1];
    if (!share) throw new RangeError(`no password share ${custodian}`);
    return formatPrintout(split.prime, [share]).trimEnd().split('\n');
  }
}
