/**
 * `hsm-ceremony host`: a ceremony under split knowledge. The coordinator holds the card; every
 * custodian joins from their own terminal with `hsm-custodian join URL` and a one-time code, and
 * their secret is typed only there (docs/protocol.md, docs/threat-model.md).
 *
 * This command wires the pieces together: flags → plan (app/net/hosted-plan.ts), the card
 * (device-options.ts), the coordinator's own secrets, the runner (app/net/ceremony-runner.ts) and
 * the plain view (app/net/host-view.ts). It runs headless when there is no terminal.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, type DeviceFlags } from '../device-options.ts';
import { buildHostPlan, parseSeconds, type HostFlags } from '../../net/hosted-plan.ts';
import { CeremonyRunner } from '../../net/ceremony-runner.ts';
import { plainHostView } from '../../net/host-view.ts';
import { checkCodesDir } from '../../net/codes-out.ts';
import { SERVER_DEFAULTS } from '../../net/ceremony-server.ts';
import { deriveShareFileKey } from '../../../protocol/dkek/derive.ts';
import { usageError } from '../../../protocol/errors.ts';
import { runHostedPlan } from '../../net/plan-host-run.ts';
import { isInteractive } from '../secret-input.ts';
import { allowInteractiveInk } from '../interactive-ink.ts';

const HELP = `usage: hsm-ceremony host --custodians NAME,NAME,… [what they bring] [options] [device]
       hsm-ceremony host PLAN [--rehearse] [--secrets-file F] [--out DIR] [--transcript FILE]
                        [--at-coordinator NAME,…] [network options] [--sim [--sim-state F] | --reader R]

With PLAN: the reviewed plan runs step by step as "run PLAN" does (docs/plan-format.md), and its
transcript is written, but every person the plan names (custodians, security officer, witnesses;
not the operator) gets a slot and a join code: shares are created and opened, PINs typed and
sign-offs given on their own terminals (docs/protocol.md §7.3). The device is opened as "run"
opens it: the plan's device.reader (or --reader, --sim), checked against the plan's serial and
firmware; --rehearse runs on the built-in simulator with rehearsal secrets. On a terminal (without
--json) this screen is the run view: the current step, the join codes and who is connected (SAS),
and the operator's keys: p pause, c continue/retry, n note, s skip (with a reason), a abort.
  --at-coordinator NAME,…
                       people without a terminal of their own: they take part at this terminal,
                       where their sign-offs are typed (their name, or "decline" and a reason) and
                       a custodian's passphrase is typed hidden, so this screen shows their
                       prompts. Headless, --secrets-file must answer all of it (only a rehearsal
                       file may sign off). The operator always takes part here.
  --secrets-file F     what is asked here: PINs when the security officer has no slot,
                       passphrases of custodians at the coordinator, rehearsal sign-offs
  --transcript FILE    if FILE exists and is unfinished, the ceremony is continued from it: a
                       signed "resumed" event, new join codes, the unfinished steps run again
                       (a rehearsal needs its --sim-state file)

Hosts a DKEK ceremony under split knowledge: the coordinator holds the card, and each custodian
joins from their own terminal with "hsm-custodian join URL" (or "hsm-ceremony join URL") and a
one-time join code shown here. Secrets are typed only on their owner's terminal. Exits when every
share is imported and the KCV is read: 0 done, 1 KCV mismatch, 3 device or connection error,
4 cancelled or incomplete.

What the custodians bring (default: each imports a passphrase share they bring on their terminal):
  --pwd-shares T/N --share-file FILE
                       each custodian types one of N password shares of FILE (any T open it)
  --create             each custodian makes a new passphrase share on their own terminal,
                       saved there as NAME.pbe, then imported
  --share-files DIR    send DIR/NAME.pbe to custodian NAME (they still type the passphrase)
Ceremony:
  --init --dkek-shares N
                       initialise the device first for N DKEK shares (erases it)
  --security-officer NAME
                       the SO-PIN and user PIN are typed on NAME's terminal (a custodian may
                       also be the security officer); otherwise they come from this terminal or
                       --secrets-file / --pin-file / --so-pin-file
  --witnesses NAME,…   read-only terminals that see every public event live
  --expect-kcv HEX     compare the final DKEK key check value (exit 1 when it differs)
  --resume FILE        continue an interrupted ceremony: FILE is the earlier run's --json output
  --yes                confirm erasing the keys of a device that is re-initialised
Network:
  --listen ADDR:PORT   default 127.0.0.1:0 (this machine only, a free port); another address
                       opens the ceremony to the LAN (a warning is shown)
  --codes-out DIR      write each slot's join code to DIR/NAME.code (0600), rewritten when reissued
  --json               print the public event stream as JSON lines on stdout
  --join-timeout S     how long a code waits for its custodian (default 30m)
  --handshake-timeout S, --idle-timeout S, --max-connections N
                       connection limits (defaults ${SERVER_DEFAULTS.handshakeTimeoutMs / 1000}s, ${SERVER_DEFAULTS.idleTimeoutMs / 1000}s, ${SERVER_DEFAULTS.maxConnections})
${DEVICE_OPTIONS_HELP}`;

/** Splits ADDR:PORT (IPv6 in brackets). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535) {
    throw usageError('BAD_LISTEN', `--listen takes ADDR:PORT such as 127.0.0.1:0 or 0.0.0.0:7000, got "${text}"`, { hint: 'port 0 picks a free port' });
  }
  return { host: m[1] ?? m[2]!, port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function serverOptions(values: { 'max-connections'?: string | undefined; 'handshake-timeout'?: string | undefined; 'idle-timeout'?: string | undefined }) {
  let maxConnections: number | undefined;
  if (values['max-connections'] !== undefined) {
    if (!/^\d{1,4}$/.test(values['max-connections']) || Number(values['max-connections']) < 1) {
      throw usageError('USAGE', `--max-connections takes a number from 1 to 9999, got "${values['max-connections']}"`);
    }
    maxConnections = Number(values['max-connections']);
  }
  return {
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(values['handshake-timeout'] !== undefined ? { handshakeTimeoutMs: parseSeconds(values['handshake-timeout'], '--handshake-timeout') * 1000 } : {}),
    ...(values['idle-timeout'] !== undefined ? { idleTimeoutMs: parseSeconds(values['idle-timeout'], '--idle-timeout') * 1000 } : {}),
  };
}

/** `host PLAN`: the plan runner with every person on their own terminal. */
async function hostPlan(planPath: string, values: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
  for (const f of ['custodians', 'init', 'dkek-shares', 'pwd-shares', 'share-file', 'share-files', 'create', 'expect-kcv', 'security-officer', 'witnesses', 'resume']) {
    if (values[f] !== undefined) throw usageError('USAGE', `--${f} does not go with a plan: the plan says who does what`, { hint: 'hsm-ceremony host PLAN [--rehearse] [--secrets-file F]' });
  }
  const listen = parseListen((values.listen as string | undefined) ?? '127.0.0.1:0');
  const codesOut = values['codes-out'] !== undefined ? resolve(io.cwd, values['codes-out'] as string) : null;
  if (codesOut !== null) checkCodesDir(codesOut);
  const json = values.json === true;
  const view = plainHostView({ stdout: io.stdout, stderr: io.stderr, json });
  const human = json ? io.stderr : io.stdout;
  const atCoordinator = typeof values['at-coordinator'] === 'string' ? values['at-coordinator'].split(',').map((n) => n.trim()).filter(Boolean) : [];
  // on a terminal the coordinator shows the run view (as run PLAN does); headless, plain lines
  const onTerminal = isInteractive(io) && io.stdout.isTTY === true && !json;
  if (onTerminal) allowInteractiveInk();
  return runHostedPlan({
    planPath,
    io,
    flags: values as DeviceFlags & { rehearse?: boolean; out?: string; transcript?: string },
    view,
    listen,
    server: serverOptions(values as Record<string, string | undefined>),
    codesOut,
    joinTimeoutMs: values['join-timeout'] !== undefined ? parseSeconds(values['join-timeout'] as string, '--join-timeout') * 1000 : 30 * 60_000,
    atCoordinator,
    out: (line) => human.write(line + '\n'),
    ...(onTerminal ? { terminal: { stdin: io.stdin as NodeJS.ReadStream, stdout: io.stdout as NodeJS.WriteStream, stderr: io.stderr as NodeJS.WriteStream, env: io.env } } : {}),
  });
}

export const host: Command = {
  path: ['host'],
  summary: 'host a ceremony: custodians join from their own terminals (split knowledge)',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...deviceOptions,
        custodians: { type: 'string' },
        init: { type: 'boolean' },
        'dkek-shares': { type: 'string' },
        'pwd-shares': { type: 'string' },
        'share-file': { type: 'string' },
        'share-files': { type: 'string' },
        create: { type: 'boolean' },
        'expect-kcv': { type: 'string' },
        'security-officer': { type: 'string' },
        witnesses: { type: 'string' },
        resume: { type: 'string' },
        yes: { type: 'boolean' },
        listen: { type: 'string' },
        'codes-out': { type: 'string' },
        'join-timeout': { type: 'string' },
        'handshake-timeout': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'max-connections': { type: 'string' },
        rehearse: { type: 'boolean' },
        out: { type: 'string' },
        transcript: { type: 'string' },
        'at-coordinator': { type: 'string' },
      },
    });
    if (positionals.length === 1) return hostPlan(positionals[0]!, values, io);
    if (positionals.length > 0) throw usageError('USAGE', `unexpected argument "${positionals[0]}"`, { hint: 'hsm-ceremony host --help' });
    const plan = buildHostPlan(values as HostFlags, (p) => resolve(io.cwd, p));
    const listen = parseListen(values.listen ?? '127.0.0.1:0');
    const codesOut = values['codes-out'] !== undefined ? resolve(io.cwd, values['codes-out']) : null;
    if (codesOut !== null) checkCodesDir(codesOut);
    let maxConnections: number | undefined;
    if (values['max-connections'] !== undefined) {
      if (!/^\d{1,4}$/.test(values['max-connections']) || Number(values['max-connections']) < 1) {
        throw usageError('USAGE', `--max-connections takes a number from 1 to 9999, got "${values['max-connections']}"`);
      }
      maxConnections = Number(values['max-connections']);
    }
    const server = {
      ...(maxConnections !== undefined ? { maxConnections } : {}),
      ...(values['handshake-timeout'] !== undefined ? { handshakeTimeoutMs: parseSeconds(values['handshake-timeout'], '--handshake-timeout') * 1000 } : {}),
      ...(values['idle-timeout'] !== undefined ? { idleTimeoutMs: parseSeconds(values['idle-timeout'], '--idle-timeout') * 1000 } : {}),
    };

    const json = values.json === true;
    const view = plainHostView({ stdout: io.stdout, stderr: io.stderr, json });
    const human = json ? io.stderr : io.stdout;
    const flags = values as DeviceFlags;
    const secrets = new DeviceSecrets(flags, io);
    let card: Awaited<ReturnType<typeof openCard>> | undefined;
    try {
      card = await openCard(flags, io, { changesCard: true, secrets });
      if (!isLoopback(listen.host)) {
        human.write(
          `WARNING: listening on ${listen.host}: the ceremony is reachable from the network. Anyone there can\n` +
            '         try one guess per join code (1 in 16.8 million) and burn codes; compare the SAS digits.\n',
        );
      }
      const runner = new CeremonyRunner({
        config: plan.config,
        hsm: card.hsm,
        deviceDescription: card.device.description,
        expectKcv: plan.expectKcv,
        pwdFile: plan.pwdFile,
        local: {
          soPin: async () => (await secrets.soPin({ required: true, prompt: true, label: 'SO-PIN (16 hex digits)' }))!.slice(),
          newPin: async () => (await secrets.pin({ required: true, prompt: true, confirm: true, label: 'New user PIN' }))!.slice(),
          pin: async () => (await secrets.pin({ required: false, prompt: true, label: 'User PIN (to confirm the DKEK)' }))?.slice(),
        },
        kdf: (signal, onProgress) => (password, salt) =>
          deriveShareFileKey(password, salt, { signal, onProgress: (done, total) => onProgress(total === 0 ? 100 : Math.floor((done / total) * 100)) }),
        confirmDestroy: (n) => {
          if (values.yes) return true;
          human.write(`the device holds ${n} key${n === 1 ? '' : 's'} that initialising would erase; pass --yes to confirm\n`);
          return false;
        },
        view,
        codesOut,
        listen,
        server,
      });
      const onSignal = () => runner.cancel('interrupted on the coordinator (Ctrl-C)');
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        return await runner.run();
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    } finally {
      secrets.wipe();
      await card?.close().catch(() => undefined);
    }
  },
};
