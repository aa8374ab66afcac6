/**
 * Does a secrets file give a headless rehearsal everything the plan will ask for
 * (docs/plan-format.md §9, docs/secrets-file.md)? A run without a terminal stops at the first
 * missing secret or confirmation; `plan check --secrets-file` finds them all beforehand.
 *
 * Only names are compared: the check never reads a secret's bytes.
 */
import { posix } from 'node:path';
import { formatPath, type PlanIssue, type PlanPath } from './plan-issue.ts';
import type { Plan } from './plan-schema.ts';
import { normalizePlanPath } from './plan-rules.ts';

/** The names a secrets file provides (no values). */
export interface SecretsInventory {
  rehearsal: boolean;
  hasPin: boolean;
  hasSoPin: boolean;
  /** share file base name → which kind of secret it has */
  shares: Map<string, 'passphrase' | 'pwdShares'>;
  /** person name → signs (true) or declines (false) */
  signOffs: Map<string, boolean>;
}

/**
 * Lists what the secrets file lacks for running `plan` headless, as errors on the plan steps that
 * need it; and names in the file the plan does not use, as warnings on the whole file.
 */
export function checkRehearsalSecrets(plan: Plan, s: SecretsInventory, locate: (path: PlanPath) => { line: number; column: number }, secretsName = 'the secrets file'): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const add = (severity: PlanIssue['severity'], path: PlanPath, code: string, message: string) => {
    const p = path.length > 0 ? locate(path) : { line: 0, column: 0 };
    issues.push({ severity, code, path: formatPath(path), line: p.line, column: p.column, message });
  };
  if (!s.rehearsal) {
    add('error', [], 'SECRETS_NOT_REHEARSAL', `${secretsName} is not marked "rehearsal": true; only rehearsal secrets may drive a headless rehearsal`);
  }
  const created = new Map<string, 'passphrase' | 'pwdShares'>();
  const declared = new Map<string, 'passphrase' | 'pwdShares'>();
  for (const d of plan.shareFiles ?? []) declared.set(normalizePlanPath(d.file), d.pwdShares ? 'pwdShares' : 'passphrase');
  const usedShares = new Set<string>();
  const signers = new Set<string>();
  let pinNeededAt: number | null = null;

  const needShare = (file: string, kind: 'passphrase' | 'pwdShares', path: PlanPath, why: string) => {
    const base = posix.basename(normalizePlanPath(file));
    usedShares.add(base);
    const have = s.shares.get(base);
    if (have === undefined) add('error', path, 'SECRETS_MISSING_SHARE', `${secretsName} has no shares."${base}".${kind} (${why})`);
    else if (have !== kind) add('error', path, 'SECRETS_WRONG_SHARE_KIND', `${secretsName} gives shares."${base}".${have}, but ${why} needs ${kind}`);
  };

  plan.steps.forEach((st, i) => {
    const path: PlanPath = ['steps', i];
    switch (st.step) {
      case 'initialize':
        if (!s.hasSoPin) add('error', path, 'SECRETS_MISSING_SO_PIN', `${secretsName} has no soPin (initialize needs the SO-PIN)`);
        if (!s.hasPin) add('error', path, 'SECRETS_MISSING_PIN', `${secretsName} has no pin (initialize sets the user PIN)`);
        break;
      case 'create-share':
        created.set(normalizePlanPath(st.file), st.pwdShares ? 'pwdShares' : 'passphrase');
        // password shares made here are kept by the run for its own imports; a passphrase is chosen
        // by the custodian, so a rehearsal needs it in the file
        if (!st.pwdShares) needShare(st.file, 'passphrase', path, 'the custodian\'s new passphrase');
        else {
          // a rehearsal keeps the split for its own imports, and writes it to shares."NAME".pwdShares
          // when the file names a printout there (docs/secrets-file.md §7)
          const base = posix.basename(normalizePlanPath(st.file));
          const have = s.shares.get(base);
          if (have !== undefined) {
            usedShares.add(base);
            if (have !== 'pwdShares') add('error', path, 'SECRETS_WRONG_SHARE_KIND', `${secretsName} gives shares."${base}".${have}, but ${base} is protected by password shares: give pwdShares (where the rehearsal writes their printout) or nothing`);
          }
          if (!s.rehearsal) {
            add('error', path, 'SECRETS_PWD_HANDOUT', `${secretsName} is not a rehearsal file, and password shares are handed out only on a terminal, each custodian seeing theirs alone; a headless run cannot make this split`);
          }
        }
        break;
      case 'import-share': {
        const key = normalizePlanPath(st.file);
        const kind = created.get(key) ?? declared.get(key);
        if (kind === 'passphrase') needShare(st.file, 'passphrase', path, 'the passphrase to import it');
        else if (kind === 'pwdShares' && !created.has(key)) needShare(st.file, 'pwdShares', path, 'the password shares to import it');
        else if (kind === 'pwdShares') usedShares.add(posix.basename(key));
        pinNeededAt ??= i;
        break;
      }
      case 'expect-kcv':
      case 'generate-key':
      case 'backup':
      case 'restore':
      case 'verify-restore':
        pinNeededAt ??= i;
        break;
      case 'sign-off': {
        const who = Array.isArray(st.who) ? st.who : [st.who];
        const names = who.flatMap((w) =>
          w === 'witnesses'
            ? plan.roles.witnesses ?? []
            : w === 'custodians'
              ? plan.roles.custodians
              : w === 'securityOfficer'
                ? [plan.roles.securityOfficer ?? '']
                : w === 'operator'
                  ? [plan.roles.operator ?? '']
                  : w === 'everyone'
                    ? [...plan.roles.custodians, ...(plan.roles.witnesses ?? []), plan.roles.operator ?? '', plan.roles.securityOfficer ?? '']
                    : [w],
        );
        for (const n of names.filter(Boolean)) {
          signers.add(n);
          if (!s.signOffs.has(n)) add('error', path, 'SECRETS_MISSING_SIGN_OFF', `${secretsName} has no signOffs."${n}" (this sign-off needs one per person)`);
        }
        break;
      }
    }
  });
  if (pinNeededAt !== null && !s.hasPin && !plan.steps.some((st) => st.step === 'initialize')) {
    add('error', ['steps', pinNeededAt], 'SECRETS_MISSING_PIN', `${secretsName} has no pin (this step logs in with the user PIN)`);
  }
  for (const name of s.shares.keys()) {
    if (!usedShares.has(name)) add('warning', [], 'SECRETS_UNUSED', `${secretsName} has shares."${name}", which no step of the plan uses`);
  }
  for (const name of s.signOffs.keys()) {
    if (!signers.has(name)) add('warning', [], 'SECRETS_UNUSED', `${secretsName} has signOffs."${name}", but no sign-off step asks ${name}`);
  }
  return issues;
}
