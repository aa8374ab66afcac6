/**
 * `hsm-ceremony host PLAN`: a reviewed plan run under split knowledge (docs/protocol.md §7.3).
 * The plan runner (app/run/plan-runner.ts) executes the steps and writes the transcript; the plan
 * host (plan-host.ts) gives every person the plan names a slot and a one-time join code; the hosted
 * RunSecrets (hosted-run-secrets.ts) routes each secret and sign-off to its person's terminal.
 *
 * The device is opened as `run PLAN` opens it (app/run/run-setup.ts): the simulator for
 * --rehearse, else the plan's reader (or --reader/--sim), checked against the plan's serial and
 * firmware. A transcript that exists is continued (`resumed`), the unfinished steps run again.
 *
 * The operator (and anyone given with --at-coordinator) has no slot: what they give is asked at the
 * coordinator (coordinator-secrets.ts: its terminal, or the secrets file headless). People with a
 * slot join over the network: the transcript records their joins with the SAS, and the runner
 * records only the people at the coordinator as joined `via: local`.
 */
import { join } from 'node:path';
import { EXIT_CODES, incomplete, isCeremonyError, usageError } from '../../protocol/errors.ts';
import type { SlotRole } from '../../protocol/wire/public-events.ts';
import type { CliIo } from '../cli/command.ts';
import { DeviceSecrets, type DeviceFlags } from '../cli/device-options.ts';
import { workerKdf } from '../cli/kdf.ts';
import { withInterrupt } from '../cli/progress.ts';
import { isInteractive } from '../cli/secret-input.ts';
import { loadPlan } from '../plan/plan-parse.ts';
import { runPlan } from '../run/plan-runner.ts';
import type { RunDevice } from '../run/run-device.ts';
import { deviceLine, setUpRun } from '../run/run-setup.ts';
import type { Actor, ActorRole } from '../transcript/event.ts';
import type { HostView } from './host-view.ts';
import { checkCoordinatorAnswers, coordinatorSecrets, type CoordinatorSecrets } from './coordinator-secrets.ts';
import { hostedRunSecrets } from './hosted-run-secrets.ts';
import { PlanHost, type PlanSlot } from './plan-host.ts';
export interface HostPlanOptions {
  planPath: string;
  io: CliIo;
  flags: DeviceFlags & { rehearse?: boolean; out?: string; transcript?: string };
  view: HostView;
  listen: { host: string; port: number };
  server?: { maxConnections?: number; handshakeTimeoutMs?: number; idleTimeoutMs?: number };
  codesOut: string | null;
  joinTimeoutMs: number;
  /** people who take part at the coordinator instead of a terminal of their own */
  atCoordinator: readonly string[];
  /** called once listening (tests read the URL) */
  onListening?(host: PlanHost): void;
  /** a line for the coordinator screen */
  out(line: string): void;
}

/** One slot per person the plan names (except the operator), roles merged for one name. */
export function planSlots(roles: { operator?: string; securityOfficer?: string; custodians: string[]; witnesses?: string[] }, atCoordinator: readonly string[]): PlanSlot[] {
  const skip = new Set([...(roles.operator ? [roles.operator] : []), ...atCoordinator].map((n) => n.toLowerCase()));
  const byName = new Map<string, { name: string; roles: SlotRole[]; actorRole: ActorRole }>();
  const add = (name: string, role: SlotRole, actorRole: ActorRole) => {
    if (skip.has(name.toLowerCase())) return;
    const e = byName.get(name.toLowerCase());
    if (e) {
      if (!e.roles.includes(role)) e.roles.push(role);
    } else byName.set(name.toLowerCase(), { name, roles: [role], actorRole });
  };
  for (const c of roles.custodians) add(c, 'custodian', 'custodian');
  if (roles.securityOfficer) add(roles.securityOfficer, 'security-officer', 'security-officer');
  for (const w of roles.witnesses ?? []) add(w, 'witness', 'witness');
  return [...byName.values()].map((e, i) => ({ slot: i + 1, name: e.name, roles: e.roles, actorRole: e.actorRole }));
}

/** Runs the plan hosted; resolves with the exit code. */
export async function runHostedPlan(o: HostPlanOptions): Promise<number> {
  const { io, flags } = o;
  const rehearse = flags.rehearse === true;
  if (rehearse && (flags.reader !== undefined || flags.sim)) throw usageError('USAGE', '--rehearse always runs on the built-in simulator; drop --reader/--sim', { hint: 'use --sim-state FILE to keep the simulated card' });
  if (!rehearse && flags['sim-state'] !== undefined && !flags.sim) throw usageError('USAGE', '--sim-state goes with --rehearse or --sim');
  const plan = loadPlan(o.planPath, io.cwd);
  const secrets = new DeviceSecrets(flags, io);
  const slots = planSlots(plan.plan.roles, o.atCoordinator);
  const slotted = new Set(slots.map((s) => s.name.toLowerCase()));
  let device: RunDevice | undefined;
  let host: PlanHost | undefined;
  let hosted: ReturnType<typeof hostedRunSecrets> | undefined;
  let local: CoordinatorSecrets | undefined;
  try {
    if (rehearse && secrets.file && !secrets.file.rehearsal) {
      throw usageError('SECRETS_NOT_REHEARSAL', `${flags['secrets-file']} is not marked "rehearsal": true; a rehearsal takes rehearsal secrets only`, { hint: 'real secrets never go to the simulator; make a rehearsal secrets file (docs/secrets-file.md)' });
    }
    // headless, whatever is asked at the coordinator must come from the secrets file: checked up front
    if (!isInteractive(io)) checkCoordinatorAnswers(plan.plan, (n) => slotted.has(n.toLowerCase()), secrets, flags['secrets-file']);
    const setup = await setUpRun({
      plan,
      io,
      flags,
      secrets,
      rehearse,
      defaultOut: (cwd) => join(cwd, 'ceremony-hosted'),
      resumeReason: 'the coordinator was restarted; steps that had not finished run again, with the people on their terminals',
      rng: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
    device = setup.device;
    const { writer, outDir, transcriptPath, resuming, done, memory } = setup;

    host = new PlanHost({
      slots,
      plan: { mode: 'plan', title: plan.plan.name.slice(0, 200), planSha256: plan.sha256, shares: 0, initialize: null, pwdShares: null, expectedKcv: null },
      listen: o.listen,
      ...(o.server ? { server: o.server } : {}),
      view: o.view,
      codesOut: o.codesOut,
      record: (e) => {
        if (!writer.closed) writer.append(e);
      },
      joinTimeoutMs: o.joinTimeoutMs,
    });
    const here = [...(plan.plan.roles.operator ? [plan.plan.roles.operator] : []), ...o.atCoordinator];
    o.out(`hsm-ceremony host: ${plan.plan.name}${rehearse ? ' (REHEARSAL on the simulator)' : ''}`);
    o.out(`  plan        ${plan.fileName}, SHA-256 ${plan.sha256}`);
    o.out(`  device      ${deviceLine(device)}`);
    o.out(`  output      ${outDir}`);
    o.out(`  transcript  ${transcriptPath}${resuming ? ' (resumed)' : ''}`);
    o.out(`  ceremony key fingerprint: ${writer.fingerprint}`);
    o.out('  steps');
    plan.plan.steps.forEach((st, i) => o.out(`    ${String(i + 1).padStart(2)}. ${st.step}${'custodian' in st && st.custodian ? ` (${st.custodian})` : ''}${'file' in st && typeof st.file === 'string' ? ` ${st.file}` : ''}${done && (done[i] === 'finished' || done[i] === 'skipped') ? ` (${done[i]})` : ''}`));
    o.out(`  slots       ${slots.map((s) => `${s.slot} ${s.name}`).join(', ')}${here.length > 0 ? `; at the coordinator: ${here.join(', ')}` : ''}`);
    await host.start();
    o.onListening?.(host);
    let current: { step: number; kind: string; dkekShares?: number; threshold?: number } | null = null;
    // PINs without a security officer's terminal, and everything of the people without a slot
    local = coordinatorSecrets({ io, secrets, currentKind: () => current?.kind ?? null });
    const operator: Actor = { role: 'operator', name: plan.plan.roles.operator ?? null };
    const so = plan.plan.roles.securityOfficer;
    const result = await withInterrupt((signal) => {
      hosted = hostedRunSecrets({
        host: host!,
        hsm: device!.hsm,
        securityOfficer: so !== undefined && host!.slotOf(so) !== null ? so : null,
        local: local!,
        current: () => current,
        signal,
      });
      return runPlan({
        writer,
        networkParticipants: slotted,
        ...(done ? { done } : {}),
        ctx: { plan: plan.plan, planDir: plan.dir, outDir, hsm: device!.hsm, secrets: hosted, kdf: (name, s) => workerKdf(io, name, s), rng: (n) => crypto.getRandomValues(new Uint8Array(n)), signal, memory, operator, progress: (t) => o.out(`        ${t}`) },
        onState: (s) => {
          if (s.current !== null && s.phase === 'running' && current?.step !== s.current + 1) {
            const st = plan.plan.steps[s.current]!;
            const pwd = 'pwdShares' in st && typeof st.pwdShares === 'string' ? Number(st.pwdShares.split('/')[0]) : undefined;
            current = { step: s.current + 1, kind: st.step, ...(st.step === 'initialize' && typeof st.dkekShares === 'number' ? { dkekShares: st.dkekShares } : {}), ...(pwd !== undefined ? { threshold: pwd } : {}) };
            host!.publish({ type: 'step', step: s.current + 1, total: s.kinds.length, kind: st.step });
            o.out(`[${s.current + 1}/${s.kinds.length}] ${st.step}`);
          }
        },
      });
    });
    const ok = result.outcome === 'completed';
    host.publish({ type: 'ceremony-over', outcome: ok ? 'done' : result.outcome === 'aborted' ? 'cancelled' : 'failed', exitCode: ok ? 0 : result.outcome === 'aborted' ? 4 : isCeremonyError(result.error) ? result.error.exitCode : 70, code: ok ? null : isCeremonyError(result.error) ? result.error.code : result.outcome === 'aborted' ? 'ABORTED' : 'INTERNAL', message: ok ? `the plan completed${memory.kcv ? `; DKEK key check value ${memory.kcv}` : ''}` : `the plan did not complete (${result.outcome})` });
    o.out(`ceremony key fingerprint: ${writer.fingerprint}`);
    if (ok) {
      o.out(`completed${memory.kcv ? `; DKEK key check value ${memory.kcv}` : ''}. Verify with: hsm-ceremony verify ${transcriptPath} --plan ${plan.path}`);
      return EXIT_CODES.ok;
    }
    if (result.outcome === 'aborted') throw incomplete('ABORTED', `the ceremony was aborted (${result.state.reason ?? 'by the operator'}); the transcript is finished as aborted`, { hint: `keep ${transcriptPath} as the record` });
    if (isCeremonyError(result.error)) {
      o.out(`the transcript was left incomplete; fix the cause and continue with: hsm-ceremony host ${o.planPath} ${rehearse ? '--rehearse ' : ''}--transcript ${transcriptPath} (new join codes are issued)`);
      throw result.error;
    }
    throw result.error ?? new Error('the run stopped without a reason');
  } finally {
    hosted?.wipe();
    local?.forget();
    await host?.close();
    secrets.wipe();
    await device?.close().catch(() => undefined);
  }
}
