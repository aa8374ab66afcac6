/**
 * The files a plan reads and writes (docs/plan-format.md §3.6). Outputs are relative to the run's
 * output folder and are never overwritten: the runner refuses an output that exists when the step
 * runs, and `plan check` warns ahead of time about outputs that exist now and inputs that are
 * missing now.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { formatPath, type PlanIssue, type PlanPath } from './plan-issue.ts';
import { backupFileName, type Plan } from './plan-schema.ts';
import { normalizePlanPath } from './plan-rules.ts';

export interface PlanFile {
  /** the path as the plan writes it */
  path: string;
  /** `output`: the run writes it under --out; `input`: it must exist, relative to the plan's folder */
  direction: 'output' | 'input';
  /** what the file is */
  kind: 'share-file' | 'backup-file' | 'backup-folder' | 'key-backup';
  /** 0-based index of the step that writes or reads it, or null for shareFiles entries */
  step: number | null;
  /** the plan field that names it */
  field: PlanPath;
}

/**
 * Lists every file a plan writes, and every file it reads that it does not write itself.
 */
export function planFiles(plan: Plan): PlanFile[] {
  const files: PlanFile[] = [];
  const written = new Set<string>();
  const allFolders = new Set<string>();
  (plan.shareFiles ?? []).forEach((d, i) => files.push({ path: d.file, direction: 'input', kind: 'share-file', step: null, field: ['shareFiles', i, 'file'] }));
  plan.steps.forEach((s, i) => {
    if (s.step === 'create-share') {
      files.push({ path: s.file, direction: 'output', kind: 'share-file', step: i, field: ['steps', i, 'file'] });
      written.add(normalizePlanPath(s.file));
    } else if (s.step === 'backup') {
      if (s.keys === 'all') {
        files.push({ path: s.folder, direction: 'output', kind: 'backup-folder', step: i, field: ['steps', i, 'folder'] });
        allFolders.add(normalizePlanPath(s.folder));
      } else {
        for (const r of s.keys) {
          const f = backupFileName(s.folder, r);
          files.push({ path: f, direction: 'output', kind: 'backup-file', step: i, field: ['steps', i, 'folder'] });
          written.add(normalizePlanPath(f));
        }
      }
    } else if (s.step === 'restore') {
      const n = normalizePlanPath(s.file);
      const inAll = [...allFolders].some((f) => n.startsWith(`${f}/`));
      if (!written.has(n) && !inAll) files.push({ path: s.file, direction: 'input', kind: 'key-backup', step: i, field: ['steps', i, 'file'] });
    }
  });
  return files;
}

export interface FileCheckOptions {
  /** the folder outputs go to */
  outDir: string;
  /** the folder relative input paths start from (the plan's folder) */
  planDir: string;
  /** whether a path exists (injected so the rule is testable without a file system) */
  exists: (absolutePath: string) => boolean;
  /** line lookup for the plan fields */
  locate: (path: PlanPath) => { line: number; column: number };
}

/**
 * Warnings about the file system as it is now: an output that already exists (the run will stop
 * at that step rather than overwrite it) and an input that is not there.
 */
export function checkPlanFiles(plan: Plan, o: FileCheckOptions): PlanIssue[] {
  const issues: PlanIssue[] = [];
  for (const f of planFiles(plan)) {
    const at = o.locate(f.field);
    if (f.direction === 'output') {
      const abs = join(o.outDir, f.path);
      if (o.exists(abs)) {
        issues.push({
          severity: 'warning',
          code: 'PLAN_OUTPUT_EXISTS',
          path: formatPath(f.field),
          line: at.line,
          column: at.column,
          message: `${abs} exists now; a run into this folder stops at this step rather than overwrite it`,
        });
      }
    } else {
      const abs = isAbsolute(f.path) ? f.path : resolve(o.planDir, f.path);
      if (!o.exists(abs)) {
        issues.push({
          severity: 'warning',
          code: 'PLAN_INPUT_MISSING',
          path: formatPath(f.field),
          line: at.line,
          column: at.column,
          message: `${abs} does not exist now; bring it before this step runs`,
        });
      }
    }
  }
  return issues;
}
