/**
 * File control parameters (FCP, tag `62`) and file control information (FCI, tag `6F`) that
 * SELECT returns, and the SmartCard-HSM's proprietary tag `85` in the applet's answer (spec §3,
 * §9): `[options hi][options lo][type][version major][version minor]`.
 */
import { findTlv, readAllTlvs, readTlv, type Tlv } from '../../protocol/der.ts';
import { deviceError } from '../../protocol/errors.ts';

export interface FileControl {
  /** every TLV inside the `62`/`6F` template */
  tlvs: Tlv[];
  /** file size from tag `80` (data bytes) or `81` (total), or null when neither is present */
  size: number | null;
  /** file identifier from tag `83`, or null */
  fid: number | null;
  /** proprietary information, tag `85`, or null */
  proprietary: Uint8Array | null;
}

function bigEndian(b: Uint8Array): number {
  let n = 0;
  for (const x of b) n = n * 256 + x;
  return n;
}

/**
 * Parses a SELECT answer. An empty answer (SELECT with P2=0C, or a card that sends nothing) gives
 * an empty FileControl.
 *
 * @throws CeremonyError device BAD_FCP if the bytes are not a `62` or `6F` template
 */
export function parseFileControl(answer: Uint8Array): FileControl {
  if (answer.length === 0) return { tlvs: [], size: null, fid: null, proprietary: null };
  let tlvs: Tlv[];
  try {
    const outer = readTlv(answer, 0);
    if (outer.tag !== 0x62 && outer.tag !== 0x6f) throw new RangeError('not an FCP/FCI template');
    tlvs = readAllTlvs(outer.value);
  } catch (cause) {
    throw deviceError('BAD_FCP', 'the card answered SELECT with data that is not file control information', {
      hint: 'the device may not be a SmartCard-HSM; check the reader selection',
      cause,
    });
  }
  const sizeTlv = findTlv(tlvs, 0x80) ?? findTlv(tlvs, 0x81);
  const fidTlv = findTlv(tlvs, 0x83);
  const prop = findTlv(tlvs, 0x85);
  return {
    tlvs,
    size: sizeTlv && sizeTlv.value.length > 0 && sizeTlv.value.length <= 4 ? bigEndian(sizeTlv.value) : null,
    fid: fidTlv && fidTlv.value.length === 2 ? bigEndian(fidTlv.value) : null,
    proprietary: prop ? prop.value.slice() : null,
  };
}

/** What the SmartCard-HSM applet says about itself when selected. */
export interface AppletInfo {
  /** firmware version, e.g. {major: 6, minor: 6}; null if tag `85` is missing or too short */
  version: { major: number; minor: number } | null;
  /** "6.6", or "unknown" */
  versionText: string;
  /** the 16-bit configuration options word (`00 01` after sc-hsm-tool --initialize) */
  options: number;
  /** options bit 0: the user PIN may be reset with the SO-PIN */
  userPinResetWithSoPin: boolean;
  /** options bit 1: transport-PIN mode */
  transportPinMode: boolean;
  /** the raw SELECT answer */
  fcp: Uint8Array;
}

/**
 * Reads tag `85` the way sc-hsm-tool's print_info does: the version is the last two bytes and the
 * options byte is the fourth from the end, so a longer tag from newer firmware still reads right.
 *
 * @throws CeremonyError device BAD_FCP as parseFileControl
 */
export function parseAppletInfo(answer: Uint8Array): AppletInfo {
  const fc = parseFileControl(answer);
  const p = fc.proprietary;
  if (!p || p.length < 4) {
    return { version: null, versionText: 'unknown', options: 0, userPinResetWithSoPin: false, transportPinMode: false, fcp: answer.slice() };
  }
  const major = p[p.length - 2]!;
  const minor = p[p.length - 1]!;
  const options = (p.length >= 5 ? p[p.length - 5]! << 8 : 0) | p[p.length - 4]!;
  return {
    version: { major, minor },
    versionText: `${major}.${minor}`,
    options,
    userPinResetWithSoPin: (options & 0x01) !== 0,
    transportPinMode: (options & 0x02) !== 0,
    fcp: answer.slice(),
  };
}
