/**
 * The card side of card-verifiable certificates (BSI TR-03110 part 3, appendix C; SmartCard-HSM
 * usage as in spec §9): what the simulated card *issues* — its device certificate chain in EF
 * 2F02 and the authenticated certificate requests GENERATE ASYMMETRIC KEY PAIR and UNWRAP KEY
 * answer with. Decoding certificates is the protocol layer's job; this file only builds them.
 *
 * ```
 * 7F21 CV certificate                      67 authenticated request
 *   7F4E body                                7F21 CV certificate (self-signed by the new key)
 *     5F29 01 00   profile identifier        42    outer CAR (device CHR)
 *     42   CAR                               5F37  outer signature (device key)
 *     7F49 public key
 *     5F20 CHR
 *     [7F4C CHAT, 5F25 effective, 5F24 expiry]
 *   5F37 signature over SHA-256(7F4E TLV)
 * ```
 *
 * EC public keys carry the full domain parameters with full-length components, the way Pico HSM
 * firmware 6.6 and OpenSC's key-generation template write them (apdu-trace.txt, keygen):
 * 06 OID, 81 P, 82 A, 83 B, 84 G, 85 N, 86 Q, 87 cofactor. RSA public keys: 06 OID, 81 N, 82 E.
 * ECDSA signatures are plain r || s (TR-03111), RSA ones PKCS#1 v1.5 with SHA-256.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, concatBytes, fromHex, utf8 } from '../../protocol/bytes.ts';
import { encodeTlv } from '../../protocol/der.ts';
import type { EcCurve } from '../../protocol/dkek/ec-curve.ts';

/** id-TA-ECDSA-SHA-256: the default algorithm of EC keys and of EC CV signatures. */
export const OID_TA_ECDSA_SHA256: Uint8Array = fromHex('04007f00070202020203');
/** id-TA-RSA-v1-5-SHA-256: the default algorithm of RSA keys. */
export const OID_TA_RSA_V15_SHA256: Uint8Array = fromHex('04007f00070202020102');
/** id-TA-ECDSA (prefix of every ECDSA variant). */
export const OID_TA_ECDSA_PREFIX: Uint8Array = fromHex('04007f000702020202');
/** id-TA-RSA (prefix of every RSA variant). */
export const OID_TA_RSA_PREFIX: Uint8Array = fromHex('04007f000702020201');

/** CHAT of a device certificate as Pico HSM writes it: id-IS role OID with no rights (53 01 00). */
const DEVICE_CHAT = concatBytes(encodeTlv(0x06, fromHex('04007f000703010202')), encodeTlv(0x53, Uint8Array.of(0)));

/** Signs SHA-256(data) and returns the CV signature bytes (r || s, or an RSA signature block). */
export type CvSigner = (data: Uint8Array) => Uint8Array;

/** Dates as the unpacked BCD digits CV certificates use (YYMMDD, one digit per byte). */
export function cvDate(yymmdd: string): Uint8Array {
  if (!/^\d{6}$/.test(yymmdd)) throw new RangeError('yymmdd must be six digits');
  return Uint8Array.from(yymmdd, (c) => c.charCodeAt(0) - 48);
}

/** 7F49 public key of an EC key: full domain parameters and the point Q (04 || x || y). */
export function ecPublicKeyTemplate(curve: EcCurve, q: Uint8Array, oid: Uint8Array = OID_TA_ECDSA_SHA256): Uint8Array {
  return encodeTlv(
    0x7f49,
    encodeTlv(0x06, oid),
    encodeTlv(0x81, bigIntToBytes(curve.p, curve.fieldLength)),
    encodeTlv(0x82, bigIntToBytes(curve.a, curve.fieldLength)),
    encodeTlv(0x83, bigIntToBytes(curve.b, curve.fieldLength)),
    encodeTlv(0x84, curve.g),
    encodeTlv(0x85, bigIntToBytes(curve.n, curve.orderLength)),
    encodeTlv(0x86, q),
    encodeTlv(0x87, bigIntToBytes(curve.h)),
  );
}

/** 7F49 public key of an RSA key: modulus and exponent, minimal length. */
export function rsaPublicKeyTemplate(n: bigint, e: bigint, oid: Uint8Array = OID_TA_RSA_V15_SHA256): Uint8Array {
  return encodeTlv(0x7f49, encodeTlv(0x06, oid), encodeTlv(0x81, bigIntToBytes(n)), encodeTlv(0x82, bigIntToBytes(e)));
}

/** Fields of a certificate body. */
export interface CvBodyFields {
  /** certification authority reference (ASCII), or raw bytes as received */
  car: string | Uint8Array;
  /** the 7F49 public key TLV */
  publicKey: Uint8Array;
  /** certificate holder reference (ASCII), or raw bytes as received */
  chr: string | Uint8Array;
  /** add 7F4C CHAT and validity dates (device certificates); requests have none */
  validity?: { effective: string; expiry: string; chat?: Uint8Array };
}

/** 7F4E certificate body. */
export function encodeCvBody(f: CvBodyFields): Uint8Array {
  const text = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? utf8(v) : v);
  const parts = [
    encodeTlv(0x5f29, Uint8Array.of(0)),
    encodeTlv(0x42, text(f.car)),
    f.publicKey,
    encodeTlv(0x5f20, text(f.chr)),
  ];
  if (f.validity) {
    parts.push(
      encodeTlv(0x7f4c, f.validity.chat ?? DEVICE_CHAT),
      encodeTlv(0x5f25, cvDate(f.validity.effective)),
      encodeTlv(0x5f24, cvDate(f.validity.expiry)),
    );
  }
  return encodeTlv(0x7f4e, ...parts);
}

/** 7F21 certificate: body plus 5F37 signature over SHA-256 of the body TLV. */
export function signCvCertificate(body: Uint8Array, signer: CvSigner): Uint8Array {
  return encodeTlv(0x7f21, body, encodeTlv(0x5f37, signer(body)));
}

/**
 * 67 authenticated request: the (self-signed) request certificate, the outer CAR and the outer
 * signature over SHA-256(7F21 TLV || 42 TLV) made with the device authentication key.
 */
export function encodeAuthenticatedRequest(request: Uint8Array, outerCar: string, deviceSigner: CvSigner): Uint8Array {
  const car = encodeTlv(0x42, utf8(outerCar));
  return encodeTlv(0x67, request, car, encodeTlv(0x5f37, deviceSigner(concatBytes(request, car))));
}

/** SHA-256, exported so signers and tests agree on what is signed. */
export function cvDigest(data: Uint8Array): Uint8Array {
  return sha256(data);
}
