/**
 * A problem found in a plan: where (field path and line) and what. Every plan error and warning is
 * one of these, so `plan check` can list them all at once, sorted by line, and `--json` can hand
 * them to other tools. Messages follow the project style (lowercase, no final period) and never
 * quote a value that might be secret (plan-format.md §5).
 */
import { CeremonyError } from '../../protocol/errors.ts';

/** A path into the plan, e.g. `['steps', 3, 'custodian']`. */
export type PlanPath = readonly (string | number)[];

export interface PlanIssue {
  /** `error` makes the plan unusable; `warning` is printed and the plan stays valid */
  severity: 'error' | 'warning';
  /** stable UPPER_SNAKE code, documented in docs/plan-format.md §7 */
  code: string;
  /** the field path as printed, e.g. `steps[3].custodian` (empty for the whole file) */
  path: string;
  /** 1-based line in the plan file (0 when the problem is not tied to a line) */
  line: number;
  /** 1-based column */
  column: number;
  /** what is wrong, lowercase, no final period */
  message: string;
}

/** `['steps', 3, 'custodian']` → `steps[3].custodian`. */
export function formatPath(path: PlanPath): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s === '' ? p : `.${p}`;
  }
  return s;
}

/** One issue as one line: `steps[3].custodian: unknown custodian "dave" (line 27)`. */
export function formatIssue(issue: PlanIssue): string {
  const where = issue.path === '' ? '' : `${issue.path}: `;
  const line = issue.line > 0 ? ` (line ${issue.line})` : '';
  return `${where}${issue.message}${line}`;
}

/** Sorts issues by line, then column, then path, so output follows the file. */
export function sortIssues(issues: PlanIssue[]): PlanIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}

/**
 * The error `parsePlan` throws for an unusable plan: a usage error (exit 2) whose message names the
 * first problem and whose `issues` list holds every error and warning found.
 */
export class PlanError extends CeremonyError {
  readonly issues: PlanIssue[];
  constructor(fileName: string, issues: PlanIssue[]) {
    const sorted = sortIssues(issues);
    const errors = sorted.filter((i) => i.severity === 'error');
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
    super('usage', 'PLAN_INVALID', `${fileName}: ${first ? formatIssue(first) : 'invalid plan'}${more}`, {
      hint: 'fix the plan and run "hsm-ceremony plan check" again; docs/plan-format.md lists every field',
      detail: { issues: sorted },
    });
    this.name = 'PlanError';
    this.issues = sorted;
  }
}
