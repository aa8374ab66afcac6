/**
 * Messages from a custodian terminal (`hsm-custodian`) to the coordinator, C→K
 * (docs/protocol.md §4.1). One zod schema per message type, strict (unknown fields are refused),
 * united on `type`. Bytes fields (wire-json.ts) arrive as Uint8Array; the coordinator moves them into
 * its secret vault before the message reaches the ceremony logic.
 *
 * ```
 * C→K hello      (protocol, client)              first frame → welcome | error
 * C→K progress   (request, percent)              key derivation progress → (none)
 * C→K share      (request, share[32])            a DKEK share → result
 * C→K pwd-share  (request, id, value, prime?)    one n-of-m password share → result
 * C→K pins       (request, soPin, pin)           SO-PIN and new user PIN for initialisation → result
 * C→K pin        (request, pin)                  the user PIN, to confirm the DKEK → result
 * C→K created    (request, fingerprint, file?)   a share made and saved on this terminal → request-share
 * C→K sign-off   (request, accepted, reason?)    answer to request-sign-off (revision 2) → result
 * C→K confirmed  (request)                       a shown password share was written down → result
 * C→K decline    (request, code, message)        this terminal cannot answer the request → (none)
 * ```
 */

import { z } from 'zod';
import { FingerprintText } from './public-events.ts';

/** A request number chosen by the coordinator; replies name it. */
export const RequestId = z.number().int().min(1).max(2 ** 31 - 1);

/** Bytes of an exact length, or of a length range. */
export function bytesField(min: number, max = min) {
  return z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length >= min && b.length <= max, {
    message: min === max ? `must be ${min} bytes` : `must be ${min} to ${max} bytes`,
  });
}

const errorCode = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/);

export const CustodianHello = z.strictObject({
  type: z.literal('hello'),
  /** the wire protocol version the client speaks (WIRE_VERSION) */
  protocol: z.number().int().min(0).max(65535),
  /** program and version, e.g. `hsm-custodian 0.1.0`, for the coordinator's log */
  client: z.string().min(1).max(64),
});

const custodianMessages = [
  CustodianHello,
  z.strictObject({ type: z.literal('progress'), request: RequestId, percent: z.number().int().min(0).max(100) }),
  z.strictObject({ type: z.literal('share'), request: RequestId, share: bytesField(32) }),
  z.strictObject({
    type: z.literal('pwd-share'),
    request: RequestId,
    /** the share ID as typed (public: it is printed next to the value) */
    id: z.string().min(1).max(8),
    /** the share value as typed (hex, colons allowed), as bytes: secret */
    value: bytesField(1, 96),
    /** the public prime as typed, when this custodian was asked for it */
    prime: z.string().min(1).max(96).optional(),
  }),
  z.strictObject({ type: z.literal('pins'), request: RequestId, soPin: bytesField(16, 47), pin: bytesField(6, 16) }),
  z.strictObject({ type: z.literal('pin'), request: RequestId, pin: bytesField(6, 16) }),
  z.strictObject({
    type: z.literal('created'),
    request: RequestId,
    fingerprint: FingerprintText,
    /** revision 2: the 64-byte share file as saved (public: it is encrypted under the passphrase) */
    file: bytesField(64).optional(),
  }),
  z.strictObject({
    type: z.literal('sign-off'),
    request: RequestId,
    /** true: the person signs the statement; false: they decline it */
    accepted: z.boolean(),
    /** why they decline, as typed (public: it goes into the transcript) */
    reason: z.string().min(1).max(500).optional(),
  }),
  z.strictObject({ type: z.literal('confirmed'), request: RequestId }),
  z.strictObject({ type: z.literal('decline'), request: RequestId, code: errorCode, message: z.string().max(300) }),
] as const;

/** Any C→K message. */
export const CustodianMessage = z.discriminatedUnion('type', custodianMessages);
export type CustodianMessage = z.infer<typeof CustodianMessage>;
export type CustodianMessageType = CustodianMessage['type'];

/** The known C→K type names. */
export const CUSTODIAN_MESSAGE_TYPES: ReadonlySet<string> = new Set(custodianMessages.map((m) => m.shape.type.value));
