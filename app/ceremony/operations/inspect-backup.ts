/**
 * Looking into a wrap (backup) file without a device: what it says about the key (KCV, key type,
 * label, ID, certificate holder, public key), and — given the DKEK, combined from its shares —
 * whether the DKEK is the one the blob was made under, whether the blob is authentic (CMAC), and
 * what it really contains (key size from the decrypted key data, the private key consistent with
 * itself and with the certificate's public key). The decrypted key is wiped before returning.
 *
 * Pure: no card, no file system. Each check is reported, not thrown, so everything checkable is
 * shown; `firstFailure` names the first one that failed.
 */
import { decodeWrapFile } from '../../../protocol/dkek/wrap-file.ts';
import { blobKeyConsistent, decryptKeyBlob, keyTypeName, parseKeyBlob, wipeBlobKey, type DecryptedKeyBlob } from '../../../protocol/dkek/key-blob.ts';
import { formatKcv, kcv as dkekKcv } from '../../../protocol/dkek/dkek.ts';
import { describeKeyBuiltin, type KeyDescription } from '../../card/key-list.ts';
import { bytesToBigInt, equalBytes, toHex } from '../../../protocol/bytes.ts';
import { isCeremonyError } from '../../../protocol/errors.ts';
import { decodeCertificate, describePublicKey, type CertificateInfo } from './public-key.ts';

/** One check and its outcome; `ok` null = could not be made. */
export interface InspectionCheck {
  /** stable code of the failure this check reports: KCV_MISMATCH, MAC_MISMATCH, … */
  code: string;
  /** what was checked, in words */
  name: string;
  ok: boolean | null;
  /** public detail: values compared, or why it was not checked; empty when there is nothing to add */
  detail: string;
}

export interface BackupInspection {
  /** KCV the blob carries */
  kcv: string;
  /** key type byte in words */
  keyType: string;
  /** default algorithm OID content bytes, hex */
  defaultAlgorithm: string;
  /** allowed SIGN/… algorithm ids, hex; empty = no restriction */
  allowedAlgorithms: string;
  blobLength: number;
  prkd: KeyDescription | null;
  certificate: CertificateInfo | null;
  /** present when a DKEK was given and the blob decrypted */
  decrypted: { keySize: number; key: string; padding: string } | null;
  checks: InspectionCheck[];
  warnings: string[];
}

function samePublic(d: DecryptedKeyBlob, c: CertificateInfo | null): boolean | null {
  const pk = c?.publicKey;
  if (!pk) return null;
  const k = d.key;
  if (k.type === 'ec' && pk.type === 'ec') return k.curve === pk.curve.name && equalBytes(k.q, pk.point);
  if ((k.type === 'rsa' || k.type === 'rsa-crt') && pk.type === 'rsa') return bytesToBigInt(k.n) === bytesToBigInt(pk.n) && bytesToBigInt(k.e) === bytesToBigInt(pk.e);
  return false;
}

function describeKey(d: DecryptedKeyBlob): string {
  const k = d.key;
  if (k.type === 'ec') return `EC ${k.curve}`;
  if (k.type === 'aes') return `AES ${k.key.length * 8}`;
  return `RSA ${d.keySize}${k.type === 'rsa-crt' ? ' (CRT form)' : ''}`;
}

/**
 * Inspects a wrap file. `dkek` (32 bytes) enables the DKEK checks; `expectKcv` (8 bytes) compares
 * the blob's KCV with what the custodians expect. The DKEK is not wiped here (the caller owns it).
 *
 * @throws CeremonyError usage WRAP_* / BLOB_MALFORMED when the file is not a wrap file at all
 */
export function inspectBackup(file: Uint8Array, o: { dkek?: Uint8Array | undefined; expectKcv?: Uint8Array | undefined } = {}): BackupInspection {
  const wrap = decodeWrapFile(file);
  const header = parseKeyBlob(wrap.blob);
  const warnings = [...wrap.warnings];
  const blobKcv = formatKcv(header.kcv);
  const certificate = wrap.certificate ? decodeCertificate(wrap.certificate) : null;
  if (wrap.certificate && !certificate) warnings.push('the certificate part is neither a CV request, a CV certificate nor an X.509 certificate');
  const checks: InspectionCheck[] = [];
  if (o.expectKcv) {
    const ok = equalBytes(o.expectKcv, header.kcv);
    checks.push({ code: 'KCV_MISMATCH', name: 'KCV is the expected one', ok, detail: `backup ${blobKcv}, expected ${formatKcv(o.expectKcv)}` });
  }
  let decrypted: BackupInspection['decrypted'] = null;
  if (o.dkek) {
    const dk = formatKcv(dkekKcv(o.dkek));
    const kcvOk = dk === blobKcv;
    checks.push({ code: 'KCV_MISMATCH', name: 'the DKEK shares give the backup\'s DKEK', ok: kcvOk, detail: `shares give ${dk}, backup needs ${blobKcv}` });
    if (!kcvOk) {
      checks.push({ code: 'MAC_MISMATCH', name: 'blob authentic (CMAC verified)', ok: null, detail: 'not checked: the DKEK is not the backup\'s' });
    } else {
      let d: DecryptedKeyBlob | undefined;
      try {
        d = decryptKeyBlob(wrap.blob, o.dkek);
      } catch (e) {
        if (isCeremonyError(e) && e.code === 'MAC_MISMATCH') {
          checks.push({ code: 'MAC_MISMATCH', name: 'blob authentic (CMAC verified)', ok: false, detail: 'the CMAC does not match: the blob was altered or damaged' });
        } else if (isCeremonyError(e)) {
          checks.push({ code: 'MAC_MISMATCH', name: 'blob authentic (CMAC verified)', ok: true, detail: '' });
          checks.push({ code: e.code, name: 'key data readable', ok: false, detail: e.message });
        } else {
          throw e;
        }
      }
      if (d) {
        try {
          checks.push({ code: 'MAC_MISMATCH', name: 'blob authentic (CMAC verified)', ok: true, detail: '' });
          decrypted = { keySize: d.keySize, key: describeKey(d), padding: d.padding };
          warnings.push(...d.warnings.filter((w) => !warnings.includes(w)));
          const consistent = blobKeyConsistent(d.key);
          checks.push({ code: 'KEY_INCONSISTENT', name: 'private key consistent with its public part', ok: consistent, detail: consistent ? '' : 'the decrypted key does not fit together' });
          const same = samePublic(d, certificate);
          checks.push({
            code: 'PUBLIC_KEY_MISMATCH',
            name: 'certificate holds this key\'s public key',
            ok: same,
            detail: same === null ? 'not checked: the backup has no readable public key' : same ? '' : `the certificate holds another key (${certificate?.publicKey ? describePublicKey(certificate.publicKey) : '?'})`,
          });
        } finally {
          wipeBlobKey(d.key);
        }
      }
    }
  }
  return {
    kcv: blobKcv,
    keyType: keyTypeName(header.keyType),
    defaultAlgorithm: toHex(header.defaultAlgorithm),
    allowedAlgorithms: toHex(header.allowedAlgorithms),
    blobLength: wrap.blob.length,
    prkd: wrap.prkd ? describeKeyBuiltin(wrap.prkd) : null,
    certificate,
    decrypted,
    checks,
    warnings,
  };
}

/** The first check that failed, or undefined when every check made holds. */
export function firstFailure(i: BackupInspection): InspectionCheck | undefined {
  return i.checks.find((c) => c.ok === false);
}
