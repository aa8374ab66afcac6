/**
 * The few prompts in which one custodian says how their share file is protected and presents the
 * secret: a passphrase, or n-of-m password shares (the prime once, then an ID and a hidden value
 * per password share). Used by the import and the offline verify flows. Pure: it returns the next
 * prompt, or the finished secret as vault references.
 *
 * Unlike sc-hsm-tool, which reads share values with fgets (echoed, spec §2), values are typed
 * hidden; IDs and the prime are public and echoed.
 */
import type { CeremonyEvent } from './events.ts';
import type { ShareSecretRef } from './jobs.ts';
import type { Prompt } from './state.ts';
import type { SecretRef } from './secret-vault.ts';

export interface ShareSecretEntry {
  step: 'mode' | 'passphrase' | 'count' | 'prime' | 'id' | 'value';
  /** the share file's name, for the prompts */
  name: string;
  /** who presents it, e.g. "Custodian 2 of 3" */
  who: string;
  count: number;
  prime: string;
  entries: { idText: string; value: SecretRef }[];
  idText: string;
}

/** What one answer leads to. */
export type EntryOutcome =
  | { kind: 'prompt'; entry: ShareSecretEntry; prompt: Prompt; wipe: SecretRef[] }
  | { kind: 'done'; secret: ShareSecretRef }
  | { kind: 'cancel'; wipe: SecretRef[] }
  /** the event is not an answer to this entry */
  | { kind: 'ignored' };

export function startEntry(name: string, who: string): { entry: ShareSecretEntry; prompt: Prompt } {
  const entry: ShareSecretEntry = { step: 'mode', name, who, count: 0, prime: '', entries: [], idText: '' };
  return { entry, prompt: entryPrompt(entry) };
}

function title(e: ShareSecretEntry): string {
  return `${e.who}: open ${e.name}`;
}

/** The prompt for the entry's current step. */
export function entryPrompt(e: ShareSecretEntry, error?: string): Prompt {
  const err = error ? { error } : {};
  switch (e.step) {
    case 'mode':
      return {
        kind: 'choose',
        title: title(e),
        body: ['How is this share file protected?'],
        options: [
          { value: 'passphrase', key: 'p', label: 'A passphrase', hint: 'the custodian types it (hidden)' },
          { value: 'pwd-shares', key: 'n', label: 'n-of-m password shares', hint: 'the prime once, then an ID and a value per password share' },
        ],
      };
    case 'passphrase':
      return { kind: 'secret', title: title(e), body: ['Only the custodian should type now. Nothing is shown while typing.'], label: 'Passphrase', secretKind: 'passphrase', ...err };
    case 'count':
      return { kind: 'text', title: title(e), body: ['How many password shares will be entered? At least the threshold of the split; one more lets every share be cross-checked.'], label: 'Password shares', initial: '', ...err };
    case 'prime':
      return { kind: 'text', title: title(e), body: ['The prime is the same on every printout (8 bytes in hex, e.g. c3:72:ff:83:be:5a:1f:df). It is public.'], label: 'Prime', initial: '', ...err };
    case 'id':
      return { kind: 'text', title: `${title(e)}: password share ${e.entries.length + 1} of ${e.count}`, body: ['Custodian of this password share: type the "Share ID" from your printout.'], label: 'Share ID', initial: '', ...err };
    case 'value':
      return {
        kind: 'secret',
        title: `${title(e)}: password share ${e.entries.length + 1} of ${e.count}`,
        body: [`Share ID ${e.idText}. Type the "Share value" (hex); nothing is shown while typing.`],
        label: 'Share value',
        secretKind: 'pwd-share-value',
        ...err,
      };
  }
}

function refs(e: ShareSecretEntry): SecretRef[] {
  return e.entries.map((x) => x.value);
}

function next(entry: ShareSecretEntry, error?: string, wipe: SecretRef[] = []): EntryOutcome {
  return { kind: 'prompt', entry, prompt: entryPrompt(entry, error), wipe };
}

const HEX_PRIME = /^\s*[0-9a-fA-F]{1,2}([\s:]*[0-9a-fA-F]{2}){0,7}\s*$/;

/** Advances the entry with one event. */
export function entryStep(e: ShareSecretEntry, ev: CeremonyEvent): EntryOutcome {
  if (ev.type === 'back') return { kind: 'cancel', wipe: refs(e) };
  switch (e.step) {
    case 'mode':
      if (ev.type !== 'choose') return { kind: 'ignored' };
      if (ev.value === 'passphrase') return next({ ...e, step: 'passphrase' });
      if (ev.value === 'pwd-shares') return next({ ...e, step: 'count' });
      return { kind: 'ignored' };
    case 'passphrase':
      if (ev.type !== 'secret-entered') return { kind: 'ignored' };
      if (!ev.facts.ok) return next(e, ev.facts.problem, [ev.ref]);
      return { kind: 'done', secret: { kind: 'passphrase', passphrase: ev.ref } };
    case 'count': {
      if (ev.type !== 'text') return { kind: 'ignored' };
      const n = Number(ev.value.trim());
      if (!/^\d{1,3}$/.test(ev.value.trim()) || n < 2 || n > 255) return next(e, 'type a number from 2 to 255');
      return next({ ...e, step: 'prime', count: n });
    }
    case 'prime':
      if (ev.type !== 'text') return { kind: 'ignored' };
      if (!HEX_PRIME.test(ev.value)) return next(e, 'the prime is 8 bytes in hex, e.g. c3:72:ff:83:be:5a:1f:df');
      return next({ ...e, step: 'id', prime: ev.value.trim() });
    case 'id': {
      if (ev.type !== 'text') return { kind: 'ignored' };
      const id = ev.value.trim();
      if (!/^[0-9a-fA-F]{1,3}$/.test(id)) return next(e, 'the share ID is the number printed as "Share ID" (1, 2, 3, …)');
      if (e.entries.some((x) => x.idText.toLowerCase() === id.toLowerCase())) return next(e, `share ID ${id} was already entered; each password share has its own ID`);
      return next({ ...e, step: 'value', idText: id });
    }
    case 'value': {
      if (ev.type !== 'secret-entered') return { kind: 'ignored' };
      if (!ev.facts.ok) return next(e, ev.facts.problem, [ev.ref]);
      const entries = [...e.entries, { idText: e.idText, value: ev.ref }];
      if (entries.length < e.count) return next({ ...e, step: 'id', entries, idText: '' });
      return { kind: 'done', secret: { kind: 'pwd-shares', prime: e.prime, entries } };
    }
  }
}

/** The vault references a finished secret holds (to wipe it when it is not used). */
export function secretRefs(s: ShareSecretRef): SecretRef[] {
  return s.kind === 'passphrase' ? [s.passphrase] : s.entries.map((x) => x.value);
}
