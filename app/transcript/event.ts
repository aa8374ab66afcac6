/**
 * Transcript events (docs/transcript-format.md §2, §7): the envelope every line carries and the
 * public data of each event kind, as strict zod schemas. The writer checks every event against
 * them before it touches the file, and the verifier checks every line against them, so a field
 * the format does not define can neither be written nor slip through verification.
 */
import * as z from 'zod';
import { PERSON_NAME, STEP_KINDS, type StepKind } from '../plan/plan-schema.ts';
import type { JsonValue } from './canonical-json.ts';

/** The transcript format version, recorded in `ceremony-started`. */
export const TRANSCRIPT_FORMAT = 1;

/** Who can cause an event. `tool` is hsm-ceremony itself (name null). */
export const ACTOR_ROLES = ['tool', 'operator', 'security-officer', 'custodian', 'witness'] as const;
export type ActorRole = (typeof ACTOR_ROLES)[number];

export interface Actor {
  role: ActorRole;
  /** the person's name from the plan; null for the tool, and for an operator the plan does not name */
  name: string | null;
}

/** Every event kind, in the order of docs/transcript-format.md §7. */
export const EVENT_KINDS = [
  'ceremony-started',
  'resumed',
  'step-started',
  'step-finished',
  'step-skipped',
  'step-failed',
  'card-status',
  'share-imported',
  'kcv-read',
  'file-written',
  'custodian-joined',
  'custodian-left',
  'sas-compared',
  'join-code-issued',
  'participant-request',
  'note',
  'sign-off',
  'ceremony-finished',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Kinds whose `data.signature` is an Ed25519 signature by the ceremony key (§5). */
export const SIGNED_KINDS: ReadonlySet<EventKind> = new Set(['ceremony-started', 'resumed', 'step-finished', 'ceremony-finished']);
/** Kinds only the writer itself produces (create, resume, finish); `append` refuses them. */
export const WRITER_KINDS: ReadonlySet<EventKind> = new Set(['ceremony-started', 'resumed', 'ceremony-finished']);
/** Kinds caused by a person at their own terminal: the actor must be a named participant. */
export const PERSON_KINDS: ReadonlySet<EventKind> = new Set(['custodian-joined', 'custodian-left', 'sas-compared', 'sign-off']);

/** One transcript line, parsed. */
export interface TranscriptEvent {
  /** 1-based, equal to the line number */
  seq: number;
  /** UTC, ISO 8601 with milliseconds: 2026-11-28T10:15:00.123Z */
  time: string;
  actor: Actor;
  /** 1-based plan step number (step n is the plan's steps[n-1]), or null */
  step: number | null;
  kind: EventKind;
  /** public data only; its shape depends on `kind` */
  data: { [key: string]: JsonValue };
  /** SHA-256 (hex) of the previous line's bytes, or 64 zeros */
  prev: string;
}

// ---- value formats ----------------------------------------------------------------------------

export const HEX32 = /^[0-9a-f]{64}$/;
const hash = z.string().regex(HEX32, { error: 'must be 64 lower-case hex digits' });
const publicKey = z.string().regex(HEX32, { error: 'must be an Ed25519 public key: 64 lower-case hex digits' });
const signature = z.string().regex(/^[0-9a-f]{128}$/, { error: 'must be an Ed25519 signature: 128 lower-case hex digits' });
export const KCV_PATTERN = /^[0-9A-F]{16}$/;
const kcv = z.string().regex(KCV_PATTERN, { error: 'must be a KCV: 16 upper-case hex digits' });
const shareFingerprint = z.string().regex(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/, { error: 'must be a share fingerprint: 4 groups of 4 hex digits' });
const publicText = (max: number) => z.string().min(1).max(max);
const code = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, { error: 'must be an UPPER_SNAKE code' });
const count = z.int().min(0).max(1_000_000);
const stepKind = z.enum(STEP_KINDS);
const personName = z.string().regex(PERSON_NAME);

export const TimeText = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, { error: 'must be UTC ISO 8601 with milliseconds' });

export const ActorSchema = z
  .strictObject({ role: z.enum(ACTOR_ROLES), name: personName.nullable() })
  .refine((a) => (a.role === 'tool' ? a.name === null : a.role === 'operator' || a.name !== null), {
    error: 'the tool has no name; a custodian, security officer or witness must have one',
  });

/** What the plan says about itself, recorded at the start (§7, ceremony-started). */
export const PlanIdentitySchema = z.strictObject({
  name: publicText(200),
  sha256: hash,
  steps: z.array(stepKind).max(500),
  roles: z.strictObject({
    operator: personName.nullable(),
    securityOfficer: personName.nullable(),
    custodians: z.array(personName),
    witnesses: z.array(personName),
  }),
});
export type PlanIdentity = z.infer<typeof PlanIdentitySchema>;

export const DeviceInfoSchema = z.strictObject({
  reader: publicText(200),
  simulated: z.boolean(),
  serial: publicText(64).nullable(),
  firmware: publicText(32).nullable(),
});
export type DeviceInfo = z.infer<typeof DeviceInfoSchema>;

/** The `data` of each kind. */
export const DATA_SCHEMAS = {
  'ceremony-started': z.strictObject({
    format: z.literal(TRANSCRIPT_FORMAT),
    tool: z.strictObject({ name: z.literal('hsm-ceremony'), version: publicText(64) }),
    plan: PlanIdentitySchema,
    rehearsal: z.boolean(),
    device: DeviceInfoSchema.nullable(),
    simulatorSeed: z.string().regex(/^[0-9a-f]{2,128}$/).optional(),
    publicKey,
    signature,
  }),
  resumed: z.strictObject({
    publicKey,
    previousKey: publicKey,
    afterSeq: z.int().min(1),
    discardedTail: z.strictObject({ bytes: z.int().min(1), sha256: hash }).nullable(),
    reason: publicText(2000).optional(),
    signature,
  }),
  'step-started': z.strictObject({ kind: stepKind }),
  'step-finished': z.strictObject({ kind: stepKind, signature }),
  'step-skipped': z.strictObject({ kind: stepKind, reason: publicText(2000) }),
  'step-failed': z.strictObject({ kind: stepKind, code, message: publicText(2000) }),
  'card-status': z.strictObject({
    sw: z.string().regex(/^[0-9A-F]{4}$/, { error: 'must be 4 upper-case hex digits' }),
    swName: code,
    command: publicText(100).optional(),
    dkekShares: count.optional(),
    dkekOutstanding: count.optional(),
    kcv: kcv.optional(),
    keys: count.optional(),
    serial: publicText(64).optional(),
    firmware: publicText(32).optional(),
    userPinTriesLeft: count.optional(),
  }),
  'share-imported': z.strictObject({
    file: publicText(512),
    fingerprint: shareFingerprint,
    imported: z.int().min(1),
    total: z.int().min(1),
    outstanding: count,
    /** a password-share file: its split and the IDs of the password shares that opened it (values are never here) */
    pwdShares: z.strictObject({ threshold: z.int().min(2).max(255), total: z.int().min(3).max(255), ids: z.array(z.int().min(1).max(255)).min(2).max(255) }).optional(),
  }),
  'kcv-read': z.strictObject({ kcv, expected: kcv.optional(), match: z.boolean().optional() }),
  'file-written': z.strictObject({
    path: publicText(1024),
    sha256: hash,
    bytes: count.max(Number.MAX_SAFE_INTEGER),
    kcv: kcv.optional(),
    keyRef: z.int().min(1).max(255).optional(),
    /**
     * a password-share file the run created: written after its `total` password shares were handed
     * out, share ID i to custodians[i-1]; the prime is sc-hsm-tool's public 64-bit prime (hex-colon)
     */
    pwdShares: z
      .strictObject({
        threshold: z.int().min(2).max(255),
        total: z.int().min(3).max(255),
        custodians: z.array(personName).min(3).max(255),
        prime: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){7}$/),
      })
      .optional(),
  }),
  'custodian-joined': z.strictObject({
    via: z.enum(['local', 'network']),
    slot: publicText(64).optional(),
    /** network joins: the six SAS digits both screens showed */
    sas: z.string().regex(/^[0-9]{6}$/).optional(),
  }),
  /** host PLAN: a fresh one-time join code was shown for the actor's slot (the code is not here) */
  'join-code-issued': z.strictObject({ slot: publicText(64), generation: z.int().min(1).max(1_000_000), reason: publicText(500) }),
  /** host PLAN: a request to the actor's terminal was sent or settled (what was asked, never the answer's content) */
  'participant-request': z.strictObject({
    slot: publicText(64),
    request: z.int().min(1),
    what: z.enum(['pins', 'pin', 'create-share', 'open-share', 'pwd-share', 'show-pwd-share', 'sign-off']),
    state: z.enum(['sent', 'resent', 'answered', 'declined', 'withdrawn']),
    code: code.optional(),
  }),
  'custodian-left': z.strictObject({ reason: publicText(2000).optional() }),
  'sas-compared': z.strictObject({ sas: z.string().regex(/^[0-9]{6}$/), match: z.boolean() }),
  note: z.strictObject({ text: publicText(4000) }),
  'sign-off': z.strictObject({ statement: publicText(2000), accepted: z.boolean(), reason: publicText(2000).optional() }),
  'ceremony-finished': z.strictObject({ outcome: z.enum(['completed', 'aborted']), reason: publicText(2000).optional(), signature }),
} as const satisfies Record<EventKind, z.ZodType>;

/** The envelope, with `data` checked separately per kind. */
export const EnvelopeSchema = z.strictObject({
  seq: z.int().min(1),
  time: TimeText,
  actor: ActorSchema,
  step: z.int().min(1).nullable(),
  kind: z.enum(EVENT_KINDS),
  data: z.record(z.string(), z.unknown()),
  prev: hash,
});

/**
 * Checks one event's envelope and data. Returns null when valid, else a short reason naming the
 * first offending field (never its value).
 */
export function eventProblem(event: unknown): string | null {
  const env = EnvelopeSchema.safeParse(event);
  if (!env.success) return describeIssue(env.error.issues[0]!);
  const kind = env.data.kind;
  const data = DATA_SCHEMAS[kind].safeParse(env.data.data);
  if (!data.success) return describeIssue(data.error.issues[0]!, 'data');
  if (PERSON_KINDS.has(kind) && (env.data.actor.role === 'tool' || env.data.actor.name === null)) {
    return `actor: a ${kind} event is caused by a named person, not by ${env.data.actor.role === 'tool' ? 'the tool' : 'an unnamed operator'}`;
  }
  return null;
}

function describeIssue(issue: z.core.$ZodIssue, prefix = ''): string {
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  let what: string;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${path ? `${path}.` : ''}${issue.keys[0]}: a field this format does not define`;
    case 'invalid_type':
      what = issue.message.includes('received undefined') ? 'is missing' : `must be ${issue.expected}`;
      break;
    case 'invalid_value':
      what = `must be one of ${issue.values.map(String).join(', ')}`;
      break;
    default:
      what = /^[a-z]/.test(issue.message) ? issue.message : 'has an invalid value';
  }
  return `${path || 'the event'}: ${what}`;
}

/** The plan identity a writer records, from a parsed plan. */
export function planIdentity(p: {
  sha256: string;
  plan: { name: string; steps: { step: StepKind }[]; roles: { operator?: string; securityOfficer?: string; custodians: string[]; witnesses?: string[] } };
}): PlanIdentity {
  return {
    name: p.plan.name,
    sha256: p.sha256,
    steps: p.plan.steps.map((s) => s.step),
    roles: {
      operator: p.plan.roles.operator ?? null,
      securityOfficer: p.plan.roles.securityOfficer ?? null,
      custodians: [...p.plan.roles.custodians],
      witnesses: [...(p.plan.roles.witnesses ?? [])],
    },
  };
}
