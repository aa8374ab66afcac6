/**
 * `hsm-ceremony plan check PLAN`: validates a ceremony plan (docs/plan-format.md) and prints it as
 * the numbered script people read aloud, headed by the SHA-256 of the exact file. Every error and
 * warning is listed with its field path and line, so one run shows everything to fix.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { EXIT_CODES } from '../../../protocol/errors.ts';
import { loadPlan, type LoadedPlan } from '../../plan/plan-parse.ts';
import { PlanError, formatIssue, sortIssues, type PlanIssue } from '../../plan/plan-issue.ts';
import { renderScript } from '../../plan/plan-script.ts';
import { checkPlanFiles } from '../../plan/plan-files.ts';
import { checkRehearsalSecrets } from '../../plan/rehearsal-secrets.ts';
import { loadSecretsFile } from '../secrets-file.ts';

const PROGRAM = 'hsm-ceremony';

function printIssues(io: CliIo, file: string, issues: PlanIssue[]): void {
  for (const i of issues) io.stderr.write(`${PROGRAM}: ${i.severity}: ${file}: ${formatIssue(i)}\n`);
}

export const planCheck: Command = {
  path: ['plan', 'check'],
  summary: 'validate a ceremony plan and print it as the script to read aloud, with its SHA-256',
  help: `usage: hsm-ceremony plan check PLAN [--out DIR] [--secrets-file FILE] [--json]

Reads a ceremony plan (docs/plan-format.md) strictly: unknown fields, secrets, and steps that
contradict each other are errors, each named by field path and line. A valid plan is printed as
the numbered ceremony script, headed by the SHA-256 of the exact file bytes (the value the
transcript records and "hsm-ceremony verify --plan" compares).

Options:
  --out DIR             also warn about outputs that already exist in DIR (the run's --out)
  --secrets-file FILE   also check that a rehearsal secrets file gives every passphrase, PIN and
                        sign-off a headless "run --rehearse" will ask for (docs/secrets-file.md)
  --json                print {ok, sha256, errors, warnings, script} as JSON instead
Exit codes: 0 the plan is valid (warnings allowed), 2 it is not (or a file is unreadable).`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { out: { type: 'string' }, 'secrets-file': { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1) {
      io.stderr.write(`${PROGRAM}: error: give exactly one plan file\n${PROGRAM}: hint: hsm-ceremony plan check PLAN\n`);
      return EXIT_CODES.usage;
    }
    const planArg = positionals[0]!;
    let loaded: LoadedPlan;
    try {
      loaded = loadPlan(planArg, io.cwd);
    } catch (e) {
      if (e instanceof PlanError) {
        if (values.json) {
          io.stdout.write(
            JSON.stringify({
              ok: false,
              file: planArg,
              errors: e.issues.filter((i) => i.severity === 'error'),
              warnings: e.issues.filter((i) => i.severity === 'warning'),
            }) + '\n',
          );
        } else {
          printIssues(io, planArg, e.issues);
          const n = e.issues.filter((i) => i.severity === 'error').length;
          io.stderr.write(`${PROGRAM}: hint: ${n} error${n === 1 ? '' : 's'}; fix them and check again (docs/plan-format.md lists every field and rule)\n`);
        }
        return EXIT_CODES.usage;
      }
      throw e;
    }

    const issues: PlanIssue[] = [...loaded.warnings];
    issues.push(
      ...checkPlanFiles(loaded.plan, {
        outDir: values.out !== undefined ? resolve(io.cwd, values.out) : '',
        planDir: loaded.dir,
        exists: existsSync,
        locate: loaded.locate,
      }).filter((i) => values.out !== undefined || i.code !== 'PLAN_OUTPUT_EXISTS'),
    );
    if (values['secrets-file'] !== undefined) {
      const secrets = loadSecretsFile(values['secrets-file'], io.cwd);
      try {
        issues.push(
          ...checkRehearsalSecrets(
            loaded.plan,
            {
              rehearsal: secrets.rehearsal,
              hasPin: secrets.pin !== undefined,
              hasSoPin: secrets.soPin !== undefined,
              shares: new Map([...secrets.shares].map(([name, v]) => [name, v.passphrase ? 'passphrase' : 'pwdShares'] as const)),
              signOffs: secrets.signOffs,
            },
            loaded.locate,
            values['secrets-file'],
          ),
        );
      } finally {
        secrets.wipe();
      }
    }
    const sorted = sortIssues(issues);
    const errors = sorted.filter((i) => i.severity === 'error');
    const warnings = sorted.filter((i) => i.severity === 'warning');
    const script = renderScript(loaded.plan, { fileName: planArg, sha256: loaded.sha256 });
    if (values.json) {
      io.stdout.write(
        JSON.stringify({ ok: errors.length === 0, file: planArg, sha256: loaded.sha256, name: loaded.plan.name, steps: loaded.plan.steps.length, errors, warnings, script }) + '\n',
      );
    } else {
      printIssues(io, planArg, sorted);
      if (errors.length === 0) {
        io.stdout.write(script.join('\n') + '\n\n');
        io.stdout.write(`plan OK: ${loaded.plan.steps.length} steps, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}, SHA-256 ${loaded.sha256}\n`);
      } else {
        io.stderr.write(`${PROGRAM}: hint: the plan itself is valid; the secrets file does not cover it (docs/secrets-file.md)\n`);
      }
    }
    return errors.length === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  },
};
