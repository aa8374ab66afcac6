/**
 * The SmartCard-HSM command subset hsm-ceremony uses, typed, over any `CardTransport`. Byte for
 * byte what OpenSC 0.23 (sc-hsm-tool, pkcs15-tool, pkcs11-tool) sends, as seen in
 * `shared/fixtures/opensc-pico/apdu-trace.txt`; docs/card-commands.md documents every command,
 * its answer and what it changes on the card.
 *
 * Rules kept here:
 * - Status words other than success become `CardError`s worded for the command (status-words.ts).
 * - Arguments are checked before any APDU: TypeError for a wrong type, RangeError for a size that a
 *   program got wrong, usage CeremonyErrors for what a person typed (PIN lengths, SO-PIN format).
 * - PINs, SO-PINs, DKEK shares and wrapped keys are Uint8Array; copies made here are wiped; the
 *   APDUs carrying them are redacted in the trace (apdu-channel.ts).
 */
import { concatBytes, fromHex, toHex, u16be, wipe } from '../../protocol/bytes.ts';
import { encodeTlv, findTlv, readAllTlvs, readTlv } from '../../protocol/der.ts';
import { checkFailed, deviceError } from '../../protocol/errors.ts';
import type { CommandApdu, ResponseApdu } from './apdu.ts';
import { ApduChannel, type ApduTraceHook, type Secrecy } from './apdu-channel.ts';
import { parseAppletInfo, parseFileControl, type AppletInfo, type FileControl } from './file-control.ts';
import { checkUserPin, encodeInitializeData, parseSoPin, type InitializeOptions } from './initialize-options.ts';
import { encodeKeyGenerationTemplate, type KeyGenerationNames, type KeyPairSpec } from './key-generation.ts';
import { listKeys, type KeyDecoders, type KeyListing } from './key-list.ts';
import { CardError, SW_END_OF_FILE, SW_OK, triesLeftFromSw, type CardErrorContext } from './status-words.ts';
import type { CardTransport } from './transport.ts';

/** The SmartCard-HSM application identifier (spec §3). */
export const SC_HSM_AID: Uint8Array = fromHex('E82B0601040181C31F0201');

/** File identifier prefixes (card-sc-hsm.h, spec §3). */
export const FID_PREFIX = {
  KEY: 0xcc,
  PRKD: 0xc4,
  CD: 0xc8,
  DCOD: 0xc9,
  CA_CERT: 0xca,
  PIN_PROTECTED_DATA: 0xcd,
  EE_CERT: 0xce,
  PUBLIC_DATA: 0xcf,
} as const;

/** Fixed elementary files. */
export const EF_DEVICE_CERTS = 0x2f02;
export const EF_TOKEN_INFO = 0x2f03;
export const EF_UNWRAP_STAGING = 0x2f10;

/** PIN references (P2 of VERIFY and friends). */
const PIN_REF = { user: 0x81, so: 0x88 } as const;
export type PinReference = keyof typeof PIN_REF;

/** Largest GET CHALLENGE the OpenSC driver asks for in one command. */
export const MAX_CHALLENGE = 1024;

/**
 * Where a PIN stands:
 * - `verified`: this session has verified it (user PIN only);
 * - `not-verified`: usable, `triesLeft` wrong tries before it blocks;
 * - `blocked`: no tries left;
 * - `transport`: a transport PIN that must be changed first (or, on 1.x firmware, not initialised);
 * - `not-initialized`: the device was never initialised (SO-PIN status answers `6A 88`).
 */
export type PinState = 'verified' | 'not-verified' | 'blocked' | 'transport' | 'not-initialized';

export interface PinStatus {
  pin: PinReference;
  state: PinState;
  /** tries left when the card says so (`63Cx`), else null */
  triesLeft: number | null;
  /** the raw status word */
  sw: number;
}

/** The DKEK status answer (spec §3 "DKEK status/import response"). */
export interface DkekStatus {
  /** shares the device was initialised to expect (0 for a random DKEK) */
  total: number;
  /** shares still to import */
  outstanding: number;
  /** the 8-byte key check value as the card reports it */
  kcv: Uint8Array;
  /**
   * false when the card reports an all-zero KCV: Pico HSM does so until the user PIN is verified
   * in the session, and any device does while shares are outstanding
   */
  kcvKnown: boolean;
  /** bytes after the first ten (Pico HSM appends the key domain's UID); usually empty */
  extra: Uint8Array;
}

export interface FileInfo extends FileControl {
  /** the file identifier that was selected */
  selected: number;
}

export interface TokenInfo {
  /** token label (tag `80`), or null */
  label: string | null;
  /** manufacturer ID (tag `0C`), or null */
  manufacturer: string | null;
  /** serial number (tag `04`) as hex, or null */
  serial: string | null;
  /** the raw EF.TokenInfo */
  raw: Uint8Array;
}

export interface SmartCardHsmOptions {
  /** receives every exchange with secret data redacted */
  trace?: ApduTraceHook;
  /**
   * whether the reader carries extended-length APDUs (default true). When false, ENUMERATE
   * OBJECTS asks with a short Le and UPDATE BINARY chunks shrink to fit 255 bytes.
   */
  extendedLength?: boolean;
  /** data bytes per UPDATE BINARY chunk; default 255 with extended length (OpenSC 0.23), else 248 */
  writeChunkSize?: number;
}

export interface UnwrapOptions {
  /**
   * stage the blob in EF 2F10 with UPDATE BINARY and send a case-1 UNWRAP (OpenSC ≥ 0.24), instead
   * of one extended case-3 UNWRAP carrying the blob (OpenSC ≤ 0.23). Default false.
   */
  staged?: boolean;
  /**
   * read the DKEK status first and refuse when the DKEK is incomplete, its KCV unknown, or the
   * blob's KCV differs (default true). Pico HSM corrupts its key-domain table on an UNWRAP under a
   * foreign DKEK (answer `64 00`), so this check is the only safe order.
   */
  checkKcv?: boolean;
}

function requireBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

function requireByte(value: unknown, what: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${what} must be an integer`);
  if (value < min || value > max) throw new RangeError(`${what} must be ${min}..${max}, got ${value}`);
}

function requireFid(fid: unknown): asserts fid is number {
  requireByte(fid, 'fid', 0, 0xffff);
}

function fidHex(fid: number): string {
  return toHex(u16be(fid)).toUpperCase();
}

/** BER length for the `53` tag of UPDATE BINARY: 1 byte below 128, `81 xx` below 256, else `82 xx xx`. */
function berLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  return Uint8Array.of(0x82, n >> 8, n & 0xff);
}

const EMPTY = new Uint8Array(0);

/**
 * Typed SmartCard-HSM commands. Create one per connected card; call `selectApplet()` first (the
 * applet must be selected before any other command, and again after a card reset).
 */
export class SmartCardHsm {
  readonly channel: ApduChannel;
  private readonly extendedLength: boolean;
  private readonly writeChunkSize: number;

  constructor(transport: CardTransport, options: SmartCardHsmOptions = {}) {
    this.channel = new ApduChannel(transport, options.trace ? { trace: options.trace } : {});
    this.extendedLength = options.extendedLength ?? true;
    const maxChunk = this.extendedLength ? 0xffff - 8 : 248;
    const chunk = options.writeChunkSize ?? (this.extendedLength ? 255 : 248);
    requireByte(chunk, 'writeChunkSize', 1, maxChunk);
    this.writeChunkSize = chunk;
  }

  private async send(c: CommandApdu, label: string, secret: Secrecy = 'none'): Promise<ResponseApdu> {
    return this.channel.send(c, { label, secret });
  }

  private static check(r: ResponseApdu, context: CardErrorContext): Uint8Array {
    if (r.sw !== SW_OK) throw new CardError(r.sw, context);
    return r.data;
  }

  // ---------------------------------------------------------------------------------------------
  // Applet, randomness

  /**
   * SELECT the SmartCard-HSM applet: `00 A4 04 00 0B <AID> 00`.
   *
   * @throws CardError CARD_FILE_NOT_FOUND (worded "no SmartCard-HSM applet") when the card is not one
   * @throws CeremonyError device BAD_FCP when the answer is not an FCP/FCI template
   */
  async selectApplet(): Promise<AppletInfo> {
    const r = await this.send({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: SC_HSM_AID, le: 256 }, 'SELECT SmartCard-HSM applet');
    const data = SmartCardHsm.check(r, {
      command: 'SELECT SmartCard-HSM applet',
      overrides: {
        0x6a82: {
          meaning: 'this card has no SmartCard-HSM applet',
          hint: 'use a SmartCard-HSM, Nitrokey HSM or Pico HSM, or pick another reader with --reader',
        },
      },
    });
    return parseAppletInfo(data);
  }

  /**
   * GET CHALLENGE: `n` random bytes from the card's generator (`00 84 00 00 <Le>`, extended Le above
   * 256). Mark the answer `secret` when it becomes key material (a DKEK share) so the trace never
   * shows it.
   *
   * @throws {RangeError} unless 1 ≤ n ≤ 1024
   * @throws CeremonyError device SHORT_CHALLENGE if the card returns fewer bytes
   */
  async getChallenge(n: number, options: { secret?: boolean } = {}): Promise<Uint8Array> {
    requireByte(n, 'n', 1, MAX_CHALLENGE);
    const r = await this.send({ cla: 0x00, ins: 0x84, p1: 0, p2: 0, data: EMPTY, le: n }, 'GET CHALLENGE', options.secret ? 'response' : 'none');
    const data = SmartCardHsm.check(r, { command: 'GET CHALLENGE' });
    if (data.length !== n) {
      wipe(data);
      throw deviceError('SHORT_CHALLENGE', `the card returned ${data.length} random bytes instead of ${n}`, {
        hint: 'retry; if it repeats the device is not usable for a ceremony',
      });
    }
    return data;
  }

  // ---------------------------------------------------------------------------------------------
  // Initialisation and PINs

  /**
   * INITIALIZE DEVICE (`80 50 00 00 Lc <TLVs>`) with sc-hsm-tool's TLVs, then, if a label is given,
   * VERIFY with the new PIN and write EF.TokenInfo (`30 L 02 01 00 80 <label> 03 02 05 20`).
   * All options are checked before the first APDU. This erases every key on the device.
   *
   * @throws CeremonyError usage (USER_PIN_LENGTH, SO_PIN_FORMAT, RETRY_COUNTER_RANGE, DKEK_SHARES_RANGE, LABEL_LENGTH)
   * @throws CardError when the card refuses (wrong SO-PIN on a card initialised before)
   */
  async initialize(options: InitializeOptions): Promise<void> {
    const data = encodeInitializeData(options);
    try {
      const r = await this.send({ cla: 0x80, ins: 0x50, p1: 0, p2: 0, data, le: null }, 'INITIALIZE DEVICE');
      const wrongSoPin = {
        meaning: 'the SO-PIN does not match the one this device was initialised with',
        hint: 'give the current SO-PIN; a device re-initialised without it is not possible',
      };
      SmartCardHsm.check(r, { command: 'INITIALIZE DEVICE', overrides: { 0x6982: wrongSoPin, 0x6300: wrongSoPin, 0x6985: wrongSoPin } });
    } finally {
      wipe(data);
    }
    if (options.label !== undefined) {
      await this.verifyPin(options.userPin);
      const label = new TextEncoder().encode(options.label);
      const tokenInfo = encodeTlv(0x30, Uint8Array.of(0x02, 0x01, 0x00), encodeTlv(0x80, label), Uint8Array.of(0x03, 0x02, 0x05, 0x20));
      await this.updateBinary(EF_TOKEN_INFO, tokenInfo);
    }
  }

  /**
   * The status of a PIN without presenting it: VERIFY case 1 (`00 20 00 81` / `00 20 00 88`).
   *
   * @throws CardError for answers other than 9000, 63Cx, 6983, 6984, 6A88
   */
  async pinStatus(pin: PinReference = 'user'): Promise<PinStatus> {
    const ref = PIN_REF[pin];
    if (ref === undefined) throw new TypeError(`pin must be 'user' or 'so'`);
    const label = `PIN STATUS ${pin === 'user' ? 'user PIN' : 'SO-PIN'}`;
    const r = await this.send({ cla: 0x00, ins: 0x20, p1: 0, p2: ref, data: EMPTY, le: null }, label);
    const tries = triesLeftFromSw(r.sw);
    let state: PinState;
    if (r.sw === SW_OK) state = 'verified';
    else if (tries !== null) state = tries === 0 ? 'blocked' : 'not-verified';
    else if (r.sw === 0x6983) state = 'blocked';
    else if (r.sw === 0x6984) state = 'transport';
    else if (r.sw === 0x6a88) state = 'not-initialized';
    else throw new CardError(r.sw, { command: label });
    return { pin, state, triesLeft: tries, sw: r.sw };
  }

  /**
   * VERIFY the user PIN: `00 20 00 81 Lc <PIN>`, no padding. The PIN is not modified or kept.
   *
   * @throws {TypeError} if `pin` is not a Uint8Array
   * @throws CeremonyError usage USER_PIN_LENGTH
   * @throws CardError kind 'check' CARD_WRONG_PIN (with `triesLeft`), device CARD_PIN_BLOCKED, CARD_PIN_NOT_USABLE
   */
  async verifyPin(pin: Uint8Array): Promise<void> {
    checkUserPin(pin);
    const data = pin.slice();
    try {
      const r = await this.send({ cla: 0x00, ins: 0x20, p1: 0, p2: PIN_REF.user, data, le: null }, 'VERIFY user PIN');
      SmartCardHsm.check(r, {
        command: 'VERIFY user PIN',
        overrides: { 0x6a88: { meaning: 'the device has no user PIN yet', hint: 'initialise the device first' } },
      });
    } finally {
      wipe(data);
    }
  }

  /**
   * CHANGE REFERENCE DATA for the user PIN: `00 24 00 81 Lc <old PIN><new PIN>`. Also how a
   * transport PIN is replaced.
   *
   * @throws CeremonyError usage USER_PIN_LENGTH (either PIN)
   * @throws CardError CARD_WRONG_PIN (kind 'check') and the other PIN errors
   */
  async changePin(oldPin: Uint8Array, newPin: Uint8Array): Promise<void> {
    checkUserPin(oldPin, 'current user PIN');
    checkUserPin(newPin, 'new user PIN');
    const data = concatBytes(oldPin, newPin);
    try {
      const r = await this.send({ cla: 0x00, ins: 0x24, p1: 0, p2: PIN_REF.user, data, le: null }, 'CHANGE user PIN');
      SmartCardHsm.check(r, { command: 'CHANGE user PIN' });
    } finally {
      wipe(data);
    }
  }

  /**
   * CHANGE REFERENCE DATA for the SO-PIN: `00 24 00 88 10 <old 8 bytes><new 8 bytes>`. Both are
   * taken as typed (16 hex digits each).
   *
   * @throws CeremonyError usage SO_PIN_FORMAT
   * @throws CardError CARD_WRONG_PIN (kind 'check'), CARD_PIN_BLOCKED
   */
  async changeSoPin(oldSoPin: Uint8Array, newSoPin: Uint8Array): Promise<void> {
    const oldBytes = parseSoPin(oldSoPin);
    let newBytes: Uint8Array | undefined;
    let data: Uint8Array | undefined;
    try {
      newBytes = parseSoPin(newSoPin);
      data = concatBytes(oldBytes, newBytes);
      const r = await this.send({ cla: 0x00, ins: 0x24, p1: 0, p2: PIN_REF.so, data, le: null }, 'CHANGE SO-PIN');
      SmartCardHsm.check(r, { command: 'CHANGE SO-PIN' });
    } finally {
      wipe(oldBytes, newBytes, data);
    }
  }

  /**
   * RESET RETRY COUNTER of the user PIN with the SO-PIN: `00 2C 00 81 Lc <SO-PIN 8 bytes><new PIN>`
   * sets a new PIN; without `newPin`, `00 2C 01 81 08 <SO-PIN>` only resets the counter. Needs the
   * device initialised with options bit 0 (sc-hsm-tool always sets it).
   *
   * @throws CeremonyError usage SO_PIN_FORMAT, USER_PIN_LENGTH
   * @throws CardError CARD_WRONG_PIN for a wrong SO-PIN (kind 'check'), CARD_PIN_BLOCKED for a blocked SO-PIN
   */
  async unblockPin(soPin: Uint8Array, newPin?: Uint8Array): Promise<void> {
    if (newPin !== undefined) checkUserPin(newPin, 'new user PIN');
    const so = parseSoPin(soPin);
    const data = newPin === undefined ? so.slice() : concatBytes(so, newPin);
    try {
      const r = await this.send({ cla: 0x00, ins: 0x2c, p1: newPin === undefined ? 0x01 : 0x00, p2: PIN_REF.user, data, le: null }, 'RESET RETRY COUNTER');
      SmartCardHsm.check(r, {
        command: 'RESET RETRY COUNTER',
        overrides: {
          0x6985: { meaning: 'this device does not allow the user PIN to be reset with the SO-PIN', hint: 'the device was initialised without that option; re-initialise it' },
          0x6983: { meaning: 'the SO-PIN is blocked', hint: 'a blocked SO-PIN cannot be unblocked; the device must be re-initialised by its vendor tools' },
        },
      });
    } finally {
      wipe(so, data);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // DKEK

  private static parseDkekAnswer(data: Uint8Array, command: string): DkekStatus {
    if (data.length < 10) {
      throw deviceError('BAD_DKEK_STATUS', `${command}: the card answered ${data.length} bytes, expected at least 10`, {
        hint: 'the device may not support DKEK shares; check its firmware',
      });
    }
    const kcv = data.slice(2, 10);
    return {
      total: data[0]!,
      outstanding: data[1]!,
      kcv,
      kcvKnown: kcv.some((b) => b !== 0),
      extra: data.slice(10),
    };
  }

  private static readonly DKEK_OVERRIDES = {
    0x6d00: {
      meaning: 'the device does not support DKEK shares or was not initialised for them',
      hint: 'initialise the device with a number of DKEK shares',
    },
  } as const;

  /**
   * DKEK status: `80 52 00 00 00`.
   *
   * @throws CardError CARD_INS_NOT_SUPPORTED when the device has no DKEK set up
   * @throws CeremonyError device BAD_DKEK_STATUS for an answer shorter than 10 bytes
   */
  async dkekStatus(): Promise<DkekStatus> {
    const r = await this.send({ cla: 0x80, ins: 0x52, p1: 0, p2: 0, data: EMPTY, le: 256 }, 'DKEK STATUS');
    const data = SmartCardHsm.check(r, { command: 'DKEK STATUS', overrides: SmartCardHsm.DKEK_OVERRIDES });
    return SmartCardHsm.parseDkekAnswer(data, 'DKEK STATUS');
  }

  /**
   * IMPORT DKEK SHARE: `80 52 00 00 20 <32-byte share> 00`. Returns the status after the import.
   * The share is not modified; the APDU buffer holding it is wiped and redacted in the trace.
   *
   * @throws {TypeError|RangeError} unless `share` is a 32-byte Uint8Array
   * @throws CardError CARD_COMMAND_NOT_ALLOWED (`69 86`: all shares already imported), CARD_INS_NOT_SUPPORTED
   */
  async importDkekShare(share: Uint8Array): Promise<DkekStatus> {
    requireBytes(share, 'share');
    if (share.length !== 32) throw new RangeError(`share must be 32 bytes, got ${share.length}`);
    const data = share.slice();
    try {
      const r = await this.send({ cla: 0x80, ins: 0x52, p1: 0, p2: 0, data, le: 256 }, 'IMPORT DKEK SHARE');
      const answer = SmartCardHsm.check(r, {
        command: 'IMPORT DKEK SHARE',
        overrides: {
          ...SmartCardHsm.DKEK_OVERRIDES,
          0x6986: { meaning: 'every DKEK share this device expects is already imported', hint: 'read the DKEK status; to start over the device must be re-initialised' },
        },
      });
      return SmartCardHsm.parseDkekAnswer(answer, 'IMPORT DKEK SHARE');
    } finally {
      wipe(data);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Files

  /**
   * ENUMERATE OBJECTS: `80 58 00 00 00 00 00` (extended Le), or `80 58 00 00 00` without extended
   * length. Returns the file identifiers in the card's order.
   *
   * @throws CeremonyError device BAD_OBJECT_LIST for an odd-length answer
   */
  async enumerateObjects(): Promise<number[]> {
    const c: CommandApdu = { cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: EMPTY, le: this.extendedLength ? 65536 : 256 };
    let r = await this.send(c, 'ENUMERATE OBJECTS');
    if (r.sw === 0x6700 && this.extendedLength) r = await this.send({ ...c, le: 256 }, 'ENUMERATE OBJECTS');
    const data = SmartCardHsm.check(r, { command: 'ENUMERATE OBJECTS' });
    if (data.length % 2 !== 0) {
      throw deviceError('BAD_OBJECT_LIST', `ENUMERATE OBJECTS: the card answered ${data.length} bytes, not a list of 2-byte identifiers`, {
        hint: 'retry; if it repeats report it with an APDU trace',
      });
    }
    const out: number[] = [];
    for (let i = 0; i < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
    return out;
  }

  /**
   * SELECT an elementary file by identifier (`00 A4 00 00 02 <FID> 00`), or null when it does not
   * exist (`6A 82`).
   *
   * @throws CardError for other refusals
   */
  async trySelectFile(fid: number): Promise<FileInfo | null> {
    requireFid(fid);
    const label = `SELECT EF ${fidHex(fid)}`;
    const r = await this.send({ cla: 0x00, ins: 0xa4, p1: 0, p2: 0, data: u16be(fid), le: 256 }, label);
    if (r.sw === 0x6a82) return null;
    const data = SmartCardHsm.check(r, { command: label });
    return { ...parseFileControl(data), selected: fid };
  }

  /**
   * SELECT an elementary file; absent is an error.
   *
   * @throws CardError CARD_FILE_NOT_FOUND
   */
  async selectFile(fid: number): Promise<FileInfo> {
    const f = await this.trySelectFile(fid);
    if (!f) throw new CardError(0x6a82, { command: `SELECT EF ${fidHex(fid)}` });
    return f;
  }

  /**
   * READ BINARY of the whole current EF the way OpenSC does: `00 B1 00 00 04 54 02 <offset> 00`
   * (256-byte steps, odd INS with the offset in a `54` tag) until the card returns no data or
   * `62 82` (end of file).
   *
   * @throws CardError for refusals (CARD_SECURITY_STATUS_NOT_SATISFIED for PIN-protected data)
   * @throws CeremonyError device FILE_TOO_LARGE beyond 65535 bytes
   */
  async readBinary(label = 'READ BINARY'): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      if (offset > 0xffff) {
        throw deviceError('FILE_TOO_LARGE', `${label}: the file is longer than 65535 bytes`, { hint: 'report this with an APDU trace' });
      }
      const data = Uint8Array.of(0x54, 0x02, offset >> 8, offset & 0xff);
      const r = await this.send({ cla: 0x00, ins: 0xb1, p1: 0, p2: 0, data, le: 256 }, label);
      if (r.sw === SW_END_OF_FILE) {
        parts.push(r.data);
        break;
      }
      const chunk = SmartCardHsm.check(r, { command: label });
      if (chunk.length === 0) break;
      parts.push(chunk);
      offset += chunk.length;
    }
    return concatBytes(...parts);
  }

  /**
   * SELECT and read a whole file, or null when it does not exist.
   *
   * @throws CardError for refusals other than "not found"
   */
  async tryReadFile(fid: number): Promise<Uint8Array | null> {
    const f = await this.trySelectFile(fid);
    if (!f) return null;
    return this.readBinary(`READ BINARY ${fidHex(fid)}`);
  }

  /**
   * SELECT and read a whole file.
   *
   * @throws CardError CARD_FILE_NOT_FOUND and other refusals
   */
  async readFile(fid: number): Promise<Uint8Array> {
    await this.selectFile(fid);
    return this.readBinary(`READ BINARY ${fidHex(fid)}`);
  }

  /**
   * UPDATE BINARY with the odd INS: `00 D7 <P1P2> Lc 54 02 <offset> 53 <BER len> <data>`, one chunk.
   * `p1p2` is a FID (and creates the file if absent) or 0 for the current EF.
   */
  private async writeChunk(p1p2: number, offset: number, chunk: Uint8Array, label: string, secret: Secrecy): Promise<void> {
    const data = concatBytes(Uint8Array.of(0x54, 0x02, offset >> 8, offset & 0xff, 0x53), berLength(chunk.length), chunk);
    try {
      const r = await this.send({ cla: 0x00, ins: 0xd7, p1: p1p2 >> 8, p2: p1p2 & 0xff, data, le: null }, label, secret);
      SmartCardHsm.check(r, { command: label });
    } finally {
      if (secret !== 'none') wipe(data);
    }
  }

  /**
   * Writes `data` to EF `fid` from offset 0, the way sc-hsm-tool does: SELECT; if absent, create it
   * (`00 D7 <FID> 06 54 02 00 00 53 00`); with `replace`, an existing file is deleted and created
   * anew first (so no old bytes survive past the new end); then UPDATE BINARY of the current EF in
   * chunks.
   *
   * @throws {TypeError} if `data` is not a Uint8Array
   * @throws {RangeError} for data longer than 65535 bytes
   * @throws CardError (CARD_SECURITY_STATUS_NOT_SATISFIED without a verified PIN, CARD_NOT_ENOUGH_MEMORY)
   */
  async updateBinary(fid: number, data: Uint8Array, options: { replace?: boolean } = {}): Promise<void> {
    requireFid(fid);
    requireBytes(data, 'data');
    if (data.length > 0xffff) throw new RangeError(`data must be at most 65535 bytes, got ${data.length}`);
    const existing = await this.trySelectFile(fid);
    if (existing && options.replace) await this.deleteFile(fid);
    if (!existing || options.replace) await this.writeChunk(fid, 0, EMPTY, `CREATE EF ${fidHex(fid)}`, 'none');
    const label = `UPDATE BINARY ${fidHex(fid)}`;
    for (let off = 0; off < data.length; off += this.writeChunkSize) {
      await this.writeChunk(0, off, data.subarray(off, off + this.writeChunkSize), label, 'none');
    }
  }

  /**
   * DELETE FILE: `00 E4 02 00 02 <FID>`.
   *
   * @throws CardError CARD_FILE_NOT_FOUND, CARD_SECURITY_STATUS_NOT_SATISFIED
   */
  async deleteFile(fid: number): Promise<void> {
    requireFid(fid);
    const label = `DELETE FILE ${fidHex(fid)}`;
    const r = await this.send({ cla: 0x00, ins: 0xe4, p1: 0x02, p2: 0x00, data: u16be(fid), le: null }, label);
    SmartCardHsm.check(r, { command: label });
  }

  // ---------------------------------------------------------------------------------------------
  // Keys

  /**
   * WRAP KEY: `80 72 <ref> 92 00 00 00` (extended Le 65536). Returns the key blob (spec §5) exactly
   * as the card sends it. Needs the user PIN verified.
   *
   * @throws {RangeError} unless 1 ≤ ref ≤ 255
   * @throws CardError CARD_INS_NOT_SUPPORTED (no DKEK), CARD_REFERENCED_DATA_NOT_FOUND, CARD_CONDITIONS_NOT_SATISFIED
   */
  async wrapKey(ref: number): Promise<Uint8Array> {
    requireByte(ref, 'key reference', 1, 255);
    const label = `WRAP KEY ${ref}`;
    const r = await this.send({ cla: 0x80, ins: 0x72, p1: ref, p2: 0x92, data: EMPTY, le: 65536 }, label);
    return SmartCardHsm.check(r, {
      command: label,
      overrides: {
        0x6d00: { meaning: 'the device was not initialised for key wrap (no DKEK)', hint: 'initialise the device with DKEK shares and import them' },
        0x6a88: { meaning: `there is no key ${ref}, or the DKEK is incomplete`, hint: 'list the keys and read the DKEK status' },
        0x6985: { meaning: `key ${ref} may not be exported`, hint: 'only keys generated or imported as exportable can be wrapped' },
        0x6a82: { meaning: `there is no key ${ref}`, hint: 'list the keys to find the right key reference' },
      },
    });
  }

  /**
   * UNWRAP KEY into key reference `ref`: inline (`80 74 <ref> 93 00 LL LL <blob>`, extended case 3,
   * OpenSC ≤ 0.23) or staged (blob written to EF 2F10 with `00 D7 2F 10 …` chunks, then the case-1
   * `80 74 <ref> 93`, OpenSC ≥ 0.24). Needs the user PIN verified. By default the DKEK status is
   * read first and the blob's KCV compared (see UnwrapOptions.checkKcv).
   *
   * @throws {RangeError} unless 1 ≤ ref ≤ 255 and the blob is 9..65535 bytes
   * @throws CeremonyError check KCV_MISMATCH, device DKEK_INCOMPLETE / DKEK_KCV_UNKNOWN (before any UNWRAP)
   * @throws CardError CARD_WRONG_DATA (blob does not match the DKEK), CARD_FILE_EXISTS, CARD_EXECUTION_ERROR
   */
  async unwrapKey(ref: number, blob: Uint8Array, options: UnwrapOptions = {}): Promise<void> {
    requireByte(ref, 'key reference', 1, 255);
    requireBytes(blob, 'blob');
    if (blob.length < 9 || blob.length > 0xffff) throw new RangeError(`blob must be 9..65535 bytes, got ${blob.length}`);
    if (options.checkKcv ?? true) {
      const status = await this.dkekStatus();
      const device = toHex(status.kcv).toUpperCase();
      if (status.outstanding > 0) {
        throw deviceError('DKEK_INCOMPLETE', `the device DKEK is incomplete: ${status.outstanding} of ${status.total} shares still missing`, {
          hint: 'import the missing DKEK shares before restoring keys',
        });
      }
      if (!status.kcvKnown) {
        throw deviceError('DKEK_KCV_UNKNOWN', 'the device reports no DKEK key check value, so the wrapped key cannot be checked against it', {
          hint: 'verify the user PIN first (Pico HSM shows the KCV only after that), then retry',
        });
      }
      const blobKcv = toHex(blob.subarray(0, 8)).toUpperCase();
      if (blobKcv !== device) {
        throw checkFailed('KCV_MISMATCH', `the wrapped key was made under DKEK ${blobKcv}, but the device DKEK is ${device}`, {
          hint: 'restore into a device that holds the same DKEK shares as the one the key was wrapped on',
        });
      }
    }
    const label = `UNWRAP KEY ${ref}`;
    const context: CardErrorContext = {
      command: label,
      overrides: {
        0x6a80: { meaning: 'the wrapped key does not match the DKEK or is damaged', hint: 'check the key check values of the wrap file and the device' },
        0x6a86: { meaning: 'the wrapped key does not match the DKEK or is damaged', hint: 'check the key check values of the wrap file and the device' },
        0x6a89: { meaning: `key reference ${ref} is already in use`, hint: 'choose an unused key reference or delete that key first' },
        0x6400: { meaning: 'the device could not unwrap the key (on Pico HSM: the blob was made under another DKEK)', hint: 'compare key check values; a Pico HSM may need re-initialisation after this' },
      },
    };
    if (options.staged) {
      const staging = `UPDATE BINARY ${fidHex(EF_UNWRAP_STAGING)}`;
      for (let off = 0; off < blob.length; off += this.writeChunkSize) {
        await this.writeChunk(EF_UNWRAP_STAGING, off, blob.subarray(off, off + this.writeChunkSize), staging, 'command');
      }
      const r = await this.send({ cla: 0x80, ins: 0x74, p1: ref, p2: 0x93, data: EMPTY, le: null }, label);
      SmartCardHsm.check(r, context);
      return;
    }
    const data = blob.slice();
    try {
      const r = await this.send({ cla: 0x80, ins: 0x74, p1: ref, p2: 0x93, data, le: null, extended: true }, label);
      SmartCardHsm.check(r, context);
    } finally {
      wipe(data);
    }
  }

  /**
   * GENERATE ASYMMETRIC KEY PAIR into key reference `ref`: `00 46 <ref> 00` with the CV body
   * template pkcs11-tool sends (key-generation.ts), extended case 4 (Le 65536). Returns the card's
   * CV request (`67 …` on Pico HSM, signed by the device key) holding the new public key. Needs the
   * user PIN verified. Writing the PRKD (C4ref) and the request (CEref) is the caller's step.
   *
   * @throws {RangeError} for ref outside 1..255 or an invalid key spec / CHR
   * @throws CardError CARD_SECURITY_STATUS_NOT_SATISFIED, CARD_NOT_ENOUGH_MEMORY, CARD_INCORRECT_P1P2
   */
  async generateKeyPair(ref: number, spec: KeyPairSpec, names: KeyGenerationNames): Promise<Uint8Array> {
    requireByte(ref, 'key reference', 1, 255);
    const data = encodeKeyGenerationTemplate(spec, names);
    const label = `GENERATE KEY PAIR ${ref}`;
    const r = await this.send({ cla: 0x00, ins: 0x46, p1: ref, p2: 0x00, data, le: 65536, extended: true }, label);
    return SmartCardHsm.check(r, { command: label });
  }

  /**
   * Deletes a key and its PRKD and certificate files, ignoring files that are already absent
   * (what `sc-hsm-tool --unwrap-key --force` deletes, plus the descriptions).
   *
   * @throws CardError for refusals other than "not found"
   */
  async deleteKey(ref: number): Promise<void> {
    requireByte(ref, 'key reference', 1, 255);
    for (const prefix of [FID_PREFIX.KEY, FID_PREFIX.PRKD, FID_PREFIX.EE_CERT]) {
      try {
        await this.deleteFile((prefix << 8) | ref);
      } catch (e) {
        if (!(e instanceof CardError && e.sw === 0x6a82)) throw e;
      }
    }
  }

  /**
   * SIGN (PSO compute signature): `80 68 <ref> <alg> Lc <data> Le`. Short with Le 256 when the data
   * fits, else extended with Le 512 (what OpenSC sends for RSA). `alg` is the SmartCard-HSM
   * algorithm byte (0x20 RSA PKCS#1 v1.5 with the host's block, 0x70 ECDSA over a given hash,
   * 0x73 ECDSA-SHA-256 over the message …). Returns the card's answer (ECDSA: a DER signature).
   *
   * @throws {RangeError} for ref/alg outside 0..255 or data outside 1..65535 bytes
   * @throws CardError CARD_SECURITY_STATUS_NOT_SATISFIED (PIN not verified), CARD_REFERENCED_DATA_NOT_FOUND
   */
  async sign(ref: number, alg: number, data: Uint8Array): Promise<Uint8Array> {
    requireByte(ref, 'key reference', 0, 255);
    requireByte(alg, 'algorithm', 0, 255);
    requireBytes(data, 'data');
    if (data.length < 1 || data.length > 0xffff) throw new RangeError(`data must be 1..65535 bytes, got ${data.length}`);
    const label = `SIGN key ${ref} alg ${alg.toString(16).toUpperCase().padStart(2, '0')}`;
    const r = await this.send({ cla: 0x80, ins: 0x68, p1: ref, p2: alg, data, le: data.length > 255 ? 512 : 256 }, label);
    return SmartCardHsm.check(r, { command: label });
  }

  /**
   * The keys on the device, as `pkcs15-tool -D` walks them (key-list.ts): key reference, ID, label,
   * type, size, and the certificate or CV request holder. No PIN needed.
   *
   * @throws CardError from ENUMERATE OBJECTS
   */
  async listKeys(decoders?: KeyDecoders): Promise<KeyListing[]> {
    return listKeys(this, decoders);
  }

  /**
   * Reads EF.TokenInfo (2F03) and returns its label, manufacturer and serial, or null if the file
   * does not exist.
   *
   * @throws CardError for refusals other than "not found"
   * @throws CeremonyError device BAD_TOKEN_INFO when the file is not a TokenInfo SEQUENCE
   */
  async readTokenInfo(): Promise<TokenInfo | null> {
    const raw = await this.tryReadFile(EF_TOKEN_INFO);
    if (!raw) return null;
    return parseTokenInfo(raw);
  }
}

/**
 * Parses EF.TokenInfo (PKCS#15 TokenInfo: `30 { 02 version, 04 serial, 0C manufacturer, 80 label,
 * 03 flags … }`). Unknown fields are ignored.
 *
 * @throws CeremonyError device BAD_TOKEN_INFO
 */
export function parseTokenInfo(raw: Uint8Array): TokenInfo {
  try {
    const outer = readTlv(raw, 0);
    if (outer.tag !== 0x30) throw new RangeError('not a SEQUENCE');
    const fields = readAllTlvs(outer.value);
    const text = (tag: number): string | null => {
      const t = findTlv(fields, tag);
      return t ? new TextDecoder('utf-8', { fatal: false }).decode(t.value) : null;
    };
    const serial = findTlv(fields, 0x04);
    return { label: text(0x80), manufacturer: text(0x0c), serial: serial ? toHex(serial.value) : null, raw: raw.slice() };
  } catch (cause) {
    throw deviceError('BAD_TOKEN_INFO', 'EF.TokenInfo (2F03) on the device is not a PKCS#15 TokenInfo', {
      hint: 'the token label cannot be shown; re-initialise with a label to rewrite it',
      cause,
    });
  }
}

