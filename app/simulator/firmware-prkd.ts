/**
 * The PKCS#15 private-key description (PRKD) a *card* writes by itself into EF C4xx — what Pico
 * HSM firmware 6.6 stores on GENERATE and UNWRAP (spec §9: "a 29-byte PRKD labelled with the
 * decimal key reference"), before the host overwrites it with its own.
 *
 * Layout (firmware `asn1_build_prkd_generic`, read in pico-hsm v6.6; the byte counts match the
 * trace: 28 bytes for EC ref 1, 29 for EC ref 10, 28 for RSA ref 11):
 *
 * ```
 * A0 (EC) | 30 (RSA) {
 *   30 { 0C <label> }                         CommonObjectAttributes (label: empty for user keys)
 *   30 { 04 <id> 03 <usage bits> }            CommonKeyAttributes: iD = ASCII decimal key ref;
 *                                             usage EC 07 20 80, RSA 02 74
 *   A1 { 30 { 30 { 04 00 } 02 02 <key bits> } }   typeAttributes: empty path, key size (u16)
 * }
 * ```
 *
 * Note: spec §9 says "labelled with the decimal key reference"; the firmware source puts the
 * decimal reference in the iD and leaves the label empty. Both give the same length; the simulator
 * follows the source.
 */

import { u16be, utf8 } from '../../protocol/bytes.ts';
import { encodeTlv } from '../../protocol/der.ts';

/** Builds a firmware-style PRKD. `label` and `id` default to the Pico choices for user keys. */
export function firmwarePrkd(kind: 'ec' | 'rsa', keyBits: number, id: Uint8Array, label: Uint8Array = new Uint8Array(0)): Uint8Array {
  const usage = kind === 'ec' ? Uint8Array.of(0x07, 0x20, 0x80) : Uint8Array.of(0x02, 0x74);
  return encodeTlv(
    kind === 'ec' ? 0xa0 : 0x30,
    encodeTlv(0x30, encodeTlv(0x0c, label)),
    encodeTlv(0x30, encodeTlv(0x04, id), encodeTlv(0x03, usage)),
    encodeTlv(0xa1, encodeTlv(0x30, encodeTlv(0x30, encodeTlv(0x04, new Uint8Array(0))), encodeTlv(0x02, u16be(keyBits)))),
  );
}

/** The PRKD Pico HSM writes for user key `ref` (iD = the reference in decimal ASCII). */
export function picoUserKeyPrkd(kind: 'ec' | 'rsa', keyBits: number, ref: number): Uint8Array {
  return firmwarePrkd(kind, keyBits, utf8(String(ref)));
}
