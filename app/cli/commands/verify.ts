/**
 * `hsm-ceremony verify TRANSCRIPT`: checks a ceremony transcript (docs/transcript-format.md) and
 * prints its one-page summary; `--format md|html --out FILE` also writes the printable record.
 * Exit 0 verified, 1 the first bad event (line and why), 4 incomplete or aborted, 2 usage.
 * docs/auditor-guide.md explains what each check proves and what it does not.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Command } from '../command.ts';
import { toHex, utf8 } from '../../../protocol/bytes.ts';
import { checkFailed, incomplete, usageError } from '../../../protocol/errors.ts';
import { loadPlan, type LoadedPlan } from '../../plan/plan-parse.ts';
import { parsePinnedKey } from '../../transcript/ceremony-key.ts';
import { verifyTranscript, type TranscriptReport } from '../../transcript/verifier.ts';
import { renderSummaryBody } from '../../transcript/summary.ts';
import { renderRecord, type RecordFormat } from '../../transcript/record.ts';
import { writeNewFile } from '../write-new-file.ts';

function resultLines(r: TranscriptReport, name: string, fileSha: string, plan: LoadedPlan | undefined): string[] {
  const label = (l: string) => l.padEnd(12);
  const out: string[] = [`${label('transcript')}: ${name}, ${r.lines} events, SHA-256 ${fileSha}`];
  switch (r.status) {
    case 'verified':
      out.push(`${label('result')}: VERIFIED: hash chain intact, ${r.summary.steps.length} steps in order or explained, ${r.signatures} signatures valid, KCVs agree`);
      break;
    case 'aborted':
      out.push(`${label('result')}: ABORTED: the transcript verifies and records an aborted ceremony${r.summary.outcomeReason ? `: ${r.summary.outcomeReason}` : ''}`);
      break;
    case 'incomplete':
      out.push(`${label('result')}: INCOMPLETE: lines 1–${r.checkedLines} verify, but the final signed event is missing (a crash, or a cut)`);
      break;
    case 'failed':
      out.push(`${label('result')}: FAILED at line ${r.failure!.line}: ${r.failure!.reason}`);
      out.push(`${label('')}  lines 1–${r.checkedLines} verified; nothing from line ${r.failure!.line} on can be trusted`);
      break;
  }
  if (r.authenticity === 'pinned') out.push(`${label('authenticity')}: ESTABLISHED: every ceremony key is one given with --key`);
  else if (r.status !== 'failed') {
    out.push(`${label('authenticity')}: NOT ESTABLISHED: without --key this checks integrity only; anyone can re-sign an altered`);
    out.push(`${label('')}  transcript with a new key. Compare these key fingerprints with the signed paper record:`);
  }
  for (const k of r.keys) out.push(`${label('  key')}  ${k.fingerprint}  (line ${k.line}, ${k.introducedBy === 'resumed' ? 'after a restart' : 'at the start'})`);
  if (plan) out.push(`${label('plan')}: ${r.planCheck === 'matched' ? `matches ${plan.fileName} (SHA-256 ${plan.sha256})` : `${plan.fileName} was not checked`}`);
  else out.push(`${label('plan')}: not checked; give --plan PLAN to compare with the reviewed plan file`);
  return out;
}

export const verify: Command = {
  path: ['verify'],
  summary: 'verify a ceremony transcript: chain, signatures, plan, step order, KCVs; print the summary',
  help: `usage: hsm-ceremony verify TRANSCRIPT [--plan PLAN] [--key KEY]... [--format md|html --out FILE] [--json]

Checks a ceremony transcript (docs/transcript-format.md) line by line: canonical JSON, the SHA-256
hash chain, every Ed25519 signature by the ceremony key, actors against the plan's roles, that
every plan step ran in order or carries a skip reason or deviation note, and that all KCVs agree.
Prints a one-page summary: who, when, what, KCVs, files with their SHA-256, deviations, sign-offs.

Options:
  --plan PLAN     also check that the transcript's plan is this file (SHA-256 of its bytes) and,
                  for expect-kcv steps with a kcv, that the KCV read is that value
  --key KEY       a ceremony key from the signed paper record: the 64-digit public key or its
                  32-digit fingerprint; repeat for a ceremony that restarted. With --key, every
                  ceremony key in the transcript must be one of these, so a re-signed forgery
                  fails. Without it, only integrity is checked.
  --format md|html --out FILE
                  also write the printable ceremony record with signature lines (never over an
                  existing file; not for a transcript that fails)
  --json          print the full report as JSON
Exit codes: 0 verified, 1 a check failed (names the first bad line), 2 usage,
4 incomplete (no final signed event) or an aborted ceremony. See docs/auditor-guide.md.`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        plan: { type: 'string' },
        key: { type: 'string', multiple: true },
        format: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one transcript', { hint: 'hsm-ceremony verify TRANSCRIPT [--plan PLAN] [--key KEY]' });
    const format = values.format as RecordFormat | undefined;
    if (format !== undefined && format !== 'md' && format !== 'html') throw usageError('USAGE', `--format takes md or html, not "${format}"`, { hint: 'hsm-ceremony verify T --format md --out record.md' });
    if ((format === undefined) !== (values.out === undefined)) throw usageError('USAGE', '--format and --out go together', { hint: 'hsm-ceremony verify T --format md --out record.md' });
    const pinnedKeys = (values.key ?? []).map(parsePinnedKey);
    const plan = values.plan !== undefined ? loadPlan(values.plan, io.cwd) : undefined;
    const name = positionals[0]!;
    const path = resolve(io.cwd, name);
    const outPath = values.out !== undefined ? resolve(io.cwd, values.out) : undefined;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw usageError('TRANSCRIPT_UNREADABLE', `cannot read the transcript ${name}: ${code === 'ENOENT' ? 'no such file' : code ?? 'error'}`, { hint: 'check the path' });
    }
    const fileSha = toHex(sha256(bytes));
    const report = verifyTranscript(bytes, { ...(plan ? { plan: { sha256: plan.sha256, plan: plan.plan } } : {}), pinnedKeys });

    if (values.json) {
      io.stdout.write(JSON.stringify({ transcript: name, sha256: fileSha, ...report }) + '\n');
    } else {
      const page = [...resultLines(report, name, fileSha, plan), ...renderSummaryBody(report.summary)];
      for (const w of report.warnings) page.push(`warning     : ${w}`);
      io.stdout.write(page.join('\n') + '\n');
    }
    if (outPath !== undefined && format !== undefined && report.status !== 'failed') {
      const record = renderRecord(report, { format, transcriptName: basename(path), transcriptSha256: fileSha, ...(plan ? { planName: plan.fileName } : {}) });
      writeNewFile(outPath, utf8(record), 0o644);
      if (!values.json) io.stdout.write(`record      : written to ${values.out}\n`);
    }
    switch (report.status) {
      case 'verified':
        return 0;
      case 'failed':
        throw checkFailed('TRANSCRIPT_INVALID', `${name}: line ${report.failure!.line}: ${report.failure!.reason}`, {
          hint: outPath ? 'no record was written; keep the transcript as evidence and investigate that line' : 'keep the transcript as evidence and investigate that line',
          detail: { failure: report.failure },
        });
      case 'incomplete':
        throw incomplete('TRANSCRIPT_INCOMPLETE', `${name}: the transcript has no final signed event; lines 1–${report.checkedLines} verify`, {
          hint: 'a crash or a cut: resuming the ceremony continues this same file; otherwise keep it as the record of where it stopped',
        });
      case 'aborted':
        throw incomplete('CEREMONY_ABORTED', `${name}: the ceremony was aborted${report.summary.outcomeReason ? `: ${report.summary.outcomeReason}` : ''}`, {
          hint: 'the transcript is intact; the ceremony did not complete',
        });
    }
  },
};
