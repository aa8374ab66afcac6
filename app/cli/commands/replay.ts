/**
 * `hsm-ceremony replay TRANSCRIPT`: plays a recorded ceremony back as it looked on the
 * coordinator's screen (app/ui/plan/ReplayView.tsx on a terminal, the steps as text otherwise),
 * for an auditor who was not there. The transcript is verified first; a transcript that fails
 * verification is not replayed (exit 1).
 *
 * `--against simulator` re-executes a rehearsal on a fresh simulator made from the recorded seed,
 * with the recorded share files (their SHA-256 must equal the file-written records) and the
 * rehearsal secrets file, and checks that every public result — status words, counts, share
 * fingerprints, KCVs — is the one recorded; exit 1 naming the first difference.
 */
import { allowInteractiveInk } from '../interactive-ink.ts';
import { parseArgs } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CliIo, Command } from '../command.ts';
import { loadSecretsFile } from '../secrets-file.ts';
import { workerKdf } from '../kdf.ts';
import { isInteractive } from '../secret-input.ts';
import { loadPlan } from '../../plan/plan-parse.ts';
import { verifyTranscript } from '../../transcript/verifier.ts';
import type { TranscriptEvent } from '../../transcript/event.ts';
import type { AppendEvent } from '../../transcript/writer.ts';
import { buildReplay, firstDifference, publicResults, type ReplayModel } from '../../run/replay-model.ts';
import { executeStep } from '../../run/step-executor.ts';
import { SmartCardHsm } from '../../card/sc-hsm.ts';
import { openSimulatedCard } from '../../simulator/persistence.ts';
import { SimulatorTransport } from '../../simulator/transport.ts';
import { serialFromChr } from '../../../protocol/dkek/cvc.ts';
import { fromHex, toHex } from '../../../protocol/bytes.ts';
import { checkFailed, usageError, EXIT_CODES } from '../../../protocol/errors.ts';
import { fileSecrets } from '../../run/file-secrets.ts';

/** The steps of a replay as plain text (non-terminal output). */
export function replayText(m: ReplayModel): string[] {
  const out = [`replay of "${m.name}"${m.rehearsal ? ' (REHEARSAL)' : ''}: ${m.frames.length} events, ${m.kinds.length} steps`];
  let fp: string | null = null;
  for (const f of m.frames) {
    if (f.fingerprint !== fp) {
      fp = f.fingerprint;
      out.push(`  ceremony key fingerprint: ${fp}`);
    }
    out.push(`  ${f.line}`);
  }
  return out;
}

function readEvents(path: string, io: CliIo): { events: TranscriptEvent[]; status: string } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(resolve(io.cwd, path)));
  } catch (e) {
    throw usageError('TRANSCRIPT_UNREADABLE', `cannot read the transcript ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check the path' });
  }
  const report = verifyTranscript(bytes);
  if (report.failure) {
    throw checkFailed('TRANSCRIPT_INVALID', `${path} does not verify: line ${report.failure.line}: ${report.failure.reason}`, {
      hint: 'a transcript that does not verify cannot be trusted and is not replayed; run hsm-ceremony verify on it',
    });
  }
  const lines = new TextDecoder().decode(bytes.subarray(0, report.completeLength)).split('\n').filter((l) => l.length > 0);
  return { events: lines.map((l) => JSON.parse(l) as TranscriptEvent), status: report.status };
}

async function againstSimulator(events: TranscriptEvent[], o: { planPath: string; secretsPath: string; filesDir: string; io: CliIo }): Promise<string> {
  const started = events[0]!;
  const seed = started.data.simulatorSeed;
  if (started.data.rehearsal !== true || typeof seed !== 'string') {
    throw usageError('NOT_A_REHEARSAL', 'only a rehearsal transcript (with its simulator seed) can be re-executed on the simulator', { hint: 'replay it without --against' });
  }
  const plan = loadPlan(o.planPath, o.io.cwd);
  const recordedPlan = started.data.plan as { sha256: string };
  if (plan.sha256 !== recordedPlan.sha256) {
    throw usageError('PLAN_MISMATCH', `the transcript records plan SHA-256 ${recordedPlan.sha256}, not ${plan.fileName} (${plan.sha256})`, { hint: 'give the plan file the rehearsal ran' });
  }
  const secrets = loadSecretsFile(o.secretsPath, o.io.cwd);
  if (!secrets.rehearsal) throw usageError('SECRETS_NOT_REHEARSAL', `${o.secretsPath} is not marked "rehearsal": true`, { hint: 'a replay on the simulator takes rehearsal secrets only' });
  // The password of a split the rehearsal made was random and is recorded nowhere (only its public
  // prime is): the replay can open the file only with the printout the rehearsal wrote for it.
  const finishedSteps = new Set(events.filter((e) => e.kind === 'step-finished').map((e) => e.step!));
  plan.plan.steps.forEach((st, i) => {
    if (st.step !== 'create-share' || st.pwdShares === undefined || !finishedSteps.has(i + 1)) return;
    const imports = plan.plan.steps.some((t, j) => t.step === 'import-share' && finishedSteps.has(j + 1) && basename(t.file) === basename(st.file));
    const printout = secrets.forShareFile(st.file)?.pwdSharesFile;
    if (imports && (printout === undefined || !existsSync(printout))) {
      secrets.wipe();
      throw usageError('REPLAY_NEEDS_PWD_SHARES', `step ${i + 1} split the random password of ${st.file} into password shares, which no transcript records; the replay needs their printout${printout ? `, and ${printout} is not there` : ''}`, {
        hint: `give a secrets file whose shares."${basename(st.file)}".pwdShares names the printout the rehearsal wrote (a rehearsal writes one there when its secrets file names it; docs/secrets-file.md)`,
      });
    }
  });
  const recordedFiles = new Map<string, string>();
  for (const e of events) if (e.kind === 'file-written') recordedFiles.set(String(e.data.path), String(e.data.sha256));
  const finished = new Set(events.filter((e) => e.kind === 'step-finished').map((e) => e.step!));

  const { card } = openSimulatedCard({ seed: fromHex(seed) });
  const transport = new SimulatorTransport(card);
  const hsm = new SmartCardHsm(transport);
  const scratch = mkdtempSync(join(tmpdir(), 'hsm-ceremony-replay-'));
  const replayed: AppendEvent[] = [];
  try {
    const applet = await hsm.selectApplet();
    const device = started.data.device as { serial: string | null; firmware: string | null } | null;
    const serial = serialFromChr(card.deviceChr);
    if (device && (device.serial !== serial || device.firmware !== applet.versionText)) {
      return `line 1: the recorded device is serial ${String(device.serial)}, firmware ${String(device.firmware)}; the simulator from the recorded seed is serial ${serial}, firmware ${applet.versionText}`;
    }
    const ac = new AbortController();
    for (let n = 1; n <= plan.plan.steps.length; n++) {
      if (!finished.has(n)) continue;
      await executeStep(
        {
          plan: plan.plan,
          planDir: plan.dir,
          outDir: scratch,
          hsm,
          secrets: fileSecrets(secrets),
          kdf: (name, s) => workerKdf(o.io, name, s),
          rng: (k) => crypto.getRandomValues(new Uint8Array(k)),
          signal: ac.signal,
          memory: { kcv: null, written: new Set() },
          operator: { role: 'operator', name: plan.plan.roles.operator ?? null },
          record: (e) => void replayed.push({ ...e, step: e.step ?? null }),
          recordedShareFile: (file) => {
            const p = join(o.filesDir, file);
            let bytes: Uint8Array;
            try {
              bytes = new Uint8Array(readFileSync(p));
            } catch {
              throw usageError('REPLAY_FILE_MISSING', `the recorded share file ${p} is not there`, { hint: 'give the run\'s output folder with --files DIR' });
            }
            const want = recordedFiles.get(file);
            if (want !== toHex(sha256(bytes))) {
              throw checkFailed('REPLAY_FILE_CHANGED', `${p} has SHA-256 ${toHex(sha256(bytes))}, but the transcript recorded ${want ?? 'no such file'}`, { hint: 'the share file is not the one the rehearsal made' });
            }
            return bytes;
          },
        },
        n,
      );
    }
  } finally {
    secrets.wipe();
    await transport.close().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
  return firstDifference(publicResults(events), publicResults(replayed)) ?? '';
}

export const replay: Command = {
  path: ['replay'],
  summary: 'play a ceremony transcript back step by step; --against simulator re-executes a rehearsal',
  help: `usage: hsm-ceremony replay TRANSCRIPT [--speed N]
       hsm-ceremony replay TRANSCRIPT --against simulator --plan PLAN --secrets-file F [--files DIR]

Plays a verified transcript back as the coordinator's screen showed it. On a terminal: → or space
next step, ← previous step, p pause/play, + / - speed, q quit. Otherwise the steps are printed.

  --against simulator  re-execute a rehearsal on a fresh simulator made from the recorded seed,
                       with the recorded share files (SHA-256 checked) and rehearsal secrets, and
                       compare every status word, count, share fingerprint and KCV with the
                       transcript; exit 1 naming the first difference
  --plan PLAN          the plan the rehearsal ran (its SHA-256 must be the recorded one)
  --secrets-file F     the rehearsal secrets file
  --files DIR          the run's output folder with the share files (default: the transcript's folder)
  --speed N            events per second when playing (default 2)`,
  async run(argv: string[], io: CliIo) {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { against: { type: 'string' }, plan: { type: 'string' }, 'secrets-file': { type: 'string' }, files: { type: 'string' }, speed: { type: 'string' } },
    });
    if (positionals.length !== 1) throw usageError('USAGE', 'give exactly one transcript', { hint: 'hsm-ceremony replay TRANSCRIPT' });
    const path = positionals[0]!;
    const { events } = readEvents(path, io);
    if (values.against !== undefined) {
      if (values.against !== 'simulator') throw usageError('USAGE', `--against takes "simulator", got "${values.against}"`);
      if (values.plan === undefined || values['secrets-file'] === undefined) {
        throw usageError('USAGE', '--against simulator needs --plan PLAN and --secrets-file F', { hint: 'the plan says what each step did; the secrets file opens the share files' });
      }
      const diff = await againstSimulator(events, {
        planPath: values.plan,
        secretsPath: values['secrets-file'],
        filesDir: values.files !== undefined ? resolve(io.cwd, values.files) : dirname(resolve(io.cwd, path)),
        io,
      });
      if (diff !== '') throw checkFailed('REPLAY_DIFFERS', `the re-execution differs from ${basename(path)}: ${diff}`, { hint: 'the rehearsal did not go as recorded, or the transcript was made by something else' });
      const n = publicResults(events).length;
      io.stdout.write(`replay on the simulator: all ${n} public results (status words, counts, share fingerprints, KCVs) are identical to ${basename(path)}\n`);
      return EXIT_CODES.ok;
    }
    const model = buildReplay(events);
    const speed = values.speed !== undefined ? Number(values.speed) : 2;
    if (!Number.isFinite(speed) || speed <= 0 || speed > 100) throw usageError('USAGE', `--speed takes events per second from 0.1 to 100, got "${values.speed}"`);
    if (isInteractive(io) && io.stdout.isTTY === true) {
      allowInteractiveInk();
      const { runReplayView } = await import('../../ui/plan/run-replay.tsx');
      await runReplayView(model, io, speed, path);
      return EXIT_CODES.ok;
    }
    io.stdout.write(replayText(model).join('\n') + '\n');
    return EXIT_CODES.ok;
  },
};
