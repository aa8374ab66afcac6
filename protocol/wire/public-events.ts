/**
 * The public event stream of a hosted ceremony (docs/protocol.md §5). The coordinator prints these
 * as JSON lines (`host --json`), sends each one to every connected terminal in an `event` message,
 * and a later audit transcript can take them all without filtering: by construction they hold no
 * secret — no join code, no share, no PIN, no password-share value. Fingerprints and KCVs are
 * public (docs/dkek-share-format.md), and so is the SAS (docs/protocol-channel.md §6.3).
 */

import { z } from 'zod';

/** Slot number 0 stands for the coordinator itself (e.g. its own key derivation). */
export const COORDINATOR_SLOT = 0;

/** What a slot is for. A slot may hold several roles (a custodian who is also security officer). */
export const SlotRole = z.enum(['custodian', 'security-officer', 'witness']);
export type SlotRole = z.infer<typeof SlotRole>;

/**
 * A participant name: 1–32 characters from letters, digits, `.`, `_`, `-`, starting with a letter
 * or digit. Names become file names (`--codes-out DIR/<name>.code`), so nothing else is allowed.
 */
export const PARTICIPANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
export const ParticipantName = z.string().regex(PARTICIPANT_NAME);

const slot = z.number().int().min(0).max(999);
const count = z.number().int().min(0).max(1000);
const text = z.string().max(500);
const code = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/);
/** A share fingerprint as shown: `3f2a 90c1 7b44 e0d2`. */
export const FingerprintText = z.string().regex(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
/** A KCV as shown: 16 upper-case hex digits. */
export const KcvText = z.string().regex(/^[0-9A-F]{16}$/);

/** How a ceremony ends, and the exit code each outcome gives (README "Exit codes"). */
export const Outcome = z.enum(['done', 'kcv-mismatch', 'failed', 'cancelled', 'incomplete']);
export type Outcome = z.infer<typeof Outcome>;

export const SlotInfo = z.strictObject({ slot, name: ParticipantName, roles: z.array(SlotRole).min(1).max(3) });
export type SlotInfo = z.infer<typeof SlotInfo>;

/** The public summary of what the ceremony does (flags today, plan files later). */
export const PlanSummary = z.strictObject({
  /** import-passphrase, import-pwd-shares, create-passphrase, create-pwd-shares; `plan`: a reviewed plan file (host PLAN, revision 2) */
  mode: z.enum(['import-passphrase', 'import-pwd-shares', 'create-passphrase', 'create-pwd-shares', 'plan']),
  /** mode plan: the plan's name and SHA-256 */
  title: z.string().min(1).max(200).optional(),
  planSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** DKEK shares this ceremony imports */
  shares: count,
  /** initialise the device first, for this many DKEK shares */
  initialize: z.number().int().min(0).max(127).nullable(),
  /** n-of-m password shares of one share file */
  pwdShares: z.strictObject({ threshold: count, total: count, fileName: text }).nullable(),
  expectedKcv: KcvText.nullable(),
});
export type PlanSummary = z.infer<typeof PlanSummary>;

const events = [
  z.strictObject({ type: z.literal('listening'), url: text, slots: z.array(SlotInfo).max(999), plan: PlanSummary }),
  /** a fresh one-time join code for the slot is on the coordinator screen (the code is not here) */
  z.strictObject({ type: z.literal('code-issued'), slot, name: ParticipantName, generation: count, reason: text }),
  z.strictObject({ type: z.literal('slot-joined'), slot, name: ParticipantName, sas: z.string().regex(/^\d{6}$/) }),
  z.strictObject({ type: z.literal('slot-left'), slot, name: ParticipantName, reason: text }),
  z.strictObject({ type: z.literal('handshake-failed'), slot, name: ParticipantName, code, message: text }),
  z.strictObject({ type: z.literal('card'), total: count, outstanding: count, imported: count, description: text }),
  z.strictObject({ type: z.literal('initialized'), dkekShares: count }),
  z.strictObject({ type: z.literal('asked'), slot, name: ParticipantName, what: text }),
  /** host PLAN: a plan step started (its number and kind) */
  z.strictObject({ type: z.literal('step'), step: z.number().int().min(1).max(500), total: z.number().int().min(1).max(500), kind: z.string().min(1).max(32) }),
  /** host PLAN: a person answered a sign-off (the statement is the plan's, public) */
  z.strictObject({ type: z.literal('signed-off'), name: ParticipantName, accepted: z.boolean() }),
  z.strictObject({ type: z.literal('deriving'), slot, name: z.string().max(32), percent: z.number().int().min(0).max(100) }),
  z.strictObject({ type: z.literal('share-created'), slot, name: ParticipantName, fingerprint: FingerprintText }),
  z.strictObject({ type: z.literal('share-refused'), slot, name: ParticipantName, code, message: text }),
  z.strictObject({ type: z.literal('pwd-share-received'), slot, name: ParticipantName, received: count, threshold: count }),
  z.strictObject({
    type: z.literal('share-imported'),
    slot,
    name: z.string().max(32),
    fingerprint: FingerprintText,
    imported: count,
    total: count,
    outstanding: count,
  }),
  z.strictObject({ type: z.literal('kcv'), kcv: KcvText.nullable(), expected: KcvText.nullable(), matches: z.boolean().nullable() }),
  z.strictObject({ type: z.literal('warning'), code, message: text }),
  z.strictObject({ type: z.literal('ceremony-over'), outcome: Outcome, exitCode: z.number().int().min(0).max(255), code: code.nullable(), message: text }),
] as const;

/** One public event. */
export const PublicEvent = z.discriminatedUnion('type', events);
export type PublicEvent = z.infer<typeof PublicEvent>;
export type PublicEventType = PublicEvent['type'];

/** The known event type names, for strict decoding. */
export const PUBLIC_EVENT_TYPES: ReadonlySet<string> = new Set(events.map((e) => e.shape.type.value));

/** "2 of 3 imported, 1 outstanding": the progress line every screen shows. */
export function progressText(imported: number, total: number, outstanding: number): string {
  return `${imported} of ${total} imported, ${outstanding} outstanding`;
}

/** Exit code of each outcome (README "Exit codes"): 0 ok, 1 a check failed, 3 device, 4 incomplete. */
export function outcomeExitCode(outcome: Outcome, failureKind?: 'check' | 'usage' | 'device' | 'incomplete' | 'bug'): number {
  switch (outcome) {
    case 'done':
      return 0;
    case 'kcv-mismatch':
      return 1;
    case 'cancelled':
    case 'incomplete':
      return 4;
    case 'failed':
      return failureKind === 'check' ? 1 : failureKind === 'usage' ? 2 : failureKind === 'bug' ? 70 : failureKind === 'incomplete' ? 4 : 3;
    default: {
      const never: never = outcome;
      return never;
    }
  }
}
