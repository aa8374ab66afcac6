/**
 * The printable ceremony record (docs/auditor-guide.md §5): the verified summary of a transcript,
 * the SHA-256 of the transcript file and the ceremony key fingerprints, and a signature line for
 * every participant and the auditor. Printed and signed, it is what later pins the transcript: its
 * hash and keys are what `verify --key` and a byte comparison check against.
 *
 * Markdown or self-contained HTML; everything from the transcript is escaped (a note is text
 * typed by a person and must never become markup).
 */
import type { TranscriptReport } from './verifier.ts';
import { actorText, duration, shortTime } from './summary.ts';

export type RecordFormat = 'md' | 'html';

export interface RecordOptions {
  format: RecordFormat;
  /** the transcript's file name as given */
  transcriptName: string;
  /** SHA-256 of the whole transcript file */
  transcriptSha256: string;
  /** the plan file given with --plan, if any */
  planName?: string;
}

interface Table {
  head: string[];
  rows: string[][];
}

interface Section {
  title: string;
  text?: string[];
  table?: Table;
}

function verdict(r: TranscriptReport): string {
  switch (r.status) {
    case 'verified':
      return 'VERIFIED: the hash chain is intact, every signature is valid, every step ran in order (or its deviation is noted) and the KCVs agree';
    case 'aborted':
      return `ABORTED: the transcript verifies, and records that the ceremony was aborted${r.summary.outcomeReason ? `: ${r.summary.outcomeReason}` : ''}`;
    case 'incomplete':
      return `INCOMPLETE: lines 1 to ${r.checkedLines} verify, but there is no final signed event (the ceremony crashed, was cut short, or the file was cut)`;
    case 'failed':
      return `FAILED at line ${r.failure!.line}: ${r.failure!.reason}`;
  }
}

/** The record's content, independent of the output format. */
function sections(r: TranscriptReport, o: RecordOptions): { title: string; facts: [string, string][]; sections: Section[] } {
  const s = r.summary;
  const p = s.plan;
  const facts: [string, string][] = [
    ['Result', verdict(r)],
    [
      'Authenticity',
      r.authenticity === 'pinned'
        ? 'every ceremony key is one the auditor pinned with --key'
        : 'not established by this check: compare the ceremony key fingerprints below with those shown on screen at the ceremony',
    ],
    ['Transcript', `${o.transcriptName}, ${r.lines} events, SHA-256 ${o.transcriptSha256}`],
    ['Plan', p ? `${p.name}, SHA-256 ${p.sha256}${r.planCheck === 'matched' ? ` (matches ${o.planName ?? 'the plan given'})` : ' (not compared with a plan file)'}` : '—'],
    ['Rehearsal', s.rehearsal ? 'yes: rehearsal secrets on the simulator, not a real ceremony' : 'no'],
    ['Tool', s.tool ?? '—'],
    ['Device', s.device ? `${s.device.simulated ? 'simulator' : s.device.reader}${(s.cardReported.serial ?? s.device.serial) ? `, serial ${s.cardReported.serial ?? s.device.serial}` : ''}${(s.cardReported.firmware ?? s.device.firmware) ? `, firmware ${s.cardReported.firmware ?? s.device.firmware}` : ''}` : 'not recorded'],
    ['When', `${shortTime(s.started)} to ${shortTime(s.ended)}${s.started && s.ended ? ` (${duration(s.started, s.ended)})` : ''}`],
  ];
  const out: Section[] = [];
  out.push({
    title: 'Ceremony keys',
    table: { head: ['fingerprint', 'from line', 'made at', 'pinned'], rows: r.keys.map((k) => [k.fingerprint, String(k.line), k.introducedBy === 'resumed' ? 'a restart' : 'the start', k.pinned === null ? 'not checked' : k.pinned ? 'yes' : 'NO']) },
  });
  out.push({
    title: 'Steps',
    table: { head: ['#', 'step', 'status', 'started', 'ended', 'reason'], rows: s.steps.map((st) => [String(st.step), st.kind, st.status, shortTime(st.started), shortTime(st.ended), st.reason ?? '']) },
  });
  const kcvs = [...new Set(s.kcvs.map((k) => k.kcv))];
  out.push({ title: 'Key check values', table: { head: ['KCV', 'records (line: source)'], rows: kcvs.map((k) => [k, s.kcvs.filter((x) => x.kcv === k).map((x) => `${x.line}: ${x.source}`).join('; ')]) } });
  out.push({ title: 'Shares imported', table: { head: ['#', 'file', 'fingerprint', 'by', 'line'], rows: s.shares.map((x) => [`${x.imported} of ${x.total}`, x.file, x.fingerprint, actorText(x.by), String(x.line)]) } });
  out.push({ title: 'Files written', table: { head: ['file', 'bytes', 'KCV', 'SHA-256'], rows: s.outputs.map((x) => [x.path, String(x.bytes), x.kcv ?? '', x.sha256]) } });
  out.push({
    title: 'Deviations, skips, failures and restarts',
    table: { head: ['line', 'time', 'who', 'step', 'what'], rows: s.deviations.map((d) => [String(d.line), shortTime(d.time), actorText(d.actor), d.step === null ? '' : String(d.step), d.text]) },
  });
  out.push({
    title: 'Sign-offs recorded in the transcript',
    table: { head: ['name', 'role', 'answer', 'time', 'statement'], rows: s.signOffs.map((x) => [x.name, x.role, x.accepted ? 'signed' : `declined${x.reason ? `: ${x.reason}` : ''}`, shortTime(x.time), x.statement]) },
  });
  const people: [string, string][] = [];
  if (p) {
    if (p.roles.operator) people.push([p.roles.operator, 'operator']);
    if (p.roles.securityOfficer) people.push([p.roles.securityOfficer, 'security officer']);
    for (const c of p.roles.custodians) people.push([c, 'custodian']);
    for (const w of p.roles.witnesses) people.push([w, 'witness']);
  }
  people.push(['', 'auditor']);
  out.push({
    title: 'Signatures',
    text: [
      'By signing, each person confirms that this record matches the ceremony they took part in or audited, and that the ceremony key fingerprints above are the ones shown on screen.',
    ],
    table: { head: ['name', 'role', 'signature', 'date'], rows: people.map(([n, role]) => [n || '____________________', role, '______________________________', '______________']) },
  });
  for (const w of r.warnings) facts.push(['Warning', w]);
  return { title: `Ceremony record: ${p?.name ?? o.transcriptName}`, facts, sections: out };
}

/**
 * One markdown table cell or line: pipes, backslashes and the characters that start markup or
 * HTML are escaped; `_` is left alone (CommonMark does not emphasise inside words, and signature
 * lines are runs of it).
 */
function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/([*`<>[\]#])/g, '\\$1');
}

function renderMd(c: ReturnType<typeof sections>): string {
  const out: string[] = [`# ${mdCell(c.title)}`, '', '| | |', '|---|---|'];
  for (const [k, v] of c.facts) out.push(`| ${mdCell(k)} | ${mdCell(v)} |`);
  for (const sec of c.sections) {
    out.push('', `## ${mdCell(sec.title)}`, '');
    for (const t of sec.text ?? []) out.push(mdCell(t), '');
    if (sec.table) {
      if (sec.table.rows.length === 0) out.push('None.');
      else {
        out.push(`| ${sec.table.head.map(mdCell).join(' | ')} |`, `|${sec.table.head.map(() => '---').join('|')}|`);
        for (const row of sec.table.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
      }
    }
  }
  return out.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function renderHtml(c: ReturnType<typeof sections>): string {
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(c.title)}</title>`,
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
    '<style>body{font:11pt/1.4 system-ui,sans-serif;max-width:60em;margin:2em auto;color:#000}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #888;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#eee}.mono{font-family:ui-monospace,monospace;word-break:break-all}h2{page-break-after:avoid;margin-top:1.5em}tr{page-break-inside:avoid}</style>',
    '</head><body>',
    `<h1>${esc(c.title)}</h1>`,
    '<table>',
  ];
  for (const [k, v] of c.facts) out.push(`<tr><th>${esc(k)}</th><td class="mono">${esc(v)}</td></tr>`);
  out.push('</table>');
  for (const sec of c.sections) {
    out.push(`<h2>${esc(sec.title)}</h2>`);
    for (const t of sec.text ?? []) out.push(`<p>${esc(t)}</p>`);
    if (sec.table) {
      if (sec.table.rows.length === 0) out.push('<p>None.</p>');
      else {
        out.push('<table>', `<tr>${sec.table.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`);
        for (const row of sec.table.rows) out.push(`<tr>${row.map((v) => `<td class="mono">${esc(v)}</td>`).join('')}</tr>`);
        out.push('</table>');
      }
    }
  }
  out.push('</body></html>');
  return out.join('\n') + '\n';
}

/**
 * Renders the printable record of a verified (or incomplete, or aborted) transcript.
 *
 * @throws {RangeError} for a failed transcript: a record must never carry a forgery to paper
 */
export function renderRecord(r: TranscriptReport, o: RecordOptions): string {
  if (r.status === 'failed') throw new RangeError('a transcript that failed verification gets no record');
  const c = sections(r, o);
  return o.format === 'md' ? renderMd(c) : renderHtml(c);
}
