/**
 * Generating a key pair on the device the way `pkcs11-tool --keypairgen` does through OpenSC
 * (spec §9, apdu-trace.txt "pkcs11-tool … --keypairgen"): GENERATE ASYMMETRIC KEY PAIR with a CV
 * body template whose CHR is the device serial + "00001", then the card's CV request written to
 * EF `CE <ref>` and a PKCS#15 key description to EF `C4 <ref>`. Pico HSM writes its own versions
 * of both first; they are replaced, as OpenSC does.
 *
 * The key description has the shape OpenSC writes (seen in the trace for label "k1", ID 01):
 *
 * ```
 * A0 (EC) | 30 (RSA) {
 *   30 { 0C <label>  03 02 06 C0 (private, modifiable)  04 01 01 (auth ID) }
 *   30 { 04 <ID>  03 03 07 30 80 (EC usage) | 03 02 04 70 (RSA usage)  02 01 <key ref> }
 *   A1 { 30 { 30 { 04 00 } (path)  02 02 <field or modulus bits> } }
 * }
 * ```
 */
import { FID_PREFIX, EF_DEVICE_CERTS, type SmartCardHsm } from '../../card/sc-hsm.ts';
import type { KeyPairSpec } from '../../card/key-generation.ts';
import { ecCurveByName } from '../../../protocol/dkek/ec-curve.ts';
import { encodeTlv } from '../../../protocol/der.ts';
import { u16be } from '../../../protocol/bytes.ts';
import { decodeCertificate, type PublicKey } from './public-key.ts';

export interface GeneratedKey {
  keyRef: number;
  /** the card's CV request, as written to EF CE<ref> */
  request: Uint8Array;
  /** the key description written to EF C4<ref> */
  prkd: Uint8Array;
  publicKey: PublicKey | null;
}

/**
 * A PKCS#15 private key description in OpenSC's shape (see the module comment).
 *
 * @throws {RangeError} for a label over 127 bytes, an empty or over-long ID, or a bad key ref
 */
export function encodeKeyDescription(o: { type: 'ec' | 'rsa'; label: string; id: Uint8Array; keyRef: number; bits: number }): Uint8Array {
  const label = new TextEncoder().encode(o.label);
  if (label.length > 127) throw new RangeError('label must be at most 127 bytes');
  if (!(o.id instanceof Uint8Array) || o.id.length < 1 || o.id.length > 64) throw new RangeError('id must be 1..64 bytes');
  if (!Number.isInteger(o.keyRef) || o.keyRef < 1 || o.keyRef > 255) throw new RangeError('keyRef must be 1..255');
  const usage = o.type === 'ec' ? Uint8Array.of(0x07, 0x30, 0x80) : Uint8Array.of(0x04, 0x70);
  return encodeTlv(
    o.type === 'ec' ? 0xa0 : 0x30,
    encodeTlv(0x30, encodeTlv(0x0c, label), encodeTlv(0x03, Uint8Array.of(0x06, 0xc0)), encodeTlv(0x04, Uint8Array.of(0x01))),
    encodeTlv(0x30, encodeTlv(0x04, o.id), encodeTlv(0x03, usage), encodeTlv(0x02, o.keyRef < 0x80 ? Uint8Array.of(o.keyRef) : Uint8Array.of(0x00, o.keyRef))),
    encodeTlv(0xa1, encodeTlv(0x30, encodeTlv(0x30, encodeTlv(0x04, new Uint8Array(0))), encodeTlv(0x02, u16be(o.bits)))),
  );
}

/** The CHR OpenSC puts in a key generation template: the device serial (its CHR minus the 5-digit sequence) + "00001". */
async function holderReference(hsm: SmartCardHsm): Promise<string> {
  const certs = await hsm.tryReadFile(EF_DEVICE_CERTS).catch(() => null);
  const holder = certs ? decodeCertificate(certs)?.holder : null;
  const serial = holder && /^[\x20-\x7e]{8,16}$/.test(holder) ? holder.slice(0, -5) : 'HSMCEREMONY';
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
  const prkd = encodeKeyDescription({ type: spec.type, label: o.label, id: o.id, keyRef: ref, bits });
  const request = await hsm.generateKeyPair(ref, spec, { chr: await holderReference(hsm) });
  await hsm.updateBinary((FID_PREFIX.EE_CERT << 8) | ref, request, { replace: true });
  await hsm.updateBinary((FID_PREFIX.PRKD << 8) | ref, prkd, { replace: true });
  return { keyRef: ref, request, prkd, publicKey: decodeCertificate(request)?.publicKey ?? null };
}
