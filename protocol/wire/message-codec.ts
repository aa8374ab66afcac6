/**
 * Ceremony messages in and out of channel frames (docs/protocol.md §3): encode → seal on one side,
 * open → decode → validate on the other. Validation is strict and happens on every frame:
 *
 * 1. the plaintext must be one JSON object (WIRE_MALFORMED);
 * 2. its `type` must be a known type of that direction (WIRE_UNKNOWN_TYPE);
 * 3. it must match that type's schema exactly — no extra field (WIRE_UNKNOWN_FIELD), every field
 *    present with the right type and range (WIRE_BAD_FIELD).
 *
 * On any failure every byte array decoded from the frame is wiped before the error is thrown, and
 * the error names the failing field path, never its value.
 */

import { wipe } from '../bytes.ts';
import type { FrameOpener, FrameSealer } from '../channel/aead-frame.ts';
import { COORDINATOR_MESSAGE_TYPES, CoordinatorMessage } from './coordinator-messages.ts';
import { CUSTODIAN_MESSAGE_TYPES, CustodianMessage } from './custodian-messages.ts';
import { decodeWireJson, encodeWireJson, wipeWireValue, type WireValue } from './wire-json.ts';
import { wireError, WireErrorCode } from './wire-error.ts';
import type { z } from 'zod';

/** Which side sent a message. */
export type WireDirection = 'custodian-to-coordinator' | 'coordinator-to-custodian';

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** A field path fit for an error message: only plain names and indexes (a key could be hostile). */
function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(message)';
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : typeof p === 'string' && SAFE_NAME.test(p) ? p : '?'))
    .join('.')
    .replace(/\.\[/g, '[');
}

function validate<T>(schema: z.ZodType<T>, types: ReadonlySet<string>, value: Record<string, unknown>, direction: string): T {
  const type = value.type;
  if (typeof type !== 'string' || !types.has(type)) {
    throw wireError(
      WireErrorCode.UNKNOWN_TYPE,
      typeof type === 'string' && SAFE_NAME.test(type) ? `unknown ${direction} message type "${type}"` : `a ${direction} message without a known type`,
      typeof type === 'string' && SAFE_NAME.test(type) ? { type } : {},
    );
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown) {
    const keys = (unknown as { keys?: unknown }).keys;
    const names = Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string' && SAFE_NAME.test(k)) : [];
    throw wireError(
      WireErrorCode.UNKNOWN_FIELD,
      `the ${type} message carries ${names.length > 0 ? `unknown field ${names.join(', ')}` : 'an unknown field'}`,
      { type, fields: names },
    );
  }
  const first = issues[0]!;
  const path = describePath(first.path);
  throw wireError(WireErrorCode.BAD_FIELD, `the ${type} message has a bad field ${path}`, { type, path });
}

function decodeWith<T>(plaintext: Uint8Array, schema: z.ZodType<T>, types: ReadonlySet<string>, direction: string): T {
  const value = decodeWireJson(plaintext); // wipes plaintext
  try {
    return validate(schema, types, value, direction);
  } catch (e) {
    wipeWireValue(value);
    throw e;
  }
}

/**
 * Decodes and validates a C→K plaintext. The input is wiped.
 *
 * @throws CeremonyError WIRE_MALFORMED, WIRE_UNKNOWN_TYPE, WIRE_UNKNOWN_FIELD, WIRE_BAD_FIELD
 */
export function decodeCustodianMessage(plaintext: Uint8Array): CustodianMessage {
  return decodeWith(plaintext, CustodianMessage, CUSTODIAN_MESSAGE_TYPES, 'custodian');
}

/**
 * Decodes and validates a K→C plaintext. The input is wiped.
 *
 * @throws CeremonyError WIRE_MALFORMED, WIRE_UNKNOWN_TYPE, WIRE_UNKNOWN_FIELD, WIRE_BAD_FIELD
 */
export function decodeCoordinatorMessage(plaintext: Uint8Array): CoordinatorMessage {
  return decodeWith(plaintext, CoordinatorMessage, COORDINATOR_MESSAGE_TYPES, 'coordinator');
}

/**
 * Encodes a message of either direction to JSON bytes (wire-json.ts). It is not validated here:
 * senders build messages from typed values; receivers validate.
 *
 * @throws TypeError / RangeError from encodeWireJson for a value JSON cannot carry
 */
export function encodeMessage(message: CustodianMessage | CoordinatorMessage): Uint8Array {
  return encodeWireJson(message as unknown as { readonly [key: string]: WireValue });
}

/**
 * Encodes and seals one message into a frame; the JSON plaintext is wiped after sealing.
 *
 * @throws CeremonyError CHANNEL_FRAME_TOO_LARGE / CHANNEL_CLOSED / CHANNEL_COUNTER_EXHAUSTED from the sealer
 */
export function sealMessage(sealer: FrameSealer, message: CustodianMessage | CoordinatorMessage): Uint8Array {
  const plaintext = encodeMessage(message);
  try {
    return sealer.seal(plaintext);
  } finally {
    wipe(plaintext);
  }
}

/**
 * Opens one frame from a custodian and decodes it. Any channel error kills the opener (and the
 * caller closes the connection); a wire error leaves the channel usable but the coordinator closes
 * anyway after sending `error` (docs/protocol.md §6).
 *
 * @throws CeremonyError CHANNEL_* from the opener; WIRE_* from decoding
 */
export function openCustodianFrame(opener: FrameOpener, frame: Uint8Array): CustodianMessage {
  return decodeCustodianMessage(opener.open(frame));
}

/**
 * Opens one frame from the coordinator and decodes it.
 *
 * @throws CeremonyError CHANNEL_* from the opener; WIRE_* from decoding
 */
export function openCoordinatorFrame(opener: FrameOpener, frame: Uint8Array): CoordinatorMessage {
  return decodeCoordinatorMessage(opener.open(frame));
}

/** Wipes every bytes field of a decoded message (shares, PINs, password-share values). */
export function wipeMessage(message: CustodianMessage | CoordinatorMessage): void {
  wipeWireValue(message);
}
