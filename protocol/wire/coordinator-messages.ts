/**
 * Messages from the coordinator to a custodian or witness terminal, K→C (docs/protocol.md §4.2).
 * Strict zod schemas united on `type`, like the other direction.
 *
 * ```
 * K→C welcome                (protocol, slot, name, roles, plan, slots)   answer to hello
 * K→C request-share          (request, fileName, file?, fingerprint?)     → share | decline
 * K→C request-pwd-share      (request, fileName, threshold, total, needPrime) → pwd-share | decline
 * K→C request-pins           (request, dkekShares)                        → pins | decline
 * K→C request-pin            (request)                                    → pin | decline
 * K→C request-create         (request, fileName, challenge[32])           → created | decline
 * K→C show-pwd-share         (request, fileName, prime, id, value, threshold, total) → confirmed | decline
 * K→C request-sign-off     (request, step, name, statement, description?) → sign-off | decline  (revision 2)
 * K→C cancel                 (request, reason)                            → (none; the request is void)
 * K→C result                 (request, ok, code?, message?, hint?)        → (none)
 * K→C event                  (event)                                      → (none)
 * K→C error                  (code, message, hint)                        → (connection closed)
 * ```
 */

import { z } from 'zod';
import { bytesField, RequestId } from './custodian-messages.ts';
import { ParticipantName, PlanSummary, PublicEvent, SlotInfo, SlotRole } from './public-events.ts';

const errorCode = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/);
const fileName = z.string().min(1).max(255);

const coordinatorMessages = [
  z.strictObject({
    type: z.literal('welcome'),
    protocol: z.number().int().min(0).max(65535),
    slot: z.number().int().min(1).max(999),
    name: ParticipantName,
    roles: z.array(SlotRole).min(1).max(3),
    plan: PlanSummary,
    slots: z.array(SlotInfo).max(999),
  }),
  z.strictObject({
    type: z.literal('request-share'),
    request: RequestId,
    /** how the share file is known (its base name), or null when the custodian brings it */
    fileName: fileName.nullable(),
    /** the 64-byte share file, when the coordinator was given it (public: it is encrypted) */
    file: bytesField(64).optional(),
    /** send the share made on this terminal with this fingerprint (create flow); no derivation */
    fingerprint: z.string().regex(/^[0-9a-f]{4}( [0-9a-f]{4}){3}$/).optional(),
  }),
  z.strictObject({
    type: z.literal('request-pwd-share'),
    request: RequestId,
    fileName,
    threshold: z.number().int().min(2).max(255),
    total: z.number().int().min(2).max(255),
    /** the coordinator does not know the prime yet: send it too, if this custodian has it */
    needPrime: z.boolean(),
  }),
  z.strictObject({ type: z.literal('request-pins'), request: RequestId, dkekShares: z.number().int().min(0).max(127) }),
  z.strictObject({ type: z.literal('request-pin'), request: RequestId }),
  z.strictObject({
    type: z.literal('request-create'),
    request: RequestId,
    /** the name to save the new share file under on the custodian's machine */
    fileName,
    /** 32 bytes from the card's GET CHALLENGE; the client XORs its own 32 random bytes in */
    challenge: bytesField(32),
  }),
  z.strictObject({
    type: z.literal('show-pwd-share'),
    request: RequestId,
    fileName,
    prime: z.string().min(1).max(96),
    id: z.number().int().min(1).max(255),
    /** the share value as printed (hex with colons), as bytes: secret, shown on this terminal only */
    value: bytesField(1, 96),
    threshold: z.number().int().min(2).max(255),
    total: z.number().int().min(2).max(255),
  }),
  z.strictObject({
    type: z.literal('request-sign-off'),
    request: RequestId,
    /** the plan step (1-based) that asks */
    step: z.number().int().min(1).max(500),
    /** the person asked (this terminal's participant, or a person this terminal signs for) */
    name: ParticipantName,
    /** the statement to sign, from the plan */
    statement: z.string().min(1).max(2000),
    description: z.string().max(2000).optional(),
  }),
  z.strictObject({ type: z.literal('cancel'), request: RequestId, reason: z.string().max(300) }),
  z.strictObject({
    type: z.literal('result'),
    request: RequestId,
    ok: z.boolean(),
    code: errorCode.nullable(),
    message: z.string().max(500).nullable(),
    hint: z.string().max(500).nullable(),
  }),
  z.strictObject({ type: z.literal('event'), event: PublicEvent }),
  z.strictObject({ type: z.literal('error'), code: errorCode, message: z.string().max(500), hint: z.string().max(500) }),
] as const;

/** Any K→C message. */
export const CoordinatorMessage = z.discriminatedUnion('type', coordinatorMessages);
export type CoordinatorMessage = z.infer<typeof CoordinatorMessage>;
export type CoordinatorMessageType = CoordinatorMessage['type'];

/** The known K→C type names. */
export const COORDINATOR_MESSAGE_TYPES: ReadonlySet<string> = new Set(coordinatorMessages.map((m) => m.shape.type.value));
