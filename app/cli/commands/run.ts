/**
 * `hsm-ceremony run PLAN`: executes a ceremony plan step by step (docs/plan-format.md §4) and
 * writes its transcript (docs/transcript-format.md). `--rehearse` runs it on the built-in
 * simulator with rehearsal secrets and sign-offs from `--secrets-file`. On a terminal the run
 * view (app/ui/run/) asks for what the secrets file does not answer. Without a terminal the
 * run is headless and starts only when that file answers everything the plan will ask
 * (plan-format.md §9.1); an interrupt (Ctrl-C, SIGINT) aborts it with the transcript finished as
 * aborted (exit 4). A transcript that exists is continued (`resumed`), never overwritten.
 */
import { allowInteractiveInk } from '../interactive-ink.ts';
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { deviceOptions, DeviceSecrets, type DeviceFlags } from '../device-options.ts';
import { isInteractive } from '../secret-input.ts';
import { withInterrupt } from '../progress.ts';
import { workerKdf } from '../kdf.ts';
import { loadPlan, type LoadedPlan } from '../../plan/plan-parse.ts';
import { formatIssue } from '../../plan/plan-issue.ts';
import { checkRehearsalSecrets } from '../../plan/rehearsal-secrets.ts';
import { type Actor } from '../../transcript/event.ts';
import { usageError, incomplete, EXIT_CODES, isCeremonyError } from '../../../protocol/errors.ts';
import { type RunDevice } from '../../run/run-device.ts';
import { runPlan } from '../../run/plan-runner.ts';
import type { StepState } from '../../run/run-machine.ts';
import { fileSecrets } from '../../run/file-secrets.ts';
import { deviceLine, setUpRun } from '../../run/run-setup.ts';
import type { SecretsFile } from '../secrets-file.ts';

const PROGRAM = 'hsm-ceremony';

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** The default output folder: a new dated folder in the working directory. */
function datedFolder(cwd: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  let dir = join(cwd, `ceremony-${stamp}`);
  for (let i = 2; existsSync(dir); i++) dir = join(cwd, `ceremony-${stamp}-${i}`);
  return dir;
}

/** Refuses a headless run the secrets file cannot answer completely, naming everything missing. */
function requireHeadless(plan: LoadedPlan, file: SecretsFile | undefined, rehearse: boolean, secretsName: string | undefined): void {
  if (!file) {
    throw usageError('NO_TTY', 'there is no terminal, so every secret and sign-off must come from --secrets-file, and none was given', {
      hint: 'run it on a terminal, or give a secrets file; "hsm-ceremony plan check PLAN --secrets-file FILE" lists what it needs',
    });
  }
  const issues = checkRehearsalSecrets(
    plan.plan,
    {
      rehearsal: file.rehearsal,
      hasPin: file.pin !== undefined,
      hasSoPin: file.soPin !== undefined,
      shares: new Map([...file.shares].map(([n, v]) => [n, v.passphrase ? 'passphrase' : 'pwdShares'] as const)),
      signOffs: file.signOffs,
    },
    plan.locate,
    secretsName,
  ).filter((i) => i.severity === 'error' && (rehearse || i.code !== 'SECRETS_NOT_REHEARSAL'));
  if (issues.length > 0) {
    throw usageError('RUN_NEEDS_INPUT', `there is no terminal, and the secrets file does not answer everything the plan asks: ${issues.map((i) => formatIssue(i)).join('; ')}`, {
      hint: 'add what is missing to the secrets file, or run on a terminal',
    });
  }
}

export const run: Command = {
  path: ['run'],
  summary: 'run a ceremony plan step by step and write its transcript (--rehearse: on the simulator)',
  help: `usage: hsm-ceremony run PLAN [--rehearse] [--secrets-file F] [--out DIR] [--transcript FILE]
                        [--resume] [--sim [--sim-state FILE] | --reader NAME] [--json]

Executes the plan's steps in order (docs/plan-format.md) and writes the ceremony transcript
(docs/transcript-format.md): every step started and finished, card status words, share imports
with their fingerprints, the KCV, every file written with its SHA-256, and the sign-offs. The
ceremony key's fingerprint is printed at the start and at the end: write it on the paper record.

  --rehearse         run on the built-in simulator (a new card from a random seed, recorded in
                     the transcript) with rehearsal secrets and sign-offs from --secrets-file,
                     which must say "rehearsal": true
  --secrets-file F   PINs, passphrases and (rehearsal only) sign-offs (docs/secrets-file.md)
  --out DIR          where every output goes (default: a new folder ceremony-DATE-TIME); files
                     are never overwritten
  --transcript FILE  the transcript (default DIR/transcript.jsonl); if it exists, the ceremony is
                     continued from it after a crash: a signed "resumed" event, then the steps
                     that had not finished
  --resume           continue the transcript (it must exist)
  --sim-state FILE   keep the simulated card in FILE; a rehearsal can be resumed only with it
  --sim, --reader    the device (default: the plan's device.reader)
  --json             one JSON summary on stdout; progress goes to stderr (always headless)

On a terminal the run view shows the script with the running step, the transcript as it is
written and the ceremony key fingerprint; what --secrets-file does not answer is typed there
(hidden), by the person each prompt names. Keys: p pause before the next step, c continue (or
retry a failed step), n deviation note, s skip the next step (typed reason), a abort (typed
reason), Ctrl-C abort (docs/user-guide.md, "Running a plan on a terminal").

Without a terminal the run is headless: it starts only when --secrets-file answers every secret
and sign-off the plan asks for (check with "plan check PLAN --secrets-file F"), and Ctrl-C
aborts it (transcript finished as aborted, exit 4). Exit 0 completed, 1 a check failed
(KCV, signature), 2 usage, 3 device, 4 aborted or left incomplete (continue it with --resume).`,
  async run(argv: string[], io: CliIo) {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { ...deviceOptions, rehearse: { type: 'boolean' }, out: { type: 'string' }, transcript: { type: 'string' }, resume: { type: 'boolean' } },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one plan file', { hint: 'hsm-ceremony run PLAN [--rehearse --secrets-file F]' });
    const flags = values as DeviceFlags & { rehearse?: boolean; out?: string; transcript?: string; resume?: boolean };
    const rehearse = flags.rehearse === true;
    if (rehearse && (flags.reader !== undefined || flags.sim)) throw usageError('USAGE', '--rehearse always runs on the built-in simulator; drop --reader/--sim', { hint: 'use --sim-state FILE to keep the simulated card' });
    if (!rehearse && flags['sim-state'] !== undefined && !flags.sim) throw usageError('USAGE', '--sim-state goes with --rehearse or --sim');
    const plan = loadPlan(positionals[0]!, io.cwd);
    const secrets = new DeviceSecrets(flags, io);
    let device: RunDevice | undefined;
    const out = (line: string) => (flags.json ? io.stderr : io.stdout).write(line + '\n');
    try {
      if (rehearse && secrets.file && !secrets.file.rehearsal) {
        throw usageError('SECRETS_NOT_REHEARSAL', `${flags['secrets-file']} is not marked "rehearsal": true; a rehearsal takes rehearsal secrets only`, {
          hint: 'real secrets never go to the simulator; make a rehearsal secrets file (docs/secrets-file.md)',
        });
      }
      // On a terminal the run view asks for whatever the secrets file does not answer. Headless,
      // every secret and sign-off comes from the secrets file: checked up front, so a run never
      // stops half-way for an answer nobody can give.
      const onTerminal = isInteractive(io) && io.stdout.isTTY === true && !flags.json;
      if (!onTerminal) requireHeadless(plan, secrets.file, rehearse, flags['secrets-file']);

      const setup = await setUpRun({
        plan,
        io,
        flags,
        secrets,
        rehearse,
        defaultOut: (cwd) => datedFolder(cwd, new Date()),
        resumeReason: 'the coordinator was restarted; steps that had not finished run again',
        rng: defaultRng,
      });
      device = setup.device;
      const { writer, outDir, transcriptPath, resuming, done, memory } = setup;
      const operator: Actor = { role: 'operator', name: plan.plan.roles.operator ?? null };
      out(`${PROGRAM} run: ${plan.plan.name}${rehearse ? ' (REHEARSAL on the simulator)' : ''}`);
      out(`  plan        ${plan.fileName}, SHA-256 ${plan.sha256}`);
      out(`  device      ${deviceLine(device)}`);
      out(`  output      ${outDir}`);
      out(`  transcript  ${transcriptPath}${resuming ? ' (resumed)' : ''}`);
      out(`  ceremony key fingerprint: ${writer.fingerprint}`);

      const verifyCommand = `${PROGRAM} verify ${transcriptPath} --plan ${plan.path}`;
      if (onTerminal) {
        allowInteractiveInk();
        const { runPlanOnTerminal } = await import('../../ui/run/run-tty.tsx');
        const { result } = await runPlanOnTerminal({
          stdin: io.stdin as NodeJS.ReadStream,
          stdout: io.stdout as NodeJS.WriteStream,
          stderr: io.stderr as NodeJS.WriteStream,
          env: io.env,
          plan: plan.plan,
          header: {
            name: plan.plan.name,
            planSha256: plan.sha256,
            device: `${device.info.reader}${device.info.serial ? `, serial ${device.info.serial}` : ''}`,
            rehearsal: rehearse,
            fingerprint: writer.fingerprint,
            transcript: transcriptPath,
            resumed: resuming,
          },
          writer,
          done,
          ctx: { plan: plan.plan, planDir: plan.dir, outDir, hsm: device.hsm, kdf: (name, s) => workerKdf(io, name, s), rng: defaultRng, memory, operator },
          file: secrets.file,
          verifyCommand,
          exitCode: (r) => (r.outcome === 'completed' ? EXIT_CODES.ok : r.outcome === 'aborted' ? EXIT_CODES.incomplete : isCeremonyError(r.error) ? r.error.exitCode : EXIT_CODES.bug),
        });
        if (result.outcome === 'completed') return EXIT_CODES.ok;
        if (result.outcome === 'aborted') {
          throw incomplete('ABORTED', `the ceremony was aborted (${result.state.reason ?? 'by the operator'}); the transcript is finished as aborted`, { hint: `keep ${transcriptPath} as the record of what happened` });
        }
        if (isCeremonyError(result.error)) throw result.error;
        throw result.error ?? new Error('the run stopped without a reason');
      }

      const started = performance.now();
      const result = await withInterrupt((signal) =>
        runPlan({
          writer,
          ...(done ? { done } : {}),
          ctx: {
            plan: plan.plan,
            planDir: plan.dir,
            outDir,
            hsm: device!.hsm,
            secrets: fileSecrets(secrets.file!),
            kdf: (name, s) => workerKdf(io, name, s),
            rng: defaultRng,
            signal,
            memory,
            operator,
            progress: (t) => out(`        ${t}`),
          },
          onState: (s) => {
            if (s.current !== null && s.phase === 'running') out(`[${s.current + 1}/${s.kinds.length}] ${s.kinds[s.current]}`);
          },
        }),
      );
      const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
      const fingerprint = writer.fingerprint;
      out(`ceremony key fingerprint: ${fingerprint}`);
      if (flags.json) {
        io.stdout.write(
          JSON.stringify({ outcome: result.outcome, transcript: transcriptPath, out: outDir, plan: { file: plan.fileName, sha256: plan.sha256 }, keyFingerprint: fingerprint, kcv: memory.kcv, rehearsal: rehearse, simulatorSeed: device.seed ?? null, seconds }) + '\n',
        );
      }
      if (result.outcome === 'completed') {
        out(`completed in ${seconds} s${memory.kcv ? `; DKEK key check value ${memory.kcv}` : ''}. Verify with: ${verifyCommand}`);
        return EXIT_CODES.ok;
      }
      if (result.outcome === 'aborted') {
        throw incomplete('ABORTED', `the ceremony was aborted (${result.state.reason ?? 'by the operator'}); the transcript is finished as aborted`, { hint: `keep ${transcriptPath} as the record of what happened` });
      }
      if (isCeremonyError(result.error)) {
        out(`the transcript was left incomplete at step ${nextStepText(result.state.steps)}; fix the cause and continue with: ${PROGRAM} run ${positionals[0]} --resume --transcript ${transcriptPath}`);
        throw result.error;
      }
      throw result.error ?? new Error('the run stopped without a reason');
    } finally {
      secrets.wipe();
      await device?.close().catch(() => undefined);
    }
  },
};

function nextStepText(steps: StepState[]): string {
  const i = steps.findIndex((s) => s === 'failed' || s === 'running' || s === 'pending');
  return i < 0 ? 'the end' : String(i + 1);
}

