/**
 * ISO/IEC 7816-4 command and response APDUs, short and extended length. Used by the host side to
 * build commands and by the simulator to parse them, so both agree on one encoding.
 */

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  /** command data (Lc bytes); empty when there is none */
  data: Uint8Array;
  /**
   * expected response length: null for none (cases 1 and 3); 1..65536 otherwise, where 256 is
   * encoded as short Le=00 and 65536 as extended Le=0000
   */
  le: number | null;
  /** force extended length encoding even when short would fit */
  extended?: boolean;
}

export interface ResponseApdu {
  data: Uint8Array;
  /** SW1 SW2 as one 16-bit number, e.g. 0x9000 */
  sw: number;
}

export class ApduFormatError extends RangeError {}

export function encodeCommand(c: CommandApdu): Uint8Array {
  const { data, le } = c;
  if (data.length > 65535) throw new ApduFormatError('command data longer than 65535 bytes');
  if (le !== null && (le < 1 || le > 65536)) throw new ApduFormatError(`Le out of range: ${le}`);
  const extended = c.extended === true || data.length > 255 || (le !== null && le > 256);
  const head = [c.cla & 0xff, c.ins & 0xff, c.p1 & 0xff, c.p2 & 0xff];
  const out: number[] = [...head];
  if (!extended) {
    if (data.length > 0) out.push(data.length, ...data);
    if (le !== null) out.push(le === 256 ? 0 : le);
  } else {
    if (data.length > 0) {
      out.push(0, data.length >> 8, data.length & 0xff, ...data);
      if (le !== null) out.push((le >> 8) & 0xff, le & 0xff); // 65536 → 00 00
    } else if (le !== null) {
      out.push(0, (le >> 8) & 0xff, le & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/** Parses a command APDU in any of the seven ISO cases. Throws ApduFormatError when malformed. */
export function parseCommand(b: Uint8Array): CommandApdu {
  if (b.length < 4) throw new ApduFormatError('command APDU shorter than 4 bytes');
  const base = { cla: b[0]!, ins: b[1]!, p1: b[2]!, p2: b[3]! };
  const body = b.subarray(4);
  const n = body.length;
  if (n === 0) return { ...base, data: new Uint8Array(0), le: null }; // case 1
  if (n === 1) return { ...base, data: new Uint8Array(0), le: body[0] === 0 ? 256 : body[0]! }; // case 2S
  if (body[0] !== 0) {
    // short cases 3S / 4S
    const lc = body[0]!;
    if (n === 1 + lc) return { ...base, data: body.slice(1, 1 + lc), le: null };
    if (n === 2 + lc) {
      const le = body[1 + lc]!;
      return { ...base, data: body.slice(1, 1 + lc), le: le === 0 ? 256 : le };
    }
    throw new ApduFormatError(`length mismatch: Lc=${lc} with ${n - 1} body bytes`);
  }
  // extended: body[0] == 0
  if (n === 3) {
    const le = (body[1]! << 8) | body[2]!;
    return { ...base, data: new Uint8Array(0), le: le === 0 ? 65536 : le, extended: true }; // 2E
  }
  if (n < 3) throw new ApduFormatError('truncated extended length');
  const lc = (body[1]! << 8) | body[2]!;
  if (lc === 0) throw new ApduFormatError('extended Lc of zero');
  if (n === 3 + lc) return { ...base, data: body.slice(3, 3 + lc), le: null, extended: true }; // 3E
  if (n === 5 + lc) {
    const le = (body[3 + lc]! << 8) | body[4 + lc]!;
    return { ...base, data: body.slice(3, 3 + lc), le: le === 0 ? 65536 : le, extended: true }; // 4E
  }
  throw new ApduFormatError(`length mismatch: extended Lc=${lc} with ${n - 3} body bytes`);
}

export function parseResponse(b: Uint8Array): ResponseApdu {
  if (b.length < 2) throw new ApduFormatError('response APDU shorter than 2 bytes');
  return { data: b.slice(0, b.length - 2), sw: (b[b.length - 2]! << 8) | b[b.length - 1]! };
}

export function encodeResponse(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = (sw >> 8) & 0xff;
  out[data.length + 1] = sw & 0xff;
  return out;
}
