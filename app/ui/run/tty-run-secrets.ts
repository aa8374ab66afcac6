/**
 * `RunSecrets` for a run on a terminal: what the secrets file answers comes from it, everything
 * else is typed at the run view — hidden for PINs, passphrases and password-share values, echoed
 * for public things (a share ID, the prime, a sign-off name). Every prompt names who must type and
 * tells the others to look away. New secrets (the user PIN and SO-PIN of an initialize step, a
 * share file's passphrase) are typed twice and checked with the rules of `share create` and `init`
 * (app/ceremony/secret-facts.ts), with the same strength advice.
 *
 * The user PIN and the SO-PIN, once typed, are held for the run (as the secrets file holds them) so
 * each later step does not ask again; a failed step forgets them (`forget`), and `wipe` zeroes them
 * at the end. Returned arrays are the caller's to wipe.
 */
import { wipe, equalBytes } from '../../../protocol/bytes.ts';
import { isCeremonyError, usageError } from '../../../protocol/errors.ts';
import {
  formatPrintout,
  parsePrime,
  parseShareInput,
  shareSet,
  type PasswordSplit,
  type ShareEntry,
  type ShareSet,
} from '../../../protocol/dkek/password-shares.ts';
import { secretFacts, type SecretKind } from '../../ceremony/secret-facts.ts';
import { entryPrompt, type ShareSecretEntry } from '../../ceremony/share-secret-entry.ts';
import type { SecretRef } from '../../ceremony/secret-vault.ts';
import { parseThreshold, type Plan, type StepKind } from '../../plan/plan-schema.ts';
import type { RunSecrets } from '../../run/step-executor.ts';
import { fileSecrets } from '../../run/file-secrets.ts';
import type { SecretsFile } from '../../cli/secrets-file.ts';
import type { RunPrompter } from './run-view-store.ts';

export interface TtyRunSecretsOptions {
  ui: RunPrompter;
  plan: Plan;
  /** the secrets file, when one was given: what it answers is not asked */
  file?: SecretsFile | undefined;
  /** the kind of the step running now (a passphrase is new for create-share) */
  currentKind(): StepKind | null;
}

/** The entry prompts count the entries so far; no vault is involved here. */
const NO_REF = null as unknown as SecretRef;

const LOOK_AWAY = 'Everyone else: look away from the screen and keyboard until this prompt is gone.';

function roleName(plan: Plan, name: string): string {
  const l = name.toLowerCase();
  const r = plan.roles;
  if ((r.witnesses ?? []).some((w) => w.toLowerCase() === l)) return `${name} (witness)`;
  if (r.custodians.some((c) => c.toLowerCase() === l)) return `${name} (custodian)`;
  if (r.securityOfficer?.toLowerCase() === l) return `${name} (security officer)`;
  if (r.operator?.toLowerCase() === l) return `${name} (operator)`;
  return name;
}

export class TtyRunSecrets implements RunSecrets {
  readonly #o: TtyRunSecretsOptions;
  #pin: Uint8Array | null = null;
  #soPin: Uint8Array | null = null;

  constructor(o: TtyRunSecretsOptions) {
    this.#o = o;
  }

  get #operator(): string {
    const op = this.#o.plan.roles.operator;
    return op ? `${op} (operator)` : 'the operator';
  }

  /** Asks for a secret until it obeys its rule; a new one is typed twice. */
  async #typed(o: { who: string; title: string; body: string[]; label: string; kind: SecretKind; twice: boolean }): Promise<Uint8Array> {
    let error: string | undefined;
    for (;;) {
      const first = await this.#o.ui.secret({ who: o.who, title: o.title, body: [...o.body, LOOK_AWAY], label: o.label, secretKind: o.kind, ...(error ? { error } : {}) });
      const facts = secretFacts(first, o.kind);
      if (!facts.ok) {
        wipe(first);
        error = facts.problem;
        continue;
      }
      if (!o.twice) return first;
      let again: Uint8Array;
      try {
        again = await this.#o.ui.secret({
          who: o.who,
          title: o.title,
          body: [...facts.advice.map((a) => `Advice: ${a}.`), 'Type it again, to be sure it is what you meant.'],
          label: `${o.label} again`,
          secretKind: o.kind,
        });
      } catch (e) {
        wipe(first);
        throw e;
      }
      const same = equalBytes(first, again);
      wipe(again);
      if (same) return first;
      wipe(first);
      error = 'the two entries differ; type it twice again';
    }
  }

  async pin(): Promise<Uint8Array> {
    if (this.#o.file?.pin) return this.#o.file.pin.slice();
    if (this.#pin) return this.#pin.slice();
    const isNew = this.#o.currentKind() === 'initialize';
    this.#pin = await this.#typed({
      who: this.#operator,
      title: isNew ? 'The new user PIN of the device' : 'The user PIN of the device',
      body: [isNew ? "Choose the device's user PIN (6 to 16 characters) and type it." : "Type the device's user PIN."],
      label: isNew ? 'New user PIN' : 'User PIN',
      kind: isNew ? 'new-user-pin' : 'user-pin',
      twice: isNew,
    });
    return this.#pin.slice();
  }

  async soPin(): Promise<Uint8Array> {
    if (this.#o.file?.soPin) return this.#o.file.soPin.slice();
    if (this.#soPin) return this.#soPin.slice();
    const so = this.#o.plan.roles.securityOfficer;
    const who = so ? `${so} (security officer)` : 'the security officer';
    this.#soPin = await this.#typed({
      who,
      title: 'The new SO-PIN of the device',
      body: ['Type the new SO-PIN: 16 hex digits (pairs may be separated by ":" or spaces).'],
      label: 'New SO-PIN',
      kind: 'so-pin',
      twice: true,
    });
    return this.#soPin.slice();
  }

  async passphrase(file: string, custodian: string): Promise<Uint8Array> {
    const given = this.#o.file?.forShareFile(file)?.passphrase;
    if (given) return given.slice();
    const who = roleName(this.#o.plan, custodian);
    const creating = this.#o.currentKind() === 'create-share';
    return this.#typed(
      creating
        ? {
            who,
            title: `${custodian}'s new share file ${file}`,
            body: [`Choose the passphrase of ${file}: at least 6 characters; more than 10, or a few random words, is better.`],
            label: 'New passphrase',
            kind: 'new-passphrase',
            twice: true,
          }
        : {
            who,
            title: `${custodian} opens ${file}`,
            body: [`Type the passphrase of ${file}.`],
            label: 'Passphrase',
            kind: 'passphrase',
            twice: false,
          },
    );
  }

  async signOff(name: string, statement: string): Promise<{ accepted: boolean; reason?: string }> {
    const given = this.#o.file?.signOffs.get(name);
    if (given !== undefined) return given ? { accepted: true } : { accepted: false, reason: 'declined (rehearsal secrets file)' };
    const who = roleName(this.#o.plan, name);
    let error: string | undefined;
    for (;;) {
      const typed = (await this.#o.ui.signOff({ who, name, statement, stage: 'name', ...(error ? { error } : {}) })).trim();
      if (typed.toLowerCase() === name.toLowerCase()) return { accepted: true };
      if (typed.toLowerCase() === 'decline') {
        let reasonError: string | undefined;
        for (;;) {
          const reason = (await this.#o.ui.signOff({ who, name, statement, stage: 'reason', ...(reasonError ? { error: reasonError } : {}) })).trim();
          if (reason !== '') return { accepted: false, reason: reason.slice(0, 500) };
          reasonError = 'a refusal needs a reason; it goes in the transcript';
        }
      }
      error = typed === '' ? `type ${name} to sign, or decline` : `that is not "${name}"; type ${name} to sign, or decline`;
    }
  }

  /**
   * n-of-m import: the prime once, then `threshold` custodians, one after another, each types the
   * ID (echoed) and value (hidden) of their password share (unless the secrets file names a
   * printout for the file, which is then read). The prompts are those of the terminal
   * interface's import (app/ceremony/share-secret-entry.ts).
   */
  async pwdShares(file: string, custodians: readonly string[], threshold: number, total: number): Promise<ShareSet> {
    // a printout the secrets file names is read, as a headless run reads it
    if (this.#o.file?.forShareFile(file)?.pwdSharesFile) return fileSecrets(this.#o.file).pwdShares(file, custodians, threshold, total);
    let error: string | undefined;
    for (;;) {
      const entries: ShareEntry[] = [];
      try {
        const first = custodians[0] ? roleName(this.#o.plan, custodians[0]) : 'the first custodian';
        const base: ShareSecretEntry = { step: 'prime', name: file, who: `${threshold} of ${total} custodians`, count: threshold, prime: '', entries: [], idText: '' };
        const primeAsk = entryPrompt(base) as { title: string; body: string[]; label: string };
        let prime: bigint | undefined;
        let primeError = error;
        while (prime === undefined) {
          const text = await this.#o.ui.text({ who: first, title: primeAsk.title, body: [`${first}: type the prime from your printout.`, ...primeAsk.body], label: primeAsk.label, ...(primeError ? { error: primeError } : {}) });
          try {
            prime = parsePrime(text).prime;
          } catch (e) {
            if (!isCeremonyError(e)) throw e;
            primeError = e.message;
          }
        }
        for (let i = 0; i < threshold; i++) {
          const name = custodians[i];
          const who = name ? roleName(this.#o.plan, name) : `custodian ${i + 1}`;
          const at: ShareSecretEntry = { ...base, step: 'id', prime: '', entries: entries.map((x) => ({ idText: x.idText, value: NO_REF })) };
          const idAsk = entryPrompt(at) as { title: string; body: string[]; label: string };
          let idText = '';
          let idError: string | undefined;
          while (idText === '') {
            const t = (await this.#o.ui.text({ who, title: idAsk.title, body: [`${who}, your turn.`, ...idAsk.body], label: idAsk.label, ...(idError ? { error: idError } : {}) })).trim();
            if (!/^[0-9a-fA-F]{1,3}$/.test(t)) idError = 'the share ID is the number printed as "Share ID" (1, 2, 3, …)';
            else if (entries.some((x) => x.idText.toLowerCase() === t.toLowerCase())) idError = `share ID ${t} was already entered; each password share has its own ID`;
            else idText = t;
          }
          const valueAsk = entryPrompt({ ...at, step: 'value', idText }) as { title: string; body: string[]; label: string };
          let entry: ShareEntry | undefined;
          let valueError: string | undefined;
          while (!entry) {
            const value = await this.#o.ui.secret({ who, title: valueAsk.title, body: [...valueAsk.body, LOOK_AWAY], label: valueAsk.label, secretKind: 'pwd-share-value', ...(valueError ? { error: valueError } : {}) });
            try {
              entry = parseShareInput({ id: idText, value }, i + 1);
            } catch (e) {
              if (!isCeremonyError(e)) throw e;
              valueError = e.message;
            } finally {
              wipe(value);
            }
          }
          entries.push(entry);
        }
        return shareSet(entries, prime);
      } catch (e) {
        if (!isCeremonyError(e) || e.kind !== 'usage') throw e;
        // the set as a whole does not hold (e.g. a value above the prime): start again, saying why
        error = `${e.message}; every password share is typed again`;
      }
    }
  }

  /**
   * n-of-m create: password share i is shown to custodians[i] alone, one at a time; each confirms
   * they wrote it down, and the screen (scrollback too) is erased before the next one is called.
   */
  async handOutPwdShares(file: string, custodians: readonly string[], split: PasswordSplit, threshold?: number): Promise<void> {
    const t = threshold ?? this.#thresholdOf(file);
    const total = split.shares.length;
    if (custodians.length < total) {
      throw usageError('RUN_PWD_SHARES_CUSTODIANS', `${file} has ${total} password shares, but the plan names ${custodians.length} custodians for them`, {
        hint: 'name one custodian per password share in the plan',
      });
    }
    this.#o.ui.clearScreen();
    for (let i = 0; i < total; i++) {
      const share = split.shares[i]!;
      const lines = formatPrintout(split.prime, [share]).trimEnd().split('\n');
      await this.#o.ui.reveal({ who: roleName(this.#o.plan, custodians[i]!), file, threshold: t, total, index: i + 1 }, lines);
      lines.fill('');
    }
  }

  #thresholdOf(file: string): number {
    for (const s of this.#o.plan.steps) if (s.step === 'create-share' && s.file === file && s.pwdShares) return parseThreshold(s.pwdShares).threshold;
    return 0;
  }

  /** Forgets the held PINs (after a failed step, in case one was mistyped). */
  forget(): void {
    if (this.#pin) wipe(this.#pin);
    if (this.#soPin) wipe(this.#soPin);
    this.#pin = null;
    this.#soPin = null;
  }

  wipe(): void {
    this.forget();
  }
}
