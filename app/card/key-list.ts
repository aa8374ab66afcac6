/**
 * The keys on a SmartCard-HSM, listed the way `pkcs15-tool -D` walks them (spec §3, §9): ENUMERATE
 * OBJECTS, then for every key file `CC xx` in the card's order, the key description EF `C4 xx`
 * (PKCS#15 PRKD) and the certificate EF `CE xx` (X.509 certificate, CV certificate, or the CV
 * request `67 …` a key generation leaves). Files that do not exist are simply absent; Pico HSM's
 * ENUMERATE does not list `CE` files, so each is selected whatever the list says.
 *
 * Decoding is injectable (`KeyDecoders`) so the shared PRKD/CVC/X.509 decoders can be plugged in;
 * the built-in one reads only what a listing shows.
 */
import { toHex } from '../../protocol/bytes.ts';
import { decodeOid, findTlv, readAllTlvs, readTlv, type Tlv } from '../../protocol/der.ts';
import { FID_PREFIX, type SmartCardHsm } from './sc-hsm.ts';
import { CardError } from './status-words.ts';

export type KeyType = 'EC' | 'RSA' | 'secret' | 'unknown';

/** What a key description (PRKD) says. Fields it does not carry are null. */
export interface KeyDescription {
  type: KeyType;
  label: string | null;
  /** CKA_ID / PKCS#15 iD as hex */
  id: string | null;
  /** keyReference inside the PRKD (may be stale after a restore: the FID is authoritative) */
  keyReference: number | null;
  /** modulus length (RSA) or field size (EC) in bits */
  bits: number | null;
}

export type CertificateKind = 'cv-request' | 'cv-certificate' | 'x509' | 'unknown';

/** What EF `CE xx` holds. */
export interface CertificateDescription {
  kind: CertificateKind;
  /** CV: the certificate holder reference (CHR); X.509: the subject's common name */
  holder: string | null;
  /** key type and size from the public key it carries, when readable */
  type: KeyType | null;
  bits: number | null;
}

export interface KeyDecoders {
  describeKey(prkd: Uint8Array): KeyDescription;
  describeCertificate(cert: Uint8Array): CertificateDescription;
}

/** One key as listed. */
export interface KeyListing {
  /** key reference = low byte of the key FID `CC xx` */
  keyRef: number;
  /** key 0 is the device authentication key (C_DevAut) */
  deviceKey: boolean;
  label: string | null;
  id: string | null;
  type: KeyType;
  bits: number | null;
  certificate: CertificateDescription | null;
  /** the raw EFs, for callers that decode more (wrap files copy them verbatim) */
  prkd: Uint8Array | null;
  cert: Uint8Array | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function integer(t: Tlv | undefined): number | null {
  if (!t || t.tag !== 0x02 || t.value.length === 0 || t.value.length > 6) return null;
  let n = 0;
  for (const b of t.value) n = n * 256 + b;
  return n;
}

function children(t: Tlv | undefined): Tlv[] {
  if (!t || !t.constructed) return [];
  try {
    return readAllTlvs(t.value);
  } catch {
    return [];
  }
}

/**
 * Reads a PKCS#15 private key description: `30` RSA or `A0` EC (PrivateKeyType), with
 * CommonObjectAttributes (label `0C`), CommonKeyAttributes (iD `04`, keyReference `02`) and the
 * type attributes `[1]` (first INTEGER: modulus length or field size). Anything unreadable is null.
 */
export function describeKeyBuiltin(prkd: Uint8Array): KeyDescription {
  const none: KeyDescription = { type: 'unknown', label: null, id: null, keyReference: null, bits: null };
  let outer: Tlv;
  try {
    outer = readTlv(prkd, 0);
  } catch {
    return none;
  }
  const type: KeyType = outer.tag === 0x30 ? 'RSA' : outer.tag === 0xa0 ? 'EC' : outer.tag >= 0xa4 && outer.tag <= 0xaf ? 'secret' : 'unknown';
  const parts = children(outer);
  const objectAttrs = children(parts[0]);
  const keyAttrs = children(parts[1]);
  const typeAttrs = children(findTlv(parts, 0xa1));
  const label = findTlv(objectAttrs, 0x0c);
  const id = findTlv(keyAttrs, 0x04);
  const ref = keyAttrs.filter((t) => t.tag === 0x02).pop();
  const bits = integer(children(typeAttrs[0]).find((t) => t.tag === 0x02));
  return {
    type,
    label: label ? utf8.decode(label.value) : null,
    id: id ? toHex(id.value) : null,
    keyReference: integer(ref),
    bits,
  };
}

const OID_CN = '2.5.4.3';

function publicKeyFromCv(body: Tlv[]): { type: KeyType | null; bits: number | null } {
  const pk = children(findTlv(body, 0x7f49));
  const oid = findTlv(pk, 0x06);
  if (!oid) return { type: null, bits: null };
  const o = toHex(oid.value);
  // id-TA-RSA-* are 04 00 7F 00 07 02 02 02 01 xx; id-TA-ECDSA-* are … 02 02 02 02 xx
  if (o.startsWith('04007f00070202020')) {
    const isEc = o.startsWith('04007f000702020202');
    const field = findTlv(pk, 0x81);
    let n = field ? field.value.length : 0;
    if (field && field.value[0] === 0) n--;
    return { type: isEc ? 'EC' : 'RSA', bits: field ? n * 8 : null };
  }
  return { type: null, bits: null };
}

/**
 * Reads EF `CE xx`: a CV request (`67 { 7F21 … }`), a CV certificate (`7F21`), or an X.509
 * certificate (`30`). Returns the holder (CHR, or the subject CN) and the public key's type/size.
 */
export function describeCertificateBuiltin(cert: Uint8Array): CertificateDescription {
  const none: CertificateDescription = { kind: 'unknown', holder: null, type: null, bits: null };
  let outer: Tlv;
  try {
    outer = readTlv(cert, 0);
  } catch {
    return none;
  }
  if (outer.tag === 0x67 || outer.tag === 0x7f21) {
    const cvc = outer.tag === 0x67 ? findTlv(children(outer), 0x7f21) : outer;
    const body = children(findTlv(children(cvc), 0x7f4e));
    const chr = findTlv(body, 0x5f20);
    return { kind: outer.tag === 0x67 ? 'cv-request' : 'cv-certificate', holder: chr ? utf8.decode(chr.value) : null, ...publicKeyFromCv(body) };
  }
  if (outer.tag === 0x30) {
    const tbs = children(children(outer)[0]);
    // tbsCertificate: [0] version?, serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    const start = tbs[0]?.tag === 0xa0 ? 1 : 0;
    const subject = tbs[start + 4];
    let holder: string | null = null;
    for (const rdn of children(subject)) {
      for (const atv of children(rdn)) {
        const [oid, value] = children(atv);
        if (oid?.tag === 0x06 && value) {
          try {
            if (decodeOid(oid.value) === OID_CN) holder = utf8.decode(value.value);
          } catch {
            // not an OID we can read: skip this attribute
          }
        }
      }
    }
    return { kind: 'x509', holder, type: null, bits: null };
  }
  return none;
}

export const BUILTIN_DECODERS: KeyDecoders = { describeKey: describeKeyBuiltin, describeCertificate: describeCertificateBuiltin };

/** Reads a file, or null if it is absent or refused (a listing shows what it can). */
async function readOptional(hsm: SmartCardHsm, fid: number): Promise<Uint8Array | null> {
  try {
    return await hsm.tryReadFile(fid);
  } catch (e) {
    if (e instanceof CardError) return null;
    throw e;
  }
}

/**
 * Lists the keys on the device in the card's order. Needs the applet selected; no PIN.
 *
 * @throws CardError from ENUMERATE OBJECTS; CeremonyError device errors from the transport
 */
export async function listKeys(hsm: SmartCardHsm, decoders: KeyDecoders = BUILTIN_DECODERS): Promise<KeyListing[]> {
  const fids = await hsm.enumerateObjects();
  const out: KeyListing[] = [];
  for (const fid of fids) {
    if (fid >> 8 !== FID_PREFIX.KEY) continue;
    const ref = fid & 0xff;
    const prkd = await readOptional(hsm, (FID_PREFIX.PRKD << 8) | ref);
    const cert = await readOptional(hsm, (FID_PREFIX.EE_CERT << 8) | ref);
    const d = prkd && prkd.length > 0 ? decoders.describeKey(prkd) : null;
    const c = cert && cert.length > 0 ? decoders.describeCertificate(cert) : null;
    out.push({
      keyRef: ref,
      deviceKey: ref === 0,
      label: d?.label ?? null,
      id: d?.id ?? null,
      type: d && d.type !== 'unknown' ? d.type : (c?.type ?? 'unknown'),
      bits: d?.bits ?? c?.bits ?? null,
      certificate: c,
      prkd,
      cert,
    });
  }
  return out;
}

const KIND_TEXT: Record<CertificateKind, string> = {
  'cv-request': 'CV request',
  'cv-certificate': 'CV certificate',
  x509: 'X.509 certificate',
  unknown: 'unreadable certificate file',
};

/**
 * The listing as text in the layout of `pkcs15-tool -D` ("Private EC Key [label]" and indented
 * fields), one block per key.
 */
export function formatKeyListing(keys: readonly KeyListing[]): string {
  const blocks = keys.map((k) => {
    const kind = k.type === 'EC' ? 'EC ' : k.type === 'RSA' ? 'RSA ' : k.type === 'secret' ? 'secret ' : '';
    const lines = [`Private ${kind}Key [${k.label ?? ''}]${k.deviceKey ? ' (device authentication key)' : ''}`];
    const field = (name: string, value: string) => lines.push(`\t${name.padEnd(15)}: ${value}`);
    field('Key ref', `${k.keyRef} (0x${k.keyRef.toString(16).toUpperCase().padStart(2, '0')})`);
    if (k.id !== null) field('ID', k.id);
    if (k.bits !== null) field(k.type === 'RSA' ? 'ModLength' : 'FieldLength', String(k.bits));
    if (k.certificate) field('Certificate', `${KIND_TEXT[k.certificate.kind]}${k.certificate.holder ? `, holder ${k.certificate.holder}` : ''}`);
    return lines.join('\n');
  });
  return blocks.join('\n\n');
}
