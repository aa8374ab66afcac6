/**
 * CPace, the balanced PAKE of draft-irtf-cfrg-cpace-21 (pinned revision; IRTF CFRG, April 2026),
 * with the cipher suite CPACE-RISTR255-SHA512: group ristretto255 (RFC 9496), hash SHA-512.
 * docs/protocol-channel.md §5 says how the channel uses it; test/vectors/cpace.test.ts checks every
 * intermediate value against the draft's appendix "Test vector for CPace using group ristretto255
 * and hash SHA-512".
 *
 * Section references below (draft "…") name sections of draft-irtf-cfrg-cpace-21 by title, since
 * the rendered section numbers shift between revisions.
 *
 * Side channels: noble's ristretto255 scalar multiplication is written to be constant-time, but
 * JavaScript bigints (the scalars here) cannot be wiped and engine timing is not guaranteed. The
 * scalars are ephemeral and used for one session only (draft "Nonce values").
 */

import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, utf8, wipe } from '../bytes.ts';
import { channelError, ChannelErrorCode } from './channel-error.ts';
import { drawBytes, type Rng } from '../random.ts';

/** A ristretto255 group element in noble's internal representation. */
export type RistrettoPoint = InstanceType<typeof ristretto255.Point>;

/** G_Ristretto255.DSI (draft "CPace group objects G_Ristretto255 and G_Decaf448"): the domain-separation identifier of the group. */
export const CPACE_DSI: Uint8Array = utf8('CPaceRistretto255');

/** H.s_in_bytes for SHA-512 (draft "Hash function H"): the input block size, 128 bytes. */
export const SHA512_BLOCK_BYTES = 128;

/** G.field_size_bytes for ristretto255: every encoded element and scalar is 32 bytes. */
export const CPACE_ELEMENT_BYTES = 32;

/** G.I (draft "CPace group objects G_Ristretto255 …"): the public encoding of the identity element, 32 zero bytes. */
export const CPACE_IDENTITY: Uint8Array = new Uint8Array(CPACE_ELEMENT_BYTES);

/** Length of ISK: the full SHA-512 output. */
export const CPACE_ISK_BYTES = 64;

const { Point } = ristretto255;

function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

/**
 * prepend_len (draft "Notation for string operations" and appendix "prepend_len function"): the LEB128 encoding of `len(data)` followed by `data`.
 *
 * @throws TypeError if `data` is not a Uint8Array
 */
export function prependLen(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  const prefix: number[] = [];
  let length = data.length;
  do {
    // LEB128: seven bits per byte, least significant group first, bit 7 set while more follow.
    let byte = length & 0x7f;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    prefix.push(byte);
  } while (length > 0);
  return concatBytes(Uint8Array.from(prefix), data);
}

/**
 * lv_cat (draft "Notation for string operations" and appendix "lv_cat function"): `prepend_len(a0) || prepend_len(a1) || …`, a prefix-free
 * encoding of a list of octet strings.
 *
 * @throws TypeError if any part is not a Uint8Array
 */
export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.map((p, i) => {
    assertBytes(p, `lvCat part ${i}`);
    return prependLen(p);
  }));
}

/**
 * generator_string (draft "Common function for computing generators"):
 * `lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid)` with
 * `len_zpad = max(0, s_in_bytes - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI)))`, so that DSI,
 * PRS and the padding fill the first hash block and a short PRS does not change how much is hashed.
 *
 * The result contains PRS: callers wipe it.
 *
 * @throws TypeError if an argument is not a Uint8Array
 * @throws RangeError if `sInBytes` is not a positive integer
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number,
): Uint8Array {
  assertBytes(dsi, 'dsi');
  assertBytes(prs, 'prs');
  assertBytes(ci, 'ci');
  assertBytes(sid, 'sid');
  if (!Number.isInteger(sInBytes) || sInBytes <= 0) {
    throw new RangeError('sInBytes must be a positive integer');
  }
  const prsField = prependLen(prs);
  const dsiLength = prependLen(dsi).length;
  const zpad = Math.max(0, sInBytes - 1 - prsField.length - dsiLength);
  wipe(prsField);
  return lvCat(dsi, prs, new Uint8Array(zpad), ci, sid);
}

/**
 * G.calculate_generator (draft "CPace group objects G_Ristretto255 …"): hashes the generator string to 64 bytes with SHA-512 and maps
 * them to a group element with ristretto255's element derivation (RFC 9496 §4.3.4). The generator
 * is a function of the password, so it is as secret as PRS.
 *
 * @throws TypeError if an argument is not a Uint8Array
 */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): RistrettoPoint {
  const genStr = generatorString(CPACE_DSI, prs, ci, sid, SHA512_BLOCK_BYTES);
  const genStrHash = sha512(genStr);
  try {
    return ristretto255_hasher.deriveToCurve!(genStrHash);
  } finally {
    wipe(genStr, genStrHash);
  }
}

/** Little-endian bytes to an integer (the draft's vectors give scalars little-endian). */
function fromLittleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/**
 * G.sample_scalar (draft "CPace group objects G_Ristretto255 …", the RECOMMENDED method): 32 random bytes with every bit from
 * group_size_bits = 252 upwards cleared, read as a little-endian integer. The result is below
 * 2^252 and hence below the group order; the value 0 (probability 2^-252) is drawn again because a
 * zero scalar would give the identity as public share.
 *
 * @throws TypeError / RangeError if `rng` breaks its contract
 */
export function sampleScalar(rng: Rng): bigint {
  for (;;) {
    const bytes = drawBytes(rng, CPACE_ELEMENT_BYTES);
    bytes[31] = bytes[31]! & 0x0f; // keep bits 0..251 only
    const y = fromLittleEndian(bytes);
    wipe(bytes);
    if (y !== 0n) return y;
  }
}

function assertScalar(y: unknown): asserts y is bigint {
  if (typeof y !== 'bigint') throw new TypeError('scalar must be a bigint');
  if (y <= 0n || y >= Point.Fn.ORDER) throw new RangeError('scalar must be in [1, group order)');
}

/**
 * G.scalar_mult (draft "CPace group objects G_Ristretto255 …"): `encode(y * g)` for a generator in internal representation.
 *
 * @throws TypeError if `y` is not a bigint or `g` is not a ristretto255 point
 * @throws RangeError if `y` is not in [1, group order)
 */
export function scalarMult(y: bigint, g: RistrettoPoint): Uint8Array {
  assertScalar(y);
  if (!(g instanceof Point)) throw new TypeError('g must be a ristretto255 point');
  return g.multiply(y).toBytes();
}

/**
 * G.scalar_mult_vfy (draft "CPace group objects G_Ristretto255 …"): decodes the peer's encoded element `X`; if decoding fails it
 * returns G.I, otherwise `encode(y * decode(X))` (which is G.I when X is the identity). Callers
 * MUST abort when the result equals G.I (draft "CPace protocol instructions"); {@link cpaceIsk} does.
 *
 * @throws TypeError if `y` is not a bigint or `X` is not a Uint8Array
 * @throws RangeError if `y` is not in [1, group order)
 */
export function scalarMultVfy(y: bigint, X: Uint8Array): Uint8Array {
  assertScalar(y);
  assertBytes(X, 'X');
  if (X.length !== CPACE_ELEMENT_BYTES) return CPACE_IDENTITY.slice();
  let point: RistrettoPoint;
  try {
    point = Point.fromBytes(X);
  } catch {
    return CPACE_IDENTITY.slice(); // not a canonical ristretto255 encoding
  }
  return point.multiply(y).toBytes();
}

/**
 * transcript_ir (draft "Notation for string operations" and appendix "Definitions for
 * transcript_ir function"): `lv_cat(Ya, ADa) || lv_cat(Yb, ADb)`, the transcript
 * for the initiator-responder setting, where A (here: the custodian) always speaks first.
 *
 * @throws TypeError if an argument is not a Uint8Array
 */
export function transcriptIr(Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return concatBytes(lvCat(Ya, ADa), lvCat(Yb, ADb));
}

/** The inputs both parties share before the run (draft "CPace inputs"). */
export interface CpaceInputs {
  /** password-related string; secret (here: the normalised join code, join-code.ts) */
  prs: Uint8Array;
  /** channel identifier; both parties' role identities (docs/protocol-channel.md §5) */
  ci: Uint8Array;
  /** session identifier; public */
  sid: Uint8Array;
}

/** One party's ephemeral state after computing its public share. */
export interface CpaceShare {
  /** the secret scalar ya or yb; use it once */
  scalar: bigint;
  /** the public share Ya or Yb, 32 bytes */
  share: Uint8Array;
}

/**
 * The first half of a CPace run for either party (draft "CPace protocol instructions"): computes the generator from the
 * shared inputs, samples a scalar and returns it with the public share `Y = scalar_mult(y, g)`.
 *
 * @throws TypeError if an input is not a Uint8Array, or `rng` breaks its contract
 */
export function cpaceShare(inputs: CpaceInputs, rng: Rng): CpaceShare {
  const g = calculateGenerator(inputs.prs, inputs.ci, inputs.sid);
  const scalar = sampleScalar(rng);
  return { scalar, share: scalarMult(scalar, g) };
}

/** What {@link cpaceIsk} needs: this party's scalar and both messages of the run. */
export interface CpaceIskInputs {
  /** this party's secret scalar */
  scalar: bigint;
  /** the peer's public share, as received */
  peerShare: Uint8Array;
  sid: Uint8Array;
  /** the initiator's public share and associated data */
  Ya: Uint8Array;
  ADa: Uint8Array;
  /** the responder's public share and associated data */
  Yb: Uint8Array;
  ADb: Uint8Array;
}

/**
 * The second half of a CPace run (draft "CPace protocol instructions"): `K = scalar_mult_vfy(y, peerShare)`, abort if
 * K = G.I, else `ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb))`.
 * K never leaves this function (draft "Key derivation": exposing K would allow an offline dictionary attack).
 *
 * @returns the 64-byte ISK; the caller wipes it
 * @throws CeremonyError CHANNEL_BAD_POINT if the peer's share does not decode or K is the identity
 * @throws TypeError / RangeError for arguments of the wrong type or size
 */
export function cpaceIsk(inputs: CpaceIskInputs): Uint8Array {
  const K = scalarMultVfy(inputs.scalar, inputs.peerShare);
  if (equalBytes(K, CPACE_IDENTITY)) {
    throw channelError(
      ChannelErrorCode.BAD_POINT,
      'the peer sent an invalid CPace share (not a ristretto255 element, or the identity)',
    );
  }
  const prefix = lvCat(concatBytes(CPACE_DSI, utf8('_ISK')), inputs.sid, K);
  const input = concatBytes(prefix, transcriptIr(inputs.Ya, inputs.ADa, inputs.Yb, inputs.ADb));
  try {
    return sha512(input);
  } finally {
    wipe(K, prefix, input);
  }
}
