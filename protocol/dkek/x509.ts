/**
 * Just enough X.509 (RFC 5280) to describe the certificate a wrap file may carry in place of a CV
 * request: subject and issuer common names, validity, and the public key type and size. Nothing
 * is verified; this is for display. docs/backup-format.md §10.
 */

import { DerError, decodeOid, findTlv, readAllTlvs, readTlv, type Tlv } from '../der.ts';
import { bytesToBigInt } from '../bytes.ts';
import { usageError } from '../errors.ts';
import { ecCurveByOid, type EcCurveName } from './ec-curve.ts';

const OID_CN = '2.5.4.3';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';
const OID_ED25519 = '1.3.101.112';
const OID_ED448 = '1.3.101.113';

/** What inspect shows about an X.509 certificate. */
export interface X509Summary {
  /** subject CN (the last one if several), if any */
  subjectCn?: string;
  /** issuer CN, if any */
  issuerCn?: string;
  /** validity as written (UTCTime / GeneralizedTime text) */
  notBefore?: string;
  notAfter?: string;
  /** serial number as lower-case hex */
  serialHex: string;
  /** 'rsa', 'ec', 'ed25519', 'ed448' or 'unknown' */
  keyType: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'unknown';
  /** RSA modulus bits; EC field bits; Ed25519 255, Ed448 448; 0 if unknown */
  keyBits: number;
  /** EC: the named curve, if it is one hsm-ceremony knows */
  curve?: EcCurveName;
  /** the SubjectPublicKeyInfo algorithm OID, dotted */
  keyAlgorithm: string;
}

function malformed(reason: string): Error {
  return usageError('X509_MALFORMED', `X.509 certificate is malformed: ${reason}`, {
    hint: 'the certificate stored with the key is damaged; it is informational only and does not affect the key blob',
    detail: { reason },
  });
}

const text = (t: Tlv): string => new TextDecoder().decode(t.value);

function commonName(name: Tlv): string | undefined {
  let cn: string | undefined;
  for (const rdn of readAllTlvs(name.value)) {
    for (const atv of readAllTlvs(rdn.value)) {
      const [type, value] = readAllTlvs(atv.value);
      if (type?.tag === 0x06 && value && decodeOid(type.value) === OID_CN) cn = text(value);
    }
  }
  return cn;
}

function bitLength(b: Uint8Array): number {
  const n = bytesToBigInt(b);
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Summarises a DER X.509 certificate (bytes after the first TLV are ignored).
 *
 * @throws {TypeError} if `bytes` is not a Uint8Array
 * @throws {CeremonyError} usage X509_MALFORMED
 */
export function decodeX509(bytes: Uint8Array): X509Summary {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  try {
    const cert = readTlv(bytes, 0);
    if (cert.tag !== 0x30) throw malformed('not a SEQUENCE');
    const [tbs] = readAllTlvs(cert.value);
    if (!tbs || tbs.tag !== 0x30) throw malformed('tbsCertificate is missing');
    const f = readAllTlvs(tbs.value);
    // [0] version is optional: skip it so the positional fields line up.
    const i = f[0]?.tag === 0xa0 ? 1 : 0;
    const [serial, , issuer, validity, subject, spki] = f.slice(i);
    if (serial?.tag !== 0x02 || issuer?.tag !== 0x30 || validity?.tag !== 0x30 || subject?.tag !== 0x30 || spki?.tag !== 0x30) {
      throw malformed('tbsCertificate fields are not in RFC 5280 order');
    }
    const [algId, keyBits] = readAllTlvs(spki.value);
    if (algId?.tag !== 0x30 || keyBits?.tag !== 0x03) throw malformed('subjectPublicKeyInfo is incomplete');
    const [algOid, params] = readAllTlvs(algId.value);
    if (algOid?.tag !== 0x06) throw malformed('public key algorithm is missing');
    const keyAlgorithm = decodeOid(algOid.value);
    const out: X509Summary = { serialHex: Array.from(serial.value, (b) => b.toString(16).padStart(2, '0')).join(''), keyType: 'unknown', keyBits: 0, keyAlgorithm };
    const scn = commonName(subject);
    if (scn !== undefined) out.subjectCn = scn;
    const icn = commonName(issuer);
    if (icn !== undefined) out.issuerCn = icn;
    const [nb, na] = readAllTlvs(validity.value);
    if (nb) out.notBefore = text(nb);
    if (na) out.notAfter = text(na);
    if (keyAlgorithm === OID_RSA) {
      out.keyType = 'rsa';
      const rsa = readTlv(keyBits.value, 1);
      const n = findTlv(readAllTlvs(rsa.value), 0x02);
      if (!n) throw malformed('RSA modulus is missing');
      out.keyBits = bitLength(n.value);
    } else if (keyAlgorithm === OID_EC) {
      out.keyType = 'ec';
      if (params?.tag === 0x06) {
        const curve = ecCurveByOid(decodeOid(params.value));
        if (curve) {
          out.curve = curve.name;
          out.keyBits = curve.bits;
        }
      }
      if (out.keyBits === 0 && keyBits.value.length > 2) out.keyBits = ((keyBits.value.length - 2) / 2) * 8;
    } else if (keyAlgorithm === OID_ED25519) {
      out.keyType = 'ed25519';
      out.keyBits = 255;
    } else if (keyAlgorithm === OID_ED448) {
      out.keyType = 'ed448';
      out.keyBits = 448;
    }
    return out;
  } catch (e) {
    if (e instanceof DerError) throw malformed(e.message);
    throw e;
  }
}
