/**
 * Proof that a key on the device is the key a backup describes: the card signs a fresh random
 * challenge with it, and the signature is verified here with the public key taken from the backup
 * (its certificate or CV request), not from the card. A key restored under the wrong reference, a
 * damaged blob the card somehow accepted, or a PRKD/certificate that belongs to another key all
 * fail this check.
 *
 * The SIGN forms are the ones OpenSC itself sends (spec §9): EC `80 68 <ref> 70` over a SHA-256
 * digest computed here, answered with a DER ECDSA signature (verified with @noble/curves); RSA
 * `80 68 <ref> 20` over a PKCS#1 v1.5 block built here (verified with node:crypto).
 */
import { constants, createPublicKey, verify as rsaVerify } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import type { SmartCardHsm } from '../../card/sc-hsm.ts';
import { concatBytes, fromHex, toHex } from '../../../protocol/bytes.ts';
import { checkFailed } from '../../../protocol/errors.ts';
import type { PublicKey } from './public-key.ts';

/** SIGN algorithm ids (card-sc-hsm.h). */
const ALG_ECDSA_PREHASHED = 0x70;
const ALG_RSA_RAW = 0x20;
/** DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = fromHex('3031300d060960864801650304020105000420');

export interface KeyProof {
  /** the random challenge that was signed (public) */
  challenge: string;
  /** SIGN algorithm byte used */
  algorithm: number;
  /** "ECDSA over SHA-256" / "RSA PKCS#1 v1.5 with SHA-256" */
  description: string;
}

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * Has key `ref` sign a random 32-byte challenge and verifies the signature with `publicKey`.
 * Needs the user PIN verified.
 *
 * @throws CeremonyError check SIGNATURE_INVALID when the signature does not verify; CardError
 *   when the card refuses to sign
 */
export async function proveKeySigns(hsm: SmartCardHsm, ref: number, publicKey: PublicKey, rng: (n: number) => Uint8Array = defaultRng): Promise<KeyProof> {
  const challenge = rng(32);
  if (!(challenge instanceof Uint8Array) || challenge.length !== 32) throw new RangeError('rng(32) must return 32 bytes');
  const digest = sha256(challenge);
  let ok: boolean;
  let algorithm: number;
  let description: string;
  if (publicKey.type === 'ec') {
    algorithm = ALG_ECDSA_PREHASHED;
    description = 'ECDSA over SHA-256';
    const signature = await hsm.sign(ref, algorithm, digest);
    try {
      ok = publicKey.curve.impl.verify(signature, digest, publicKey.point, { prehash: false, format: 'der', lowS: false });
    } catch {
      ok = false;
    }
  } else {
    algorithm = ALG_RSA_RAW;
    description = 'RSA PKCS#1 v1.5 with SHA-256';
    const k = publicKey.n.length;
    const t = concatBytes(SHA256_DIGEST_INFO, digest);
    if (k < t.length + 11) throw new RangeError('RSA modulus too short for a SHA-256 signature');
    const block = new Uint8Array(k).fill(0xff);
    block[0] = 0x00;
    block[1] = 0x01;
    block[k - t.length - 1] = 0x00;
    block.set(t, k - t.length);
    let signature = await hsm.sign(ref, algorithm, block);
    if (signature.length < k) signature = concatBytes(new Uint8Array(k - signature.length), signature);
    const key = createPublicKey({ key: { kty: 'RSA', n: b64url(publicKey.n), e: b64url(publicKey.e) }, format: 'jwk' });
    try {
      ok = rsaVerify('sha256', challenge, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw checkFailed('SIGNATURE_INVALID', `key ${ref} on the device signed a challenge, but the signature does not verify with the public key from the backup`, {
      hint: 'the key at this reference is not the backed-up key; do not use it, and check the backup file and the key reference',
    });
  }
  return { challenge: toHex(challenge), algorithm, description };
}
