/**
 * The rules that relate a plan's fields and steps to each other (docs/plan-format.md §6): every
 * person named has a role, a custodian imports only the share they hold, shares exist before they
 * are imported and are not imported twice or beyond the share count, the KCV is checked only once
 * the DKEK is complete, keys exist before they are backed up, restores do not land on a key unless
 * allowed, outputs never collide, and rehearsal-only steps stay on the simulator.
 *
 * The walk follows the steps in order and models only what the plan itself makes certain: after an
 * `initialize`, or on the simulator (a fresh device), the set of keys is known; on a real device
 * without an `initialize`, it is not, and key references cannot be checked before the day.
 */
import { posix } from 'node:path';
import { formatPath, type PlanIssue, type PlanPath } from './plan-issue.ts';
import {
  ROLE_GROUPS,
  backupFileName,
  isSimulator,
  parseThreshold,
  type Plan,
  type PlanStep,
} from './plan-schema.ts';

type Locate = (path: PlanPath) => { line: number; column: number };

interface ShareInfo {
  /** the path as written */
  file: string;
  /** normalised, for comparison */
  key: string;
  /** the custodian who holds the passphrase, or null for a password-share file */
  holder: string | null;
  /** custodians holding one password share each (empty for a passphrase file) */
  holders: string[];
  threshold: number;
  /** index of the create-share step, or null when listed under shareFiles */
  createdAt: number | null;
  /** where it was defined, for messages */
  definedAt: PlanPath;
}

/** Normalises a plan path for comparison: `./a//b/` → `a/b`. */
export function normalizePlanPath(p: string): string {
  const n = posix.normalize(p).replace(/\/+$/, '');
  return n.startsWith('./') ? n.slice(2) : n;
}

/**
 * Why an output path is unusable, or null if it is fine: outputs are relative to the run's output
 * folder and stay inside it.
 */
export function outputPathProblem(p: string): string | null {
  if (p.startsWith('/')) return 'must be a relative path: everything a run writes goes under its output folder (--out)';
  if (p.split('/').includes('..')) return 'must not contain "..": everything a run writes stays inside its output folder';
  const n = normalizePlanPath(p);
  if (n === '' || n === '.') return 'must name a file or folder inside the output folder';
  return null;
}

const at = (i: number): string => formatPath(['steps', i]);

/**
 * Checks the cross-field and cross-step rules of a plan whose every field already has the right
 * shape.
 *
 * @param plan a plan that passed the schemas
 * @param locate gives the line of a field path
 * @returns errors and warnings (an empty list when all is well)
 */
export function checkPlanRules(plan: Plan, locate: Locate): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const report = (severity: PlanIssue['severity'], path: PlanPath, code: string, message: string) => {
    const p = locate(path);
    issues.push({ severity, code, path: formatPath(path), line: p.line, column: p.column, message });
  };
  const err = (path: PlanPath, code: string, message: string) => report('error', path, code, message);
  const warn = (path: PlanPath, code: string, message: string) => report('warning', path, code, message);

  // ---- roles -------------------------------------------------------------------------------
  const { roles } = plan;
  const witnesses = roles.witnesses ?? [];
  const everyone = new Map<string, string>(); // lower-case name → role description
  const addPerson = (name: string, path: PlanPath) => {
    if ((ROLE_GROUPS as readonly string[]).includes(name)) {
      err(path, 'PLAN_RESERVED_NAME', `"${name}" is a role group word in sign-off steps and cannot name a person`);
    }
  };
  const seenIn = (list: string[], listPath: PlanPath) => {
    const seen = new Set<string>();
    list.forEach((name, i) => {
      addPerson(name, [...listPath, i]);
      const k = name.toLowerCase();
      if (seen.has(k)) err([...listPath, i], 'PLAN_DUPLICATE_NAME', `"${name}" is listed twice`);
      seen.add(k);
    });
  };
  seenIn(roles.custodians, ['roles', 'custodians']);
  seenIn(witnesses, ['roles', 'witnesses']);
  if (roles.operator) addPerson(roles.operator, ['roles', 'operator']);
  if (roles.securityOfficer) addPerson(roles.securityOfficer, ['roles', 'securityOfficer']);

  const custodianSet = new Set(roles.custodians.map((n) => n.toLowerCase()));
  witnesses.forEach((w, i) => {
    const k = w.toLowerCase();
    const also =
      custodianSet.has(k) ? 'a custodian' : roles.operator?.toLowerCase() === k ? 'the operator' : roles.securityOfficer?.toLowerCase() === k ? 'the security officer' : null;
    if (also) err(['roles', 'witnesses', i], 'PLAN_ROLE_CONFLICT', `"${w}" is ${also} and cannot also be a witness: a witness attests to what others do`);
  });
  if (roles.securityOfficer && custodianSet.has(roles.securityOfficer.toLowerCase())) {
    warn(['roles', 'securityOfficer'], 'PLAN_ROLE_OVERLAP', `"${roles.securityOfficer}" holds both the SO-PIN and a DKEK share; split knowledge is stronger when these are different people`);
  }
  for (const n of roles.custodians) everyone.set(n.toLowerCase(), 'custodian');
  for (const n of witnesses) everyone.set(n.toLowerCase(), 'witness');
  if (roles.operator) everyone.set(roles.operator.toLowerCase(), 'operator');
  if (roles.securityOfficer) everyone.set(roles.securityOfficer.toLowerCase(), 'security officer');

  const isCustodian = (name: string) => custodianSet.has(name.toLowerCase());
  const acted = new Set<string>(); // lower-case names of people who do something in a step

  // ---- share files listed as inputs --------------------------------------------------------
  const shares = new Map<string, ShareInfo>(); // normalised path → share
  const baseNames = new Map<string, PlanPath>(); // base name → where defined
  const outputs = new Map<string, { step: number; what: string }>(); // normalised output path → writer

  const checkBaseName = (file: string, path: PlanPath) => {
    const base = posix.basename(normalizePlanPath(file));
    const prior = baseNames.get(base);
    if (prior) {
      err(path, 'PLAN_SHARE_NAME_CLASH', `another share file is also named "${base}" (${formatPath(prior)}); share files need distinct names because secrets files and custodians refer to them by name`);
    } else baseNames.set(base, path);
  };

  const checkProtection = (
    d: { custodian?: string | undefined; pwdShares?: string | undefined; custodians?: string[] | undefined },
    path: PlanPath,
  ): { holder: string | null; holders: string[]; threshold: number } | null => {
    if (d.custodian !== undefined && (d.pwdShares !== undefined || d.custodians !== undefined)) {
      err(path, 'PLAN_SHARE_PROTECTION', 'give either custodian (a passphrase share) or pwdShares with custodians (a password-share split), not both');
      return null;
    }
    if (d.custodian !== undefined) {
      if (!isCustodian(d.custodian)) {
        err([...path, 'custodian'], 'PLAN_UNKNOWN_PERSON', `unknown custodian "${d.custodian}": list them under roles.custodians`);
        return null;
      }
      return { holder: d.custodian, holders: [], threshold: 1 };
    }
    if (d.pwdShares === undefined) {
      err([...path, 'custodian'], 'PLAN_MISSING_FIELD', 'is required: name the custodian who holds the passphrase, or give pwdShares: T/N with custodians');
      return null;
    }
    const { threshold, total } = parseThreshold(d.pwdShares);
    const list = d.custodians;
    if (list === undefined) {
      err([...path, 'custodians'], 'PLAN_MISSING_FIELD', `is required with pwdShares: list the ${total} custodians who each keep one password share`);
      return null;
    }
    let ok = true;
    const seen = new Set<string>();
    list.forEach((c, j) => {
      if (!isCustodian(c)) {
        err([...path, 'custodians', j], 'PLAN_UNKNOWN_PERSON', `unknown custodian "${c}": list them under roles.custodians`);
        ok = false;
      } else if (seen.has(c.toLowerCase())) {
        err([...path, 'custodians', j], 'PLAN_DUPLICATE_NAME', `"${c}" is listed twice: each custodian keeps one password share`);
        ok = false;
      }
      seen.add(c.toLowerCase());
    });
    if (ok && list.length !== total) {
      err([...path, 'custodians'], 'PLAN_SHARE_PROTECTION', `lists ${list.length} custodian${list.length === 1 ? '' : 's'} for pwdShares ${d.pwdShares}, which makes ${total} password shares: name one custodian per share`);
      ok = false;
    }
    return ok ? { holder: null, holders: list, threshold } : null;
  };

  (plan.shareFiles ?? []).forEach((d, i) => {
    const path: PlanPath = ['shareFiles', i];
    const key = normalizePlanPath(d.file);
    if (shares.has(key)) {
      err([...path, 'file'], 'PLAN_SHARE_TWICE', `"${d.file}" is listed twice`);
      return;
    }
    const prot = checkProtection(d, path);
    checkBaseName(d.file, [...path, 'file']);
    if (!prot) return;
    shares.set(key, { file: d.file, key, ...prot, createdAt: null, definedAt: path });
  });

  // ---- the steps, in order -----------------------------------------------------------------
  const sim = isSimulator(plan);
  const initSteps = plan.steps.map((s, i) => (s.step === 'initialize' ? i : -1)).filter((i) => i >= 0);
  let dkek: number | 'random' | 'none' | undefined; // undefined: whatever the device holds
  let initAt: number | null = null;
  let imported = new Map<string, number>(); // share key → step, since the last initialize
  let createdHere = 0; // shares imported this epoch that were created in this plan
  let keysKnown = sim;
  let keys = new Map<number, { step: number; how: string }>();
  let restored = new Map<number, number>();
  const backupFolders = new Map<string, number>(); // normalised folder of a `keys: all` backup → step
  const backupFiles = new Map<string, number>(); // normalised backup file → step
  const laterBackupFiles = new Map<string, number>();
  const signers = new Set<string>();
  let lastSignOff = -1;

  // backup outputs of every step, so a restore before its backup is named as such
  plan.steps.forEach((s, i) => {
    if (s.step === 'backup' && s.keys !== 'all') for (const r of s.keys) laterBackupFiles.set(normalizePlanPath(backupFileName(s.folder, r)), i);
  });

  const addOutput = (file: string, path: PlanPath, i: number, what: string): boolean => {
    const problem = outputPathProblem(file);
    if (problem) {
      err(path, 'PLAN_OUTPUT_PATH', problem);
      return false;
    }
    const key = normalizePlanPath(file);
    const prior = outputs.get(key);
    if (prior) {
      err(path, 'PLAN_OUTPUT_CLASH', `${at(prior.step)} already writes "${key}" (${prior.what}); outputs are never overwritten`);
      return false;
    }
    const input = shares.get(key);
    if (input && input.createdAt === null) {
      err(path, 'PLAN_OUTPUT_CLASH', `"${key}" is an input listed at ${formatPath(input.definedAt)}; outputs are never written over inputs`);
      return false;
    }
    outputs.set(key, { step: i, what });
    return true;
  };

  const dkekProblem = (path: PlanPath, doing: string): boolean => {
    if (dkek === 'none') {
      err(path, 'PLAN_NO_DKEK', `${at(initAt!)} initializes with dkekShares: none, so there is no DKEK and no key can be ${doing}`);
      return true;
    }
    if (typeof dkek === 'number' && imported.size < dkek) {
      err(path, 'PLAN_DKEK_INCOMPLETE', `the DKEK is not complete here (${imported.size} of ${dkek} shares imported), so no key can be ${doing}`);
      return true;
    }
    return false;
  };

  plan.steps.forEach((s: PlanStep, i) => {
    const path: PlanPath = ['steps', i];
    switch (s.step) {
      case 'initialize': {
        if (initAt !== null) warn(path, 'PLAN_REINITIALIZE', `initializes the device again: everything done since ${at(initAt)} is erased`);
        initAt = i;
        dkek = s.dkekShares;
        imported = new Map();
        createdHere = 0;
        keysKnown = true;
        keys = new Map();
        restored = new Map();
        if (roles.securityOfficer) acted.add(roles.securityOfficer.toLowerCase());
        break;
      }
      case 'create-share': {
        const key = normalizePlanPath(s.file);
        const prior = shares.get(key);
        if (prior) {
          err([...path, 'file'], 'PLAN_SHARE_TWICE', `"${s.file}" is already ${prior.createdAt === null ? `listed at ${formatPath(prior.definedAt)}` : `created at ${at(prior.createdAt)}`}; outputs are never overwritten`);
          break;
        }
        if (s.file.endsWith('/')) {
          err([...path, 'file'], 'PLAN_OUTPUT_PATH', 'must name a file, not a folder');
          break;
        }
        const prot = checkProtection(s, path);
        if (!addOutput(s.file, [...path, 'file'], i, 'a DKEK share file')) break;
        checkBaseName(s.file, [...path, 'file']);
        if (!prot) break;
        shares.set(key, { file: s.file, key, ...prot, createdAt: i, definedAt: path });
        for (const c of prot.holder ? [prot.holder] : prot.holders) acted.add(c.toLowerCase());
        break;
      }
      case 'import-share': {
        const key = normalizePlanPath(s.file);
        const share = shares.get(key);
        if (s.custodian !== undefined && !isCustodian(s.custodian)) {
          err([...path, 'custodian'], 'PLAN_UNKNOWN_PERSON', `unknown custodian "${s.custodian}": list them under roles.custodians`);
          break;
        }
        if (!share) {
          const later = plan.steps.findIndex((t, j) => j > i && t.step === 'create-share' && normalizePlanPath(t.file) === key);
          if (later >= 0) err([...path, 'file'], 'PLAN_STEP_ORDER', `"${s.file}" is created only later, at ${at(later)}`);
          else err([...path, 'file'], 'PLAN_UNKNOWN_SHARE_FILE', `"${s.file}" is neither created by an earlier create-share step nor listed under shareFiles`);
          break;
        }
        if (share.holder !== null) {
          if (s.custodians !== undefined) err([...path, 'custodians'], 'PLAN_SHARE_PROTECTION', `"${s.file}" is protected by ${share.holder}'s passphrase, not by password shares: use custodian`);
          if (s.custodian === undefined) err(path, 'PLAN_MISSING_FIELD', `custodian is required: name who imports "${s.file}" (${share.holder})`);
          else if (s.custodian.toLowerCase() !== share.holder.toLowerCase()) {
            err([...path, 'custodian'], 'PLAN_SHARE_HOLDER', `"${s.file}" belongs to ${share.holder}, not ${s.custodian}: only its custodian knows the passphrase`);
          }
        } else {
          if (s.custodian !== undefined) err([...path, 'custodian'], 'PLAN_SHARE_PROTECTION', `"${s.file}" is opened with password shares: list who brings them under custodians (at least ${share.threshold})`);
          if (s.custodians !== undefined) {
            const seen = new Set<string>();
            s.custodians.forEach((c, j) => {
              if (!isCustodian(c)) err([...path, 'custodians', j], 'PLAN_UNKNOWN_PERSON', `unknown custodian "${c}": list them under roles.custodians`);
              else if (!share.holders.some((h) => h.toLowerCase() === c.toLowerCase())) {
                err([...path, 'custodians', j], 'PLAN_SHARE_HOLDER', `${c} holds no password share of "${s.file}" (held by ${share.holders.join(', ')})`);
              } else if (seen.has(c.toLowerCase())) err([...path, 'custodians', j], 'PLAN_DUPLICATE_NAME', `"${c}" is listed twice`);
              seen.add(c.toLowerCase());
            });
            if (s.custodians.length < share.threshold) {
              err([...path, 'custodians'], 'PLAN_SHARE_THRESHOLD', `lists ${s.custodians.length} custodian${s.custodians.length === 1 ? '' : 's'}, but "${s.file}" needs ${share.threshold} password shares to open`);
            }
          }
        }
        for (const c of share.holder ? [s.custodian ?? share.holder] : s.custodians ?? share.holders) acted.add(c.toLowerCase());
        if (share.createdAt !== null && share.createdAt > i) err([...path, 'file'], 'PLAN_STEP_ORDER', `"${s.file}" is created only later, at ${at(share.createdAt)}`);
        if (dkek === 'none' || dkek === 'random') {
          err(path, 'PLAN_NO_DKEK_SHARES', `${at(initAt!)} initializes with dkekShares: ${dkek}, so there are no DKEK shares to import`);
          break;
        }
        const again = imported.get(key);
        if (again !== undefined) {
          err([...path, 'file'], 'PLAN_SHARE_TWICE', `"${s.file}" is already imported at ${at(again)}; the card would take the same share twice`);
          break;
        }
        imported.set(key, i);
        if (share.createdAt !== null) createdHere++;
        if (typeof dkek === 'number' && imported.size > dkek) {
          err(path, 'PLAN_TOO_MANY_IMPORTS', `this is share ${imported.size}, but ${at(initAt!)} initializes for ${dkek} DKEK share${dkek === 1 ? '' : 's'} (the card refuses it with 69 86)`);
        }
        const laterInit = initSteps.find((j) => j > i);
        if (laterInit !== undefined) err(path, 'PLAN_STEP_ORDER', `${at(laterInit)} initializes the device afterwards, which erases this import`);
        break;
      }
      case 'expect-kcv': {
        if (dkek === 'none') {
          err(path, 'PLAN_NO_DKEK', `${at(initAt!)} initializes with dkekShares: none, so there is no DKEK and no KCV`);
          break;
        }
        if (typeof dkek === 'number' && imported.size < dkek) {
          err(path, 'PLAN_KCV_TOO_EARLY', `comes after ${imported.size} of ${dkek} shares are imported: the card has a KCV only once every share is in`);
          break;
        }
        if (dkek === 'random' && s.kcv !== undefined) {
          warn([...path, 'kcv'], 'PLAN_KCV_UNKNOWABLE', `${at(initAt!)} makes a random DKEK, whose KCV cannot be known in advance`);
        }
        if (s.kcv === undefined && dkek !== 'random' && createdHere === 0) {
          warn(path, 'PLAN_KCV_UNPINNED', 'no kcv given: every share here existed before this ceremony, so the KCV is known from the ceremony that made them; write it here so the step checks it');
        }
        break;
      }
      case 'generate-key': {
        if (!sim) {
          err(path, 'PLAN_SIMULATOR_ONLY', 'generate-key is for rehearsals on the simulator (device.reader: simulator); on a real device keys are made with their owner\'s tools, and the ceremony backs them up');
          break;
        }
        const prior = keys.get(s.keyRef);
        if (prior) {
          err([...path, 'keyRef'], 'PLAN_KEY_REF_TAKEN', `key reference ${s.keyRef} already holds the key from ${at(prior.step)} (${prior.how})`);
          break;
        }
        keys.set(s.keyRef, { step: i, how: 'generate-key' });
        break;
      }
      case 'backup': {
        if (dkekProblem(path, 'backed up')) break;
        if (dkek === 'random') {
          warn(path, 'PLAN_RANDOM_DKEK', `${at(initAt!)} makes a random DKEK that nobody knows, so these backups can be restored only into this same device`);
        }
        if (s.folder.endsWith('.bin')) warn([...path, 'folder'], 'PLAN_BACKUP_FOLDER', 'names a folder: each key is written to FOLDER/key-REF.bin');
        if (s.keys === 'all') {
          if (keysKnown && keys.size === 0) {
            err([...path, 'keys'], 'PLAN_UNKNOWN_KEY', 'there are no keys to back up at this point');
            break;
          }
          const problem = outputPathProblem(s.folder);
          if (problem) {
            err([...path, 'folder'], 'PLAN_OUTPUT_PATH', problem);
            break;
          }
          const folder = normalizePlanPath(s.folder);
          const clash = [...outputs.keys()].find((o) => o === folder || o.startsWith(`${folder}/`));
          if (clash !== undefined || backupFolders.has(folder)) {
            err([...path, 'folder'], 'PLAN_OUTPUT_CLASH', `"${folder}" already receives files from ${at(backupFolders.get(folder) ?? outputs.get(clash!)!.step)}; give each "keys: all" backup its own folder`);
            break;
          }
          backupFolders.set(folder, i);
          outputs.set(folder, { step: i, what: 'a backup folder' });
          break;
        }
        const seen = new Set<number>();
        s.keys.forEach((r, j) => {
          if (seen.has(r)) {
            err([...path, 'keys', j], 'PLAN_DUPLICATE_KEY', `key reference ${r} is listed twice`);
            return;
          }
          seen.add(r);
          if (keysKnown && !keys.has(r)) {
            err([...path, 'keys', j], 'PLAN_UNKNOWN_KEY', `no key at reference ${r} here: ${sim ? 'the simulator holds only the keys the plan generates or restores' : `${at(initAt!)} erased the device, and no later step puts a key there`}`);
            return;
          }
          const file = backupFileName(s.folder, r);
          if (addOutput(file, [...path, 'folder'], i, `the backup of key ${r}`)) backupFiles.set(normalizePlanPath(file), i);
        });
        break;
      }
      case 'restore': {
        if (dkekProblem(path, 'restored')) break;
        const key = normalizePlanPath(s.file);
        const fromBackup = backupFiles.get(key);
        const inFolder = [...backupFolders.entries()].find(([f]) => posix.dirname(key) === f && /^key-[0-9]+\.bin$/.test(posix.basename(key)));
        const other = outputs.get(key);
        if (fromBackup === undefined && !inFolder) {
          const later = laterBackupFiles.get(key);
          if (later !== undefined) {
            err([...path, 'file'], 'PLAN_STEP_ORDER', `"${s.file}" is written only later, by the backup at ${at(later)}`);
            break;
          }
          if (other) {
            err([...path, 'file'], 'PLAN_FILE_KIND', `"${s.file}" is written by ${at(other.step)} as ${other.what}, not a key backup`);
            break;
          }
        }
        const prior = keys.get(s.keyRef);
        if (keysKnown && prior && s.replaceAllowed !== true) {
          err([...path, 'keyRef'], 'PLAN_KEY_REF_TAKEN', `key reference ${s.keyRef} holds the key from ${at(prior.step)}; restore to a free reference, or set replaceAllowed: true to replace that key`);
          break;
        }
        keys.set(s.keyRef, { step: i, how: 'restore' });
        restored.set(s.keyRef, i);
        break;
      }
      case 'verify-restore': {
        if (!restored.has(s.keyRef)) {
          err([...path, 'keyRef'], 'PLAN_NOTHING_RESTORED', `no earlier restore step puts a key at reference ${s.keyRef}`);
        }
        break;
      }
      case 'sign-off': {
        lastSignOff = i;
        const who = Array.isArray(s.who) ? s.who : [s.who];
        const seen = new Set<string>();
        who.forEach((w, j) => {
          const wp: PlanPath = Array.isArray(s.who) ? [...path, 'who', j] : [...path, 'who'];
          const k = w.toLowerCase();
          if (seen.has(k)) err(wp, 'PLAN_DUPLICATE_NAME', `"${w}" is listed twice`);
          seen.add(k);
          let names: string[];
          switch (w) {
            case 'witnesses':
              names = witnesses;
              if (names.length === 0) err(wp, 'PLAN_UNKNOWN_PERSON', 'the plan names no witnesses (roles.witnesses)');
              break;
            case 'custodians':
              names = roles.custodians;
              break;
            case 'securityOfficer':
              names = roles.securityOfficer ? [roles.securityOfficer] : [];
              if (names.length === 0) err(wp, 'PLAN_UNKNOWN_PERSON', 'the plan names no security officer (roles.securityOfficer)');
              break;
            case 'operator':
              names = roles.operator ? [roles.operator] : [];
              if (names.length === 0) err(wp, 'PLAN_UNKNOWN_PERSON', 'the plan names no operator (roles.operator)');
              break;
            case 'everyone':
              names = [...roles.custodians, ...witnesses, ...(roles.operator ? [roles.operator] : []), ...(roles.securityOfficer ? [roles.securityOfficer] : [])];
              break;
            default:
              names = [w];
              if (!everyone.has(k)) err(wp, 'PLAN_UNKNOWN_PERSON', `unknown person "${w}": sign-off names a role group (${ROLE_GROUPS.join(', ')}) or someone under roles`);
          }
          for (const n of names) signers.add(n.toLowerCase());
        });
        break;
      }
    }
  });

  // ---- the plan as a whole -----------------------------------------------------------------
  if (typeof dkek === 'number' && imported.size < dkek && initAt !== null) {
    warn(['steps', initAt, 'dkekShares'], 'PLAN_DKEK_LEFT_INCOMPLETE', `the plan imports ${imported.size} of the ${dkek} DKEK shares: the DKEK stays incomplete until the rest are imported in another ceremony`);
  }
  if (lastSignOff < 0) warn(['steps'], 'PLAN_NO_SIGN_OFF', 'no sign-off step: witnesses and custodians never confirm that the script was followed');
  else if (lastSignOff < plan.steps.length - 1) warn(['steps', lastSignOff + 1], 'PLAN_AFTER_SIGN_OFF', 'steps follow the last sign-off, so nobody signs off on them');
  roles.custodians.forEach((c, i) => {
    if (!acted.has(c.toLowerCase()) && !signers.has(c.toLowerCase())) warn(['roles', 'custodians', i], 'PLAN_UNUSED_PERSON', `custodian "${c}" has nothing to do in any step`);
  });
  witnesses.forEach((w, i) => {
    if (!signers.has(w.toLowerCase())) warn(['roles', 'witnesses', i], 'PLAN_UNUSED_PERSON', `witness "${w}" never signs off`);
  });
  (plan.shareFiles ?? []).forEach((d, i) => {
    const key = normalizePlanPath(d.file);
    const used = plan.steps.some((s) => s.step === 'import-share' && normalizePlanPath(s.file) === key);
    if (!used) warn(['shareFiles', i], 'PLAN_UNUSED_SHARE_FILE', `"${d.file}" is listed but never imported`);
  });
  return issues;
}
