/**
 * The coordinator's screens for a hosted ceremony: one line per public event, plus the join codes.
 * They only render; the logic lives in hosted-ceremony.ts, plan-host.ts and the runners. The plain
 * view writes lines (headless, --json, and `host` without a plan); `runViewHostView` feeds the run
 * view of `host PLAN` on a terminal: the same lines into its log, and its people panel.
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
import type { PeoplePanel, PersonRow } from '../ui/run/run-view-model.ts';

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

/** Deriving lines thinned to every 20 % per slot: true when this event's line is shown. */
function derivingFilter(): (e: PublicEvent) => boolean {
  const lastPercent = new Map<number, number>();
  return (e) => {
    if (e.type !== 'deriving') return true;
    const last = lastPercent.get(e.slot) ?? -100;
    if (e.percent < last) lastPercent.set(e.slot, -100);
    if (e.percent !== 100 && e.percent - (lastPercent.get(e.slot) ?? -100) < 20) return false;
    lastPercent.set(e.slot, e.percent);
    return true;
  };
}

function codeLine(slot: SlotInfo, code: JoinCode, url: string): string {
  return `  slot ${slot.slot} ${slot.name} (${rolesText(slot.roles)}): join code ${formatJoinCode(code)}   hsm-custodian join ${url}`;
}

/** The plain line-based view (TTY or not). Deriving lines are thinned to every 20 %. */
export function plainHostView(o: PlainHostViewOptions): HostView {
  const human = o.json ? o.stderr : o.stdout;
  const shown = derivingFilter();
  return {
    event(e) {
      if (o.json) o.stdout.write(JSON.stringify(e) + '\n');
      if (!shown(e)) return;
      const line = describeEvent(e);
      if (line !== null) human.write(line + '\n');
    },
    code(slot, code, url) {
      human.write(codeLine(slot, code, url) + '\n');
    },
    note(text) {
      human.write(`note: ${text}\n`);
    },
  };
}

/** Where the run view's host view puts things (app/ui/run/run-view-store.ts dispatch). */
export interface HostViewSink {
  /** a log line */
  line(text: string): void;
  /** the people panel, whole, after each change */
  people(p: PeoplePanel): void;
}

/**
 * The host view inside the run view (host PLAN on a terminal): the same lines as the plain view
 * go to the run view's log, and the people panel keeps one row per slot — its join code until its
 * owner joins, then connected with the SAS, or left, or timed out.
 */
export function runViewHostView(sink: HostViewSink): HostView {
  const shown = derivingFilter();
  let url = '';
  const rows = new Map<number, PersonRow>();
  const publish = () => sink.people({ url, rows: [...rows.values()].sort((a, b) => a.slot - b.slot).map((r) => ({ ...r })) });
  const row = (slot: SlotInfo): PersonRow => {
    let r = rows.get(slot.slot);
    if (!r) {
      r = { slot: slot.slot, name: slot.name, roles: rolesText(slot.roles), state: 'waiting', code: null, sas: null };
      rows.set(slot.slot, r);
    }
    return r;
  };
  return {
    event(e) {
      if (e.type === 'listening') {
        url = e.url;
        for (const s of e.slots) row(s);
        publish();
      } else if (e.type === 'slot-joined') {
        const r = rows.get(e.slot);
        if (r) Object.assign(r, { state: 'joined', sas: e.sas, code: null });
        publish();
      } else if (e.type === 'slot-left') {
        const r = rows.get(e.slot);
        if (r) Object.assign(r, { state: 'left', sas: null });
        publish();
      } else if (e.type === 'warning' && e.code === 'SLOT_TIMED_OUT') {
        // plan-host.ts words it "slot N (NAME) timed out: …"
        const r = rows.get(Number(/^slot (\d+) /.exec(e.message)?.[1]));
        if (r) Object.assign(r, { state: 'timed-out', code: null, sas: null });
        publish();
      }
      if (!shown(e)) return;
      const line = describeEvent(e);
      if (line !== null) sink.line(line);
    },
    code(slot, code, u) {
      url = u;
      const r = row(slot);
      r.code = formatJoinCode(code);
      if (r.state !== 'joined') r.state = r.state === 'left' ? 'left' : 'waiting';
      publish();
      sink.line(codeLine(slot, code, u));
    },
    note(text) {
      sink.line(`note: ${text}`);
    },
  };
}
