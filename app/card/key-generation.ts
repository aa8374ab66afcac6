/**
 * The data field of GENERATE ASYMMETRIC KEY PAIR (`00 46 <ref> 00`, spec §9) as pkcs11-tool sends
 * it through OpenSC: a CV-certificate body template. The card answers with a CV request holding
 * the new public key.
 *
 * ```
 * 5F29 01 00                 certificate profile identifier
 * 42   <CAR>                 certification authority reference (OpenSC: "UTCA00001")
 * 7F49 {                     public key template
 *   06 <OID>                 id-TA-ECDSA-SHA-256 / id-TA-RSA-v1-5-SHA-256
 *   EC:  81 P, 82 A, 83 B, 84 G, 85 N, 87 cofactor
 *   RSA: 82 public exponent, 02 key size in bits
 * }
 * 5F20 <CHR>                 certificate holder reference (device serial + "00001")
 * ```
 */
import { bigIntToBytes, u16be } from '../../protocol/bytes.ts';
import { encodeTlv } from '../../protocol/der.ts';
import { ecCurveByName, type EcCurveName } from '../../protocol/dkek/ec-curve.ts';

/** id-TA-ECDSA-SHA-256 (BSI TR-03110), content bytes. */
const OID_TA_ECDSA_SHA256 = Uint8Array.of(0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03);
/** id-TA-RSA-v1-5-SHA-256, content bytes. */
const OID_TA_RSA_V15_SHA256 = Uint8Array.of(0x04, 0x00, 0x7f, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02);

/** What to generate. */
export type KeyPairSpec =
  | { type: 'ec'; curve: EcCurveName }
  | { type: 'rsa'; bits: number; /** default 65537 */ exponent?: bigint };

export interface KeyGenerationNames {
  /** certification authority reference; default "UTCA00001" as OpenSC sends */
  car?: string;
  /** certificate holder reference, e.g. the device serial + "00001" */
  chr: string;
}

function ascii(text: string, what: string): Uint8Array {
  if (typeof text !== 'string' || !/^[\x20-\x7e]{1,16}$/.test(text)) throw new RangeError(`${what} must be 1..16 printable ASCII characters`);
  return new TextEncoder().encode(text);
}

/**
 * The GENERATE ASYMMETRIC KEY PAIR data field.
 *
 * @throws {RangeError} for an unknown curve, an RSA size outside 1024..4096 (multiple of 256), or a
 *   CAR/CHR that is not 1..16 printable ASCII characters
 */
export function encodeKeyGenerationTemplate(spec: KeyPairSpec, names: KeyGenerationNames): Uint8Array {
  let publicKey: Uint8Array;
  if (spec.type === 'ec') {
    const c = ecCurveByName(spec.curve);
    const field = (v: bigint) => bigIntToBytes(v, c.fieldLength);
    publicKey = encodeTlv(
      0x7f49,
      encodeTlv(0x06, OID_TA_ECDSA_SHA256),
      encodeTlv(0x81, field(c.p)),
      encodeTlv(0x82, field(c.a)),
      encodeTlv(0x83, field(c.b)),
      encodeTlv(0x84, c.g),
      encodeTlv(0x85, bigIntToBytes(c.n, c.orderLength)),
      encodeTlv(0x87, bigIntToBytes(c.h)),
    );
  } else if (spec.type === 'rsa') {
    if (!Number.isInteger(spec.bits) || spec.bits < 1024 || spec.bits > 4096 || spec.bits % 256 !== 0) {
      throw new RangeError(`RSA key size must be 1024..4096 in steps of 256, got ${spec.bits}`);
    }
    const e = spec.exponent ?? 65537n;
    if (e < 3n || e % 2n === 0n) throw new RangeError('RSA public exponent must be odd and at least 3');
    publicKey = encodeTlv(0x7f49, encodeTlv(0x06, OID_TA_RSA_V15_SHA256), encodeTlv(0x82, bigIntToBytes(e)), encodeTlv(0x02, u16be(spec.bits)));
  } else {
    throw new TypeError('spec.type must be "ec" or "rsa"');
  }
  return Uint8Array.from([
    ...encodeTlv(0x5f29, Uint8Array.of(0x00)),
    ...encodeTlv(0x42, ascii(names.car ?? 'UTCA00001', 'CAR')),
    ...publicKey,
    ...encodeTlv(0x5f20, ascii(names.chr, 'CHR')),
  ]);
}
