/**
 * What `host PLAN` asks at the coordinator itself (docs/protocol.md §7.3, docs/plan-format.md
 * §9.5): for the people without a slot — the operator and those the operator listed with
 * --at-coordinator — and the PINs when the security officer has no terminal of their own.
 *
 * Each answer comes from the secrets file when it holds one, else from the coordinator's terminal:
 * PINs and passphrases typed hidden (a new passphrase twice), a sign-off as a plain line where the
 * person types their own name to sign, or `decline` and then a reason (the run view's rule,
 * app/ui/run/tty-run-secrets.ts). Without a terminal (headless) everything must come from the
 * file, and `checkCoordinatorAnswers` refuses the run before it starts when something is missing.
 * A real (non-rehearsal) secrets file holds no sign-offs, so a real hosted run with sign-offs at
 * the coordinator needs its terminal.
 *
 * When the coordinator shows the run view (host PLAN on a terminal), the prompts are the run
 * view's (`ui`, app/ui/run/tty-run-secrets.ts): each names who types and tells the others to look
 * away, new PINs and passphrases are typed twice and checked, sign-offs are typed into the view,
 * and password shares can be typed in or handed out there. --pin-file/--so-pin-file and the secrets
 * file still answer first.
 */
import { basename } from 'node:path';
import { wipe } from '../../protocol/bytes.ts';
import { equalBytes } from '../../protocol/bytes.ts';
import { usageError } from '../../protocol/errors.ts';
import type { CliIo } from '../cli/command.ts';
import { passphraseAdvice } from '../cli/commands/share-create.ts';
import type { DeviceSecrets } from '../cli/device-options.ts';
import { isInteractive, readHidden, readLineBytes } from '../cli/secret-input.ts';
import type { Plan } from '../plan/plan-schema.ts';
import { fileSecrets } from '../run/file-secrets.ts';
import { signOffNames, type RunSecrets } from '../run/step-executor.ts';
import type { StepKind } from '../plan/plan-schema.ts';
import type { RunPrompter } from '../ui/run/run-view-store.ts';
import { TtyRunSecrets } from '../ui/run/tty-run-secrets.ts';

export interface CoordinatorSecrets extends RunSecrets {
  /** drops what the file source kept (password shares of a rehearsal) and wipes typed PINs */
  forget(): void;
  /** after a failed step: forgets the PINs typed at the run view, in case one was mistyped */
  forgetTyped(): void;
}

const PIN_STEPS = new Set(['initialize', 'expect-kcv', 'generate-key', 'backup', 'restore', 'verify-restore']);

/** The coordinator's own source: the secrets file first, then its terminal (when it has one). */
export function coordinatorSecrets(o: { io: CliIo; secrets: DeviceSecrets; currentKind(): string | null; view?: { ui: RunPrompter; plan: Plan } }): CoordinatorSecrets {
  const { io, secrets } = o;
  const file = secrets.file;
  const fromFile = file ? fileSecrets(file) : null;
  if (o.view) return viewSecrets(secrets, fromFile, new TtyRunSecrets({ ui: o.view.ui, plan: o.view.plan, file, currentKind: () => o.currentKind() as StepKind | null }));
  const terminal = isInteractive(io);
  const noSource = (what: string) =>
    usageError('NO_TTY', `${what} is needed at the coordinator, and neither --secrets-file nor a terminal gives it`, { hint: 'add it to the secrets file (docs/secrets-file.md), run the coordinator on a terminal, or give the person a slot' });
  const text = async (prompt: string) => {
    const bytes = await readLineBytes(io, prompt, { hidden: false, maxLength: 500 });
    try {
      return new TextDecoder().decode(bytes).trim();
    } finally {
      wipe(bytes);
    }
  };

  async function newPassphrase(f: string, custodian: string): Promise<Uint8Array> {
    io.stderr.write(`${custodian}: choose the passphrase of the new share file ${basename(f)} and type it (hidden) on this terminal; at least 6 characters, more than 10 or a few random words is better\n`);
    for (;;) {
      const first = await readHidden(io, `${custodian}, new passphrase of ${basename(f)}: `);
      const { ok, advice } = passphraseAdvice(first);
      for (const a of advice) io.stderr.write(`  ${a}\n`);
      if (!ok) {
        wipe(first);
        continue;
      }
      const again = await readHidden(io, `${custodian}, the passphrase again: `);
      const same = equalBytes(first, again);
      wipe(again);
      if (same) return first;
      wipe(first);
      io.stderr.write('  the two entries differ; type it twice again\n');
    }
  }

  return {
    pin: async () => (await secrets.pin({ required: true, prompt: true, label: 'User PIN' }))!.slice(),
    soPin: async () => (await secrets.soPin({ required: true, prompt: true, label: 'SO-PIN (16 hex digits)' }))!.slice(),
    async passphrase(f, custodian) {
      const given = file?.forShareFile(f)?.passphrase;
      if (given) return given.slice();
      if (!terminal) throw noSource(`${custodian}'s passphrase of ${basename(f)}`);
      if (o.currentKind() === 'create-share') return newPassphrase(f, custodian);
      return readHidden(io, `${custodian}, passphrase of ${basename(f)}: `);
    },
    async signOff(name, statement) {
      const given = file?.signOffs.get(name);
      if (given !== undefined) return given ? { accepted: true } : { accepted: false, reason: 'declined (rehearsal secrets file)' };
      if (!terminal) throw noSource(`${name}'s sign-off`);
      io.stderr.write(`${name} signs off at the coordinator: "${statement}"\n`);
      let prompt = `${name}, type your name to sign, or decline: `;
      for (;;) {
        const typed = await text(prompt);
        if (typed.toLowerCase() === name.toLowerCase()) return { accepted: true };
        if (typed.toLowerCase() === 'decline') {
          for (;;) {
            const reason = await text(`${name}, why do you decline (this goes in the transcript): `);
            if (reason !== '') return { accepted: false, reason: reason.slice(0, 500) };
            io.stderr.write('  a refusal needs a reason\n');
          }
        }
        prompt = typed === '' ? `type ${name} to sign, or decline: ` : `that is not "${name}"; type ${name} to sign, or decline: `;
      }
    },
    pwdShares: (f, c, t, n) => (fromFile ? fromFile.pwdShares(f, c, t, n) : Promise.reject(noSource(`password shares of ${basename(f)}`))),
    handOutPwdShares: (f, c, sp) => (fromFile ? fromFile.handOutPwdShares(f, c, sp) : Promise.reject(noSource(`a hand-out of the password shares of ${basename(f)}`))),
    forget: () => fromFile?.forget(),
    forgetTyped: () => undefined,
  };
}

/** The coordinator's source on the run view: PIN files first, then the view's prompts (which read the secrets file first). */
function viewSecrets(secrets: DeviceSecrets, fromFile: ReturnType<typeof fileSecrets> | null, tty: TtyRunSecrets): CoordinatorSecrets {
  return {
    pin: async () => (secrets.hasPin() ? (await secrets.pin({ required: true, prompt: false }))!.slice() : tty.pin()),
    soPin: async () => (secrets.hasSoPin() ? (await secrets.soPin({ required: true, prompt: false }))!.slice() : tty.soPin()),
    passphrase: (f, custodian) => tty.passphrase(f, custodian),
    signOff: (name, statement) => tty.signOff(name, statement),
    pwdShares: (f, c, t, n) => tty.pwdShares(f, c, t, n),
    handOutPwdShares: (f, c, sp) => tty.handOutPwdShares(f, c, sp),
    forget: () => {
      fromFile?.forget();
      tty.wipe();
    },
    forgetTyped: () => tty.forget(),
  };
}

/**
 * Headless `host PLAN`: everything asked at the coordinator must come from the secrets file (or
 * --pin-file/--so-pin-file). Refuses the run before it starts, naming everything missing.
 *
 * @throws CeremonyError usage RUN_NEEDS_INPUT
 */
export function checkCoordinatorAnswers(plan: Plan, hasSlot: (name: string) => boolean, secrets: DeviceSecrets, secretsName: string | undefined): void {
  const file = secrets.file;
  const src = secretsName ?? 'the secrets file';
  const missing: string[] = [];
  const officerHere = plan.roles.securityOfficer === undefined || !hasSlot(plan.roles.securityOfficer);
  if (officerHere) {
    if (plan.steps.some((s) => PIN_STEPS.has(s.step)) && !secrets.hasPin()) missing.push('the user PIN (pin, or --pin-file)');
    if (plan.steps.some((s) => s.step === 'initialize') && !secrets.hasSoPin()) missing.push('the SO-PIN (soPin, or --so-pin-file)');
  }
  const seen = new Set<string>();
  plan.steps.forEach((s, i) => {
    if ((s.step === 'create-share' || s.step === 'import-share') && s.custodian !== undefined && !hasSlot(s.custodian) && !file?.forShareFile(s.file)?.passphrase && !seen.has(`file:${basename(s.file)}`)) {
      seen.add(`file:${basename(s.file)}`);
      missing.push(`step ${i + 1}: ${s.custodian}'s passphrase of ${basename(s.file)} (shares."${basename(s.file)}".passphrase)`);
    }
    if (s.step === 'sign-off') {
      for (const p of signOffNames(plan, s)) {
        if (hasSlot(p.name) || seen.has(`who:${p.name.toLowerCase()}`) || file?.signOffs.has(p.name)) continue;
        seen.add(`who:${p.name.toLowerCase()}`);
        missing.push(
          file && !file.rehearsal
            ? `${p.name}'s sign-off (step ${i + 1}): only a rehearsal file may sign off, so a real ceremony asks it on the coordinator's terminal`
            : `${p.name}'s sign-off (step ${i + 1}, signOffs."${p.name}")`,
        );
      }
    }
  });
  if (missing.length > 0) {
    throw usageError('RUN_NEEDS_INPUT', `there is no terminal at the coordinator, and ${file ? src : 'no --secrets-file'} does not answer what is asked there: ${missing.join('; ')}`, {
      hint: 'run the coordinator on a terminal, add what is missing to the secrets file, or give those people a slot (drop them from --at-coordinator)',
    });
  }
}
