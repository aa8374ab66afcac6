/**
 * Generating a key pair on the device the way `pkcs11-tool --keypairgen` does through OpenSC
 * (spec §9, apdu-trace.txt "pkcs11-tool … --keypairgen"): GENERATE ASYMMETRIC KEY PAIR with a CV
 * body template whose CHR is the device serial + "00001", then the card's CV request written to
 * EF `CE <ref>` and a PKCS#15 key description to EF `C4 <ref>`. Pico HSM writes its own versions
 * of both first; they are replaced, as OpenSC does.
 *
 * The key description is OpenSC's (protocol/dkek/prkd.ts encodeOpenscPrkd, byte-exact to the
 * trace).
 */
import { FID_PREFIX, EF_DEVICE_CERTS, type SmartCardHsm } from '../../card/sc-hsm.ts';
import type { KeyPairSpec } from '../../card/key-generation.ts';
import { ecCurveByName } from '../../../protocol/dkek/ec-curve.ts';
import { encodeOpenscPrkd } from '../../../protocol/dkek/prkd.ts';
import { serialFromChr } from '../../../protocol/dkek/cvc.ts';
import { decodeCertificate, type PublicKey } from './public-key.ts';

export interface GeneratedKey {
  keyRef: number;
  /** the card's CV request, as written to EF CE<ref> */
  request: Uint8Array;
  /** the key description written to EF C4<ref> */
  prkd: Uint8Array;
  publicKey: PublicKey | null;
}

/** The CHR OpenSC puts in a key generation template: the device serial (its CHR minus the 5-digit sequence) + "00001". */
async function holderReference(hsm: SmartCardHsm): Promise<string> {
  const certs = await hsm.tryReadFile(EF_DEVICE_CERTS).catch(() => null);
  const holder = certs ? decodeCertificate(certs)?.holder : null;
  const serial = holder && /^[\x20-\x7e]{8,16}$/.test(holder) ? serialFromChr(holder) : 'HSMCEREMONY';
  return `${serial}00001`;
}

/**
 * Generates a key pair at `ref` and writes its CV request and key description. Needs the user PIN
 * verified.
 *
 * @throws {RangeError} for a bad spec, label or ID; CardError from the card
 */
export async function generateKey(hsm: SmartCardHsm, ref: number, spec: KeyPairSpec, o: { label: string; id: Uint8Array }): Promise<GeneratedKey> {
  const bits = spec.type === 'ec' ? ecCurveByName(spec.curve).bits : spec.bits;
  const prkd = encodeOpenscPrkd({ keyType: spec.type, label: o.label, id: o.id, keyReference: ref, keySize: bits });
  const request = await hsm.generateKeyPair(ref, spec, { chr: await holderReference(hsm) });
  await hsm.updateBinary((FID_PREFIX.EE_CERT << 8) | ref, request, { replace: true });
  await hsm.updateBinary((FID_PREFIX.PRKD << 8) | ref, prkd, { replace: true });
  return { keyRef: ref, request, prkd, publicKey: decodeCertificate(request)?.publicKey ?? null };
}
