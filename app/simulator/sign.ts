/**
 * The SIGN command's algorithm identifiers (P2 of `80 68 <keyref> <alg>`), as OpenSC's
 * card-sc-hsm.h lists them and spec §9 observed them:
 *
 * | P2 | key | input | output |
 * |----|-----|-------|--------|
 * | 20 | RSA | a block of the modulus length (host-side padding) | raw c^d mod n |
 * | 30 | RSA | a DigestInfo | PKCS#1 v1.5 signature |
 * | 31 / 33 | RSA | the message (card hashes SHA-1 / SHA-256) | PKCS#1 v1.5 signature |
 * | 40 | RSA | a digest (20/28/32/48/64 bytes) | PSS, MGF1 same hash, salt = digest length |
 * | 41 / 43 | RSA | the message (card hashes SHA-1 / SHA-256) | PSS |
 * | 70 | EC  | a digest (any length; truncated to the order as ECDSA prescribes) | DER ECDSA-Sig-Value |
 * | 71 / 72 / 73 / 74 / 75 | EC | the message (card hashes SHA-1/224/256/384/512) | DER ECDSA-Sig-Value |
 *
 * 0x74 and 0x75 are in later SmartCard-HSM firmware; OpenSC 0.23 never sends them.
 */

import { hashFunction, digestInfo, pkcs1v15Pad, pssEncode, rsaModulusLength, rsaPrivate, type HashName } from './rsa.ts';
import { curveOf, type EcCardKey, type RsaCardKey } from './keys.ts';

/** Why a SIGN request cannot be served; card-os.ts maps it to a status word. */
export type SignRefusal =
  /** the algorithm id is unknown, or does not fit the key type (SW 6A86 on P2) */
  | 'unsupported-algorithm'
  /** the input has the wrong length or value for the algorithm (SW 6A80 / 6700) */
  | 'bad-input';

/** Result of one SIGN: the signature bytes, or why not. */
export type SignResult = { ok: true; signature: Uint8Array } | { ok: false; refusal: SignRefusal };

const EC_HASHES: Record<number, HashName | null> = {
  0x70: null,
  0x71: 'sha1',
  0x72: 'sha224',
  0x73: 'sha256',
  0x74: 'sha384',
  0x75: 'sha512',
};

const DIGEST_LENGTH_TO_HASH: Record<number, HashName> = { 20: 'sha1', 28: 'sha224', 32: 'sha256', 48: 'sha384', 64: 'sha512' };

/** True if `alg` is one of the SIGN algorithm ids the simulator implements. */
export function isSignAlgorithm(alg: number): boolean {
  return alg in EC_HASHES || [0x20, 0x30, 0x31, 0x33, 0x40, 0x41, 0x43].includes(alg);
}

/**
 * Signs `input` with `key` under algorithm `alg`. `rng` feeds ECDSA hedging and PSS salts (from
 * the card's DRBG, so signatures replay from the seed).
 */
export function signWith(key: EcCardKey | RsaCardKey, alg: number, input: Uint8Array, rng: (n: number) => Uint8Array): SignResult {
  if (key.kind === 'ec') {
    if (!(alg in EC_HASHES)) return { ok: false, refusal: 'unsupported-algorithm' };
    const hash = EC_HASHES[alg]!;
    const digest = hash === null ? input : hashFunction(hash)(input);
    if (digest.length === 0) return { ok: false, refusal: 'bad-input' };
    const signature = curveOf(key).impl.sign(digest, key.d, { prehash: false, lowS: false, format: 'der', extraEntropy: rng(32) });
    return { ok: true, signature };
  }
  const k = rsaModulusLength(key.rsa);
  try {
    switch (alg) {
      case 0x20:
        return { ok: true, signature: rsaPrivate(key.rsa, input) };
      case 0x30:
        return { ok: true, signature: rsaPrivate(key.rsa, pkcs1v15Pad(input, k)) };
      case 0x31:
      case 0x33: {
        const h: HashName = alg === 0x31 ? 'sha1' : 'sha256';
        return { ok: true, signature: rsaPrivate(key.rsa, pkcs1v15Pad(digestInfo(h, hashFunction(h)(input)), k)) };
      }
      case 0x40: {
        const h = DIGEST_LENGTH_TO_HASH[input.length];
        if (!h) return { ok: false, refusal: 'bad-input' };
        return { ok: true, signature: pss(key, h, input, rng) };
      }
      case 0x41:
      case 0x43: {
        const h: HashName = alg === 0x41 ? 'sha1' : 'sha256';
        return { ok: true, signature: pss(key, h, hashFunction(h)(input), rng) };
      }
      default:
        return { ok: false, refusal: 'unsupported-algorithm' };
    }
  } catch (e) {
    if (e instanceof RangeError) return { ok: false, refusal: 'bad-input' };
    throw e;
  }
}

function pss(key: RsaCardKey, hash: HashName, digest: Uint8Array, rng: (n: number) => Uint8Array): Uint8Array {
  const modBits = key.rsa.n.toString(2).length;
  const em = pssEncode(hash, digest, modBits, rng);
  const k = rsaModulusLength(key.rsa);
  const block = new Uint8Array(k);
  block.set(em, k - em.length);
  return rsaPrivate(key.rsa, block);
}
