/**
 * Test helper: the real APDU trace of OpenSC 0.23 against Pico HSM firmware 6.6
 * (shared/fixtures/opensc-pico/apdu-trace.txt) as sections of exchanges, and a scripted
 * CardTransport that asserts each command byte for byte and answers with the trace's response.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import type { CardTransport, TransportInfo } from '../../app/card/transport.ts';

export const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url);

export interface Exchange {
  command: Uint8Array;
  response: Uint8Array;
  /** line number of the APDU in apdu-trace.txt, for messages */
  line: number;
}

export interface TraceSection {
  /** the command that ran, e.g. "sc-hsm-tool --wrap-key w.bin --key-reference 1 --pin 648219" */
  title: string;
  exchanges: Exchange[];
}

let cache: TraceSection[] | undefined;

/** Every section of the trace, in file order. */
export function loadTrace(): TraceSection[] {
  if (cache) return cache;
  const text = readFileSync(new URL('apdu-trace.txt', FIXTURES), 'utf8');
  const sections: TraceSection[] = [];
  let current: TraceSection | undefined;
  let pending: { command: Uint8Array; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    const m = /^--- APDUs \(pcscd --apdu\) for: (.*)$/.exec(line);
    if (m) {
      current = { title: m[1]!, exchanges: [] };
      sections.push(current);
    } else if (line.startsWith('APDU: ')) {
      pending = { command: fromHex(line.slice(6)), line: i + 1 };
    } else if (line.startsWith('SW: ')) {
      assert.ok(current && pending, `SW without APDU at line ${i + 1}`);
      current.exchanges.push({ ...pending, response: fromHex(line.slice(4)) });
      pending = undefined;
    }
  });
  cache = sections;
  return sections;
}

/** The `occurrence`-th section (0-based) whose title is exactly `title`. */
export function traceSection(title: string, occurrence = 0): TraceSection {
  const found = loadTrace().filter((s) => s.title === title);
  const s = found[occurrence];
  assert.ok(s, `no section ${JSON.stringify(title)} #${occurrence} in apdu-trace.txt (found ${found.length})`);
  return s;
}

const FOREIGN_SELECTS = ['00A4040007627601FF000000', '00A4040006A00000000101'];

/**
 * The exchanges of a section after OpenSC's card recognition (the two SELECTs of other
 * applications that answer 6A 82), which hsm-ceremony does not send.
 */
export function ownExchanges(section: TraceSection): Exchange[] {
  return section.exchanges.filter((e) => !FOREIGN_SELECTS.includes(toHex(e.command).toUpperCase()));
}

export const TEST_INFO: TransportInfo = { kind: 'simulator', reader: 'scripted trace', virtual: true, atr: fromHex('3bfe1800008131fe458031815448534d31738021408107fa') };

/** A transport that plays a script: each transmit must equal the next command exactly. */
export class ScriptedTransport implements CardTransport {
  readonly info: TransportInfo = TEST_INFO;
  private index = 0;
  readonly sent: Uint8Array[] = [];
  constructor(private readonly script: readonly Exchange[]) {}

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const next = this.script[this.index];
    this.sent.push(command.slice());
    assert.ok(next, `unexpected extra command ${toHex(command, ' ').toUpperCase()} after ${this.index} scripted exchanges`);
    assert.equal(
      toHex(command, ' ').toUpperCase(),
      toHex(next.command, ' ').toUpperCase(),
      `command #${this.index} differs from apdu-trace.txt line ${next.line}`,
    );
    this.index++;
    return next.response.slice();
  }

  /** Asserts that the whole script was used. */
  done(): void {
    assert.equal(this.index, this.script.length, `only ${this.index} of ${this.script.length} scripted exchanges were sent`);
  }

  get position(): number {
    return this.index;
  }

  async close(): Promise<void> {}
}

/** Builds a script from hex pairs: [command, response]. */
export function script(...pairs: [string, string][]): Exchange[] {
  return pairs.map(([c, r], i) => ({ command: fromHex(c), response: fromHex(r), line: -(i + 1) }));
}
