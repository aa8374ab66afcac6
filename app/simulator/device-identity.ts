/**
 * What a simulated card gets "at the factory": its device authentication key (key reference 0),
 * the certificate chain in EF 2F02 that OpenSC decodes to learn the token serial number, EF.DIR,
 * and per flavor the few objects the real firmware carries from the start.
 *
 * OpenSC's PKCS#15 emulation requires a decodable C_DevAut: it takes the certificate holder
 * reference (CHR), strips the 5-digit sequence number and uses the rest as the serial (it
 * asserts at least 8 characters). Without it `pkcs15-tool -D` fails (spec §9).
 *
 * | flavor | device key curve | C_DevAut CHR | 2F02 | extra files |
 * |--------|------------------|--------------|------|-------------|
 * | sc-hsm | brainpoolP256r1 (as real SmartCard-HSMs) | `DESIM` + 6 digits from the DRBG + `00001` | C_DevAut signed by a simulated DICA, then the self-signed DICA | — |
 * | pico   | secp256k1 (as the traced Pico HSM 6.6)   | `ESPICOHSMTR00001` (fixed in the firmware) | self-signed C_DevAut only | C400 device PRKD, CE00 device key request, 2F03 TokenInfo |
 *
 * The certificates are simulated: they chain to nothing real, and nothing verifies them.
 * Validity dates are fixed (not the clock) so a seed reproduces the files byte for byte.
 */

import { utf8, fromHex } from '../../protocol/bytes.ts';
import { encodeTlv } from '../../protocol/der.ts';
import { encodeAuthenticatedRequest, encodeCvBody, signCvCertificate } from './cv-certificate.ts';
import { FID_DEVICE_CERTIFICATES, FID_EF_DIR, FID_TOKEN_INFO } from './file-system.ts';
import { firmwarePrkd } from './firmware-prkd.ts';
import { cvSigner, generateEcKey, publicKeyTemplate, type EcCardKey } from './keys.ts';

/** The SmartCard-HSM application identifier. */
export const SC_HSM_AID: Uint8Array = fromHex('e82b0601040181c31f0201');

/** The ATR of a SmartCard-HSM (spec §9); OpenSC picks its sc-hsm driver from it. */
export const SC_HSM_ATR: Uint8Array = fromHex('3B FE 18 00 00 81 31 FE 45 80 31 81 54 48 53 4D 31 73 80 21 40 81 07 FA');

/** Pico HSM's fixed device CHR (firmware default when no attestation is loaded). */
const PICO_DEVICE_CHR = 'ESPICOHSMTR00001';

/** EF.TokenInfo as Pico HSM 6.6 (host emulation build) generates it, from apdu-trace.txt. */
const PICO_TOKEN_INFO = fromHex(
  '30 2A 02 01 06 04 08 00 00 00 00 00 00 00 00 0C 0D 50 6F 6C 20 48 65 6E 61 72 65 6A 6F 73 80 08 50 69 63 6F 2D 48 53 4D 03 02 04 30',
);

/** A freshly manufactured device. */
export interface DeviceIdentity {
  /** the device authentication key (key reference 0) */
  key: EcCardKey;
  /** its certificate holder reference, e.g. `DESIM12345600001` */
  chr: string;
  /** files present from the start: FID → content */
  files: Map<number, Uint8Array>;
}

/** EF.DIR: one application template for the SmartCard-HSM AID with a label. */
function efDir(label: string): Uint8Array {
  return encodeTlv(0x61, encodeTlv(0x4f, SC_HSM_AID), encodeTlv(0x50, utf8(label)));
}

/**
 * Creates the device identity for `flavor`, drawing every random value from `rng` (the card's
 * DRBG right after instantiation, so the seed determines the device).
 */
export function manufactureDevice(flavor: 'sc-hsm' | 'pico', rng: (n: number) => Uint8Array): DeviceIdentity {
  const files = new Map<number, Uint8Array>();
  if (flavor === 'pico') {
    const key = generateEcKey('secp256k1', rng);
    const sign = cvSigner(key, rng);
    const body = encodeCvBody({
      car: PICO_DEVICE_CHR,
      publicKey: publicKeyTemplate(key),
      chr: PICO_DEVICE_CHR,
      validity: { effective: '230321', expiry: '701231' },
    });
    files.set(FID_DEVICE_CERTIFICATES, signCvCertificate(body, sign));
    files.set(FID_EF_DIR, efDir('Pico-HSM'));
    files.set(FID_TOKEN_INFO, PICO_TOKEN_INFO);
    files.set(0xc400, firmwarePrkd('ec', 256, new Uint8Array(20), utf8('ESPICOHSMTR')));
    const request = signCvCertificate(
      encodeCvBody({ car: PICO_DEVICE_CHR, publicKey: publicKeyTemplate(key), chr: PICO_DEVICE_CHR }),
      sign,
    );
    files.set(0xce00, encodeAuthenticatedRequest(request, PICO_DEVICE_CHR, sign));
    return { key, chr: PICO_DEVICE_CHR, files };
  }
  const digits = rng(6).reduce((s, b) => s + String(b % 10), '');
  const serial = `DESIM${digits}`;
  const chr = `${serial}00001`;
  const dicaChr = 'DESIMCA00001';
  const dicaKey = generateEcKey('brainpoolP256r1', rng);
  const dicaSign = cvSigner(dicaKey, rng);
  const key = generateEcKey('brainpoolP256r1', rng);
  const dica = signCvCertificate(
    encodeCvBody({
      car: dicaChr,
      publicKey: publicKeyTemplate(dicaKey),
      chr: dicaChr,
      validity: { effective: '250101', expiry: '491231', chat: concatChat(0xc0) },
    }),
    dicaSign,
  );
  const devAut = signCvCertificate(
    encodeCvBody({ car: dicaChr, publicKey: publicKeyTemplate(key), chr, validity: { effective: '250101', expiry: '491231' } }),
    dicaSign,
  );
  files.set(FID_DEVICE_CERTIFICATES, new Uint8Array([...devAut, ...dica]));
  files.set(FID_EF_DIR, efDir('SmartCard-HSM'));
  return { key, chr, files };
}

/** CHAT with the id-IS role OID and one rights byte (0xC0 = CA role, for the DICA). */
function concatChat(rights: number): Uint8Array {
  return new Uint8Array([...encodeTlv(0x06, fromHex('04007f000703010202')), ...encodeTlv(0x53, Uint8Array.of(rights))]);
}
