/**
 * The simulated card's elementary files: a flat namespace of 2-byte file identifiers under the
 * SmartCard-HSM application, as the real applet has (spec §3 "FID prefixes").
 *
 * | FID | content | who writes it |
 * |-----|---------|---------------|
 * | 2F00 | EF.DIR (application template 61 { 4F AID, 50 label }) | card, read-only |
 * | 2F02 | EF.C_DevAut: device CV certificate (sc-hsm flavor: followed by the DICA certificate) | card, read-only |
 * | 2F03 | EF.TokenInfo (PKCS#15) | `sc-hsm-tool --label`; pico flavor: card |
 * | 2F10 | staging area for UNWRAP KEY (OpenSC ≥ 0.24) | host |
 * | C4xx / C8xx / C9xx / CAxx / CDxx / CExx / CFxx | PRKD / CD / DCOD / CA cert / PIN-protected data / EE cert or CV request / public data | host (and the card on keygen and unwrap) |
 * | CCxx | a private key (not a readable file; listed by ENUMERATE OBJECTS) | card |
 */

/** FIDs fixed by the applet. */
export const FID_EF_DIR = 0x2f00;
export const FID_DEVICE_CERTIFICATES = 0x2f02;
export const FID_TOKEN_INFO = 0x2f03;
export const FID_UNWRAP_STAGING = 0x2f10;

/** FID prefixes (high byte). */
export const PREFIX_PRKD = 0xc4;
export const PREFIX_CD = 0xc8;
export const PREFIX_DCOD = 0xc9;
export const PREFIX_CA_CERT = 0xca;
export const PREFIX_KEY = 0xcc;
export const PREFIX_PROTECTED_DATA = 0xcd;
export const PREFIX_EE_CERT = 0xce;
export const PREFIX_DATA = 0xcf;

/** Prefixes of files the host may create with UPDATE BINARY. */
const CREATABLE_PREFIXES = new Set([PREFIX_PRKD, PREFIX_CD, PREFIX_DCOD, PREFIX_CA_CERT, PREFIX_PROTECTED_DATA, PREFIX_EE_CERT, PREFIX_DATA]);

/** Largest EF the simulator stores (the SmartCard-HSM limits objects to a few KiB). */
export const MAX_EF_SIZE = 8192;

/** True if the host may create (and write) an EF with this FID. */
export function isCreatableFid(fid: number): boolean {
  return fid === FID_TOKEN_INFO || fid === FID_UNWRAP_STAGING || CREATABLE_PREFIXES.has(fid >> 8);
}

/** True if the FID names a key object (CCxx). */
export function isKeyFid(fid: number): boolean {
  return fid >> 8 === PREFIX_KEY;
}

/** FID as four upper-case hex digits, for persistence keys and messages. */
export function fidHex(fid: number): string {
  return fid.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * File control parameters as Pico HSM firmware 6.6 returns them for an EF (apdu-trace.txt):
 * `62 0E 81 02 <size> 82 01 <descriptor> 83 02 <fid> 8A 01 05`. Descriptor 01 = working EF,
 * transparent; the pico flavor uses 08 for the device key's own C400/CE00, as the firmware does.
 */
export function efFcp(fid: number, size: number, descriptor = 0x01): Uint8Array {
  return Uint8Array.of(0x62, 0x0e, 0x81, 0x02, size >> 8, size & 0xff, 0x82, 0x01, descriptor, 0x83, 0x02, fid >> 8, fid & 0xff, 0x8a, 0x01, 0x05);
}

/** The set of EFs: FID → content. Insertion order is kept (persistence writes it as is). */
export class ElementaryFiles {
  readonly #files = new Map<number, Uint8Array>();

  /** The content of `fid`, or undefined. */
  get(fid: number): Uint8Array | undefined {
    return this.#files.get(fid);
  }

  has(fid: number): boolean {
    return this.#files.has(fid);
  }

  /** Stores a copy of `data` as the whole content of `fid`. */
  put(fid: number, data: Uint8Array): void {
    this.#files.set(fid, data.slice());
  }

  delete(fid: number): boolean {
    return this.#files.delete(fid);
  }

  /** Every FID, in ascending order. */
  fids(): number[] {
    return [...this.#files.keys()].sort((a, b) => a - b);
  }

  /** Removes every file for which `keep` is false. */
  retain(keep: (fid: number) => boolean): void {
    for (const fid of [...this.#files.keys()]) if (!keep(fid)) this.#files.delete(fid);
  }

  /** Deep copy as plain entries, for snapshots. */
  entries(): [number, Uint8Array][] {
    return [...this.#files.entries()].map(([k, v]) => [k, v.slice()]);
  }
}
