/**
 * The ceremony reducer: `reduce(state, event) → { state, effects }` (docs/ceremony-state-machine.md).
 * Pure: it never awaits, reads no clock, touches no device or file; whatever must happen outside is
 * returned as effects, performed by effect-runner.ts, whose results come back as events. A whole
 * session is therefore a list of events that can be tested, logged and replayed.
 *
 * This module handles what every flow shares — starting, the menu, the device reading, job
 * bookkeeping, Ctrl-C — and hands the rest to the flow on screen.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import { EXIT_CODES } from '../../protocol/errors.ts';
import { done, endJob, errorBody, log, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen, menuOptions, type MenuAction } from './menu.ts';
import { reduceInitialize, startInitialize } from './initialize-flow.ts';
import { reduceCreateShares, startCreateShares } from './create-shares-flow.ts';
import { reduceImportShares, startImportShares } from './import-shares-flow.ts';
import { reduceInspect, reduceVerifyShare, startInspect, startVerifyShare } from './offline-flows.ts';
import { reduceKeys, reduceLogin, reduceStatus, startKeys, startLogin, startStatus } from './device-flows.ts';
import { reduceBackup, reduceGenerateKey, reduceRestore, startBackup, startGenerateKey, startRestore } from './key-flows.ts';
import { reducePins, startPins } from './pins-flow.ts';
import { exitSummary } from './exit-summary.ts';
import { HELP_TEXT } from './help-text.ts';

const MENU_ACTIONS: ReadonlySet<string> = new Set<MenuAction>(['status', 'login', 'initialize', 'create-shares', 'import-shares', 'keys', 'generate-key', 'backup', 'restore', 'pins', 'inspect', 'verify-share', 'help', 'quit']);

/** Starts a menu action (also offered at the end of some flows, e.g. "create the shares now"). */
function startAction(s: CeremonyState, action: MenuAction): Transition {
  switch (action) {
    case 'status':
      return startStatus(s);
    case 'login':
      return startLogin(s);
    case 'initialize':
      return startInitialize(s);
    case 'create-shares': {
      const from = s.screen.flow === 'initialize' ? s.screen.dkekShares ?? undefined : undefined;
      return startCreateShares(s, from);
    }
    case 'import-shares':
      return startImportShares(s);
    case 'keys':
      return startKeys(s);
    case 'generate-key':
      return startGenerateKey(s);
    case 'backup':
      return startBackup(s);
    case 'restore':
      return startRestore(s);
    case 'pins':
      return startPins(s);
    case 'inspect':
      return startInspect(s);
    case 'verify-share':
      return startVerifyShare(s);
    case 'help':
      return done({ ...s, screen: { flow: 'help', prompt: { kind: 'notice', title: 'Help', tone: 'info', body: HELP_TEXT } } });
    case 'quit':
      return exit(s, EXIT_CODES.ok, 'quit', []);
  }
}

/** True when a flow's final screen offers `value` as a way to go on with another action. */
function isFollowUp(s: CeremonyState, e: CeremonyEvent): e is { type: 'choose'; value: MenuAction } {
  if (e.type !== 'choose' || !MENU_ACTIONS.has(e.value)) return false;
  const sc = s.screen;
  return (
    (sc.flow === 'initialize' && sc.step === 'finished') ||
    (sc.flow === 'create-shares' && sc.step === 'summary') ||
    (sc.flow === 'import-shares' && sc.step === 'finished')
  );
}

function exit(s: CeremonyState, code: number, why: 'quit' | 'interrupted' | 'error', effects: Effect[]): Transition {
  return done({ ...s, screen: { flow: 'quitting', prompt: { kind: 'busy', title: 'Ending the session', body: [] } } }, [...effects, { type: 'exit', code, summary: exitSummary(s, why) }]);
}

function interrupt(s: CeremonyState, signal: string): Transition {
  if (s.quitting) return done(s);
  const effects: Effect[] = s.jobs.map((j) => ({ type: 'cancel-job', id: j.id }));
  const st: CeremonyState = { ...s, quitting: { signal } };
  if (!s.jobs.some((j) => j.changesCard)) return exit(st, inFlow(s) ? EXIT_CODES.incomplete : EXIT_CODES.ok, 'interrupted', effects);
  // The flow stays on screen (so it keeps track of what the card reports), but takes no more
  // answers; the screens show stoppingPrompt() instead of its prompt.
  return done(st, effects);
}

/** What the screen shows while Ctrl-C waits for card jobs to reach a safe point. */
export function stoppingPrompt(s: CeremonyState): Prompt {
  const card = s.jobs.filter((j) => j.changesCard);
  return {
    kind: 'busy',
    title: 'Stopping safely',
    body: [card.length > 0 ? `Waiting for the card to reach a safe point (${card.map((j) => j.label).join(', ')}); nothing new is sent to it.` : 'Ending the session…'],
  };
}

const ANSWERS: ReadonlySet<CeremonyEvent['type']> = new Set(['choose', 'pick', 'text', 'secret-entered', 'continue', 'back']);

/** The flow that was on screen when Ctrl-C came (the quitting screen keeps no flow). */
function inFlow(s: CeremonyState): boolean {
  return !['boot', 'menu', 'status', 'help', 'quitting'].includes(s.screen.flow);
}

function routeToFlow(s: CeremonyState, e: CeremonyEvent): Transition {
  switch (s.screen.flow) {
    case 'boot':
      return done(s);
    case 'menu':
      if (e.type === 'choose' && MENU_ACTIONS.has(e.value)) {
        const opt = menuOptions(s).find((o) => o.value === e.value);
        if (!opt || opt.disabled) return done(s);
        return startAction(s, e.value as MenuAction);
      }
      if (e.type === 'back') return done(s);
      return done(s);
    case 'help':
      if (e.type === 'continue' || e.type === 'back') return done({ ...s, screen: menuScreen(s) });
      return done(s);
    case 'quitting':
      return done(s);
    case 'initialize':
      return reduceInitialize(s, e);
    case 'create-shares':
      return reduceCreateShares(s, e);
    case 'import-shares':
      return reduceImportShares(s, e);
    case 'verify-share':
      return reduceVerifyShare(s, e);
    case 'inspect':
      return reduceInspect(s, e);
    case 'status':
      return reduceStatus(s, e);
    case 'login':
      return reduceLogin(s, e);
    case 'keys':
      return reduceKeys(s, e);
    case 'generate-key':
      return reduceGenerateKey(s, e);
    case 'backup':
      return reduceBackup(s, e);
    case 'restore':
      return reduceRestore(s, e);
    case 'pins':
      return reducePins(s, e);
  }
}

/** Applies the device reading carried by a finished read-status job, wherever it was asked for. */
function noteDevice(s: CeremonyState, e: CeremonyEvent): CeremonyState {
  if (e.type === 'job-done' && e.result.kind === 'read-status') {
    const boot = s.screen.flow === 'boot';
    const st: CeremonyState = { ...s, device: e.result.device, deviceError: null };
    return boot ? log(st, 'info', `device: ${e.result.device.description}`) : st;
  }
  if (e.type === 'job-failed' && s.jobs.find((j) => j.id === e.id)?.kind === 'read-status' && e.error.kind === 'device') {
    return { ...s, deviceError: e.error };
  }
  return s;
}

/**
 * One step of the ceremony.
 * @throws never for a well-formed event; a programming error in a flow surfaces as an Error
 */
export function reduce(s: CeremonyState, e: CeremonyEvent): Transition {
  switch (e.type) {
    case 'start': {
      const j = startJob(s, { kind: 'read-status' }, 'reading the device');
      return done({ ...j.state, screen: { flow: 'boot', prompt: { kind: 'busy', title: 'Reading the device', body: ['Connecting to the card…'] } } }, [j.effect]);
    }
    case 'interrupt':
      return interrupt(s, e.signal);
    case 'job-progress': {
      const jobs = s.jobs.map((j) => {
        if (j.id !== e.id) return j;
        const parts = j.parts.filter((p) => p.part !== e.part);
        parts.push({ part: e.part, label: e.label, done: e.done, total: e.total });
        parts.sort((a, b) => a.part - b.part);
        return { ...j, parts };
      });
      return done({ ...s, jobs });
    }
    default:
      break;
  }

  if (s.quitting && ANSWERS.has(e.type)) return done(s, e.type === 'secret-entered' ? [{ type: 'wipe', refs: [e.ref] }] : []);

  let st = s;
  if (e.type === 'job-done' || e.type === 'job-failed') st = noteDevice(st, e);
  const finished = e.type === 'job-done' || e.type === 'job-failed' ? e.id : null;
  const bootJob = st.screen.flow === 'boot' && finished !== null && st.jobs.find((j) => j.id === finished)?.kind === 'read-status';
  if (finished !== null) st = endJob(st, finished);

  if (st.quitting) {
    // the flow still hears how its jobs ended, so the summary is right
    const t = bootJob ? done(st) : routeToFlow(st, e);
    const effects = t.effects.filter((x) => x.type === 'wipe' || x.type === 'cancel-job');
    if (t.state.jobs.some((j) => j.changesCard)) return done(t.state, effects);
    return exit(t.state, EXIT_CODES.incomplete, 'interrupted', effects);
  }

  if (bootJob) {
    if (e.type === 'job-failed') {
      const s2 = log(st, 'error', `device: ${e.error.message}`);
      return done({ ...s2, screen: { flow: 'status', step: 'shown', job: null, prompt: { kind: 'notice', title: 'No device', tone: 'error', body: errorBody(e.error, ['The offline actions (inspect a backup, verify a share file) still work.']) } } });
    }
    return done({ ...st, screen: menuScreen(st) });
  }

  if (isFollowUp(st, e)) return startAction(st, e.value);

  const t = routeToFlow(st, e);
  // The menu shows what the device allows: rebuild it whenever the device reading changed.
  if (t.state.screen.flow === 'menu' && t.state.device !== s.device) return done({ ...t.state, screen: menuScreen(t.state) }, t.effects);
  return t;
}
