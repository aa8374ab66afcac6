/**
 * The device status `sc-hsm-tool` prints without an action (spec §7 "print_info"): firmware
 * version, options, SO-PIN and user PIN tries, DKEK shares and KCV, plus the number of keys and the
 * token label. With the user PIN it logs in first, because Pico HSM reports a zero KCV until the
 * PIN is verified in the session (spec §3, pico-hsm #94/#144) — sc-hsm-tool never does and so
 * always shows zeros there.
 */
import type { AppletInfo } from '../../card/file-control.ts';
import { FID_PREFIX, type PinState, type SmartCardHsm } from '../../card/sc-hsm.ts';
import { CardError } from '../../card/status-words.ts';
import { toHex } from '../../../protocol/bytes.ts';
import { loginUser, readDkekStatus } from './login.ts';

export interface PinSummary {
  state: PinState;
  /** wrong tries left when the card says so */
  triesLeft: number | null;
}

export interface DkekSummary {
  /** shares the device was initialised for; 0 = a random DKEK made by the device */
  total: number;
  outstanding: number;
  /** 16 upper-case hex digits, or null while unknown (shares outstanding, or Pico HSM before login) */
  kcv: string | null;
}

export interface DeviceStatus {
  /** firmware version, "M.m" */
  version: string;
  options: number;
  userPinResetWithSoPin: boolean;
  transportPinMode: boolean;
  initialized: boolean;
  soPin: PinSummary;
  userPin: PinSummary;
  /** true when this read logged in with the user PIN (or the session already had) */
  loggedIn: boolean;
  /** null: the device has no DKEK (initialised without DKEK shares, or not supported) */
  dkek: DkekSummary | null;
  /** keys other than the device key (ref 0) */
  keys: number;
  /** key references of those keys */
  keyRefs: number[];
  /** the device authentication key (ref 0) is present */
  deviceKey: boolean;
  /** EF.TokenInfo label, or null */
  label: string | null;
}

/**
 * Reads everything `status` shows. With `pin` it verifies the user PIN first (a wrong PIN costs a
 * try and throws).
 *
 * @throws CeremonyError check WRONG_PIN and the other loginUser errors; CardError; device errors
 */
export async function readDeviceStatus(hsm: SmartCardHsm, applet: AppletInfo, opts: { pin?: Uint8Array | undefined } = {}): Promise<DeviceStatus> {
  const so = await hsm.pinStatus('so');
  const initialized = so.state !== 'not-initialized';
  let user = initialized ? await hsm.pinStatus('user') : { state: 'not-initialized' as PinState, triesLeft: null };
  let loggedIn = user.state === 'verified';
  if (initialized && opts.pin && user.state === 'not-verified') {
    await loginUser(hsm, opts.pin);
    loggedIn = true;
    user = await hsm.pinStatus('user');
  }
  let dkek: DkekSummary | null = null;
  let keyRefs: number[] = [];
  let deviceKey = false;
  let label: string | null = null;
  if (initialized) {
    const d = await readDkekStatus(hsm);
    if (d) dkek = { total: d.total, outstanding: d.outstanding, kcv: d.kcvKnown && d.outstanding === 0 ? toHex(d.kcv).toUpperCase() : null };
    const fids = await hsm.enumerateObjects();
    const refs = fids.filter((f) => f >> 8 === FID_PREFIX.KEY).map((f) => f & 0xff);
    deviceKey = refs.includes(0);
    keyRefs = refs.filter((r) => r !== 0).sort((a, b) => a - b);
    try {
      label = (await hsm.readTokenInfo())?.label ?? null;
    } catch (e) {
      if (!(e instanceof CardError) && !(e as { code?: string }).code?.startsWith('BAD_TOKEN_INFO')) throw e;
    }
  }
  return {
    version: applet.versionText,
    options: applet.options,
    userPinResetWithSoPin: applet.userPinResetWithSoPin,
    transportPinMode: applet.transportPinMode,
    initialized,
    soPin: { state: so.state, triesLeft: so.triesLeft },
    userPin: { state: user.state, triesLeft: user.triesLeft },
    loggedIn,
    dkek,
    keys: keyRefs.length,
    keyRefs,
    deviceKey,
    label,
  };
}
