/**
 * PINs (docs/ceremony-state-machine.md §5.5): change the user PIN, unblock it with the SO-PIN
 * (a new user PIN is set at the same time), change the SO-PIN. The current secret once, the new one
 * twice, every entry hidden; a wrong current PIN says how many tries are left.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { PinChange } from './jobs.ts';
import type { SecretKind } from './secret-facts.ts';
import type { SecretRef } from './secret-vault.ts';
import { done, errorBody, log, plural, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';

export interface PinsFlow {
  flow: 'pins';
  step: 'which' | 'current' | 'new' | 'again' | 'running' | 'finished';
  prompt: Prompt;
  change: PinChange;
  current: SecretRef | null;
  next: SecretRef | null;
  job: number | null;
}

const TITLE: Record<PinChange, string> = {
  'change-pin': 'Change the user PIN',
  'unblock-pin': 'Unblock the user PIN with the SO-PIN',
  'change-so-pin': 'Change the SO-PIN',
};

function currentKind(c: PinChange): SecretKind {
  return c === 'change-pin' ? 'user-pin' : 'so-pin';
}

function newKind(c: PinChange): SecretKind {
  return c === 'change-so-pin' ? 'so-pin' : 'new-user-pin';
}

function whichPrompt(s: CeremonyState): Prompt {
  const st = s.device?.status;
  const tries = (p: { state: string; triesLeft: number | null } | undefined) => (p?.state === 'blocked' ? 'blocked' : p?.triesLeft != null ? `${plural(p.triesLeft, 'try', 'tries')} left` : '');
  return {
    kind: 'choose',
    title: 'PINs',
    body: [`User PIN: ${tries(st?.userPin) || '-'}.  SO-PIN: ${tries(st?.soPin) || '-'}.`],
    options: [
      { value: 'change-pin', key: 'c', label: 'Change the user PIN', hint: 'needs the current user PIN', ...(st?.userPin.state === 'blocked' ? { disabled: 'the user PIN is blocked: unblock it with the SO-PIN' } : {}) },
      { value: 'unblock-pin', key: 'u', label: 'Unblock the user PIN with the SO-PIN', hint: 'sets a new user PIN and resets its tries', ...(st?.userPinResetWithSoPin === false ? { disabled: 'the device was initialized without reset by SO-PIN' } : {}) },
      { value: 'change-so-pin', key: 's', label: 'Change the SO-PIN', hint: 'needs the current SO-PIN' },
    ],
  };
}

function currentPrompt(f: Pick<PinsFlow, 'change'>, error?: string): Prompt {
  const user = f.change === 'change-pin';
  return {
    kind: 'secret',
    title: TITLE[f.change],
    body: [user ? 'Type the current user PIN.' : 'Type the current SO-PIN (16 hex digits). A blocked SO-PIN cannot be unblocked: type it carefully.'],
    label: user ? 'Current user PIN' : 'SO-PIN',
    secretKind: currentKind(f.change),
    ...(error ? { error } : {}),
  };
}

function newPrompt(f: Pick<PinsFlow, 'change'>, error?: string): Prompt {
  const so = f.change === 'change-so-pin';
  return {
    kind: 'secret',
    title: TITLE[f.change],
    body: [so ? 'Choose the new SO-PIN: exactly 16 hex digits.' : 'Choose the new user PIN: 6 to 16 characters.'],
    label: so ? 'New SO-PIN' : 'New user PIN',
    secretKind: newKind(f.change),
    ...(error ? { error } : {}),
  };
}

export function startPins(s: CeremonyState): Transition {
  return done({ ...s, screen: { flow: 'pins', step: 'which', prompt: whichPrompt(s), change: 'change-pin', current: null, next: null, job: null } });
}

function held(f: PinsFlow): SecretRef[] {
  return [f.current, f.next].filter((r): r is SecretRef => r !== null);
}

export function reducePins(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as PinsFlow;
  const at = (g: Partial<PinsFlow>, effects: Effect[] = []): Transition => done({ ...s, screen: { ...f, ...g } }, effects);
  if (e.type === 'back' && f.step !== 'running') {
    return done({ ...s, screen: menuScreen(s) }, held(f).length > 0 ? [{ type: 'wipe', refs: held(f) }] : []);
  }
  switch (f.step) {
    case 'which': {
      if (e.type !== 'choose') return done(s);
      const opt = whichPrompt(s).kind === 'choose' ? (whichPrompt(s) as Extract<Prompt, { kind: 'choose' }>).options.find((o) => o.value === e.value) : undefined;
      if (!opt || opt.disabled) return done(s);
      const change = e.value as PinChange;
      return at({ step: 'current', change, prompt: currentPrompt({ change }) });
    }
    case 'current':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at({ prompt: currentPrompt(f, e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return at({ step: 'new', current: e.ref, prompt: newPrompt(f) });
    case 'new':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at({ prompt: newPrompt(f, e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return at({ step: 'again', next: e.ref, prompt: { ...(newPrompt(f) as Extract<Prompt, { kind: 'secret' }>), body: ['Type it again.'], label: 'Again', confirmOf: e.ref } });
    case 'again': {
      if (e.type !== 'secret-entered') return done(s);
      if (e.facts.matches !== true) return at({ step: 'new', next: null, prompt: newPrompt(f, 'the two entries differ; type the new one twice again') }, [{ type: 'wipe', refs: [e.ref, f.next!] }]);
      const j = startJob(s, { kind: 'change-pin', change: f.change, current: f.current!, next: f.next! }, TITLE[f.change].toLowerCase());
      // the job copied both secrets when it started
      return done({ ...j.state, screen: { ...f, step: 'running', job: j.id, current: null, next: null, prompt: { kind: 'busy', title: TITLE[f.change], body: ['Sending to the device…'] } } }, [j.effect, { type: 'wipe', refs: [e.ref, f.current!, f.next!] }]);
    }
    case 'running':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'change-pin') {
        const what = f.change === 'change-pin' ? 'user PIN changed' : f.change === 'unblock-pin' ? 'user PIN unblocked and set anew' : 'SO-PIN changed';
        const st = log(s, 'done', what);
        const r = startJob(st, { kind: 'read-status' }, 'reading the device');
        return done({ ...r.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: TITLE[f.change], tone: 'success', body: [`Done: ${what}.`] } } }, [r.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const st = log(s, 'warn', `${TITLE[f.change].toLowerCase()}: ${e.error.message}`);
        const r = startJob(st, { kind: 'read-status' }, 'reading the device');
        const retry = (e.error.code === 'WRONG_PIN' || e.error.code === 'WRONG_SO_PIN') && e.error.detail?.triesLeft !== 0;
        if (retry) return done({ ...r.state, screen: { ...f, step: 'current', job: null, prompt: currentPrompt(f, `${e.error.message}; nothing was changed`) } }, [r.effect]);
        return done({ ...r.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: `${TITLE[f.change]}: not done`, tone: 'error', body: errorBody(e.error) } } }, [r.effect]);
      }
      return done(s);
    case 'finished':
      if (e.type === 'continue' || e.type === 'back') return done({ ...s, screen: menuScreen(s) });
      return done(s);
  }
}
