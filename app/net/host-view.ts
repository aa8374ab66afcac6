/**
 * The coordinator's plain screen for a hosted ceremony: one line per public event, plus the join
 * codes. It only renders; the logic lives in hosted-ceremony.ts and the runner. (The Ink TUI can
 * implement the same `HostView` interface and replace this one.)
 *
 * Rules for this module:
 * - public events only, plus the join codes, which are shown to the operator on purpose (they are
 *   one-time and the people read them off this screen); codes never go into the JSON stream;
 * - `--json`: every public event as one JSON line on stdout, the human lines on stderr;
 * - without `--json`: human lines on stdout;
 * - no secret reaches this module (events carry none, codes are the only exception above).
 */

import type { Writable } from 'node:stream';
import { formatJoinCode, type JoinCode } from '../../protocol/channel/join-code.ts';
import type { PublicEvent, SlotInfo } from '../../protocol/wire/public-events.ts';
import { describeEvent, rolesText } from '../../protocol/wire/event-text.ts';

export interface HostView {
  /** a public event (also the JSON stream) */
  event(e: PublicEvent): void;
  /** a new join code for a slot, for the operator to read out */
  code(slot: SlotInfo, code: JoinCode, url: string): void;
  /** an operator note that is not part of the event stream (refused connections) */
  note(text: string): void;
}

export interface PlainHostViewOptions {
  stdout: Writable;
  stderr: Writable;
  json: boolean;
}

/** The plain line-based view (TTY or not). Deriving lines are thinned to every 20 %. */
export function plainHostView(o: PlainHostViewOptions): HostView {
  const human = o.json ? o.stderr : o.stdout;
  const lastPercent = new Map<number, number>();
  return {
    event(e) {
      if (o.json) o.stdout.write(JSON.stringify(e) + '\n');
      if (e.type === 'deriving') {
        const last = lastPercent.get(e.slot) ?? -100;
        if (e.percent < last) lastPercent.set(e.slot, -100);
        if (e.percent !== 100 && e.percent - (lastPercent.get(e.slot) ?? -100) < 20) return;
        lastPercent.set(e.slot, e.percent);
      }
      const line = describeEvent(e);
      if (line !== null) human.write(line + '\n');
    },
    code(slot, code, url) {
      human.write(`  slot ${slot.slot} ${slot.name} (${rolesText(slot.roles)}): join code ${formatJoinCode(code)}   hsm-custodian join ${url}\n`);
    },
    note(text) {
      human.write(`note: ${text}\n`);
    },
  };
}
