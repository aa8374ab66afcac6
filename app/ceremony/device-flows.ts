/**
 * The short device flows (docs/ceremony-state-machine.md §5.4): status (read everything again),
 * log in (verify the user PIN so Pico HSM shows its real KCV), and the key list.
 */
import type { CeremonyEvent } from './events.ts';
import type { DeviceView } from './jobs.ts';
import { done, errorBody, log, plural, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';

export type DeviceFlow =
  | { flow: 'status'; step: 'reading' | 'shown'; prompt: Prompt; job: number | null }
  | { flow: 'login'; step: 'pin' | 'verifying'; prompt: Prompt; job: number | null; pin: number | null }
  | { flow: 'keys'; step: 'reading' | 'shown'; prompt: Prompt; job: number | null };

type StatusFlow = Extract<DeviceFlow, { flow: 'status' }>;
type LoginFlow = Extract<DeviceFlow, { flow: 'login' }>;
type KeysFlow = Extract<DeviceFlow, { flow: 'keys' }>;

function pinState(p: { state: string; triesLeft: number | null }): string {
  switch (p.state) {
    case 'verified':
      return 'verified in this session';
    case 'blocked':
      return 'BLOCKED';
    case 'transport':
      return 'transport PIN: change it first';
    case 'not-initialized':
      return 'not set (device not initialized)';
    default:
      return p.triesLeft === null ? 'set' : `${plural(p.triesLeft, 'try', 'tries')} left`;
  }
}

/** The DKEK line of the device panel and the status screen. */
export function dkekLine(d: DeviceView): string {
  const k = d.status.dkek;
  if (!d.status.initialized) return 'device not initialized';
  if (k === null) return 'none: keys cannot be backed up';
  // A device initialized without DKEK shares answers like one with a random DKEK (pico-hsm does;
  // real cards are unconfirmed, spec "Unconfirmed"), so the two are not told apart here.
  if (k.total === 0) return `no shares: made by the device (random, or none)${k.kcv ? `, KCV ${k.kcv}` : ''}`;
  if (k.outstanding > 0) return `${k.total - k.outstanding} of ${k.total} shares imported, ${k.outstanding} outstanding`;
  return `${plural(k.total, 'share')}, complete, KCV ${k.kcv ?? 'hidden until the user PIN is verified (Log in)'}`;
}

/** Everything `status` shows, one fact per line. */
export function statusLines(d: DeviceView): string[] {
  const st = d.status;
  return [
    `Device:       ${d.description}${d.virtual && !d.simulated ? ' (software in a virtual reader)' : ''}`,
    `Firmware:     ${st.version}${st.label ? `   Label: ${st.label}` : ''}`,
    `Initialized:  ${st.initialized ? 'yes' : 'no'}`,
    `User PIN:     ${pinState(st.userPin)}`,
    `SO-PIN:       ${pinState(st.soPin)}`,
    `DKEK:         ${dkekLine(d)}`,
    `Keys:         ${st.initialized ? (st.keys === 0 ? 'none' : `${st.keys} (reference ${st.keyRefs.join(', ')})`) : '-'}${st.deviceKey ? ' + the device key at reference 0' : ''}`,
    `Options:      user PIN reset with SO-PIN ${st.userPinResetWithSoPin ? 'allowed' : 'not allowed'}${st.transportPinMode ? ', transport PIN mode' : ''}`,
  ];
}

export function startStatus(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'read-status' }, 'reading the device');
  const f: StatusFlow = { flow: 'status', step: 'reading', prompt: { kind: 'busy', title: 'Device status', body: ['Reading the device…'] }, job: j.id };
  return done({ ...j.state, screen: f }, [j.effect]);
}

export function startLogin(s: CeremonyState): Transition {
  return done({ ...s, screen: { flow: 'login', step: 'pin', prompt: loginPrompt(s), job: null, pin: null } });
}

function loginPrompt(s: CeremonyState, error?: string): Prompt {
  const u = s.device?.status.userPin;
  return {
    kind: 'secret',
    title: 'Log in with the user PIN',
    body: [`The PIN stays verified until the program ends.${u && u.triesLeft !== null ? ` ${plural(u.triesLeft, 'wrong try', 'wrong tries')} left before it blocks.` : ''}`],
    label: 'User PIN',
    secretKind: 'user-pin',
    ...(error ? { error } : {}),
  };
}

export function startKeys(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'list-keys' }, 'listing the keys');
  const f: KeysFlow = { flow: 'keys', step: 'reading', prompt: { kind: 'busy', title: 'Keys', body: ['Reading the key list…'] }, job: j.id };
  return done({ ...j.state, screen: f }, [j.effect]);
}

function toMenu(s: CeremonyState): Transition {
  return done({ ...s, screen: menuScreen(s) });
}

export function reduceStatus(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as StatusFlow;
  if (f.step === 'reading') {
    if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'read-status') {
      return done({ ...s, screen: { ...f, step: 'shown', job: null, prompt: { kind: 'notice', title: 'Device status', tone: 'info', body: statusLines(e.result.device) } } });
    }
    if (e.type === 'job-failed' && e.id === f.job) {
      return done({ ...s, screen: { ...f, step: 'shown', job: null, prompt: { kind: 'notice', title: 'The device could not be read', tone: 'error', body: errorBody(e.error) } } });
    }
    if (e.type === 'back') return toMenu(s);
    return done(s);
  }
  if (e.type === 'continue' || e.type === 'back') return toMenu(s);
  return done(s);
}

export function reduceLogin(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as LoginFlow;
  if (f.step === 'pin') {
    if (e.type === 'back') return toMenu(s);
    if (e.type !== 'secret-entered') return done(s);
    if (!e.facts.ok) return done({ ...s, screen: { ...f, prompt: loginPrompt(s, e.facts.problem) } }, [{ type: 'wipe', refs: [e.ref] }]);
    const j = startJob(s, { kind: 'read-status', pin: e.ref }, 'verifying the user PIN');
    return done({ ...j.state, screen: { ...f, step: 'verifying', job: j.id, pin: e.ref, prompt: { kind: 'busy', title: 'Log in with the user PIN', body: ['Verifying the PIN…'] } } }, [j.effect]);
  }
  if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'read-status') {
    const k = e.result.device.status.dkek?.kcv;
    const st = log(s, 'done', `user PIN verified${k ? `; DKEK key check value ${k}` : ''}`);
    return done({ ...st, screen: menuScreen(st) }, [{ type: 'wipe', refs: [f.pin!] }]);
  }
  if (e.type === 'job-failed' && e.id === f.job) {
    const st = e.error.code === 'WRONG_PIN' ? log(s, 'warn', `log in: ${e.error.message}`) : s;
    const wipe = { type: 'wipe' as const, refs: [f.pin!] };
    if (e.error.code === 'WRONG_PIN' && e.error.detail?.triesLeft !== 0) {
      return done({ ...st, screen: { ...f, step: 'pin', job: null, pin: null, prompt: loginPrompt(st, e.error.message) } }, [wipe]);
    }
    const s2 = log(st, 'error', `log in: ${e.error.message}`);
    return done({ ...s2, screen: { flow: 'status', step: 'shown', job: null, prompt: { kind: 'notice', title: 'Not logged in', tone: 'error', body: errorBody(e.error) } } }, [wipe]);
  }
  return done(s);
}

export function reduceKeys(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as KeysFlow;
  if (f.step === 'reading') {
    if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'list-keys') {
      const keys = e.result.keys;
      const body = keys.some((k) => !k.deviceKey) ? [] : ['No keys yet besides the device key.'];
      return done({ ...s, screen: { ...f, step: 'shown', job: null, prompt: { kind: 'keys', title: `Keys (${keys.filter((k) => !k.deviceKey).length})`, keys, body } } });
    }
    if (e.type === 'job-failed' && e.id === f.job) {
      return done({ ...s, screen: { ...f, step: 'shown', job: null, prompt: { kind: 'notice', title: 'The keys could not be listed', tone: 'error', body: errorBody(e.error) } } });
    }
    if (e.type === 'back') return toMenu(s);
    return done(s);
  }
  if (e.type === 'continue' || e.type === 'back') return toMenu(s);
  return done(s);
}
