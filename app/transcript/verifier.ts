/**
 * Verifies a transcript from its bytes (docs/transcript-format.md §8, docs/auditor-guide.md). Pure:
 * no file access, so the writer's resume path and `hsm-ceremony verify` run the very same checks.
 *
 * Line by line, in order, it checks: UTF-8, canonical JSON, the event's schema, `seq` = line
 * number, the hash chain, every signature under the ceremony key in force (and each key against
 * the pinned ones, if any), actors against the plan's roles, step order, and KCV agreement. The
 * first failure stops it and is reported with its line; everything before it was verified. A
 * transcript that ends without `ceremony-finished` — or with an unfinished last line — is
 * incomplete, not failed: a crash and a cut look the same, and both lose the final signature.
 */
import { fromHex } from '../../protocol/bytes.ts';
import type { Plan, StepKind } from '../plan/plan-schema.ts';
import { canonicalJson } from './canonical-json.ts';
import { GENESIS_PREV, lineHash } from './chain.ts';
import { keyFingerprint, matchesPinned, signingInput, verifySignature, type PinnedKey } from './ceremony-key.ts';
import { SIGNED_KINDS, eventProblem, type PlanIdentity, type TranscriptEvent } from './event.ts';
import { SummaryCollector, type CeremonySummary, type StepStatus } from './summary.ts';

/** Longest line accepted (an event is a few hundred bytes; this only bounds memory and time). */
export const MAX_LINE_BYTES = 65536;

export interface VerifyOptions {
  /** the plan the ceremony should have followed (`--plan`): its SHA-256 and parsed content */
  plan?: { sha256: string; plan: Plan };
  /** keys from the signed paper record (`--key`); when given, every ceremony key must be one */
  pinnedKeys?: PinnedKey[];
}

export interface KeyRecord {
  /** hex */
  publicKey: string;
  fingerprint: string;
  /** line of the event that introduced it */
  line: number;
  introducedBy: 'ceremony-started' | 'resumed';
  /** null when no keys were pinned */
  pinned: boolean | null;
}

export interface VerifyFailure {
  /** 1-based line of the first bad event (the event judged, for checks made at the end) */
  line: number;
  /** stable code, docs/auditor-guide.md §4 */
  code: string;
  /** why, lowercase, no final period */
  reason: string;
}

export type VerifyStatus = 'verified' | 'incomplete' | 'aborted' | 'failed';

export interface TranscriptReport {
  status: VerifyStatus;
  failure: VerifyFailure | null;
  /** complete lines (ending in a line feed) in the file */
  lines: number;
  /** lines that passed every check, from the first */
  checkedLines: number;
  /** bytes after the last line feed: an event cut off or in flight; never verified */
  tailBytes: number;
  /** byte length of the complete lines */
  completeLength: number;
  /** SHA-256 of the last checked line (the chain head), or 64 zeros */
  head: string;
  /** the last line covered by a verified signature (0 if none) */
  signedThrough: number;
  /** how many signatures verified */
  signatures: number;
  /** the ceremony key in force after the last checked line (hex), or null */
  currentKey: string | null;
  keys: KeyRecord[];
  /** `pinned`: keys were given and every ceremony key is one of them */
  authenticity: 'pinned' | 'unpinned';
  /** `matched`: --plan given and its hash and steps are the ones recorded */
  planCheck: 'matched' | 'not-given';
  summary: CeremonySummary;
  warnings: string[];
}

class Failed extends Error {
  constructor(readonly f: VerifyFailure) {
    super(f.reason);
  }
}

const ROLE_LIST: Record<string, (r: PlanIdentity['roles']) => (string | null)[]> = {
  operator: (r) => [r.operator],
  'security-officer': (r) => [r.securityOfficer],
  custodian: (r) => r.custodians,
  witness: (r) => r.witnesses,
};

const ZERO_KCV = '0000000000000000';

/**
 * Verifies a transcript.
 *
 * @param bytes the transcript file's exact bytes
 * @param options the plan and the pinned keys, when the auditor has them
 * @returns the report; `status` and `failure` carry the verdict (this function does not throw for
 *   bad transcripts)
 * @throws {TypeError} if `bytes` is not a Uint8Array
 */
export function verifyTranscript(bytes: Uint8Array, options: VerifyOptions = {}): TranscriptReport {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const pinned = options.pinnedKeys && options.pinnedKeys.length > 0 ? options.pinnedKeys : null;
  const collector = new SummaryCollector();
  const warnings: string[] = [];
  const keys: KeyRecord[] = [];

  // split into complete lines; whatever follows the last line feed is the tail
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  const completeLength = start;
  const tailBytes = bytes.length - start;

  let head = GENESIS_PREV;
  let checked = 0;
  let signedThrough = 0;
  let signatures = 0;
  let currentKey: string | null = null;
  let finished: { outcome: 'completed' | 'aborted'; line: number } | null = null;
  let planSteps: StepKind[] = [];
  let roles: PlanIdentity['roles'] | null = null;
  let status: StepStatus[] = [];
  let running: number | null = null;
  const notes = new Set<number>();
  const outOfOrder: { step: number; line: number; pending: number[] }[] = [];
  const kcvReadIn = new Set<number>();
  let kcvRef: { kcv: string; line: number } | null = null;
  let lastTime = '';
  let planMatched = false;
  const decoder = new TextDecoder('utf-8', { fatal: true });

  const fail = (line: number, code: string, reason: string): never => {
    throw new Failed({ line, code, reason });
  };
  const agreeKcv = (kcv: string, line: number, what: string) => {
    if (kcvRef === null) kcvRef = { kcv, line };
    else if (kcvRef.kcv !== kcv) fail(line, 'KCV_DISAGREE', `${what} ${kcv} differs from the KCV ${kcvRef.kcv} recorded at line ${kcvRef.line} for the same DKEK`);
  };

  let failure: VerifyFailure | null = null;
  try {
    lines.forEach((raw, idx) => {
      const n = idx + 1;
      if (finished) fail(n, 'EVENT_AFTER_FINISH', `an event follows ceremony-finished (line ${finished.line})`);
      if (raw.length > MAX_LINE_BYTES) fail(n, 'LINE_TOO_LONG', `the line is ${raw.length} bytes, over the ${MAX_LINE_BYTES}-byte limit`);
      let text: string;
      try {
        text = decoder.decode(raw);
      } catch {
        return fail(n, 'NOT_UTF8', 'the line is not valid UTF-8');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return fail(n, 'NOT_JSON', 'the line is not JSON');
      }
      let canonical: string;
      try {
        canonical = canonicalJson(parsed);
      } catch {
        return fail(n, 'NOT_CANONICAL', 'the line holds a value canonical JSON does not allow');
      }
      if (canonical !== text) fail(n, 'NOT_CANONICAL', 'the line is not in canonical form (member order, spacing, escaping or a repeated member changed)');
      const problem = eventProblem(parsed);
      if (problem) fail(n, 'BAD_EVENT', problem);
      const e = parsed as TranscriptEvent;
      if (e.seq !== n) fail(n, 'BAD_SEQ', `seq is ${e.seq} on line ${n}: a line was removed, inserted, duplicated or moved`);
      if (e.prev !== head) {
        fail(n, 'CHAIN_BROKEN', n === 1 ? "the first event's prev must be 64 zeros" : `prev is not the SHA-256 of line ${n - 1}: a line was changed, removed, inserted or reordered`);
      }
      if (n === 1 && e.kind !== 'ceremony-started') fail(n, 'NO_START', 'the first event must be ceremony-started');
      if (n > 1 && e.kind === 'ceremony-started') fail(n, 'START_AGAIN', 'ceremony-started appears again after line 1');
      const d = e.data as Record<string, unknown>;

      if (e.kind === 'ceremony-started') {
        const plan = d.plan as PlanIdentity;
        planSteps = plan.steps;
        roles = plan.roles;
        status = planSteps.map(() => 'not run');
        if (options.plan) {
          if (options.plan.sha256 !== plan.sha256) fail(n, 'PLAN_MISMATCH', `the transcript records plan SHA-256 ${plan.sha256}, but the plan given has ${options.plan.sha256}`);
          const given = options.plan.plan.steps.map((s) => s.step);
          if (given.join(',') !== planSteps.join(',')) fail(n, 'PLAN_MISMATCH', 'the steps recorded are not the steps of the plan given');
          planMatched = true;
        }
      }

      // actor: a named participant must hold that role in the plan
      if (e.actor.name !== null && roles) {
        const allowed = ROLE_LIST[e.actor.role]?.(roles) ?? [];
        if (!allowed.some((x) => x !== null && x.toLowerCase() === e.actor.name!.toLowerCase())) {
          fail(n, 'UNKNOWN_ACTOR', `${e.actor.name} is not the plan's ${e.actor.role.replace('-', ' ')}${e.actor.role === 'custodian' || e.actor.role === 'witness' ? ' (not listed)' : ''}`);
        }
      }
      if (e.step !== null && e.step > planSteps.length) fail(n, 'BAD_STEP', `step ${e.step} does not exist: the plan has ${planSteps.length} steps`);
      if (e.time < lastTime) warnings.push(`line ${n}: the time goes back from ${lastTime} to ${e.time} (clock adjusted?)`);
      lastTime = e.time > lastTime ? e.time : lastTime;

      // signatures
      if (SIGNED_KINDS.has(e.kind)) {
        let key: string;
        if (e.kind === 'ceremony-started' || e.kind === 'resumed') {
          key = d.publicKey as string;
          if (e.kind === 'resumed') {
            if (d.previousKey !== currentKey) fail(n, 'RESUME_LINK', 'resumed names a previous key that is not the key in force');
            if (d.afterSeq !== n - 1) fail(n, 'RESUME_LINK', `resumed says it follows seq ${String(d.afterSeq)}, but it is on line ${n}`);
          }
        } else key = currentKey!;
        const ok = verifySignature(fromHex(key), signingInput(e), fromHex(d.signature as string));
        if (!ok) fail(n, 'BAD_SIGNATURE', `the signature does not verify under ceremony key ${keyFingerprint(fromHex(key))}`);
        signedThrough = n;
        signatures++;
        if (e.kind === 'ceremony-started' || e.kind === 'resumed') {
          const isPinned = pinned ? pinned.some((p) => matchesPinned(key, p)) : null;
          keys.push({ publicKey: key, fingerprint: keyFingerprint(fromHex(key)), line: n, introducedBy: e.kind, pinned: isPinned });
          if (isPinned === false) {
            fail(n, 'KEY_NOT_PINNED', `ceremony key ${keyFingerprint(fromHex(key))} is not one of the keys given with --key: the transcript was signed by someone else (a re-signed copy?)`);
          }
          currentKey = key;
        }
      }

      // steps and their order (§8.3)
      const k = e.step;
      const planKind = k !== null ? planSteps[k - 1] : undefined;
      const stepKind = d.kind as StepKind | undefined;
      switch (e.kind) {
        case 'step-started':
        case 'step-finished':
        case 'step-skipped':
        case 'step-failed': {
          if (k === null) return fail(n, 'BAD_STEP', `${e.kind} must name its step`);
          if (stepKind !== planKind) fail(n, 'STEP_KIND', `step ${k} is ${planKind} in the plan, but this event says ${stepKind}`);
          const st = status[k - 1]!;
          if (e.kind === 'step-started') {
            if (st === 'finished' || st === 'skipped') fail(n, 'STEP_AGAIN', `step ${k} starts again after it was ${st}`);
            if (running !== null && running !== k) fail(n, 'STEP_OVERLAP', `step ${k} starts while step ${running} is still running`);
            const pending = status.slice(0, k - 1).flatMap((s, j) => (s !== 'finished' && s !== 'skipped' ? [j + 1] : []));
            if (pending.length > 0) outOfOrder.push({ step: k, line: n, pending });
            if (planKind === 'initialize') kcvRef = null; // a new DKEK from here on
            status[k - 1] = 'running';
            running = k;
          } else if (e.kind === 'step-finished') {
            if (st !== 'running') fail(n, 'STEP_NOT_STARTED', `step ${k} finishes without having started`);
            if (planKind === 'expect-kcv' && !kcvReadIn.has(k)) fail(n, 'KCV_NOT_READ', `step ${k} (expect-kcv) finishes without a kcv-read event`);
            status[k - 1] = 'finished';
            running = null;
          } else if (e.kind === 'step-skipped') {
            if (st === 'finished') fail(n, 'STEP_AGAIN', `step ${k} is skipped after it finished`);
            if (running === k) running = null;
            status[k - 1] = 'skipped';
          } else {
            if (st !== 'running') fail(n, 'STEP_NOT_STARTED', `step ${k} fails without having started`);
            status[k - 1] = 'failed';
            running = null;
          }
          break;
        }
        case 'note':
          if (k !== null) notes.add(k);
          break;
        case 'kcv-read': {
          const kcv = d.kcv as string;
          if (kcv === ZERO_KCV) fail(n, 'KCV_ZERO', 'the KCV read is 0000000000000000, what a Pico HSM reports before the user PIN is verified; it identifies no DKEK');
          if (d.expected !== undefined) {
            const same = d.expected === kcv;
            if (d.match !== undefined && d.match !== same) fail(n, 'KCV_MATCH_WRONG', `the event says match is ${String(d.match)}, but ${kcv} and ${String(d.expected)} ${same ? 'are equal' : 'differ'}`);
            if (!same) fail(n, 'KCV_MISMATCH', `the KCV read is ${kcv}, but ${String(d.expected)} was expected`);
          }
          if (k !== null) kcvReadIn.add(k);
          const planned = k !== null && options.plan ? options.plan.plan.steps[k - 1] : undefined;
          if (planned && planned.step === 'expect-kcv' && planned.kcv !== undefined) {
            const want = planned.kcv.replace(/ /g, '').toUpperCase();
            if (want !== kcv) fail(n, 'KCV_NOT_PLANNED', `the KCV read is ${kcv}, but the plan expects ${want} at step ${k}`);
          }
          agreeKcv(kcv, n, 'the KCV read');
          break;
        }
        case 'file-written':
          if (typeof d.kcv === 'string') agreeKcv(d.kcv, n, `the KCV of ${String(d.path)}`);
          break;
        case 'card-status':
          if (typeof d.kcv === 'string' && d.dkekOutstanding === 0 && d.kcv !== ZERO_KCV) agreeKcv(d.kcv, n, 'the KCV in the card status');
          break;
        case 'ceremony-finished':
          finished = { outcome: d.outcome as 'completed' | 'aborted', line: n };
          break;
        default:
          break;
      }

      collector.add(e, n);
      head = lineHash(raw);
      checked = n;
    });

    // checks that need the whole transcript (§8.3)
    const end = finished as { outcome: 'completed' | 'aborted'; line: number } | null;
    // out of order is explained by a note on the step itself, or by every step it jumped being
    // noted or skipped (a skip carries its reason)
    for (const v of outOfOrder) {
      if (notes.has(v.step) || v.pending.every((j) => notes.has(j) || status[j - 1] === 'skipped')) continue;
      const which = v.pending.length === 1 ? `step ${v.pending[0]}` : `steps ${v.pending.join(', ')}`;
      if (end) fail(v.line, 'STEP_ORDER', `step ${v.step} starts before ${which} finished or was skipped, and no note explains it`);
      else warnings.push(`line ${v.line}: step ${v.step} starts before ${which} finished; no note explains it yet`);
    }
    if (end && end.outcome === 'completed') {
      status.forEach((st, i) => {
        if (st !== 'finished' && st !== 'skipped' && !notes.has(i + 1)) {
          fail(end.line, 'STEP_MISSING', `step ${i + 1} (${planSteps[i]}) ${st === 'not run' ? 'never ran' : `is ${st}`}, and no skip reason or note explains it`);
        }
      });
    }
  } catch (e) {
    if (!(e instanceof Failed)) throw e;
    failure = e.f;
  }

  const end = finished as { outcome: 'completed' | 'aborted'; line: number } | null;
  if (!failure && tailBytes > 0) warnings.push(`the file ends with ${tailBytes} bytes of an unfinished line (an event cut off or in flight); they are not verified`);
  if (!failure && !end && checked > signedThrough) {
    warnings.push(`lines ${signedThrough + 1}–${checked} follow the last signature: their chain is intact but nothing signs them yet`);
  }
  if (!failure && lines.length === 0) warnings.push('the transcript holds no complete event');
  const statusOut: VerifyStatus = failure ? 'failed' : !end ? 'incomplete' : end.outcome === 'aborted' ? 'aborted' : 'verified';
  return {
    status: statusOut,
    failure,
    lines: lines.length,
    checkedLines: checked,
    tailBytes,
    completeLength,
    head,
    signedThrough,
    signatures,
    currentKey,
    keys,
    authenticity: pinned && !failure && keys.length > 0 && keys.every((k) => k.pinned) ? 'pinned' : 'unpinned',
    planCheck: planMatched ? 'matched' : 'not-given',
    summary: collector.s,
    warnings,
  };
}
