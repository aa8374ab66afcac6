/**
 * The ceremony at a glance, from its verified events (docs/auditor-guide.md §3): who, when, what
 * ran, KCVs, shares, outputs with their hashes, deviations and sign-offs. The verifier feeds every
 * line that passed its checks to a `SummaryCollector`; `renderSummary` prints the one page
 * `hsm-ceremony verify` shows.
 */
import type { StepKind } from '../plan/plan-schema.ts';
import type { Actor, DeviceInfo, PlanIdentity, TranscriptEvent } from './event.ts';

export type StepStatus = 'not run' | 'running' | 'finished' | 'skipped' | 'failed';

export interface StepRecord {
  step: number;
  kind: StepKind;
  status: StepStatus;
  started: string | null;
  ended: string | null;
  /** skip reason or failure message */
  reason: string | null;
}

export interface Deviation {
  line: number;
  time: string;
  actor: Actor;
  step: number | null;
  kind: 'note' | 'skip' | 'failure' | 'resumed' | 'sas-mismatch' | 'declined';
  text: string;
}

export interface CeremonySummary {
  plan: PlanIdentity | null;
  tool: string | null;
  rehearsal: boolean;
  device: DeviceInfo | null;
  /** serial and firmware as the card reported them (card-status), if any */
  cardReported: { serial: string | null; firmware: string | null };
  started: string | null;
  ended: string | null;
  outcome: 'completed' | 'aborted' | null;
  outcomeReason: string | null;
  events: number;
  steps: StepRecord[];
  kcvs: { kcv: string; line: number; step: number | null; source: string }[];
  shares: { file: string; fingerprint: string; imported: number; total: number; line: number; by: Actor }[];
  outputs: { path: string; sha256: string; bytes: number; kcv: string | null; line: number; step: number | null }[];
  deviations: Deviation[];
  signOffs: { name: string; role: string; accepted: boolean; statement: string; reason: string | null; time: string; line: number }[];
  joins: { name: string; role: string; time: string; line: number; left: string | null }[];
  sas: { name: string; sas: string; match: boolean; line: number }[];
}

/** Builds a summary line by line; call `add` only for lines that passed verification. */
export class SummaryCollector {
  readonly s: CeremonySummary = {
    plan: null,
    tool: null,
    rehearsal: false,
    device: null,
    cardReported: { serial: null, firmware: null },
    started: null,
    ended: null,
    outcome: null,
    outcomeReason: null,
    events: 0,
    steps: [],
    kcvs: [],
    shares: [],
    outputs: [],
    deviations: [],
    signOffs: [],
    joins: [],
    sas: [],
  };

  add(e: TranscriptEvent, line: number): void {
    const s = this.s;
    const d = e.data as Record<string, unknown>;
    s.events++;
    s.ended = e.time;
    const step = e.step !== null ? s.steps[e.step - 1] : undefined;
    switch (e.kind) {
      case 'ceremony-started': {
        const plan = d.plan as PlanIdentity;
        s.plan = plan;
        s.tool = `${(d.tool as { name: string }).name} ${(d.tool as { version: string }).version}`;
        s.rehearsal = d.rehearsal as boolean;
        s.device = (d.device as DeviceInfo | null) ?? null;
        s.started = e.time;
        s.steps = plan.steps.map((kind, i) => ({ step: i + 1, kind, status: 'not run', started: null, ended: null, reason: null }));
        break;
      }
      case 'resumed':
        s.deviations.push({ line, time: e.time, actor: e.actor, step: e.step, kind: 'resumed', text: `resumed after a restart with a new ceremony key${d.reason ? `: ${String(d.reason)}` : ''}${d.discardedTail ? ` (an unfinished line of ${(d.discardedTail as { bytes: number }).bytes} bytes was discarded)` : ''}` });
        break;
      case 'step-started':
        if (step) {
          step.status = 'running';
          step.started ??= e.time;
        }
        break;
      case 'step-finished':
        if (step) {
          step.status = 'finished';
          step.ended = e.time;
        }
        break;
      case 'step-skipped':
        if (step) {
          step.status = 'skipped';
          step.ended = e.time;
          step.reason = d.reason as string;
        }
        s.deviations.push({ line, time: e.time, actor: e.actor, step: e.step, kind: 'skip', text: `skipped: ${String(d.reason)}` });
        break;
      case 'step-failed':
        if (step) {
          step.status = 'failed';
          step.reason = `${String(d.code)}: ${String(d.message)}`;
        }
        s.deviations.push({ line, time: e.time, actor: e.actor, step: e.step, kind: 'failure', text: `failed (${String(d.code)}): ${String(d.message)}` });
        break;
      case 'card-status':
        if (typeof d.serial === 'string') s.cardReported.serial = d.serial;
        if (typeof d.firmware === 'string') s.cardReported.firmware = d.firmware;
        if (typeof d.kcv === 'string' && d.dkekOutstanding === 0 && !/^0+$/.test(d.kcv)) s.kcvs.push({ kcv: d.kcv, line, step: e.step, source: 'card status' });
        break;
      case 'share-imported':
        s.shares.push({ file: d.file as string, fingerprint: d.fingerprint as string, imported: d.imported as number, total: d.total as number, line, by: e.actor });
        break;
      case 'kcv-read':
        s.kcvs.push({ kcv: d.kcv as string, line, step: e.step, source: 'KCV read' });
        break;
      case 'file-written':
        s.outputs.push({ path: d.path as string, sha256: d.sha256 as string, bytes: d.bytes as number, kcv: (d.kcv as string | undefined) ?? null, line, step: e.step });
        if (typeof d.kcv === 'string') s.kcvs.push({ kcv: d.kcv, line, step: e.step, source: `file ${String(d.path)}` });
        break;
      case 'custodian-joined':
        s.joins.push({ name: e.actor.name ?? '', role: e.actor.role, time: e.time, line, left: null });
        break;
      case 'custodian-left': {
        const j = [...s.joins].reverse().find((x) => x.name === e.actor.name && x.left === null);
        if (j) j.left = e.time;
        break;
      }
      case 'sas-compared':
        s.sas.push({ name: e.actor.name ?? '', sas: d.sas as string, match: d.match as boolean, line });
        if (d.match === false) s.deviations.push({ line, time: e.time, actor: e.actor, step: e.step, kind: 'sas-mismatch', text: `the SAS ${String(d.sas)} did not match on ${e.actor.name}'s screen` });
        break;
      case 'note':
        s.deviations.push({ line, time: e.time, actor: e.actor, step: e.step, kind: 'note', text: d.text as string });
        break;
      case 'sign-off':
        s.signOffs.push({ name: e.actor.name ?? '', role: e.actor.role, accepted: d.accepted as boolean, statement: d.statement as string, reason: (d.reason as string | undefined) ?? null, time: e.time, line });
        if (d.accepted === false) s.deviations.push({ line, time: e.time, actor: e.actor, step: e.step, kind: 'declined', text: `${e.actor.name} declined to sign off${d.reason ? `: ${String(d.reason)}` : ''}` });
        break;
      case 'ceremony-finished':
        s.outcome = d.outcome as 'completed' | 'aborted';
        s.outcomeReason = (d.reason as string | undefined) ?? null;
        break;
    }
  }
}

/** `2026-11-28T10:15:00.123Z` → `2026-11-28 10:15:00Z`. */
export function shortTime(t: string | null): string {
  return t === null ? '—' : t.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function clock(t: string | null): string {
  return t === null ? '' : t.slice(11, 19);
}

/** Duration between two ISO times, e.g. `1 h 02 min` or `42 min 10 s`. */
export function duration(a: string | null, b: string | null): string {
  if (a === null || b === null) return '';
  const s = Math.max(0, Math.round((Date.parse(b) - Date.parse(a)) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/** `{role: 'custodian', name: 'alice'}` → `custodian alice`. */
export function actorText(a: Actor): string {
  if (a.role === 'tool') return 'hsm-ceremony';
  return a.name ? `${a.role.replace('-', ' ')} ${a.name}` : a.role.replace('-', ' ');
}

function groupKcv(k: string): string {
  return k.match(/.{4}/g)!.join(' ');
}

/** The "who / when / what" part of the verify page, without the verdict lines. */
export function renderSummaryBody(s: CeremonySummary): string[] {
  const out: string[] = [];
  const label = (l: string) => l.padEnd(12);
  const p = s.plan;
  out.push(`${label('ceremony')}: ${p ? p.name : '—'}`);
  if (s.rehearsal) out.push(`${label('rehearsal')}: YES: a rehearsal with rehearsal secrets, not a real ceremony`);
  out.push(`${label('tool')}: ${s.tool ?? '—'}`);
  const dev = s.device;
  const serial = s.cardReported.serial ?? dev?.serial ?? null;
  const firmware = s.cardReported.firmware ?? dev?.firmware ?? null;
  out.push(`${label('device')}: ${dev ? `${dev.simulated ? 'simulator' : dev.reader}${serial ? `, serial ${serial}` : ''}${firmware ? `, firmware ${firmware}` : ''}` : 'not recorded'}`);
  out.push(`${label('when')}: ${shortTime(s.started)} → ${shortTime(s.ended)}${s.started && s.ended ? ` (${duration(s.started, s.ended)})` : ''}, ${s.events} events`);
  if (p) {
    const r = p.roles;
    const who = [
      r.operator ? `operator ${r.operator}` : null,
      r.securityOfficer ? `security officer ${r.securityOfficer}` : null,
      `custodians ${r.custodians.join(', ')}`,
      r.witnesses.length > 0 ? `witnesses ${r.witnesses.join(', ')}` : 'no witnesses',
    ].filter(Boolean);
    out.push(`${label('who')}: ${who.join('; ')}`);
  }
  out.push(`${label('steps')}:`);
  for (const st of s.steps) {
    const when = st.status === 'finished' ? ` ${clock(st.started)}–${clock(st.ended)}` : '';
    const why = st.reason ? ` (${st.reason})` : '';
    out.push(`  ${String(st.step).padStart(3)} ${st.kind.padEnd(15)}${st.status.toUpperCase()}${when}${why}`);
  }
  const kcvs = [...new Set(s.kcvs.map((k) => k.kcv))];
  out.push(`${label('KCV')}: ${kcvs.length === 0 ? 'none recorded' : kcvs.map((k) => `${groupKcv(k)} (${s.kcvs.filter((x) => x.kcv === k).length} record${s.kcvs.filter((x) => x.kcv === k).length === 1 ? '' : 's'}, lines ${s.kcvs.filter((x) => x.kcv === k).map((x) => x.line).join(', ')})`).join('; ')}`);
  const head = (l: string, empty: string, n: number) => out.push(n === 0 ? `${label(l)}: ${empty}` : `${label(l)}:`);
  head('shares', 'none imported', s.shares.length);
  for (const sh of s.shares) out.push(`  ${sh.imported} of ${sh.total}  ${sh.fingerprint}  ${sh.file}  (line ${sh.line})`);
  head('outputs', 'none', s.outputs.length);
  for (const o of s.outputs) out.push(`  ${o.path}  ${o.bytes} bytes${o.kcv ? `  KCV ${o.kcv}` : ''}\n    SHA-256 ${o.sha256}`);
  head('deviations', 'none', s.deviations.length);
  for (const d of s.deviations) out.push(`  line ${d.line}, ${shortTime(d.time)}, ${actorText(d.actor)}${d.step !== null ? `, step ${d.step}` : ''}: ${d.text}`);
  head('sign-offs', 'none', s.signOffs.length);
  for (const so of s.signOffs) out.push(`  ${so.name} (${so.role}) ${so.accepted ? 'SIGNED' : 'DECLINED'} at ${shortTime(so.time)}: "${so.statement}"${so.reason ? ` — ${so.reason}` : ''}`);
  return out.flatMap((l) => l.split('\n'));
}
