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
 *
 * On a terminal (`terminal`, and not --json) the coordinator shows the run view of `run PLAN`
 * (app/ui/run/run-tty.tsx): the script with the current step, the plan host's public lines in its
 * log, a people panel (join codes, who is connected, their SAS), the operator's pause, note, skip
 * and abort, and what is asked at the coordinator typed into the view. Headless, plain lines.
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
import { runViewHostView, type HostView, type HostViewSink } from './host-view.ts';
import type { RunOutcome } from '../run/plan-runner.ts';
import type { RunState } from '../run/run-machine.ts';
import type { RunViewStore } from '../ui/run/run-view-store.ts';
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
  /**
   * The coordinator's terminal, when the run view is shown (the caller decided: a TTY, not
   * --json, and Ink may draw); `view` and `out` are then replaced by the run view's log and panel.
   */
  terminal?: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream; env: NodeJS.ProcessEnv; testOnlyDebug?: boolean };
}

/** Lines and the people panel kept until the run view's store exists, then passed straight on. */
function bufferedSink(): HostViewSink & { attach(store: RunViewStore): void } {
  let store: RunViewStore | null = null;
  const lines: string[] = [];
  let people: Parameters<HostViewSink['people']>[0] | null = null;
  return {
    line(text) {
      if (store) store.dispatch({ type: 'line', text });
      else lines.push(text);
    },
    people(p) {
      if (store) store.dispatch({ type: 'people', people: p });
      else people = p;
    },
    attach(s) {
      store = s;
      for (const text of lines.splice(0)) s.dispatch({ type: 'line', text });
      if (people) s.dispatch({ type: 'people', people });
    },
  };
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
  const sink = o.terminal ? bufferedSink() : null;
  const view = sink ? runViewHostView(sink) : o.view;
  const out = sink ? (line: string) => sink.line(line) : o.out;
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
      view,
      codesOut: o.codesOut,
      record: (e) => {
        if (!writer.closed) writer.append(e);
      },
      joinTimeoutMs: o.joinTimeoutMs,
    });
    const here = [...(plan.plan.roles.operator ? [plan.plan.roles.operator] : []), ...o.atCoordinator];
    out(`hsm-ceremony host: ${plan.plan.name}${rehearse ? ' (REHEARSAL on the simulator)' : ''}`);
    out(`  plan        ${plan.fileName}, SHA-256 ${plan.sha256}`);
    out(`  device      ${deviceLine(device)}`);
    out(`  output      ${outDir}`);
    out(`  transcript  ${transcriptPath}${resuming ? ' (resumed)' : ''}`);
    out(`  ceremony key fingerprint: ${writer.fingerprint}`);
    out('  steps');
    plan.plan.steps.forEach((st, i) => out(`    ${String(i + 1).padStart(2)}. ${st.step}${'custodian' in st && st.custodian ? ` (${st.custodian})` : ''}${'file' in st && typeof st.file === 'string' ? ` ${st.file}` : ''}${done && (done[i] === 'finished' || done[i] === 'skipped') ? ` (${done[i]})` : ''}`));
    out(`  slots       ${slots.map((s) => `${s.slot} ${s.name}`).join(', ')}${here.length > 0 ? `; at the coordinator: ${here.join(', ')}` : ''}`);
    await host.start();
    o.onListening?.(host);
    let current: { step: number; kind: string; dkekShares?: number; threshold?: number } | null = null;
    const operator: Actor = { role: 'operator', name: plan.plan.roles.operator ?? null };
    const so = plan.plan.roles.securityOfficer;
    const onState = (s: RunState) => {
      if (s.current !== null && s.phase === 'running' && current?.step !== s.current + 1) {
        const st = plan.plan.steps[s.current]!;
        const pwd = 'pwdShares' in st && typeof st.pwdShares === 'string' ? Number(st.pwdShares.split('/')[0]) : undefined;
        current = { step: s.current + 1, kind: st.step, ...(st.step === 'initialize' && typeof st.dkekShares === 'number' ? { dkekShares: st.dkekShares } : {}), ...(pwd !== undefined ? { threshold: pwd } : {}) };
        host!.publish({ type: 'step', step: s.current + 1, total: s.kinds.length, kind: st.step });
        // the run view shows the current step in its script
        if (!sink) out(`[${s.current + 1}/${s.kinds.length}] ${st.step}`);
      }
    };
    const routed = (local: CoordinatorSecrets, signal: AbortSignal) =>
      (hosted = hostedRunSecrets({
        host: host!,
        hsm: device!.hsm,
        securityOfficer: so !== undefined && host!.slotOf(so) !== null ? so : null,
        local,
        current: () => current,
        signal,
      }));
    const exitCode = (r: RunOutcome) => (r.outcome === 'completed' ? EXIT_CODES.ok : r.outcome === 'aborted' ? EXIT_CODES.incomplete : isCeremonyError(r.error) ? r.error.exitCode : EXIT_CODES.bug);
    const over = (r: RunOutcome) => {
      const ok = r.outcome === 'completed';
      host!.publish({ type: 'ceremony-over', outcome: ok ? 'done' : r.outcome === 'aborted' ? 'cancelled' : 'failed', exitCode: exitCode(r), code: ok ? null : isCeremonyError(r.error) ? r.error.code : r.outcome === 'aborted' ? 'ABORTED' : 'INTERNAL', message: ok ? `the plan completed${memory.kcv ? `; DKEK key check value ${memory.kcv}` : ''}` : `the plan did not complete (${r.outcome})` });
    };
    const kdf = (name: string, s: Parameters<typeof workerKdf>[2]) => workerKdf(io, name, s);
    const rng = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    let result: RunOutcome;
    if (o.terminal && sink) {
      const { runPlanOnTerminal } = await import('../ui/run/run-tty.tsx');
      ({ result } = await runPlanOnTerminal({
        ...o.terminal,
        plan: plan.plan,
        header: { title: 'HOST', name: plan.plan.name, planSha256: plan.sha256, device: deviceLine(device), rehearsal: rehearse, fingerprint: writer.fingerprint, transcript: transcriptPath, resumed: resuming },
        writer,
        done,
        ctx: { plan: plan.plan, planDir: plan.dir, outDir, hsm: device.hsm, kdf, rng, memory, operator },
        file: secrets.file,
        verifyCommand: `hsm-ceremony verify ${transcriptPath} --plan ${plan.path}`,
        exitCode,
        networkParticipants: slotted,
        // what people at the coordinator give is typed into the view; the rest goes to their terminals
        secrets: ({ ui, signal }) => {
          const here = (local = coordinatorSecrets({ io, secrets, currentKind: () => current?.kind ?? null, view: { ui, plan: plan.plan } }));
          // every method of the hosted source (the remote create/open too), plus the view's forget/wipe
          // (hostedRunSecrets returns closures: a spread keeps them all, and its own wipe untouched)
          return {
            ...routed(here, signal),
            forget: () => here.forgetTyped(),
            wipe: () => undefined, // the finally below wipes both sources
          };
        },
        onStore: (store) => sink.attach(store),
        onState,
        onEnd: over,
        ...(o.terminal.testOnlyDebug ? { testOnlyDebug: true } : {}),
      }));
    } else {
      // PINs without a security officer's terminal, and everything of the people without a slot
      local = coordinatorSecrets({ io, secrets, currentKind: () => current?.kind ?? null });
      const here = local;
      result = await withInterrupt((signal) =>
        runPlan({
          writer,
          networkParticipants: slotted,
          ...(done ? { done } : {}),
          ctx: { plan: plan.plan, planDir: plan.dir, outDir, hsm: device!.hsm, secrets: routed(here, signal), kdf, rng, signal, memory, operator, progress: (t) => out(`        ${t}`) },
          onState,
        }),
      );
      over(result);
    }
    if (sink) {
      // the view printed the end record (fingerprint, transcript, chain head) when it closed
      if (result.outcome === 'completed') return EXIT_CODES.ok;
    } else {
      out(`ceremony key fingerprint: ${writer.fingerprint}`);
      if (result.outcome === 'completed') {
        out(`completed${memory.kcv ? `; DKEK key check value ${memory.kcv}` : ''}. Verify with: hsm-ceremony verify ${transcriptPath} --plan ${plan.path}`);
        return EXIT_CODES.ok;
      }
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
