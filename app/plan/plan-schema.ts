/**
 * The ceremony plan's shape (docs/plan-format.md §3, §4): one strict zod schema per section and per
 * step kind. Unknown fields are refused everywhere, so a typo can never silently drop an
 * instruction. This file checks each value on its own; rules that relate fields or steps to each
 * other (who may import which file, what must come before what) live in plan-rules.ts.
 *
 * Validation messages are composed from zod's issue codes by plan-issue.ts; the `error` strings
 * given here are for checks whose generic message would not say enough.
 */
import * as z from 'zod';
import {
  PWD_SHARES_MAX_TOTAL,
  PWD_SHARES_MIN_THRESHOLD,
  PWD_SHARES_MIN_TOTAL,
} from '../../protocol/dkek/password-shares.ts';
import { MAX_DKEK_SHARES, MAX_RETRY_COUNTER } from '../card/initialize-options.ts';

/** The only plan format version so far; the `version` field MUST be this number. */
export const PLAN_FORMAT_VERSION = 1;

/** Every step kind, in the order docs/plan-format.md §4 lists them. */
export const STEP_KINDS = [
  'initialize',
  'create-share',
  'import-share',
  'expect-kcv',
  'generate-key',
  'backup',
  'restore',
  'verify-restore',
  'sign-off',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Key types `generate-key` can make (on the simulator). */
export const KEY_ALGORITHMS = ['ec-p256', 'ec-p384', 'rsa-2048'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** The reader value that selects the built-in simulator. */
export const SIMULATOR_READER = 'simulator';

/**
 * Words `sign-off.who` uses for whole role groups; a person may not be called by one of them.
 */
export const ROLE_GROUPS = ['custodians', 'witnesses', 'securityOfficer', 'operator', 'everyone'] as const;
export type RoleGroup = (typeof ROLE_GROUPS)[number];

/**
 * A person's name: a short identifier, because it also names their join slot and their code file
 * (`--codes-out DIR/<name>.code`, issue 5) and appears in every transcript event they cause.
 */
export const PERSON_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,31}$/;
const personName = z
  .string()
  .regex(PERSON_NAME, { error: 'must be a short name: a letter, then up to 31 letters, digits, ".", "_" or "-"' });

/** 1..max UTF-8 bytes, no control characters (they would garble the read-aloud script). */
function text(maxBytes: number) {
  return z
    .string()
    .min(1)
    .refine((s) => new TextEncoder().encode(s).length <= maxBytes, { error: `must be at most ${maxBytes} bytes of UTF-8` })
    .refine((s) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s), { error: 'must not contain control characters' });
}

/**
 * A path in the plan: forward slashes, no empty or `.`/`..` parts. Output paths are also relative
 * (they resolve under the run's output folder); input paths may be absolute.
 */
const pathText = text(512).refine((s) => !s.includes('\\'), { error: 'must use "/" between folders, not "\\"' });

/** `T/N`: a password-share split, as `sc-hsm-tool --pwd-shares-threshold T --pwd-shares-total N`. */
export const THRESHOLD_SPEC = /^([0-9]{1,3})\/([0-9]{1,3})$/;
const thresholdSpec = z
  .string()
  .regex(THRESHOLD_SPEC, { error: 'must be THRESHOLD/TOTAL, e.g. "2/3"' })
  .refine(
    (s) => {
      const [t, n] = s.split('/').map(Number) as [number, number];
      return n >= PWD_SHARES_MIN_TOTAL && n <= PWD_SHARES_MAX_TOTAL && t >= PWD_SHARES_MIN_THRESHOLD && t <= n;
    },
    {
      error: `needs a total of ${PWD_SHARES_MIN_TOTAL} to ${PWD_SHARES_MAX_TOTAL} and a threshold from ${PWD_SHARES_MIN_THRESHOLD} up to the total (sc-hsm-tool's limits)`,
    },
  );

/** Parses a valid `T/N` string. */
export function parseThreshold(spec: string): { threshold: number; total: number } {
  const [threshold, total] = spec.split('/').map(Number) as [number, number];
  return { threshold, total };
}

/** A KCV as sc-hsm-tool prints it, or grouped for reading: 16 hex digits, spaces allowed. */
const kcvText = z
  .string()
  .refine((s) => /^[0-9A-Fa-f]{16}$/.test(s.replace(/ /g, '')), { error: 'must be 16 hex digits, e.g. "1D1083E78237E99D"' });

/** A share fingerprint as `share verify` prints it: `3f2a 90c1 7b44 e0d2`. */
const shareFingerprintText = z
  .string()
  .regex(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/, { error: 'must be a share fingerprint as printed by "share verify", e.g. "3f2a 90c1 7b44 e0d2"' });

/** A key reference on the device (the SmartCard-HSM key identifier byte). */
const keyRef = z.int().min(1).max(255);

/**
 * The PKCS#11 CKA_ID of a generated key, as hex. At most 15 bytes: 16 bytes of hex is the length of
 * an AES key, and a plan never holds anything that could be key material (plan-format.md §5).
 */
const keyId = z.string().regex(/^([0-9A-Fa-f]{2}){1,15}$/, { error: 'must be 1 to 15 bytes of hex, e.g. "01"' });

const common = { description: text(2000).optional() };

export const InitializeStep = z.strictObject({
  step: z.literal('initialize'),
  ...common,
  dkekShares: z.union([z.int().min(1).max(MAX_DKEK_SHARES), z.literal('random'), z.literal('none')], {
    error: `must be a share count from 1 to ${MAX_DKEK_SHARES}, "random" or "none"`,
  }),
  retryCounter: z.int().min(1).max(MAX_RETRY_COUNTER).optional(),
  label: text(127).optional(),
});

export const CreateShareStep = z.strictObject({
  step: z.literal('create-share'),
  ...common,
  file: pathText,
  custodian: personName.optional(),
  pwdShares: thresholdSpec.optional(),
  custodians: z.array(personName).min(1).optional(),
});

export const ImportShareStep = z.strictObject({
  step: z.literal('import-share'),
  ...common,
  file: pathText,
  custodian: personName.optional(),
  custodians: z.array(personName).min(1).optional(),
});

export const ExpectKcvStep = z.strictObject({
  step: z.literal('expect-kcv'),
  ...common,
  kcv: kcvText.optional(),
});

export const GenerateKeyStep = z.strictObject({
  step: z.literal('generate-key'),
  ...common,
  algorithm: z.enum(KEY_ALGORITHMS),
  keyRef,
  label: text(127).optional(),
  id: keyId.optional(),
});

export const BackupStep = z.strictObject({
  step: z.literal('backup'),
  ...common,
  keys: z.union([z.array(keyRef).min(1), z.literal('all')], { error: 'must be a list of key references, e.g. [1, 2], or "all"' }),
  folder: pathText,
});

export const RestoreStep = z.strictObject({
  step: z.literal('restore'),
  ...common,
  file: pathText,
  keyRef,
  replaceAllowed: z.boolean().optional(),
});

export const VerifyRestoreStep = z.strictObject({
  step: z.literal('verify-restore'),
  ...common,
  keyRef,
});

export const SignOffStep = z.strictObject({
  step: z.literal('sign-off'),
  ...common,
  who: z.union([personName, z.array(personName).min(1)], { error: 'must be a role group (witnesses, custodians, …) or a list of names and groups' }),
  statement: text(500).optional(),
});

/** The strict schema of each step kind. */
export const STEP_SCHEMAS = {
  initialize: InitializeStep,
  'create-share': CreateShareStep,
  'import-share': ImportShareStep,
  'expect-kcv': ExpectKcvStep,
  'generate-key': GenerateKeyStep,
  backup: BackupStep,
  restore: RestoreStep,
  'verify-restore': VerifyRestoreStep,
  'sign-off': SignOffStep,
} as const satisfies Record<StepKind, z.ZodType>;

export type InitializeStep = z.infer<typeof InitializeStep>;
export type CreateShareStep = z.infer<typeof CreateShareStep>;
export type ImportShareStep = z.infer<typeof ImportShareStep>;
export type ExpectKcvStep = z.infer<typeof ExpectKcvStep>;
export type GenerateKeyStep = z.infer<typeof GenerateKeyStep>;
export type BackupStep = z.infer<typeof BackupStep>;
export type RestoreStep = z.infer<typeof RestoreStep>;
export type VerifyRestoreStep = z.infer<typeof VerifyRestoreStep>;
export type SignOffStep = z.infer<typeof SignOffStep>;
export type PlanStep =
  | InitializeStep
  | CreateShareStep
  | ImportShareStep
  | ExpectKcvStep
  | GenerateKeyStep
  | BackupStep
  | RestoreStep
  | VerifyRestoreStep
  | SignOffStep;

export const Device = z.strictObject({
  reader: text(200),
  serial: z.string().regex(/^[A-Za-z0-9]{1,32}$/, { error: 'must be the device serial: 1 to 32 letters and digits' }).optional(),
  firmware: z.string().regex(/^[0-9]{1,3}\.[0-9]{1,3}$/, { error: 'must be MAJOR.MINOR in quotes, e.g. "6.6"' }).optional(),
});

export const Roles = z.strictObject({
  operator: personName.optional(),
  securityOfficer: personName.optional(),
  custodians: z.array(personName).min(1),
  witnesses: z.array(personName).optional(),
});

/** A share file made before this ceremony and brought to it (plan-format.md §3.4). */
export const ShareFileDecl = z.strictObject({
  file: pathText,
  custodian: personName.optional(),
  pwdShares: thresholdSpec.optional(),
  custodians: z.array(personName).min(1).optional(),
  fingerprint: shareFingerprintText.optional(),
});

/** The top level. `steps` is checked item by item (the `step` field picks the schema). */
export const PlanTop = z.strictObject({
  version: z.literal(PLAN_FORMAT_VERSION, { error: `must be ${PLAN_FORMAT_VERSION} (the plan format version)` }),
  name: text(200),
  description: text(4000).optional(),
  device: Device,
  roles: Roles,
  shareFiles: z.array(ShareFileDecl).optional(),
  steps: z.array(z.unknown()).min(1).max(500),
});

export type Device = z.infer<typeof Device>;
export type Roles = z.infer<typeof Roles>;
export type ShareFileDecl = z.infer<typeof ShareFileDecl>;

/** A validated plan. */
export interface Plan {
  version: 1;
  name: string;
  description?: string;
  device: Device;
  roles: Roles;
  shareFiles?: ShareFileDecl[];
  steps: PlanStep[];
}

/** Every field name the schemas know, for "did you mean …?" on unknown fields. */
export const KNOWN_FIELDS: readonly string[] = [
  ...new Set([
    ...Object.keys(PlanTop.shape),
    ...Object.keys(Device.shape),
    ...Object.keys(Roles.shape),
    ...Object.keys(ShareFileDecl.shape),
    ...Object.values(STEP_SCHEMAS).flatMap((s) => Object.keys(s.shape)),
  ]),
];

/** True when the plan runs on the built-in simulator. */
export function isSimulator(plan: Pick<Plan, 'device'>): boolean {
  return plan.device.reader === SIMULATOR_READER;
}

/** The output file of a backup of key `ref` into `folder`: `<folder>/key-<ref>.bin`. */
export function backupFileName(folder: string, ref: number): string {
  return `${folder.replace(/\/+$/, '')}/key-${ref}.bin`;
}
