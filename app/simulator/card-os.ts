/**
 * The simulated SmartCard-HSM: one command APDU in, one response APDU out (data + SW1 SW2).
 * It implements the applet as OpenSC's tools drive it for everything a DKEK ceremony touches
 * (spec §3, §6, §9; /work/shared/fixtures/opensc-pico/apdu-trace.txt) and is specified in
 * docs/simulator.md, which lists every command, status word and deliberate difference.
 *
 * Two flavors:
 * - `sc-hsm` (default): a CardContact SmartCard-HSM as documented — real KCV in the DKEK status,
 *   re-SELECT of the applet logs the user out (OpenSC's logout relies on it), refusals answer
 *   6A80/6A88 without touching any state.
 * - `pico`: Pico HSM firmware 6.6 as traced — KCV reads as zeros outside a user-PIN session, the
 *   last DKEK share is committed only at the next successful VERIFY, a blob with a foreign KCV
 *   answers 6400 (without the firmware's key-domain corruption), firmware-written PRKD/CV request
 *   on GENERATE, Pico's FCP quirks.
 *
 * State is split in two: persistent state (PINs and retry counters, DKEK, keys, files, DRBG) that
 * survives power cycles and is what persistence.ts saves, and session state (applet selected,
 * current EF, verified PINs) that every reset, power cycle or new connection clears.
 *
 * Every command checks everything before it changes anything, so a refused command leaves the
 * card exactly as it was (tested in test/simulator/card-unwrap.test.ts).
 */

import { bytesToBigInt, equalBytes, fromHex, wipe } from '../../protocol/bytes.ts';
import { findTlv, readAllTlvs, type Tlv } from '../../protocol/der.ts';
import { findEcCurve } from '../../protocol/dkek/ec-curve.ts';
import { decryptKeyBlob, encodeKeyBlob, wipeBlobKey } from '../../protocol/dkek/key-blob.ts';
import { parseCommand, encodeResponse, type CommandApdu } from '../card/apdu.ts';
import { encodeAuthenticatedCvRequest, encodeCvBody, signCvBody } from '../../protocol/dkek/cvc.ts';
import { manufactureDevice, SC_HSM_AID, SC_HSM_ATR } from './device-identity.ts';
import { commitPending, dkekStatus, dkekValue, importShare, losePending, noDkek, type DkekState } from './dkek-state.ts';
import { Drbg, type DrbgState } from './drbg.ts';
import {
  efFcp,
  ElementaryFiles,
  FID_DEVICE_CERTIFICATES,
  FID_EF_DIR,
  FID_TOKEN_INFO,
  FID_UNWRAP_STAGING,
  isCreatableFid,
  isKeyFid,
  MAX_EF_SIZE,
  PREFIX_CD,
  PREFIX_DCOD,
  PREFIX_EE_CERT,
  PREFIX_KEY,
  PREFIX_PRKD,
  PREFIX_PROTECTED_DATA,
} from './file-system.ts';
import { encodePicoPrkd } from '../../protocol/dkek/prkd.ts';
import { cvSigner, fromBlobKey, generateEcKey, keySizeBits, publicKeyTemplate, toBlobKey, type CardKey, type EcCardKey, type RsaCardKey } from './keys.ts';
import { absentPin, checkPin, pinCheckSw, pinStatusSw, setPin, SO_PIN_RETRIES, type PinState } from './pins.ts';
import { generateRsaKey, RSA_KEY_SIZES } from './rsa.ts';
import { signWith } from './sign.ts';

/** Which device the simulator imitates. */
export type Flavor = 'sc-hsm' | 'pico';

/** Firmware version each flavor reports in the applet FCP (tag 85, last two bytes). */
export const FLAVOR_VERSION: Readonly<Record<Flavor, readonly [number, number]>> = { 'sc-hsm': [4, 1], pico: [6, 6] };

/** Everything that survives a power cycle (what persistence.ts stores). */
export interface CardState {
  flavor: Flavor;
  drbg: DrbgState;
  initialized: boolean;
  /** INITIALIZE tag 80 (bit 0: RESET RETRY COUNTER allowed; bit 1: transport PIN) */
  options: number;
  /** user PIN still the transport PIN (options bit 1 until the first CHANGE REFERENCE DATA) */
  transportPin: boolean;
  userPin: PinState;
  soPin: PinState;
  dkek: DkekState;
  /** CHR of the device certificate (C_DevAut) */
  deviceChr: string;
  /** key reference → key; 0 is the device authentication key */
  keys: Map<number, CardKey>;
  /** FID → EF content */
  files: [number, Uint8Array][];
}

/** Options for a new card. */
export interface CreateCardOptions {
  flavor?: Flavor;
  /** DRBG seed (1..256 bytes); default 32 bytes from `rng` */
  seed?: Uint8Array;
  /** source of the seed when none is given; default crypto.getRandomValues */
  rng?: (n: number) => Uint8Array;
}

/** A response before encoding. */
interface Reply {
  data?: Uint8Array;
  sw: number;
}

const SW_OK = 0x9000;
const ok = (data?: Uint8Array): Reply => (data ? { data, sw: SW_OK } : { sw: SW_OK });
const sw = (code: number): Reply => ({ sw: code });

/** id-TA-ECDSA and id-TA-RSA: the OID prefixes of every EC and RSA algorithm (TR-03110). */
const OID_TA_ECDSA_PREFIX = fromHex('04007f000702020202');
const OID_TA_RSA_PREFIX = fromHex('04007f000702020201');

/** Largest GET CHALLENGE the simulator answers (OpenSC caps requests at 1024, spec §3). */
const MAX_CHALLENGE = 1024;

/** Session state: cleared by every reset, power cycle and new connection. */
interface Session {
  appletSelected: boolean;
  currentEf: number | null;
  userVerified: boolean;
  soVerified: boolean;
  /** pico flavor: the firmware's has_session_pin (user PIN presented this session) */
  pinSession: boolean;
  /** response bytes not yet fetched with GET RESPONSE */
  pending: Uint8Array | null;
}

function newSession(): Session {
  return { appletSelected: false, currentEf: null, userVerified: false, soVerified: false, pinSession: false, pending: null };
}

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** The simulated card. */
export class SimulatedCard {
  readonly flavor: Flavor;
  /** Called after every command that changed persistent state (persistence hooks in here). */
  onStateChange: ((card: SimulatedCard) => void) | undefined;
  /** The last unexpected exception (answered 6F00); tests assert it stays undefined. */
  lastInternalError: unknown;

  #drbg: Drbg;
  #initialized: boolean;
  #options: number;
  #transportPin: boolean;
  #userPin: PinState;
  #soPin: PinState;
  #dkek: DkekState;
  #deviceChr: string;
  #keys: Map<number, CardKey>;
  #files: ElementaryFiles;
  #session: Session = newSession();
  #dirty = false;
  #powered = true;

  private constructor(state: CardState) {
    this.flavor = state.flavor;
    this.#drbg = Drbg.fromState(state.drbg);
    this.#initialized = state.initialized;
    this.#options = state.options;
    this.#transportPin = state.transportPin;
    this.#userPin = { ...state.userPin, value: state.userPin.value?.slice() ?? null };
    this.#soPin = { ...state.soPin, value: state.soPin.value?.slice() ?? null };
    this.#dkek = { ...state.dkek, value: state.dkek.value.slice() };
    this.#deviceChr = state.deviceChr;
    this.#keys = new Map([...state.keys].map(([ref, k]) => [ref, cloneKey(k)]));
    this.#files = new ElementaryFiles();
    for (const [fid, data] of state.files) this.#files.put(fid, data);
  }

  /**
   * Manufactures a new, uninitialised card: seeds the DRBG, creates the device key and
   * certificates. Same seed, same card.
   *
   * @throws {RangeError} for a seed outside 1..256 bytes or an unknown flavor
   */
  static create(options: CreateCardOptions = {}): SimulatedCard {
    const flavor = options.flavor ?? 'sc-hsm';
    if (flavor !== 'sc-hsm' && flavor !== 'pico') throw new RangeError("flavor must be 'sc-hsm' or 'pico'");
    const seed = options.seed ?? (options.rng ?? defaultRng)(32);
    const drbg = new Drbg(seed);
    const device = manufactureDevice(flavor, drbg.rng);
    const keys = new Map<number, CardKey>([[0, { ...device.key, algorithms: new Uint8Array(0), exportable: false }]]);
    return new SimulatedCard({
      flavor,
      drbg: drbg.state(),
      initialized: false,
      options: 0,
      transportPin: false,
      userPin: absentPin(3),
      soPin: absentPin(SO_PIN_RETRIES),
      dkek: noDkek(),
      deviceChr: device.chr,
      keys,
      files: [...device.files.entries()],
    });
  }

  /**
   * Boots a card from saved state — a device restart: session state starts empty and, in the pico
   * flavor, a DKEK still waiting for its commit is lost (replaced by an unrelated value).
   */
  static fromState(state: CardState): SimulatedCard {
    const card = new SimulatedCard(state);
    card.restart();
    return card;
  }

  /** The answer-to-reset (the SmartCard-HSM ATR for both flavors). */
  get atr(): Uint8Array {
    return SC_HSM_ATR.slice();
  }

  /** The DRBG seed: give it to `--seed` to rebuild this card from scratch. */
  get seed(): Uint8Array {
    return this.#drbg.seed;
  }

  /** The device certificate holder reference (the token serial is this minus five digits). */
  get deviceChr(): string {
    return this.#deviceChr;
  }

  /** A deep copy of the persistent state. */
  snapshot(): CardState {
    return {
      flavor: this.flavor,
      drbg: this.#drbg.state(),
      initialized: this.#initialized,
      options: this.#options,
      transportPin: this.#transportPin,
      userPin: { ...this.#userPin, value: this.#userPin.value?.slice() ?? null },
      soPin: { ...this.#soPin, value: this.#soPin.value?.slice() ?? null },
      dkek: { ...this.#dkek, value: this.#dkek.value.slice() },
      deviceChr: this.#deviceChr,
      keys: new Map([...this.#keys].map(([ref, k]) => [ref, cloneKey(k)])),
      files: this.#files.entries(),
    };
  }

  /** Warm reset (vpcd control 2): clears the session. */
  reset(): void {
    this.#session = newSession();
    this.#powered = true;
  }

  /** Power on (vpcd control 1) or a new connection: clears the session. */
  powerOn(): void {
    this.reset();
  }

  /** Power off (vpcd control 0): clears the session. */
  powerOff(): void {
    this.#session = newSession();
    this.#powered = false;
  }

  /** True between powerOn/reset and powerOff. */
  get powered(): boolean {
    return this.#powered;
  }

  /**
   * Device restart (process restart, firmware reboot): a power cycle, and in the pico flavor the
   * loss of a DKEK not yet committed.
   */
  restart(): void {
    this.reset();
    if (this.flavor === 'pico' && this.#dkek.pendingCommit) {
      losePending(this.#dkek, this.#rng(32));
      this.#changed();
    }
  }

  /**
   * Processes one command APDU and returns the response APDU (data || SW1 SW2). Never throws for
   * anything a host can send; an internal defect answers 6F00 and is kept in lastInternalError.
   *
   * @throws {Error} if the card is powered off (a transport bug: nothing can reach such a card)
   */
  process(command: Uint8Array): Uint8Array {
    if (!this.#powered) throw new Error('APDU sent to a card that is powered off');
    this.#dirty = false;
    let reply: Reply;
    let cmd: CommandApdu | undefined;
    try {
      cmd = parseCommand(command);
    } catch {
      reply = sw(0x6700);
    }
    if (cmd) {
      try {
        reply = this.#dispatch(cmd);
      } catch (e) {
        this.lastInternalError = e;
        reply = sw(0x6f00);
      }
    }
    const out = this.#shape(cmd, reply!);
    if (this.#dirty) {
      this.#dirty = false;
      this.onStateChange?.(this);
    }
    return out;
  }

  /** Applies Le: a short Le smaller than the data leaves the rest for GET RESPONSE (61xx). */
  #shape(cmd: CommandApdu | undefined, r: Reply): Uint8Array {
    const data = r.data ?? new Uint8Array(0);
    if (cmd && cmd.ins !== 0xc0) this.#session.pending = null;
    if (r.sw === SW_OK && cmd && cmd.le !== null && !cmd.extended && data.length > cmd.le) {
      const rest = data.subarray(cmd.le);
      this.#session.pending = rest.slice();
      return encodeResponse(data.subarray(0, cmd.le), 0x6100 | Math.min(rest.length, 256) % 256);
    }
    return encodeResponse(data, r.sw);
  }

  #changed(): void {
    this.#dirty = true;
  }

  /** DRBG output; every draw changes persistent state. */
  #rng = (n: number): Uint8Array => {
    this.#changed();
    return this.#drbg.generate(n);
  };

  #dispatch(c: CommandApdu): Reply {
    if (c.cla !== 0x00 && c.cla !== 0x80) return sw(0x6e00);
    if (c.ins === 0xa4) return this.#select(c);
    if (c.ins === 0xc0) return this.#getResponse(c);
    if (!this.#session.appletSelected) return sw(0x6d00);
    switch (c.ins) {
      case 0xb0:
      case 0xb1:
        return this.#readBinary(c);
      case 0xd6:
      case 0xd7:
        return this.#updateBinary(c);
      case 0xe4:
        return this.#deleteFile(c);
      case 0x58:
        return this.#enumerate(c);
      case 0x84:
        return this.#getChallenge(c);
      case 0x50:
        return this.#initialize(c);
      case 0x20:
        return this.#verify(c);
      case 0x24:
        return this.#changeReferenceData(c);
      case 0x2c:
        return this.#resetRetryCounter(c);
      case 0x52:
        return this.#dkekShare(c);
      case 0x72:
        return this.#wrapKey(c);
      case 0x74:
        return this.#unwrapKey(c);
      case 0x46:
        return this.#generateKeyPair(c);
      case 0x68:
        return this.#sign(c);
      default:
        return sw(0x6d00);
    }
  }

  // ---------------------------------------------------------------- selection and files

  #select(c: CommandApdu): Reply {
    const wantFcp = (c.p2 & 0xfc) === 0x00 || (c.p2 & 0xfc) === 0x04;
    if (!wantFcp && c.p2 !== 0x0c) return sw(0x6a86);
    if (c.p1 === 0x04) {
      if (!equalBytes(c.data, SC_HSM_AID)) return sw(0x6a82);
      if (this.flavor === 'sc-hsm') {
        // A real SmartCard-HSM resets its security status when the applet is selected again;
        // OpenSC's sc_hsm_logout() is exactly such a re-selection.
        const pending = this.#session.pending;
        this.#session = newSession();
        this.#session.pending = pending;
      }
      this.#session.appletSelected = true;
      this.#session.currentEf = null;
      return wantFcp ? ok(this.#appletFcp()) : ok();
    }
    if (!this.#session.appletSelected) return sw(0x6a82);
    let fid: number;
    if (c.p1 === 0x00 || c.p1 === 0x02) {
      if (c.data.length === 0 && c.p1 === 0x00) return wantFcp ? ok(this.#mfFcp()) : ok();
      if (c.data.length !== 2) return sw(0x6700);
      fid = (c.data[0]! << 8) | c.data[1]!;
    } else if (c.p1 === 0x08 || c.p1 === 0x09) {
      // Path selection: only one level exists below the application (3F00 may lead the path).
      let path = c.data;
      if (path.length === 0 || path.length % 2 !== 0) return sw(0x6700);
      if (c.p1 === 0x08 && path.length >= 4 && path[0] === 0x3f && path[1] === 0x00) path = path.subarray(2);
      if (path.length !== 2) return sw(0x6a82);
      fid = (path[0]! << 8) | path[1]!;
    } else {
      return sw(0x6a86);
    }
    if (fid === 0x3f00) {
      this.#session.currentEf = null;
      return wantFcp ? ok(this.#mfFcp()) : ok();
    }
    const size = this.#efSize(fid);
    if (size === undefined) return sw(0x6a82);
    this.#session.currentEf = fid;
    return wantFcp ? ok(efFcp(fid, size, this.#descriptor(fid))) : ok();
  }

  /** Size of an EF or key object, or undefined if there is no such object. */
  #efSize(fid: number): number | undefined {
    if (isKeyFid(fid)) {
      const k = this.#keys.get(fid & 0xff);
      return k ? keySizeBits(k) / 8 : undefined;
    }
    return this.#files.get(fid)?.length;
  }

  #descriptor(fid: number): number {
    return this.flavor === 'pico' && (fid === 0xc400 || fid === 0xce00) ? 0x08 : 0x01;
  }

  #mfFcp(): Uint8Array {
    return Uint8Array.of(0x62, 0x08, 0x82, 0x01, 0x38, 0x83, 0x02, 0x3f, 0x00);
  }

  /**
   * The applet's FCI/FCP with proprietary tag 85 = options(2) | type | major | minor.
   * pico: the exact bytes of apdu-trace.txt (including its odd 84 value); sc-hsm: the FCI shape
   * a real Nitrokey HSM returned (#3602), 6F 0A 82 01 78 85 05 ….
   */
  #appletFcp(): Uint8Array {
    const [major, minor] = FLAVOR_VERSION[this.flavor];
    const opts = [(this.#options >> 8) & 0xff, this.#options & 0xff];
    if (this.flavor === 'pico') {
      return Uint8Array.of(
        0x62, 0x22, 0x81, 0x02, 0x00, 0x00, 0x82, 0x01, 0x01, 0x83, 0x02, 0x00, 0x00,
        0x84, 0x0b, ...SC_HSM_AID.subarray(1), 0x00,
        0x8a, 0x01, 0x05, 0x85, 0x05, ...opts, 0xff, major, minor,
      );
    }
    return Uint8Array.of(0x6f, 0x0a, 0x82, 0x01, 0x78, 0x85, 0x05, ...opts, 0x06, major, minor);
  }

  #readBinary(c: CommandApdu): Reply {
    let fid: number | null;
    let offset: number;
    if (c.ins === 0xb0) {
      if (c.p1 & 0x80) return sw(0x6a81); // short EF identifiers: not in this applet
      fid = this.#session.currentEf;
      offset = ((c.p1 & 0x7f) << 8) | c.p2;
    } else {
      const p1p2 = (c.p1 << 8) | c.p2;
      fid = p1p2 === 0 ? this.#session.currentEf : p1p2;
      const off = parseOffsetTlv(c.data);
      if (off === undefined) return sw(0x6a80);
      offset = off;
    }
    if (fid === null) return sw(0x6986);
    if (isKeyFid(fid)) return sw(this.#keys.has(fid & 0xff) ? 0x6982 : 0x6a82);
    const file = this.#files.get(fid);
    if (!file) return sw(0x6a82);
    if (fid >> 8 === PREFIX_PROTECTED_DATA && !this.#session.userVerified) return sw(0x6982);
    if (offset > file.length) return sw(this.flavor === 'pico' ? 0x6282 : 0x6b00);
    const le = c.le ?? file.length - offset;
    return ok(file.slice(offset, Math.min(file.length, offset + le)));
  }

  #updateBinary(c: CommandApdu): Reply {
    if (!this.#session.userVerified) return sw(0x6982);
    let fid: number | null;
    let offset: number;
    let data: Uint8Array;
    let create = false;
    if (c.ins === 0xd6) {
      fid = this.#session.currentEf;
      offset = ((c.p1 & 0x7f) << 8) | c.p2;
      data = c.data;
    } else {
      const p1p2 = (c.p1 << 8) | c.p2;
      fid = p1p2 === 0 ? this.#session.currentEf : p1p2;
      let tlvs: Tlv[];
      try {
        tlvs = readAllTlvs(c.data);
      } catch {
        return sw(0x6a80);
      }
      const off = findTlv(tlvs, 0x54);
      const body = findTlv(tlvs, 0x53);
      if (!off || off.value.length === 0 || off.value.length > 2 || !body) return sw(0x6a80);
      offset = Number(bytesToBigInt(off.value));
      data = body.value;
      create = p1p2 !== 0 && offset === 0 && data.length === 0;
    }
    if (fid === null) return sw(0x6986);
    if (isKeyFid(fid) || fid === FID_EF_DIR || fid === FID_DEVICE_CERTIFICATES) return sw(0x6982);
    const existing = this.#files.get(fid);
    if (create) {
      if (existing) return sw(0x6a89);
      if (!isCreatableFid(fid)) return sw(0x6a86);
      this.#files.put(fid, new Uint8Array(0));
      this.#session.currentEf = fid;
      this.#changed();
      return ok();
    }
    if (!existing && !isCreatableFid(fid)) return sw(0x6a82);
    const current = existing ?? new Uint8Array(0);
    if (offset > current.length) return sw(0x6b00);
    if (offset + data.length > MAX_EF_SIZE) return sw(0x6a84);
    let next: Uint8Array;
    if (offset === 0) {
      next = data.slice();
    } else {
      next = new Uint8Array(Math.max(current.length, offset + data.length));
      next.set(current);
      next.set(data, offset);
    }
    this.#files.put(fid, next);
    this.#session.currentEf = fid;
    this.#changed();
    return ok();
  }

  #deleteFile(c: CommandApdu): Reply {
    if (!this.#session.userVerified) return sw(0x6982);
    let fid: number | null;
    if (c.data.length === 0) fid = this.#session.currentEf;
    else if (c.data.length === 2) fid = (c.data[0]! << 8) | c.data[1]!;
    else return sw(0x6700);
    if (fid === null) return sw(0x6986);
    if (fid === 0xcc00 || fid === FID_EF_DIR || fid === FID_DEVICE_CERTIFICATES) return sw(0x6985);
    if (isKeyFid(fid)) {
      const key = this.#keys.get(fid & 0xff);
      if (!key) return sw(0x6a82);
      wipeKey(key);
      this.#keys.delete(fid & 0xff);
    } else if (!this.#files.delete(fid)) {
      return sw(0x6a82);
    }
    if (this.#session.currentEf === fid) this.#session.currentEf = null;
    this.#changed();
    return ok();
  }

  /**
   * ENUMERATE OBJECTS: the 2-byte FIDs of keys and dynamic EFs. sc-hsm: every key and every file
   * with a dynamic prefix, ascending. pico: firmware 6.6's order and selection — C400, CC00,
   * then keys, PRKDs, CDs, DCODs (certificate files are not listed).
   */
  #enumerate(c: CommandApdu): Reply {
    if (c.p1 !== 0 || c.p2 !== 0) return sw(0x6a86);
    const keyFids = [...this.#keys.keys()].sort((a, b) => a - b).map((r) => (PREFIX_KEY << 8) | r);
    const fileFids = this.#files.fids().filter((f) => f >> 8 >= 0xc0);
    let list: number[];
    if (this.flavor === 'pico') {
      const byPrefix = (p: number, skipZero: boolean): number[] =>
        [...keyFids, ...fileFids].filter((f) => f >> 8 === p && !(skipZero && (f & 0xff) === 0));
      list = [
        ...(this.#files.has(0xc400) ? [0xc400] : []),
        ...(this.#keys.has(0) ? [0xcc00] : []),
        ...byPrefix(PREFIX_KEY, true),
        ...byPrefix(PREFIX_PRKD, true),
        ...byPrefix(PREFIX_CD, false),
        ...byPrefix(PREFIX_DCOD, false),
      ];
    } else {
      list = [...keyFids, ...fileFids].sort((a, b) => a - b);
    }
    return ok(Uint8Array.from(list.flatMap((f) => [f >> 8, f & 0xff])));
  }

  #getChallenge(c: CommandApdu): Reply {
    if (c.le === null || c.data.length > 0) return sw(0x6700);
    if (c.le > MAX_CHALLENGE) return sw(0x6700);
    return ok(this.#rng(c.le));
  }

  #getResponse(c: CommandApdu): Reply {
    const pending = this.#session.pending;
    if (!pending) return sw(0x6985);
    const n = Math.min(c.le ?? 256, pending.length);
    const rest = pending.subarray(n);
    this.#session.pending = rest.length > 0 ? rest.slice() : null;
    if (rest.length > 0) return { data: pending.slice(0, n), sw: 0x6100 | (Math.min(rest.length, 256) % 256) };
    return ok(pending.slice(0, n));
  }

  // ---------------------------------------------------------------- initialisation and PINs

  /**
   * INITIALIZE DEVICE (`80 50 00 00`, spec §6). Tags: 80 options(2), 81 user PIN (6..16), 82
   * SO-PIN (8), 91 user PIN retries (1..10), 92 DKEK shares (0 = random DKEK). 93 (public-key
   * authentication), 95/96 (biometric servers) and 97 (key domains) are not emulated: 6A81.
   * Re-initialisation needs the current SO-PIN in tag 82 (a wrong one costs an SO-PIN try:
   * 63Cx, then 6983) and wipes every key but the device key, every host-written file and the DKEK.
   */
  #initialize(c: CommandApdu): Reply {
    if (c.p1 !== 0 || c.p2 !== 0) return sw(0x6a86);
    if (c.data.length === 0) return sw(0x6700);
    let tlvs: Tlv[];
    try {
      tlvs = readAllTlvs(c.data);
    } catch {
      return sw(0x6a80);
    }
    let options = 0x0001;
    let userPin: Uint8Array | undefined;
    let soPin: Uint8Array | undefined;
    let retries = 3;
    let dkekShares: number | undefined;
    for (const t of tlvs) {
      switch (t.tag) {
        case 0x80:
          if (t.value.length !== 2) return sw(0x6a80);
          options = (t.value[0]! << 8) | t.value[1]!;
          break;
        case 0x81:
          if (t.value.length < 6 || t.value.length > 16) return sw(0x6a80);
          userPin = t.value;
          break;
        case 0x82:
          if (t.value.length !== 8) return sw(0x6a80);
          soPin = t.value;
          break;
        case 0x91:
          if (t.value.length !== 1 || t.value[0]! < 1 || t.value[0]! > 10) return sw(0x6a80);
          retries = t.value[0]!;
          break;
        case 0x92:
          if (t.value.length !== 1) return sw(0x6a80);
          dkekShares = t.value[0]!;
          break;
        case 0x93:
        case 0x95:
        case 0x96:
        case 0x97:
          return sw(0x6a81);
        default:
          return sw(0x6a80);
      }
    }
    if (!userPin || !soPin) return sw(0x6a80);
    if (this.#initialized) {
      const check = checkPin(this.#soPin, soPin);
      this.#changed();
      if (check.result !== 'ok') return sw(pinCheckSw(check));
    }
    // Wipe what the previous life left: user keys, host files, DKEK.
    for (const [ref, key] of this.#keys) {
      if (ref !== 0) {
        wipeKey(key);
        this.#keys.delete(ref);
      }
    }
    const keep = this.flavor === 'pico' ? [FID_EF_DIR, FID_DEVICE_CERTIFICATES, FID_TOKEN_INFO, 0xc400, 0xce00] : [FID_EF_DIR, FID_DEVICE_CERTIFICATES];
    this.#files.retain((fid) => keep.includes(fid));
    wipe(this.#dkek.value);
    this.#dkek = noDkek();
    if (dkekShares === 0) {
      this.#dkek = { mode: 'random', total: 0, imported: 0, value: this.#rng(32), pendingCommit: false };
    } else if (dkekShares !== undefined) {
      this.#dkek = { mode: 'shares', total: dkekShares, imported: 0, value: new Uint8Array(32), pendingCommit: false };
    }
    this.#options = options;
    this.#transportPin = (options & 0x0002) !== 0;
    setPin(this.#userPin, userPin, retries);
    setPin(this.#soPin, soPin, SO_PIN_RETRIES);
    this.#initialized = true;
    // Pico HSM 6.6 treats the initialising host as logged in ("has all credentials").
    const picoLogin = this.flavor === 'pico';
    this.#session.userVerified = picoLogin;
    this.#session.pinSession = picoLogin;
    this.#session.soVerified = false;
    this.#session.currentEf = null;
    this.#changed();
    return ok();
  }

  #pinByRef(ref: number): PinState | undefined {
    if (ref === 0x81) return this.#userPin;
    if (ref === 0x88) return this.#soPin;
    return undefined;
  }

  /**
   * VERIFY (`00 20 00 <ref>`). Without data: PIN status (9000 verified this session, 63Cx, 6983,
   * 6A88). With data: compare (9000 / 63Cx / 6983). References other than 81 and 88 — OpenSC
   * probes 85 and 86 — answer 6A88. A transport PIN answers 6984 until changed.
   */
  #verify(c: CommandApdu): Reply {
    if (c.p1 !== 0) return sw(0x6a86);
    const pin = this.#pinByRef(c.p2);
    if (!pin || pin.value === null) return sw(0x6a88);
    const isUser = c.p2 === 0x81;
    if (isUser && this.#transportPin) return sw(0x6984);
    if (c.data.length === 0) {
      const verified = isUser ? this.#session.userVerified : this.#session.soVerified;
      if (verified && pin.remaining > 0) return ok();
      return sw(pinStatusSw(pin));
    }
    if (c.data.length > 16) return sw(0x6700);
    const check = checkPin(pin, c.data);
    this.#changed();
    if (isUser) {
      this.#session.userVerified = check.result === 'ok';
      if (check.result === 'ok') {
        this.#session.pinSession = true;
        if (this.flavor === 'pico') commitPending(this.#dkek);
      }
    } else {
      this.#session.soVerified = check.result === 'ok';
    }
    return sw(pinCheckSw(check));
  }

  /** CHANGE REFERENCE DATA (`00 24 00 <81|88>`, data = old PIN || new PIN). */
  #changeReferenceData(c: CommandApdu): Reply {
    if (c.p1 !== 0) return sw(0x6a86);
    const pin = this.#pinByRef(c.p2);
    if (!pin || pin.value === null) return sw(0x6a88);
    const oldLength = pin.value.length;
    if (c.data.length <= oldLength) return sw(0x6700);
    const oldPin = c.data.subarray(0, oldLength);
    const newPin = c.data.subarray(oldLength);
    if (c.p2 === 0x81 ? newPin.length < 6 || newPin.length > 16 : newPin.length !== 8) return sw(0x6a80);
    const check = checkPin(pin, oldPin);
    this.#changed();
    if (check.result !== 'ok') {
      if (c.p2 === 0x81) this.#session.userVerified = false;
      return sw(pinCheckSw(check));
    }
    setPin(pin, newPin);
    if (c.p2 === 0x81) {
      this.#transportPin = false;
      this.#session.userVerified = true;
      this.#session.pinSession = true;
      if (this.flavor === 'pico') commitPending(this.#dkek);
    } else {
      this.#session.soVerified = true;
    }
    return ok();
  }

  /**
   * RESET RETRY COUNTER (`00 2C <P1> 81`), allowed when INITIALIZE options bit 0 is set.
   * P1 00: data = SO-PIN(8) || new user PIN; P1 01: data = SO-PIN(8), unblock only.
   * Session-SO variants (P1 02/03) are not emulated (6A81).
   */
  #resetRetryCounter(c: CommandApdu): Reply {
    if (c.p2 !== 0x81 || !this.#initialized) return sw(0x6a88);
    if ((this.#options & 0x0001) === 0) return sw(0x6986);
    if (c.p1 === 0x02 || c.p1 === 0x03) return sw(0x6a81);
    if (c.p1 !== 0x00 && c.p1 !== 0x01) return sw(0x6a86);
    if (c.p1 === 0x00 ? c.data.length <= 8 : c.data.length !== 8) return sw(0x6700);
    const newPin = c.data.subarray(8);
    if (c.p1 === 0x00 && (newPin.length < 6 || newPin.length > 16)) return sw(0x6a80);
    const check = checkPin(this.#soPin, c.data.subarray(0, 8));
    this.#changed();
    if (check.result !== 'ok') return sw(pinCheckSw(check));
    if (c.p1 === 0x00) {
      setPin(this.#userPin, newPin);
      this.#transportPin = false;
      if (this.flavor === 'pico') this.#session.pinSession = true;
    } else {
      this.#userPin.remaining = this.#userPin.max;
    }
    return ok();
  }

  // ---------------------------------------------------------------- DKEK and key transport

  /**
   * IMPORT DKEK SHARE / DKEK status (`80 52 00 00`). Key domains (P1 1..4, P2 ≠ 0) are not
   * emulated. No user PIN is needed (sc-hsm-tool never logs in for it, spec §7).
   */
  #dkekShare(c: CommandApdu): Reply {
    if (c.p1 >= 1 && c.p1 <= 4) return sw(0x6a81);
    if (c.p1 !== 0 || c.p2 !== 0) return sw(0x6a86);
    if (!this.#initialized) return sw(0x6985);
    if (c.data.length !== 0 && c.data.length !== 32) return sw(0x6700);
    if (c.data.length === 32) {
      if (importShare(this.#dkek, c.data, this.flavor, this.#session.pinSession) === 'not-expected') return sw(0x6986);
      this.#changed();
    }
    return ok(dkekStatus(this.#dkek, this.flavor, this.#session.pinSession));
  }

  /**
   * WRAP KEY (`80 72 <ref> 92`): the key blob under the DKEK. sc-hsm flavor writes what a real
   * SmartCard-HSM writes (full-length EC components, RSA ≤ 2048 bits in CRT form, ISO padding);
   * pico flavor what Pico HSM writes (minimal components, RSA type 5, padding only if needed).
   */
  #wrapKey(c: CommandApdu): Reply {
    if (c.p2 !== 0x92) return sw(0x6a86);
    if (!this.#session.userVerified) return sw(0x6982);
    const key = this.#keys.get(c.p1);
    if (!key) return sw(0x6a88);
    if (!key.exportable) return sw(0x6985);
    const dkek = dkekValue(this.#dkek);
    if (!dkek) return sw(0x6a88);
    if (key.algorithms.length > 0 && !key.algorithms.includes(0x92)) return sw(0x6985);
    if (this.flavor === 'pico' && !this.#files.has((PREFIX_PRKD << 8) | c.p1)) return sw(0x6a82);
    const style = this.flavor === 'pico' ? 'pico' : 'cardcontact';
    const blobKey = toBlobKey(key, style);
    try {
      return ok(encodeKeyBlob(blobKey, dkek, { rng: this.#rng, style, allowedAlgorithms: key.algorithms }));
    } finally {
      wipeBlobKey(blobKey);
    }
  }

  /**
   * UNWRAP KEY (`80 74 <ref> 93`), blob inline (OpenSC ≤ 0.23, extended case 3) or staged in EF
   * 2F10 (OpenSC ≥ 0.24, case 1). The card checks KCV, CMAC, key type and algorithm OID and the
   * key's own consistency before it stores anything; a refusal changes nothing (sc-hsm: 6A80,
   * no/incomplete DKEK 6A88; pico: 6400 like the firmware, but without its key-domain damage).
   * On success it also writes a firmware-style PRKD (C4xx) and CV request (CExx), as Pico HSM
   * does (spec §9), which sc-hsm-tool then replaces.
   */
  #unwrapKey(c: CommandApdu): Reply {
    if (c.p2 !== 0x93 || c.p1 === 0) return sw(0x6a86);
    if (!this.#session.userVerified) return sw(0x6982);
    const staged = c.data.length === 0;
    const blob = staged ? this.#files.get(FID_UNWRAP_STAGING) : c.data;
    if (!blob || blob.length === 0) return sw(0x6a82);
    const pico = this.flavor === 'pico';
    const dkek = dkekValue(this.#dkek);
    if (!dkek) return sw(pico ? 0x6400 : 0x6a88);
    let decrypted;
    try {
      decrypted = decryptKeyBlob(blob, dkek);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (pico) return sw(code === 'BLOB_MALFORMED' ? 0x6984 : 0x6400);
      return sw(code === 'BLOB_UNKNOWN_CURVE' ? 0x6a81 : 0x6a80);
    }
    let key: EcCardKey | RsaCardKey | undefined;
    try {
      if (decrypted.key.type === 'aes') return sw(pico ? 0x6400 : 0x6a81);
      key = fromBlobKey(decrypted.key);
    } finally {
      wipeBlobKey(decrypted.key);
    }
    if (!key) return sw(pico ? 0x6400 : 0x6a80);
    const ref = c.p1;
    const old = this.#keys.get(ref);
    if (old) wipeKey(old);
    const stored: CardKey = { ...key, algorithms: decrypted.allowedAlgorithms.slice(), exportable: true };
    this.#keys.set(ref, stored);
    this.#files.put((PREFIX_PRKD << 8) | ref, encodePicoPrkd({ keyType: key.kind, keySize: keySizeBits(key), keyReference: ref }));
    this.#files.put((PREFIX_EE_CERT << 8) | ref, this.#keyRequest(key, this.#deviceChr, this.#deviceChr, undefined));
    if (staged && !pico) this.#files.delete(FID_UNWRAP_STAGING);
    this.#changed();
    return ok();
  }

  /** The authenticated CV request for a key (GENERATE answer, CExx after UNWRAP). */
  #keyRequest(key: EcCardKey | RsaCardKey, car: string, chr: string, oid: Uint8Array | undefined): Uint8Array {
    const body = encodeCvBody({ car, publicKey: publicKeyTemplate(key, oid), chr });
    const request = signCvBody(body, cvSigner(key, this.#rng));
    const device = this.#keys.get(0)!;
    return encodeAuthenticatedCvRequest(request, this.#deviceChr, cvSigner(device as EcCardKey, this.#rng));
  }

  /**
   * GENERATE ASYMMETRIC KEY PAIR (`00 46 <ref> 00`, extended case 4) with OpenSC's CV body
   * template: 5F29, 42 CAR, 7F49 {06 OID, EC: 81 P … 87 cofactor | RSA: 82 e, 02 bits}, 5F20 CHR;
   * optional 91 allowed algorithms. Answers the authenticated request `67`. EC curves: any in
   * protocol/dkek/ec-curve.ts (recognised by the prime); RSA 1024..4096.
   */
  #generateKeyPair(c: CommandApdu): Reply {
    if (c.p1 === 0 || c.p2 !== 0) return sw(0x6a86);
    if (!this.#session.userVerified) return sw(0x6982);
    let tlvs: Tlv[];
    let pub: Tlv[];
    try {
      tlvs = readAllTlvs(c.data);
      const t = findTlv(tlvs, 0x7f49);
      if (!t) return sw(0x6a80);
      pub = readAllTlvs(t.value);
    } catch {
      return sw(0x6a80);
    }
    const oid = findTlv(pub, 0x06)?.value;
    if (!oid) return sw(0x6a80);
    const allowed = findTlv(tlvs, 0x91)?.value ?? new Uint8Array(0);
    let key: EcCardKey | RsaCardKey;
    if (startsWith(oid, OID_TA_ECDSA_PREFIX)) {
      const p = findTlv(pub, 0x81)?.value;
      if (!p) return sw(0x6a80);
      const curve = findEcCurve({ p, a: findTlv(pub, 0x82)?.value, b: findTlv(pub, 0x83)?.value, n: findTlv(pub, 0x85)?.value, g: findTlv(pub, 0x84)?.value });
      if (!curve) return sw(0x6a81);
      key = generateEcKey(curve.name, this.#rng);
    } else if (startsWith(oid, OID_TA_RSA_PREFIX)) {
      const eBytes = findTlv(pub, 0x82)?.value;
      const bitsBytes = findTlv(pub, 0x02)?.value;
      const e = eBytes && eBytes.length > 0 ? bytesToBigInt(eBytes) : 65537n;
      const bits = bitsBytes && bitsBytes.length > 0 ? Number(bytesToBigInt(bitsBytes)) : 2048;
      if (!RSA_KEY_SIZES.includes(bits)) return sw(0x6a81);
      if (e < 3n || (e & 1n) === 0n || (eBytes?.length ?? 0) > 32) return sw(0x6a80);
      key = { kind: 'rsa', rsa: generateRsaKey(bits, e, this.#rng) };
    } else {
      return sw(0x6a80);
    }
    const car = cvReference(findTlv(tlvs, 0x42)?.value, this.#deviceChr);
    const chr = cvReference(findTlv(tlvs, 0x5f20)?.value, this.#deviceChr);
    if (car === undefined || chr === undefined) return sw(0x6a80);
    const response = this.#keyRequest(key, car, chr, oid.slice());
    const ref = c.p1;
    const old = this.#keys.get(ref);
    if (old) wipeKey(old);
    this.#keys.set(ref, { ...key, algorithms: allowed.slice(), exportable: true });
    if (this.flavor === 'pico') {
      this.#files.put((PREFIX_PRKD << 8) | ref, encodePicoPrkd({ keyType: key.kind, keySize: keySizeBits(key), keyReference: ref }));
      this.#files.put((PREFIX_EE_CERT << 8) | ref, response);
    }
    this.#changed();
    return ok(response);
  }

  /** SIGN (`80 68 <ref> <alg>`); algorithms in sign.ts. */
  #sign(c: CommandApdu): Reply {
    if (!this.#session.userVerified) return sw(0x6982);
    const key = this.#keys.get(c.p1);
    if (!key) return sw(0x6a88);
    if (c.p1 === 0) return sw(0x6985);
    if (key.algorithms.length > 0 && !key.algorithms.includes(c.p2)) return sw(0x6985);
    const r = signWith(key, c.p2, c.data, this.#rng);
    if (!r.ok) return sw(r.refusal === 'unsupported-algorithm' ? 0x6a86 : 0x6a80);
    return ok(r.signature);
  }

  // ---------------------------------------------------------------- test and tooling access

  /** The KCV of the complete DKEK, or undefined (for tests; not an APDU). */
  dkekKcvForTests(): Uint8Array | undefined {
    const v = dkekValue(this.#dkek);
    return v ? dkekStatus(this.#dkek, 'sc-hsm', true).slice(2) : undefined;
  }

  /** Key references present, device key included (for tests). */
  keyRefsForTests(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }
}

/** A CAR/CHR from a template (1..16 printable ASCII), the fallback when absent, undefined if invalid. */
function cvReference(raw: Uint8Array | undefined, fallback: string): string | undefined {
  if (raw === undefined) return fallback;
  if (raw.length < 1 || raw.length > 16 || raw.some((b) => b < 0x20 || b > 0x7e)) return undefined;
  return String.fromCharCode(...raw);
}

function startsWith(a: Uint8Array, prefix: Uint8Array): boolean {
  return a.length >= prefix.length && equalBytes(a.subarray(0, prefix.length), prefix);
}

/** Offset from a `54 <1-2 bytes>` TLV at the start of READ BINARY (odd INS) data. */
function parseOffsetTlv(data: Uint8Array): number | undefined {
  if (data.length < 3 || data[0] !== 0x54) return undefined;
  const n = data[1]!;
  if (n < 1 || n > 2 || data.length < 2 + n) return undefined;
  return n === 1 ? data[2]! : (data[2]! << 8) | data[3]!;
}

function cloneKey(k: CardKey): CardKey {
  const base = { algorithms: k.algorithms.slice(), exportable: k.exportable };
  if (k.kind === 'ec') return { kind: 'ec', curve: k.curve, d: k.d.slice(), q: k.q.slice(), ...base };
  return { kind: 'rsa', rsa: { ...k.rsa }, ...base };
}

function wipeKey(k: CardKey): void {
  if (k.kind === 'ec') wipe(k.d);
}
