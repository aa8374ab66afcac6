/**
 * Initialize (docs/ceremony-state-machine.md §5.1): choose the DKEK scheme, type the SO-PIN and the
 * user PIN (hidden, new ones twice, sc-hsm-tool's rules, spec §6), confirm, INITIALIZE DEVICE.
 *
 * - "No DKEK" means no key can ever be backed up: the consequence is spelled out and a typed phrase
 *   is required.
 * - Re-initializing a device that holds keys erases them: the exact phrase names how many, and the
 *   operation refuses if the count changed since the survey.
 * - Every typed secret is wiped as soon as the step that needed it is over, or on Escape.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { InitializeSurvey } from './operations/initialize-device.ts';
import type { PublicError } from './jobs.ts';
import type { SecretRef } from './secret-vault.ts';
import { done, endJob, errorBody, log, plural, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';
import { maxRetryCounterFor, DEFAULT_RETRY_COUNTER, MAX_DKEK_SHARES } from '../card/initialize-options.ts';

export type InitializeStep =
  | 'survey'
  | 'scheme'
  | 'share-count'
  | 'no-dkek'
  | 'random'
  | 'so-pin'
  | 'so-pin-again'
  | 'pin'
  | 'pin-again'
  | 'confirm'
  | 'running'
  | 'finished';

export interface InitializeFlow {
  flow: 'initialize';
  step: InitializeStep;
  prompt: Prompt;
  job: number | null;
  survey: InitializeSurvey | null;
  /** null = no DKEK; 0 = random; N = N shares */
  dkekShares: number | null;
  soPin: SecretRef | null;
  pin: SecretRef | null;
  pinLength: number;
  /** the first entry of a new secret while its confirmation is typed */
  first: SecretRef | null;
}

/** The phrase that confirms initializing without a DKEK. */
export const NO_DKEK_PHRASE = 'no backups';

/** The phrase that confirms erasing `n` keys. */
export function erasePhrase(n: number): string {
  return `erase ${plural(n, 'key')}`;
}

const TITLE = 'Initialize the device';

function flowOf(s: CeremonyState): InitializeFlow {
  if (s.screen.flow !== 'initialize') throw new Error('not in the initialize flow');
  return s.screen;
}

function at(s: CeremonyState, f: Partial<InitializeFlow>, effects: Effect[] = []): Transition {
  return done({ ...s, screen: { ...flowOf(s), ...f } }, effects);
}

function heldRefs(f: InitializeFlow): SecretRef[] {
  return [f.soPin, f.pin, f.first].filter((r): r is SecretRef => r !== null);
}

/** Starts the flow: survey what initialization would change. */
export function startInitialize(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'survey-initialize' }, 'reading what initialization would change');
  const flow: InitializeFlow = {
    flow: 'initialize',
    step: 'survey',
    prompt: { kind: 'busy', title: TITLE, body: ['Reading the device…'] },
    job: j.id,
    survey: null,
    dkekShares: null,
    soPin: null,
    pin: null,
    pinLength: 0,
    first: null,
  };
  return done({ ...j.state, screen: flow }, [j.effect]);
}

function surveyLines(v: InitializeSurvey): string[] {
  if (!v.initialized) return ['This device has never been initialized.'];
  const keys = v.keyRefs.length === 0 ? 'holds no keys' : `holds ${plural(v.keyRefs.length, 'key')} (reference ${v.keyRefs.join(', ')}), which initializing ERASES`;
  return [`This device is initialized and ${keys}. Its SO-PIN stays the same.`];
}

function schemePrompt(v: InitializeSurvey): Prompt {
  return {
    kind: 'choose',
    title: TITLE,
    body: [...surveyLines(v), 'How should the device get its DKEK (the key that protects backups)?'],
    options: [
      { value: 'shares', key: 's', label: 'DKEK shares (recommended)', hint: 'custodians keep N share files; backups restore into any device given the same shares' },
      { value: 'random', key: 'r', label: 'A random DKEK made by the device', hint: 'backups restore only into this device, until it is initialized again' },
      { value: 'none', key: 'n', label: 'No DKEK', hint: 'no key can ever be backed up or restored' },
    ],
  };
}

function soPinPrompt(f: InitializeFlow, error?: string): Prompt {
  const v = f.survey!;
  const err = error ? { error } : {};
  if (v.initialized) {
    const tries = v.soTriesLeft === null ? '' : ` ${plural(v.soTriesLeft, 'try', 'tries')} left before it blocks for good.`;
    return { kind: 'secret', title: TITLE, body: [`Type the device's current SO-PIN (16 hex digits).${tries}`], label: 'SO-PIN', secretKind: 'so-pin', ...err };
  }
  return {
    kind: 'secret',
    title: TITLE,
    body: ['Choose the SO-PIN: exactly 16 hex digits (0-9, a-f). It unblocks the user PIN and is needed to initialize again; it cannot be recovered.'],
    label: 'New SO-PIN',
    secretKind: 'so-pin',
    ...err,
  };
}

function pinPrompt(error?: string): Prompt {
  return {
    kind: 'secret',
    title: TITLE,
    body: [`Choose the user PIN: 6 to 16 characters. It allows ${DEFAULT_RETRY_COUNTER} wrong tries, then it blocks until unblocked with the SO-PIN.`],
    label: 'New user PIN',
    secretKind: 'new-user-pin',
    ...(error ? { error } : {}),
  };
}

function schemeText(n: number | null): string {
  if (n === null) return 'no DKEK (no backups possible)';
  if (n === 0) return 'a random DKEK made by the device';
  return `${plural(n, 'DKEK share')} to import after initialization`;
}

function confirmPrompt(f: InitializeFlow): Prompt {
  const v = f.survey!;
  const summary = [
    `DKEK: ${schemeText(f.dkekShares)}.`,
    `User PIN: ${f.pinLength} characters, ${Math.min(DEFAULT_RETRY_COUNTER, maxRetryCounterFor(f.pinLength))} tries. SO-PIN: ${v.initialized ? 'unchanged' : 'as typed'}.`,
  ];
  if (v.keyRefs.length > 0) {
    return {
      kind: 'phrase',
      title: 'Erase every key on the device?',
      body: [
        ...summary,
        `Initializing destroys the ${plural(v.keyRefs.length, 'key')} on this device (reference ${v.keyRefs.join(', ')}) and replaces its DKEK: backups made under the old DKEK restore only into a device given the old shares again.`,
        'Type the phrase exactly to go on, or press Escape to keep everything.',
      ],
      phrase: erasePhrase(v.keyRefs.length),
    };
  }
  return {
    kind: 'choose',
    title: v.initialized ? 'Initialize the device again?' : 'Initialize the device?',
    body: [...summary, ...(v.initialized ? ['The old DKEK is replaced: backups made under it restore only where the old shares are imported again.'] : [])],
    options: [
      { value: 'go', key: 'y', label: 'Initialize' },
      { value: 'cancel', key: 'n', label: 'Cancel (nothing is changed)' },
    ],
  };
}

function cancel(s: CeremonyState, f: InitializeFlow): Transition {
  const st = log(s, 'info', 'initialize: cancelled, the device was not changed');
  return done({ ...st, screen: menuScreen(st) }, [{ type: 'wipe', refs: heldRefs(f) }]);
}

/** Handles one event in the initialize flow. */
export function reduceInitialize(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = flowOf(s);
  if (e.type === 'back' && f.step !== 'running') {
    if (f.step === 'finished') return done({ ...s, screen: menuScreen(s) });
    if (f.step === 'survey' && f.job !== null) return cancel(endJob(s, f.job), f);
    return cancel(s, f);
  }
  switch (f.step) {
    case 'survey':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'survey-initialize') {
        return at(s, { step: 'scheme', job: null, survey: e.result.survey, prompt: schemePrompt(e.result.survey) });
      }
      if (e.type === 'job-failed' && e.id === f.job) return failed(s, f, e.error, 'the device could not be read');
      return done(s);
    case 'scheme':
      if (e.type !== 'choose') return done(s);
      if (e.value === 'shares') {
        return at(s, { step: 'share-count', prompt: { kind: 'text', title: TITLE, body: ['Each custodian keeps one share file; all of them are needed to restore a backup into another device.'], label: `Number of DKEK shares (1-${MAX_DKEK_SHARES})`, initial: '3' } });
      }
      if (e.value === 'random') {
        return at(s, {
          step: 'random',
          dkekShares: 0,
          prompt: {
            kind: 'choose',
            title: TITLE,
            tone: 'warning',
            body: ['The device makes a DKEK nobody knows. Keys can be backed up, but a backup restores only into this same device, and only until it is initialized again.'],
            options: [
              { value: 'go', key: 'y', label: 'Use a random DKEK' },
              { value: 'back', key: 'n', label: 'Choose again' },
            ],
          },
        });
      }
      if (e.value === 'none') {
        return at(s, {
          step: 'no-dkek',
          dkekShares: null,
          prompt: {
            kind: 'phrase',
            title: 'Initialize without a DKEK?',
            body: [
              'Without a DKEK no key on this device can ever be exported: no backup, no restore into another device, no recovery if the device breaks or is initialized again.',
              'Type the phrase to confirm, or press Escape to go back.',
            ],
            phrase: NO_DKEK_PHRASE,
          },
        });
      }
      return done(s);
    case 'share-count': {
      if (e.type !== 'text') return done(s);
      const t = e.value.trim();
      const n = Number(t);
      if (!/^\d{1,3}$/.test(t) || n < 1 || n > MAX_DKEK_SHARES) {
        return at(s, { prompt: { ...f.prompt, error: `type a number from 1 to ${MAX_DKEK_SHARES}` } as Prompt });
      }
      return at(s, { step: 'so-pin', dkekShares: n, prompt: soPinPrompt(f) });
    }
    case 'random':
      if (e.type !== 'choose') return done(s);
      if (e.value === 'go') return at(s, { step: 'so-pin', prompt: soPinPrompt(f) });
      return at(s, { step: 'scheme', prompt: schemePrompt(f.survey!) });
    case 'no-dkek':
      if (e.type !== 'text') return done(s);
      if (e.value.trim() !== NO_DKEK_PHRASE) return at(s, { prompt: { ...f.prompt, error: `type exactly: ${NO_DKEK_PHRASE}` } as Prompt });
      return at(s, { step: 'so-pin', prompt: soPinPrompt(f) });
    case 'so-pin':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at(s, { prompt: soPinPrompt(f, e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      if (f.survey!.initialized && f.pin !== null) {
        // again after a wrong SO-PIN: the new user PIN was already confirmed
        const next: InitializeFlow = { ...f, step: 'confirm', soPin: e.ref };
        return at(s, { ...next, prompt: confirmPrompt(next) });
      }
      if (f.survey!.initialized) return at(s, { step: 'pin', soPin: e.ref, prompt: pinPrompt() });
      return at(s, {
        step: 'so-pin-again',
        first: e.ref,
        prompt: { kind: 'secret', title: TITLE, body: ['Type the new SO-PIN again.'], label: 'New SO-PIN again', secretKind: 'so-pin', confirmOf: e.ref },
      });
    case 'so-pin-again':
      if (e.type !== 'secret-entered') return done(s);
      if (e.facts.matches !== true) {
        return at(s, { step: 'so-pin', first: null, prompt: soPinPrompt(f, 'the two entries differ; type the new SO-PIN twice again') }, [{ type: 'wipe', refs: [e.ref, f.first!] }]);
      }
      return at(s, { step: 'pin', soPin: f.first, first: null, prompt: pinPrompt() }, [{ type: 'wipe', refs: [e.ref] }]);
    case 'pin':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at(s, { prompt: pinPrompt(e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return at(s, {
        step: 'pin-again',
        first: e.ref,
        pinLength: e.facts.bytes,
        prompt: { kind: 'secret', title: TITLE, body: ['Type the new user PIN again.'], label: 'New user PIN again', secretKind: 'new-user-pin', confirmOf: e.ref },
      });
    case 'pin-again': {
      if (e.type !== 'secret-entered') return done(s);
      if (e.facts.matches !== true) {
        return at(s, { step: 'pin', first: null, prompt: pinPrompt('the two entries differ; type the new user PIN twice again') }, [{ type: 'wipe', refs: [e.ref, f.first!] }]);
      }
      const next: InitializeFlow = { ...f, step: 'confirm', pin: f.first, first: null };
      return at(s, { ...next, prompt: confirmPrompt(next) }, [{ type: 'wipe', refs: [e.ref] }]);
    }
    case 'confirm': {
      const keys = f.survey!.keyRefs.length;
      if (keys > 0) {
        if (e.type !== 'text') return done(s);
        if (e.value.trim() !== erasePhrase(keys)) return at(s, { prompt: { ...confirmPrompt(f), error: `type exactly: ${erasePhrase(keys)}` } as Prompt });
      } else {
        if (e.type !== 'choose') return done(s);
        if (e.value !== 'go') return cancel(s, f);
      }
      const j = startJob(s, { kind: 'initialize', soPin: f.soPin!, pin: f.pin!, dkekShares: f.dkekShares, keyCount: keys }, 'initializing the device');
      return done(
        { ...j.state, screen: { ...f, step: 'running', job: j.id, prompt: { kind: 'busy', title: TITLE, body: ['Sending INITIALIZE DEVICE…'] } } },
        [j.effect],
      );
    }
    case 'running':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'initialize') {
        let st = log(s, 'done', `device initialized: ${schemeText(f.dkekShares)}${f.survey!.keyRefs.length > 0 ? `; ${plural(f.survey!.keyRefs.length, 'key')} erased` : ''}`);
        const refresh = startJob(st, { kind: 'read-status' }, 'reading the device');
        st = refresh.state;
        const wipe: Effect = { type: 'wipe', refs: heldRefs(f) };
        const shares = f.dkekShares ?? 0;
        const prompt: Prompt =
          shares > 0
            ? {
                kind: 'choose',
                title: 'Device initialized',
                tone: 'success',
                body: [`The device now waits for ${plural(shares, 'DKEK share')}; until they are imported it cannot make keys. Each custodian creates (or brings) one share file.`],
                options: [
                  { value: 'create-shares', key: 'c', label: `Create ${plural(shares, 'share file')} now` },
                  { value: 'import-shares', key: 'm', label: `Import ${plural(shares, 'existing share file')}` },
                  { value: 'menu', key: 'q', label: 'Back to the menu' },
                ],
              }
            : { kind: 'notice', title: 'Device initialized', tone: 'success', body: [`DKEK: ${schemeText(f.dkekShares)}.`] };
        return done({ ...st, screen: { ...f, step: 'finished', job: null, soPin: null, pin: null, prompt } }, [wipe, refresh.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        if (e.error.code === 'WRONG_SO_PIN') {
          const v = f.survey!;
          const tries = typeof e.error.detail?.triesLeft === 'number' ? (e.error.detail.triesLeft as number) : v.soTriesLeft;
          const next: InitializeFlow = { ...f, step: 'so-pin', job: null, soPin: null, survey: { ...v, soTriesLeft: tries } };
          const st = log(s, 'warn', `initialize: ${e.error.message}; nothing was changed`);
          if (tries === 0) return failed(st, next, e.error, 'the device was not initialized');
          return done({ ...st, screen: { ...next, prompt: soPinPrompt(next, e.error.message) } }, [{ type: 'wipe', refs: [f.soPin!] }]);
        }
        return failed(s, f, e.error, 'the device was not initialized');
      }
      return done(s);
    case 'finished':
      if (e.type === 'choose' && (e.value === 'create-shares' || e.value === 'import-shares' || e.value === 'menu')) {
        return done({ ...s, screen: menuScreen(s) }, []); // the reducer routes create/import (see reducer.ts)
      }
      if (e.type === 'continue') return done({ ...s, screen: menuScreen(s) });
      return done(s);
  }
}

function failed(s: CeremonyState, f: InitializeFlow, error: PublicError, what: string): Transition {
  const st = log(s, 'error', `initialize: ${error.message}`);
  return done(
    { ...st, screen: { ...f, step: 'finished', job: null, soPin: null, pin: null, first: null, prompt: { kind: 'notice', title: 'Initialization failed', tone: 'error', body: errorBody(error, [`${what}:`]) } } },
    [{ type: 'wipe', refs: heldRefs(f) }],
  );
}

/** What an interrupted initialize flow leaves undone, for the exit summary. */
export function unfinishedInitialize(f: InitializeFlow): string[] {
  if (f.step === 'finished') return [];
  if (f.step === 'running') return ['initialize: INITIALIZE DEVICE was sent; read the device status to see its outcome'];
  return ['initialize: not done; the device was not changed'];
}
