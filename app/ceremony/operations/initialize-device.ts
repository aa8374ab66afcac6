/**
 * Initialising a device the way `sc-hsm-tool --initialize` does (spec §6), with the checks it
 * lacks: every option is validated before the first APDU, a blocked SO-PIN is reported before it
 * is tried, and re-initialising a device that holds keys — which erases them all — needs a
 * confirmation that names how many keys will be destroyed.
 */
import { checkInitializeOptions, type InitializeOptions } from '../../card/initialize-options.ts';
import { FID_PREFIX, type SmartCardHsm } from '../../card/sc-hsm.ts';
import { CardError } from '../../card/status-words.ts';
import { checkFailed, deviceError, incomplete } from '../../../protocol/errors.ts';
import { toHex } from '../../../protocol/bytes.ts';
import { readDkekStatus } from './login.ts';

/** What is on the device before INITIALIZE, as far as it can be read without a PIN. */
export interface InitializeSurvey {
  /** the device was initialised before (its SO-PIN must then be given) */
  initialized: boolean;
  /** key references of the keys INITIALIZE would erase (device key 0 excluded) */
  keyRefs: number[];
  /** SO-PIN tries left, when the card says */
  soTriesLeft: number | null;
}

export type InitializeEvent =
  | { kind: 'survey'; survey: InitializeSurvey }
  | { kind: 'initialized' }
  | { kind: 'label-written'; label: string };

export interface InitializeResult {
  survey: InitializeSurvey;
  /** DKEK after initialisation: null without DKEK; `total` 0 = random DKEK */
  dkek: { total: number; outstanding: number; kcv: string | null } | null;
}

export interface InitializeDeviceOptions {
  /**
   * Called when INITIALIZE would erase keys, with their number; resolve true to go on. Not called
   * when the device holds no keys.
   */
  confirmDestroy(keyCount: number, survey: InitializeSurvey): Promise<boolean> | boolean;
  onEvent?: (e: InitializeEvent) => void;
  signal?: AbortSignal;
}

/**
 * Reads what INITIALIZE would change: whether the device was initialised, and its keys.
 *
 * @throws CeremonyError device SO_PIN_BLOCKED; CardError
 */
export async function surveyForInitialize(hsm: SmartCardHsm): Promise<InitializeSurvey> {
  const so = await hsm.pinStatus('so');
  if (so.state === 'blocked') {
    throw deviceError('SO_PIN_BLOCKED', 'the SO-PIN is blocked, so the device cannot be re-initialised', {
      hint: "a blocked SO-PIN cannot be unblocked; only the vendor's tools can reset such a device",
    });
  }
  const initialized = so.state !== 'not-initialized';
  let keyRefs: number[] = [];
  if (initialized) {
    const fids = await hsm.enumerateObjects();
    keyRefs = fids.filter((f) => f >> 8 === FID_PREFIX.KEY && (f & 0xff) !== 0).map((f) => f & 0xff).sort((a, b) => a - b);
  }
  return { initialized, keyRefs, soTriesLeft: so.triesLeft };
}

/**
 * Initialises the device. Options are checked first (no APDU on a usage error); then the device is
 * surveyed; if it holds keys, `confirmDestroy` decides; then INITIALIZE DEVICE (and the label).
 *
 * @throws CeremonyError usage (USER_PIN_LENGTH, SO_PIN_FORMAT, RETRY_COUNTER_RANGE,
 *   DKEK_SHARES_RANGE, LABEL_LENGTH) before any APDU; incomplete CANCELLED when not confirmed or
 *   cancelled before INITIALIZE; check WRONG_SO_PIN (tries left in words); device SO_PIN_BLOCKED
 */
export async function initializeDevice(hsm: SmartCardHsm, options: InitializeOptions, o: InitializeDeviceOptions): Promise<InitializeResult> {
  checkInitializeOptions(options);
  const survey = await surveyForInitialize(hsm);
  o.onEvent?.({ kind: 'survey', survey });
  if (survey.keyRefs.length > 0 && !(await o.confirmDestroy(survey.keyRefs.length, survey))) {
    throw incomplete('CANCELLED', 'not confirmed: the device was not initialised', { hint: `nothing was changed; its ${survey.keyRefs.length} keys are still there` });
  }
  if (o.signal?.aborted) throw incomplete('CANCELLED', 'cancelled before INITIALIZE: nothing was changed', { hint: 'run the command again when ready' });
  try {
    // with a label, initialize() then verifies the new PIN and writes EF.TokenInfo (spec §6)
    await hsm.initialize(options);
  } catch (e) {
    if (e instanceof CardError && e.triesLeft !== null) {
      const n = e.triesLeft;
      throw checkFailed('WRONG_SO_PIN', n === 0 ? 'the SO-PIN is wrong, and that was the last try: the SO-PIN is now blocked' : `the SO-PIN is wrong: ${n} ${n === 1 ? 'try' : 'tries'} left before it is blocked`, {
        hint: survey.initialized ? 'a device that was initialised before needs its current SO-PIN; nothing was changed' : 'check the SO-PIN; nothing was changed',
        detail: { triesLeft: n },
      });
    }
    throw e;
  }
  o.onEvent?.({ kind: 'initialized' });
  if (options.label !== undefined) o.onEvent?.({ kind: 'label-written', label: options.label });
  const d = await readDkekStatus(hsm);
  return {
    survey,
    dkek: d ? { total: d.total, outstanding: d.outstanding, kcv: d.kcvKnown && d.outstanding === 0 ? toHex(d.kcv).toUpperCase() : null } : null,
  };
}
