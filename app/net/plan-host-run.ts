/**
 * `hsm-ceremony host PLAN`: a reviewed plan run under split knowledge (docs/protocol.md §7.3).
 * The plan runner (app/run/plan-runner.ts) executes the steps and writes the transcript; the plan
 * host (plan-host.ts) gives every person the plan names a slot and a one-time join code; the hosted
 * RunSecrets (hosted-run-secrets.ts) routes each secret and sign-off to its person's terminal.
 *
 * The operator (and anyone given with --at-coordinator) has no slot: their sign-off is taken at the
 * coordinator (secrets file headless). People with a slot join over the network: the transcript
 * records their joins with the SAS instead of the runner's `via: local` joins.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_CODES, incomplete, isCeremonyError, usageError } from '../../protocol/errors.ts';
import type { SlotRole } from '../../protocol/wire/public-events.ts';
import type { CliIo } from '../cli/command.ts';
import { DeviceSecrets, type DeviceFlags } from '../cli/device-options.ts';
import { workerKdf } from '../cli/kdf.ts';
import { withInterrupt } from '../cli/progress.ts';
import { loadPlan } from '../plan/plan-parse.ts';
import { fileSecrets } from '../run/file-secrets.ts';
import { runPlan } from '../run/plan-runner.ts';
import { openRehearsalDevice, type RunDevice } from '../run/run-device.ts';
import type { RunMemory, RunSecrets } from '../run/step-executor.ts';
import { planIdentity, type Actor, type ActorRole } from '../transcript/event.ts';
import { TranscriptWriter } from '../transcript/writer.ts';
import { VERSION } from '../version.ts';
import type { HostView } from './host-view.ts';
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
  const plan = loadPlan(o.planPath, io.cwd);
  const rehearse = flags.rehearse === true;
  if (!rehearse) {
    throw usageError('HOST_PLAN_REHEARSE_ONLY', 'host PLAN runs rehearsals on the simulator in this version', { hint: 'add --rehearse; a real device is driven with "hsm-ceremony run PLAN" or "host --custodians …"' });
  }
  const secrets = new DeviceSecrets(flags, io);
  if (secrets.file && !secrets.file.rehearsal) {
    throw usageError('SECRETS_NOT_REHEARSAL', `${flags['secrets-file']} is not marked "rehearsal": true`, { hint: 'real secrets never go to the simulator' });
  }
  const outDir = resolve(io.cwd, flags.out ?? 'ceremony-hosted');
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const transcriptPath = flags.transcript !== undefined ? resolve(io.cwd, flags.transcript) : join(outDir, 'transcript.jsonl');
  if (existsSync(transcriptPath)) throw usageError('OUTPUT_EXISTS', `${transcriptPath} exists; host PLAN does not resume yet`, { hint: 'choose another --transcript' });

  const slots = planSlots(plan.plan.roles, o.atCoordinator);
  let device: RunDevice | undefined;
  let host: PlanHost | undefined;
  let hosted: ReturnType<typeof hostedRunSecrets> | undefined;
  let forget = () => undefined as void;
  try {
    device = await openRehearsalDevice({ statePath: undefined, rng: (n) => crypto.getRandomValues(new Uint8Array(n)), resumeSeed: undefined });
    const writer = TranscriptWriter.create(transcriptPath, {
      plan: planIdentity(plan),
      version: VERSION,
      device: device.info,
      rehearsal: true,
      ...(device.seed ? { simulatorSeed: device.seed } : {}),
    });
    const slotted = new Set(slots.map((s) => s.name.toLowerCase()));
    // the runner records every person as joined `via: local`; people with a slot join over the network instead
    const wrapped = {
      append: (e: Parameters<TranscriptWriter['append']>[0]) => {
        if (e.kind === 'custodian-joined' && e.actor?.name && slotted.has(e.actor.name.toLowerCase())) return undefined;
        return writer.append(e);
      },
      finish: (x: Parameters<TranscriptWriter['finish']>[0]) => writer.finish(x),
      close: () => writer.close(),
      get fingerprint() {
        return writer.fingerprint;
      },
    } as unknown as TranscriptWriter;

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
    o.out(`hsm-ceremony host: ${plan.plan.name} (REHEARSAL on the simulator)`);
    o.out(`  plan        ${plan.fileName}, SHA-256 ${plan.sha256}`);
    o.out(`  output      ${outDir}`);
    o.out(`  transcript  ${transcriptPath}`);
    o.out(`  ceremony key fingerprint: ${writer.fingerprint}`);
    o.out('  steps');
    plan.plan.steps.forEach((st, i) => o.out(`    ${String(i + 1).padStart(2)}. ${st.step}${'custodian' in st && st.custodian ? ` (${st.custodian})` : ''}${'file' in st && typeof st.file === 'string' ? ` ${st.file}` : ''}`));
    o.out(`  slots       ${slots.map((s) => `${s.slot} ${s.name}`).join(', ')}${plan.plan.roles.operator ? `; at the coordinator: ${[plan.plan.roles.operator, ...o.atCoordinator].join(', ')}` : ''}`);
    await host.start();
    o.onListening?.(host);
    const noSource = (what: string) => usageError('NO_TTY', `${what} is needed at the coordinator, and neither --secrets-file nor a terminal gives it`, { hint: 'add it to the rehearsal secrets file (docs/secrets-file.md), or give the person a slot' });
    const fromFile = secrets.file ? fileSecrets(secrets.file) : null;
    forget = () => fromFile?.forget();
    // PINs without a security officer's terminal: the secrets file, else typed hidden at the coordinator
    const local: RunSecrets = {
      pin: async () => (await secrets.pin({ required: true, prompt: true, label: 'User PIN' }))!.slice(),
      soPin: async () => (await secrets.soPin({ required: true, prompt: true, label: 'SO-PIN (16 hex digits)' }))!.slice(),
      passphrase: (f, c) => (fromFile ? fromFile.passphrase(f, c) : Promise.reject(noSource(`the passphrase of ${f}`))),
      signOff: (n, st) => (fromFile ? fromFile.signOff(n, st) : Promise.reject(noSource(`${n}'s sign-off`))),
      pwdShares: (f, c, t, n) => (fromFile ? fromFile.pwdShares(f, c, t, n) : Promise.reject(noSource(`password shares of ${f}`))),
      handOutPwdShares: (f, c, sp) => (fromFile ? fromFile.handOutPwdShares(f, c, sp) : Promise.reject(noSource(`a hand-out of the password shares of ${f}`))),
    };
    let current: { step: number; kind: string; dkekShares?: number; threshold?: number } | null = null;
    const memory: RunMemory = { kcv: null, written: new Set() };
    const operator: Actor = { role: 'operator', name: plan.plan.roles.operator ?? null };
    const so = plan.plan.roles.securityOfficer;
    const result = await withInterrupt((signal) => {
      hosted = hostedRunSecrets({
        host: host!,
        hsm: device!.hsm,
        securityOfficer: so !== undefined && host!.slotOf(so) !== null ? so : null,
        local,
        current: () => current,
        signal,
      });
      return runPlan({
        writer: wrapped,
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
    if (isCeremonyError(result.error)) throw result.error;
    throw result.error ?? new Error('the run stopped without a reason');
  } finally {
    hosted?.wipe();
    forget();
    await host?.close();
    secrets.wipe();
    await device?.close().catch(() => undefined);
  }
}
