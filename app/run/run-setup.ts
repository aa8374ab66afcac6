/**
 * What `run PLAN` and `host PLAN` do before the first step (docs/plan-format.md §9.1, §9.5): choose
 * the output folder and transcript, read what an earlier run left in an existing transcript
 * (resume), open the device the plan names (or the rehearsal simulator) and check it is the one
 * the plan expects, and create the transcript with its header (or continue it with a signed
 * `resumed` event). One function so both commands open a ceremony the same way.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { deviceError, usageError } from '../../protocol/errors.ts';
import type { CliIo } from '../cli/command.ts';
import { openCard, type DeviceFlags, type DeviceSecrets } from '../cli/device-options.ts';
import type { LoadedPlan } from '../plan/plan-parse.ts';
import { isSimulator } from '../plan/plan-schema.ts';
import { planIdentity } from '../transcript/event.ts';
import { verifyTranscript } from '../transcript/verifier.ts';
import { TranscriptWriter } from '../transcript/writer.ts';
import { VERSION } from '../version.ts';
import type { StepState } from './run-machine.ts';
import { deviceSerial, openRehearsalDevice, type RunDevice } from './run-device.ts';
import type { RunMemory } from './step-executor.ts';

export interface RunSetupOptions {
  plan: LoadedPlan;
  io: CliIo;
  flags: DeviceFlags & { out?: string; transcript?: string; resume?: boolean };
  secrets: DeviceSecrets;
  /** on the built-in simulator, with rehearsal secrets (--rehearse) */
  rehearse: boolean;
  /** the output folder when --out is absent and nothing is resumed */
  defaultOut(cwd: string): string;
  /** the reason the signed `resumed` event gives */
  resumeReason: string;
  rng: (n: number) => Uint8Array;
}

export interface RunSetup {
  device: RunDevice;
  writer: TranscriptWriter;
  outDir: string;
  transcriptPath: string;
  /** an existing transcript is continued */
  resuming: boolean;
  /** step states of the resumed transcript (absent for a new one, or a finished one the writer refused) */
  done: StepState[] | undefined;
  /** the KCV, files written and shares imported so far */
  memory: RunMemory;
}

/** The device line of a run's screen header. */
export function deviceLine(d: RunDevice): string {
  return `${d.info.reader}${d.info.serial ? `, serial ${d.info.serial}` : ''}, firmware ${d.info.firmware ?? 'unknown'}`;
}

/**
 * Output folder, transcript, device. A transcript that exists is continued (resume), never
 * overwritten. The device is closed again when anything after opening it fails.
 *
 * @throws CeremonyError usage OUTPUT_NOT_FOLDER, TRANSCRIPT_UNREADABLE, RESUME_MISMATCH,
 *   RESUME_NEEDS_SIM_STATE, SIM_STATE_MISMATCH; device WRONG_DEVICE and the device errors of openCard
 */
export async function setUpRun(o: RunSetupOptions): Promise<RunSetup> {
  const { plan, io, flags, rehearse } = o;
  // where things go
  const transcriptGiven = flags.transcript !== undefined ? resolve(io.cwd, flags.transcript) : undefined;
  const resuming = flags.resume === true || (transcriptGiven !== undefined && existsSync(transcriptGiven));
  const outDir = flags.out !== undefined ? resolve(io.cwd, flags.out) : resuming && transcriptGiven ? dirname(transcriptGiven) : o.defaultOut(io.cwd);
  const st = statSync(outDir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw usageError('OUTPUT_NOT_FOLDER', `${outDir} is not a folder`, { hint: 'give --out a folder (it is created when absent)' });
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const transcriptPath = transcriptGiven ?? join(outDir, 'transcript.jsonl');
  if (flags.resume && !existsSync(transcriptPath)) throw usageError('TRANSCRIPT_UNREADABLE', `${transcriptPath} does not exist, so there is nothing to resume`, { hint: 'drop --resume to start the ceremony' });

  // what an earlier run left (resume)
  let done: StepState[] | undefined;
  const memory: RunMemory = { kcv: null, written: new Set() };
  let resumeSeed: string | undefined;
  if (resuming) {
    const report = verifyTranscript(new Uint8Array(readFileSync(transcriptPath)), { plan: { sha256: plan.sha256, plan: plan.plan } });
    if (report.status === 'incomplete' || report.status === 'failed') {
      done = report.summary.steps.map((s) => (s.status === 'not run' ? 'pending' : s.status));
      const kcvs = report.summary.kcvs;
      memory.kcv = kcvs.length > 0 ? kcvs[kcvs.length - 1]!.kcv : null;
      for (const out of report.summary.outputs) memory.written.add(out.path);
      memory.shares = new Map(report.summary.shares.map((s) => [s.fingerprint, s.file] as const));
      if (report.summary.rehearsal !== rehearse) {
        throw usageError('RESUME_MISMATCH', `${basename(transcriptPath)} records a ${report.summary.rehearsal ? 'rehearsal' : 'real ceremony'}; resume it ${report.summary.rehearsal ? 'with' : 'without'} --rehearse`);
      }
      resumeSeed = readSeed(transcriptPath);
    }
    // a finished or invalid transcript is refused by TranscriptWriter.resume with its own message
  }

  // the device
  const device = rehearse
    ? await openRehearsalDevice({ statePath: flags['sim-state'] !== undefined ? resolve(io.cwd, flags['sim-state']) : undefined, rng: o.rng, resumeSeed: resuming ? resumeSeed : undefined })
    : await openPlanCard(o);
  try {
    // the transcript
    const writer = resuming
      ? TranscriptWriter.resume(transcriptPath, { plan: planIdentity(plan), reason: o.resumeReason })
      : TranscriptWriter.create(transcriptPath, {
          plan: planIdentity(plan),
          version: VERSION,
          device: device.info,
          rehearsal: rehearse,
          ...(rehearse && device.seed ? { simulatorSeed: device.seed } : {}),
        });
    return { device, writer, outDir, transcriptPath, resuming, done, memory };
  } catch (e) {
    await device.close().catch(() => undefined);
    throw e;
  }
}

/** A real run's card: --reader/--sim, else the plan's device.reader; its serial and firmware as the plan expects. */
async function openPlanCard(o: RunSetupOptions): Promise<RunDevice> {
  const { plan, flags } = o;
  const simulated = flags.sim === true || (flags.reader === undefined && isSimulator(plan.plan));
  const session = await openCard({ ...flags, ...(simulated ? { sim: true } : {}), ...(flags.reader === undefined && !simulated ? { reader: plan.plan.device.reader } : {}) }, o.io, { changesCard: true, secrets: o.secrets });
  try {
    const serial = await deviceSerial(session.hsm);
    const want = plan.plan.device;
    if (want.serial !== undefined && want.serial !== serial) {
      throw deviceError('WRONG_DEVICE', `the device has serial ${serial ?? 'unknown'}, but the plan expects ${want.serial}`, { hint: 'insert the device the plan names' });
    }
    if (want.firmware !== undefined && want.firmware !== session.applet.versionText) {
      throw deviceError('WRONG_DEVICE', `the device runs firmware ${session.applet.versionText}, but the plan expects ${want.firmware}`, { hint: 'use the device the plan names, or correct the plan and have it reviewed again' });
    }
    return {
      hsm: session.hsm,
      applet: session.applet,
      info: { reader: session.device.description.slice(0, 200), simulated: session.device.simulated, serial, firmware: session.applet.versionText },
      close: session.close,
    };
  } catch (e) {
    await session.close().catch(() => undefined);
    throw e;
  }
}

/** The simulator seed a rehearsal transcript recorded in its first line. */
function readSeed(path: string): string | undefined {
  const text = readFileSync(path, 'utf8');
  const first = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : undefined);
  try {
    const seed = (JSON.parse(first) as { data?: { simulatorSeed?: unknown } }).data?.simulatorSeed;
    return typeof seed === 'string' ? seed : undefined;
  } catch {
    return undefined;
  }
}
