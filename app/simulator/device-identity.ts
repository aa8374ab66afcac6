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

import { fromHex, utf8, wipe } from '../../protocol/bytes.ts';
import { encodeTlv } from '../../protocol/der.ts';
import { createDeviceCertificates, encodeAuthenticatedCvRequest, encodeCvBody, ROLE_DEVICE, signCvBody } from '../../protocol/dkek/cvc.ts';
import { FID_DEVICE_CERTIFICATES, FID_EF_DIR, FID_TOKEN_INFO } from './file-system.ts';
import { encodePicoPrkd } from '../../protocol/dkek/prkd.ts';
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
      chat: { role: ROLE_DEVICE, template: Uint8Array.of(0) },
      effectiveDate: '230321',
      expirationDate: '701231',
    });
    files.set(FID_DEVICE_CERTIFICATES, signCvBody(body, sign));
    files.set(FID_EF_DIR, efDir('Pico-HSM'));
    files.set(FID_TOKEN_INFO, PICO_TOKEN_INFO);
    files.set(0xc400, encodePicoPrkd({ keyType: 'ec', keySize: 256, keyReference: 0, id: new Uint8Array(20), label: utf8('ESPICOHSMTR') }));
    const request = signCvBody(encodeCvBody({ car: PICO_DEVICE_CHR, publicKey: publicKeyTemplate(key), chr: PICO_DEVICE_CHR }), sign);
    files.set(0xce00, encodeAuthenticatedCvRequest(request, PICO_DEVICE_CHR, sign));
    return { key, chr: PICO_DEVICE_CHR, files };
  }
  const digits = rng(6).reduce((s, b) => s + String(b % 10), '');
  const chr = `DESIM${digits}00001`;
  const dicaKey = generateEcKey('brainpoolP256r1', rng);
  const key = generateEcKey('brainpoolP256r1', rng);
  const certs = createDeviceCertificates({
    deviceChr: chr,
    deviceCurve: key.curve,
    deviceKey: key.d,
    dicaChr: 'DESIMCA00001',
    dicaCurve: dicaKey.curve,
    dicaKey: dicaKey.d,
    effectiveDate: '250101',
    expirationDate: '491231',
  });
  wipe(dicaKey.d); // the simulated DICA issues nothing else
  files.set(FID_DEVICE_CERTIFICATES, certs.ef2f02);
  files.set(FID_EF_DIR, efDir('SmartCard-HSM'));
  return { key, chr, files };
}
