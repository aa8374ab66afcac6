/**
 * Turns `hsm-ceremony host` flags into a hosted-ceremony config (public data only): slots and their
 * roles, what each custodian brings, initialisation, the expected KCV, and the record of an earlier
 * run to resume. Pure apart from reading the files the flags name; every mistake is a usage error
 * naming the flag, raised before the server listens or the card is touched.
 */

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { usageError } from '../../protocol/errors.ts';
import { formatKcv, parseKcv } from '../../protocol/dkek/dkek.ts';
import { parseShareFile } from '../../protocol/dkek/share-file.ts';
import { validateSplitCounts } from '../../protocol/dkek/password-shares.ts';
import { PARTICIPANT_NAME, PublicEvent, type PlanSummary, type SlotInfo, type SlotRole } from '../../protocol/wire/public-events.ts';
import type { HostedCeremonyConfig } from './hosted-ceremony.ts';

export interface HostFlags {
  custodians?: string | undefined;
  init?: boolean | undefined;
  'dkek-shares'?: string | undefined;
  'pwd-shares'?: string | undefined;
  'share-file'?: string | undefined;
  'share-files'?: string | undefined;
  create?: boolean | undefined;
  'expect-kcv'?: string | undefined;
  'security-officer'?: string | undefined;
  witnesses?: string | undefined;
  resume?: string | undefined;
  'join-timeout'?: string | undefined;
}

export interface HostPlan {
  config: Omit<HostedCeremonyConfig, 'url'>;
  expectKcv: Uint8Array | null;
  /** n-of-m: the share file's bytes */
  pwdFile: Uint8Array | null;
}

/** Default time a slot's code waits for its custodian: 30 minutes. */
export const DEFAULT_JOIN_TIMEOUT_S = 30 * 60;

function names(text: string | undefined, flag: string): string[] {
  if (text === undefined || text.trim() === '') return [];
  const list = text.split(',').map((n) => n.trim());
  for (const n of list) {
    if (!PARTICIPANT_NAME.test(n)) {
      throw usageError('BAD_NAME', `${flag}: "${n.slice(0, 40)}" is not a usable name`, {
        hint: 'names are 1-32 letters, digits, ".", "_" or "-", starting with a letter or digit (they name the --codes-out files)',
      });
    }
  }
  return list;
}

/**
 * Parses a duration in seconds (`90`, `90s`, `15m`).
 *
 * @throws CeremonyError usage BAD_DURATION
 */
export function parseSeconds(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw usageError('BAD_DURATION', `${flag} takes a positive number of seconds (or e.g. 15m), got "${text}"`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

function readShareFileFlag(path: string, flag: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw usageError('SHARE_FILE_UNREADABLE', `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check the path' });
  }
  parseShareFile(bytes); // malformed files fail now, not after the custodians joined
  return bytes;
}

/**
 * Reads an earlier run's `--json` output and returns the shares it imported (slot name and
 * fingerprint), so a restarted coordinator neither asks for them again nor imports them twice.
 *
 * @throws CeremonyError usage RESUME_UNREADABLE / RESUME_MALFORMED
 */
export function readResumeRecord(path: string): { name: string; fingerprint: string }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError('RESUME_UNREADABLE', `--resume: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: "give the file the earlier run's --json output went to",
    });
  }
  const out: { name: string; fingerprint: string }[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // a crash can cut the last line short; anything else is a damaged record
      if (i >= lines.length - 2) return;
      throw usageError('RESUME_MALFORMED', `--resume: line ${i + 1} of ${path} is not JSON`, { hint: "give the earlier run's --json output unchanged" });
    }
    const r = PublicEvent.safeParse(parsed);
    if (!r.success) throw usageError('RESUME_MALFORMED', `--resume: line ${i + 1} of ${path} is not a ceremony event`, { hint: "give the earlier run's --json output unchanged" });
    if (r.data.type === 'share-imported') out.push({ name: r.data.name, fingerprint: r.data.fingerprint });
  });
  return out;
}

/**
 * Builds the plan from the flags.
 *
 * @throws CeremonyError usage for any inconsistent or unreadable flag
 */
export function buildHostPlan(flags: HostFlags, resolvePath: (p: string) => string): HostPlan {
  const custodians = names(flags.custodians, '--custodians');
  if (custodians.length === 0) {
    throw usageError('USAGE', '--custodians NAME,NAME,… is required', { hint: 'e.g. hsm-ceremony host --custodians alice,bob,carol --sim' });
  }
  if (custodians.length > 200) throw usageError('USAGE', '--custodians: at most 200 custodians');
  const witnesses = names(flags.witnesses, '--witnesses');
  const officer = flags['security-officer'];
  if (officer !== undefined) names(officer, '--security-officer');
  const all = [...custodians, ...witnesses, ...(officer !== undefined && !custodians.includes(officer) ? [officer] : [])];
  const dup = all.find((n, i) => all.indexOf(n) !== i);
  if (dup !== undefined) {
    throw usageError('DUPLICATE_NAME', `"${dup}" is named twice`, { hint: 'every custodian, witness and the security officer needs a name of its own (a custodian may also be the security officer)' });
  }

  const slots: SlotInfo[] = [];
  for (const name of custodians) {
    const roles: SlotRole[] = ['custodian'];
    if (name === officer) roles.push('security-officer');
    slots.push({ slot: slots.length + 1, name, roles });
  }
  let securityOfficer: number | null = null;
  if (officer !== undefined) {
    const existing = slots.find((s) => s.name === officer);
    if (existing) securityOfficer = existing.slot;
    else {
      slots.push({ slot: slots.length + 1, name: officer, roles: ['security-officer'] });
      securityOfficer = slots.length;
    }
  }
  for (const name of witnesses) slots.push({ slot: slots.length + 1, name, roles: ['witness'] });

  // what the custodians bring
  let mode: PlanSummary['mode'] = 'import-passphrase';
  let pwdShares: HostedCeremonyConfig['pwdShares'] = null;
  let pwdFile: Uint8Array | null = null;
  if (flags.create && flags['pwd-shares'] !== undefined) {
    throw usageError('USAGE', '--create and --pwd-shares cannot be combined', { hint: '--create: each custodian makes a passphrase share; --pwd-shares: custodians bring password shares of one file' });
  }
  if (flags['pwd-shares'] !== undefined) {
    const m = /^(\d{1,3})\/(\d{1,3})$/.exec(flags['pwd-shares']);
    if (!m) throw usageError('PWD_SHARES_SPEC', `--pwd-shares takes THRESHOLD/TOTAL such as 2/3, got "${flags['pwd-shares']}"`);
    const threshold = Number(m[1]);
    const total = Number(m[2]);
    validateSplitCounts(threshold, total);
    if (custodians.length < threshold || custodians.length > total) {
      throw usageError('PWD_SHARES_CUSTODIANS', `--pwd-shares ${threshold}/${total} needs between ${threshold} and ${total} custodians, got ${custodians.length}`, {
        hint: 'name one custodian per password share that will be typed',
      });
    }
    if (flags['share-file'] === undefined) {
      throw usageError('USAGE', '--pwd-shares needs --share-file FILE (the share file the password shares open)');
    }
    const path = resolvePath(flags['share-file']);
    pwdFile = readShareFileFlag(path, '--share-file');
    pwdShares = { fileName: basename(path), threshold, total };
    mode = 'import-pwd-shares';
  } else if (flags['share-file'] !== undefined) {
    throw usageError('USAGE', '--share-file goes with --pwd-shares T/N', { hint: 'for passphrase shares, each custodian brings their own file (or use --share-files DIR)' });
  }
  if (flags.create) mode = 'create-passphrase';

  const shareFiles: Record<number, { fileName: string; file: Uint8Array }> = {};
  if (flags['share-files'] !== undefined) {
    if (mode !== 'import-passphrase') throw usageError('USAGE', '--share-files DIR goes with passphrase shares only');
    const dir = resolvePath(flags['share-files']);
    for (const s of slots) {
      if (!s.roles.includes('custodian')) continue;
      const path = `${dir}/${s.name}.pbe`;
      try {
        shareFiles[s.slot] = { fileName: `${s.name}.pbe`, file: readShareFileFlag(path, '--share-files') };
      } catch (e) {
        if ((e as { code?: string }).code === 'SHARE_FILE_UNREADABLE') continue; // that custodian brings theirs
        throw e;
      }
    }
  }

  let initialize: HostedCeremonyConfig['initialize'] = null;
  if (flags.init) {
    const text = flags['dkek-shares'];
    if (text === undefined || !/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 127) {
      throw usageError('USAGE', '--init needs --dkek-shares N (1 to 127): the number of DKEK shares the device will expect');
    }
    initialize = { dkekShares: Number(text) };
  } else if (flags['dkek-shares'] !== undefined) {
    throw usageError('USAGE', '--dkek-shares goes with --init');
  }

  const expectKcv = flags['expect-kcv'] !== undefined ? parseKcv(flags['expect-kcv']) : null;
  const resumed = flags.resume !== undefined ? readResumeRecord(resolvePath(flags.resume)) : [];
  if (resumed.length > 0 && initialize !== null) {
    throw usageError('USAGE', '--resume cannot be combined with --init: initialising erases the shares already imported');
  }
  const joinTimeoutMs = Math.round(parseSeconds(flags['join-timeout'] ?? String(DEFAULT_JOIN_TIMEOUT_S), '--join-timeout') * 1000);

  const shares = mode === 'import-pwd-shares' ? 1 : custodians.length;
  const plan: PlanSummary = {
    mode,
    shares,
    initialize: initialize?.dkekShares ?? null,
    pwdShares: pwdShares ? { threshold: pwdShares.threshold, total: pwdShares.total, fileName: pwdShares.fileName } : null,
    expectedKcv: expectKcv ? formatKcv(expectKcv) : null,
  };
  return {
    config: { slots, plan, initialize, securityOfficer, shareFiles, pwdShares, joinTimeoutMs, resumed },
    expectKcv,
    pwdFile,
  };
}
