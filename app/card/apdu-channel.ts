/**
 * The APDU layer between typed SmartCard-HSM commands and a `CardTransport`: encodes commands
 * (short or extended length), follows the two ISO 7816-4 transport conventions a card may ask for,
 * and reports every exchange to an optional trace hook with secret data redacted.
 *
 * - `61xx`: more response data is waiting. The channel sends GET RESPONSE (`00 C0 00 00 xx`,
 *   `xx = 00` meaning 256) and appends the data until the card answers something else.
 * - `6Cxx`: wrong Le. The channel sends the same command once more with `Le = xx`.
 *
 * Redaction (docs/card-commands.md §6): the data field of VERIFY, CHANGE REFERENCE DATA, RESET
 * RETRY COUNTER, INITIALIZE DEVICE, IMPORT DKEK SHARE and UNWRAP KEY is never given to the trace
 * hook, whatever the caller says; callers mark other exchanges secret (the staged unwrap blob in
 * EF 2F10, GET CHALLENGE answers that become DKEK shares). The encoded bytes of a secret command
 * are wiped once the transport has them.
 */
import { toHex, wipe } from '../../protocol/bytes.ts';
import { encodeCommand, parseResponse, type CommandApdu, type ResponseApdu } from './apdu.ts';
import { swHex } from './status-words.ts';
import type { CardTransport } from './transport.ts';

/** One command and its final answer, as the trace hook sees it. Secret parts are already redacted. */
export interface ApduTraceEntry {
  /** the command in words, e.g. "VERIFY user PIN" */
  label: string;
  /** command bytes as spaced upper-case hex; a redacted data field reads `<N bytes redacted>` */
  command: string;
  /** response data as spaced upper-case hex, or `<N bytes redacted>` */
  response: string;
  /** the final status word, e.g. "9000" */
  sw: string;
  /** true when any part of this entry was redacted */
  redacted: boolean;
}

export type ApduTraceHook = (entry: ApduTraceEntry) => void;

/** Which part of an exchange must not reach the trace. */
export type Secrecy = 'none' | 'command' | 'response' | 'both';

export interface SendOptions {
  /** the command in words for the trace and for errors */
  label?: string;
  /** redact this exchange beyond the built-in rules */
  secret?: Secrecy;
}

/** GET RESPONSE rounds before the channel gives up: 256 × 256 bytes covers any extended answer. */
const MAX_GET_RESPONSE_ROUNDS = 256;

/**
 * True when the data field of this command always carries a secret (PINs, SO-PINs, DKEK shares,
 * wrapped keys), whoever sends it.
 */
export function commandCarriesSecret(c: Pick<CommandApdu, 'cla' | 'ins' | 'data'>): boolean {
  if (c.data.length === 0) return false;
  const proprietary = (c.cla & 0x80) !== 0;
  switch (c.ins) {
    case 0x20: // VERIFY
    case 0x24: // CHANGE REFERENCE DATA
    case 0x2c: // RESET RETRY COUNTER
      return true;
    case 0x50: // INITIALIZE DEVICE
    case 0x52: // IMPORT DKEK SHARE / MANAGE KEY DOMAIN
    case 0x74: // UNWRAP KEY
      return proprietary;
    default:
      return false;
  }
}

function spaced(b: Uint8Array): string {
  return toHex(b, ' ').toUpperCase();
}

/** The command as trace text with its data field replaced when `redact` is set. */
export function describeCommand(c: CommandApdu, encoded: Uint8Array, redact: boolean): string {
  if (!redact || c.data.length === 0) return spaced(encoded);
  const head = spaced(encoded.subarray(0, 4));
  const extended = encoded.length > 4 && encoded[4] === 0 && c.data.length > 0;
  const lc = spaced(encoded.subarray(4, extended ? 7 : 5));
  const leStart = (extended ? 7 : 5) + c.data.length;
  const le = encoded.length > leStart ? ' ' + spaced(encoded.subarray(leStart)) : '';
  return `${head} ${lc} <${c.data.length} bytes redacted>${le}`;
}

/**
 * Sends typed commands over a transport. One channel per connected card; not re-entrant (a card
 * runs one command at a time, so callers await each send).
 */
export class ApduChannel {
  readonly transport: CardTransport;
  private readonly trace: ApduTraceHook | undefined;

  constructor(transport: CardTransport, options: { trace?: ApduTraceHook } = {}) {
    this.transport = transport;
    this.trace = options.trace;
  }

  /**
   * Sends one command, following 61xx and 6Cxx, and returns the final data and status word.
   * Status words are not judged here: the caller decides which ones are errors.
   *
   * @throws CeremonyError kind 'device' from the transport (card removed, reader gone)
   * @throws {RangeError} if the command cannot be encoded
   */
  async send(c: CommandApdu, options: SendOptions = {}): Promise<ResponseApdu> {
    const secret = options.secret ?? 'none';
    const redactCommand = secret === 'command' || secret === 'both' || commandCarriesSecret(c);
    const redactResponse = secret === 'response' || secret === 'both';
    const label = options.label ?? `INS ${swHex(c.ins).slice(2)}`;

    const first = await this.exchange(c, redactCommand);
    let response = first.response;
    let encodedText = first.text;

    if ((response.sw & 0xff00) === 0x6c00) {
      // 6Cxx: the card tells us the Le it wants; send the same command once more with it.
      wipe(response.data);
      const again: CommandApdu = { ...c, le: response.sw & 0xff || 256 };
      const retry = await this.exchange(again, redactCommand);
      response = retry.response;
      encodedText = retry.text;
    }

    if ((response.sw & 0xff00) === 0x6100) {
      const parts: Uint8Array[] = [response.data];
      let total = response.data.length;
      for (let round = 0; (response.sw & 0xff00) === 0x6100; round++) {
        if (round >= MAX_GET_RESPONSE_ROUNDS) break;
        const getResponse: CommandApdu = { cla: 0x00, ins: 0xc0, p1: 0, p2: 0, data: new Uint8Array(0), le: response.sw & 0xff || 256 };
        const next = await this.exchange(getResponse, false);
        response = next.response;
        parts.push(response.data);
        total += response.data.length;
      }
      const data = new Uint8Array(total);
      let off = 0;
      for (const p of parts) {
        data.set(p, off);
        off += p.length;
      }
      if (redactResponse) wipe(...parts);
      response = { data, sw: response.sw };
    }

    if (this.trace) {
      this.trace({
        label,
        command: encodedText,
        response: redactResponse && response.data.length > 0 ? `<${response.data.length} bytes redacted>` : spaced(response.data),
        sw: swHex(response.sw),
        redacted: redactCommand || (redactResponse && response.data.length > 0),
      });
    }
    return response;
  }

  private async exchange(c: CommandApdu, redact: boolean): Promise<{ response: ResponseApdu; text: string }> {
    const encoded = encodeCommand(c);
    const text = this.trace ? describeCommand(c, encoded, redact) : '';
    let raw: Uint8Array;
    try {
      raw = await this.transport.transmit(encoded);
    } finally {
      if (redact) wipe(encoded);
    }
    const response = parseResponse(raw);
    wipe(raw);
    return { response, text };
  }
}
