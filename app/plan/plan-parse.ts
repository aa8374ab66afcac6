/**
 * Plan parsing, end to end (docs/plan-format.md): bytes → YAML with positions (plan-yaml.ts) →
 * secret guards → strict schema per section and per step (plan-schema.ts) → cross-step rules
 * (plan-rules.ts). Every problem is collected with its field path and line; the plan is returned
 * only when there is no error. Its identity is the SHA-256 of the exact file bytes, so the plan
 * people reviewed and the plan a transcript names can be compared byte for byte.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type * as z from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../protocol/bytes.ts';
import { usageError } from '../../protocol/errors.ts';
import { readPlanSource, type PlanSource } from './plan-yaml.ts';
import { formatPath, PlanError, sortIssues, type PlanIssue, type PlanPath } from './plan-issue.ts';
import { KNOWN_FIELDS, PlanTop, STEP_KINDS, STEP_SCHEMAS, type Plan, type PlanStep, type StepKind } from './plan-schema.ts';
import { checkPlanRules } from './plan-rules.ts';

/** A plan that passed every check, with what is needed to report on it. */
export interface ParsedPlan {
  plan: Plan;
  /** SHA-256 of the exact file bytes, lower-case hex */
  sha256: string;
  /** the file name as given (for messages) */
  fileName: string;
  /** warnings: the plan is valid but something deserves a second look */
  warnings: PlanIssue[];
  /** line and column of a field, for messages about the plan found later (e.g. at run time) */
  locate(path: PlanPath): { line: number; column: number };
}

/** SHA-256 of a plan file's exact bytes, as lower-case hex. */
export function planSha256(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

/** Levenshtein distance, small inputs only (field names). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function suggestion(name: string, allowed: readonly string[]): string {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const f of allowed) {
    const dd = f.toLowerCase() === lower ? 0 : distance(lower, f.toLowerCase());
    if (dd < bestD) {
      best = f;
      bestD = dd;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

const TYPE_WORDS: Record<string, string> = {
  string: 'must be text',
  number: 'must be a whole number',
  int: 'must be a whole number',
  boolean: 'must be true or false',
  array: 'must be a list',
  object: 'must be a mapping of fields',
};

/** Turns zod's issues for the value at `base` into plan issues with lines. */
function fromZod(issues: readonly z.core.$ZodIssue[], base: PlanPath, root: unknown, src: PlanSource, allowed: readonly string[]): PlanIssue[] {
  const out: PlanIssue[] = [];
  const add = (path: PlanPath, message: string, code = 'PLAN_FIELD') => {
    const at = src.locate(path);
    out.push({ severity: 'error', code, path: formatPath(path), line: at.line, column: at.column, message });
  };
  for (const iss of issues) {
    const path: PlanPath = [...base, ...(iss.path as (string | number)[])];
    const value = valueAt(root, path);
    const custom = /^[a-z]/.test(iss.message) ? iss.message : undefined;
    switch (iss.code) {
      case 'unrecognized_keys':
        for (const k of iss.keys) add([...path, k], `unknown field${suggestion(k, allowed)}`, 'PLAN_UNKNOWN_FIELD');
        break;
      case 'invalid_type': {
        if (value === undefined) add(path, 'is required', 'PLAN_MISSING_FIELD');
        else if (value === null) add(path, 'has no value');
        else {
          let msg = TYPE_WORDS[iss.expected] ?? `must be ${iss.expected}`;
          const source = src.sourceText(path);
          if (iss.expected === 'string' && source !== undefined && (typeof value === 'number' || typeof value === 'boolean')) {
            msg += `; write it in quotes: "${source}"`;
          }
          if ((iss.expected === 'int' || iss.expected === 'number') && typeof value === 'number') msg = 'must be a whole number';
          add(path, msg);
        }
        break;
      }
      case 'too_small':
        if (iss.origin === 'string') add(path, iss.minimum === 1 ? 'must not be empty' : `must be at least ${iss.minimum} characters`);
        else if (iss.origin === 'array') add(path, `must list at least ${iss.minimum} item${iss.minimum === 1 ? '' : 's'}`);
        else add(path, `must be at least ${iss.minimum}`);
        break;
      case 'too_big':
        if (iss.origin === 'string') add(path, `must be at most ${iss.maximum} characters`);
        else if (iss.origin === 'array') add(path, `must list at most ${iss.maximum} items`);
        else add(path, `must be at most ${iss.maximum}`);
        break;
      case 'invalid_value':
        if (value === undefined) add(path, 'is required', 'PLAN_MISSING_FIELD');
        else add(path, custom ?? (iss.values.length === 1 ? `must be ${String(iss.values[0])}` : `must be one of ${iss.values.map(String).join(', ')}`));
        break;
      case 'invalid_union':
        if (value === undefined) add(path, 'is required', 'PLAN_MISSING_FIELD');
        else add(path, custom ?? 'has the wrong form');
        break;
      default:
        add(path, custom ?? 'is not valid');
    }
  }
  return out;
}

/**
 * Parses and checks a plan from its exact bytes.
 *
 * @param bytes the plan file's content
 * @param fileName the name to use in messages
 * @returns the plan, its SHA-256 and any warnings
 * @throws {PlanError} usage PLAN_INVALID listing every error (field path and line) and warning
 */
export function parsePlan(bytes: Uint8Array, fileName = 'plan'): ParsedPlan {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const src = readPlanSource(bytes);
  const issues: PlanIssue[] = [...src.issues];
  const hash = planSha256(bytes);
  if (src.issues.some((i) => i.code === 'PLAN_YAML' || i.code === 'PLAN_NOT_UTF8')) throw new PlanError(fileName, issues);

  // A field already refused as a secret is not reported again as unknown or malformed.
  const guarded = src.issues.filter((i) => i.code === 'PLAN_SECRET_FIELD').map((i) => i.path);
  const underGuard = (p: PlanIssue) => guarded.some((g) => g !== '' && (p.path === g || p.path.startsWith(`${g}.`) || p.path.startsWith(`${g}[`)));
  const push = (list: PlanIssue[]) => issues.push(...list.filter((i) => !underGuard(i)));

  const root = src.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    issues.push({ severity: 'error', code: 'PLAN_FIELD', path: '', line: 1, column: 1, message: 'a plan is a YAML mapping with version, name, device, roles and steps' });
    throw new PlanError(fileName, issues);
  }
  const top = PlanTop.safeParse(root);
  if (!top.success) push(fromZod(top.error.issues, [], root, src, KNOWN_FIELDS));

  const steps: PlanStep[] = [];
  const rawSteps = (root as { steps?: unknown }).steps;
  if (Array.isArray(rawSteps)) {
    rawSteps.forEach((raw, i) => {
      const path: PlanPath = ['steps', i];
      const at = src.locate(path);
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        issues.push({ severity: 'error', code: 'PLAN_FIELD', path: formatPath(path), line: at.line, column: at.column, message: 'a step is a mapping starting with "step: KIND"' });
        return;
      }
      const kind = (raw as { step?: unknown }).step;
      if (typeof kind !== 'string' || !(STEP_KINDS as readonly string[]).includes(kind)) {
        const kp = src.locate([...path, 'step']);
        const what = kind === undefined ? 'is required' : `unknown step ${typeof kind === 'string' ? `"${kind}"` : 'kind'}${typeof kind === 'string' ? suggestion(kind, STEP_KINDS) : ''}`;
        issues.push({
          severity: 'error',
          code: kind === undefined ? 'PLAN_MISSING_FIELD' : 'PLAN_UNKNOWN_STEP',
          path: formatPath([...path, 'step']),
          line: kp.line,
          column: kp.column,
          message: `${what}; a step is one of ${STEP_KINDS.join(', ')}`,
        });
        return;
      }
      const schema = STEP_SCHEMAS[kind as StepKind];
      const r = schema.safeParse(raw);
      if (!r.success) {
        push(fromZod(r.error.issues, path, root, src, Object.keys(schema.shape)));
        return;
      }
      steps.push(r.data as PlanStep);
    });
  }

  if (issues.some((i) => i.severity === 'error') || !top.success || steps.length !== (rawSteps as unknown[]).length) {
    throw new PlanError(fileName, issues);
  }
  const plan: Plan = { ...(top.data as Omit<Plan, 'steps'>), steps };
  const ruleIssues = checkPlanRules(plan, src.locate);
  issues.push(...ruleIssues);
  if (issues.some((i) => i.severity === 'error')) throw new PlanError(fileName, issues);
  return { plan, sha256: hash, fileName, warnings: sortIssues(issues), locate: src.locate };
}

/** A plan read from disk, with where it came from. */
export interface LoadedPlan extends ParsedPlan {
  /** absolute path of the plan file */
  path: string;
  /** the folder input paths in the plan are relative to */
  dir: string;
  /** the exact bytes that were hashed */
  bytes: Uint8Array;
}

/**
 * Reads and parses a plan file.
 *
 * @throws CeremonyError usage PLAN_UNREADABLE if the file cannot be read
 * @throws {PlanError} usage PLAN_INVALID (see parsePlan)
 */
export function loadPlan(path: string, cwd: string): LoadedPlan {
  const abs = resolve(cwd, path);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(abs));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('PLAN_UNREADABLE', `cannot read the plan ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? 'error'}`, {
      hint: 'check the path',
    });
  }
  const parsed = parsePlan(bytes, basename(abs));
  return { ...parsed, path: abs, dir: dirname(abs), bytes };
}
