/**
 * Jobs: the work the reducer asks for and the effect runner performs (docs/ceremony-state-machine.md
 * §4). A job is data — its kind and public parameters, secrets only as vault references — so an
 * effect list can be compared in tests and written to a log. Each job ends in exactly one
 * `job-done` (with the result of its kind) or `job-failed` event; long jobs also report progress,
 * updates, and requests the reducer answers with a `supply-secret` effect.
 */
import type { ErrorKind } from '../../protocol/errors.ts';
import type { SecretRef } from './secret-vault.ts';
import type { DeviceStatus } from './operations/read-status.ts';
import type { InitializeSurvey } from './operations/initialize-device.ts';
import type { DkekConfirmation } from './operations/confirm-dkek.ts';

/** An error as the reducer and the screens see it: public fields only. */
export interface PublicError {
  code: string;
  kind: ErrorKind;
  message: string;
  hint?: string;
  /** public machine-readable detail, e.g. tries left */
  detail?: Record<string, unknown>;
}

/** The device as the screens show it. */
export interface DeviceView {
  /** one line: the reader, or the simulator and why it was chosen */
  description: string;
  /** the built-in simulator */
  simulated: boolean;
  /** the simulator or a virtual (vpcd) reader: software, not a physical device */
  virtual: boolean;
  status: DeviceStatus;
}

/** A key as listed (no raw files). */
export interface KeyRow {
  keyRef: number;
  deviceKey: boolean;
  label: string | null;
  id: string | null;
  type: string;
  bits: number | null;
  /** certificate or CV request holder, when there is one */
  holder: string | null;
  certificate: string | null;
}

/** How a custodian opens a share file: references into the vault, never the secret. */
export type ShareSecretRef =
  | { kind: 'passphrase'; passphrase: SecretRef }
  | { kind: 'pwd-shares'; prime: string; entries: { idText: string; value: SecretRef }[] };

/** What the offline inspection of a backup (wrap) file shows. */
export interface BackupInfo {
  path: string;
  name: string;
  sha256: string;
  bytes: number;
  kcv: string;
  keyType: string;
  label: string | null;
  id: string | null;
  keyReference: number | null;
  bits: number | null;
  hasPrkd: boolean;
  hasCertificate: boolean;
  certificate: string | null;
  holder: string | null;
  warnings: string[];
}

/** Everything a job can be asked to do. */
export type JobSpec =
  | { kind: 'read-status'; pin?: SecretRef }
  | { kind: 'survey-initialize' }
  | { kind: 'initialize'; soPin: SecretRef; pin: SecretRef; dkekShares: number | null; keyCount: number }
  | { kind: 'list-files'; extensions: string[] }
  | { kind: 'check-new-file'; path: string }
  | { kind: 'split-password'; threshold: number; total: number }
  | { kind: 'create-share'; path: string; secret: { kind: 'passphrase'; passphrase: SecretRef } | { kind: 'split'; split: SecretRef } }
  | { kind: 'read-share-file'; path: string }
  | { kind: 'import-shares'; files: { path: string; name: string }[]; alreadyImported: string[] }
  | { kind: 'confirm-dkek'; pin?: SecretRef; expectKcv: string | null }
  | { kind: 'verify-share'; path: string; secret: ShareSecretRef }
  | { kind: 'list-keys' }
  | { kind: 'inspect-backup'; path: string }
  | { kind: 'generate-key'; keyRef: number; key: GeneratedKeyKind; label: string; pin?: SecretRef }
  | { kind: 'backup'; keyRefs: number[]; dir: string; pin?: SecretRef }
  | { kind: 'restore'; path: string; keyRef: number; pin?: SecretRef }
  | { kind: 'change-pin'; change: PinChange; current: SecretRef; next: SecretRef };

/** The key pairs the generate flow offers (rehearsal keys to back up and restore). */
export type GeneratedKeyKind = 'ec-p256' | 'ec-p384' | 'rsa-2048';

/** The three PIN changes: user PIN, unblock (reset) the user PIN with the SO-PIN, the SO-PIN. */
export type PinChange = 'change-pin' | 'unblock-pin' | 'change-so-pin';

/** What occupies a key reference a restore would write to. */
export interface OccupantView {
  key: boolean;
  prkd: boolean;
  certificate: boolean;
  label: string | null;
}

/** One written backup file. */
export interface BackupWritten {
  keyRef: number;
  path: string;
  name: string;
  label: string | null;
  keyType: string;
  kcv: string;
  sha256: string;
  warnings: string[];
}

export type JobKind = JobSpec['kind'];

/** The result of each kind of job. */
export type JobResult =
  | { kind: 'read-status'; device: DeviceView }
  | { kind: 'survey-initialize'; survey: InitializeSurvey }
  | { kind: 'initialize'; dkek: { total: number; outstanding: number; kcv: string | null } | null }
  | { kind: 'list-files'; dir: string; files: string[] }
  | { kind: 'check-new-file'; path: string; name: string }
  | { kind: 'split-password'; split: SecretRef; prime: string; threshold: number; total: number }
  | { kind: 'create-share'; path: string; name: string; fingerprint: string }
  | { kind: 'read-share-file'; path: string; name: string; sha256: string }
  | { kind: 'import-shares'; imported: { name: string; fingerprint: string; openedWith: string }[]; total: number; outstanding: number }
  | { kind: 'confirm-dkek'; confirmation: DkekConfirmation }
  | { kind: 'verify-share'; name: string; fingerprint: string; openedWith: string }
  | { kind: 'list-keys'; keys: KeyRow[] }
  | { kind: 'inspect-backup'; info: BackupInfo }
  | { kind: 'generate-key'; keyRef: number; label: string; id: string; publicKey: string }
  | { kind: 'backup'; written: BackupWritten[]; failed: { keyRef: number; message: string }[]; kcv: string }
  | {
      kind: 'restore';
      keyRef: number;
      kcv: string;
      keyType: string;
      label: string | null;
      id: string | null;
      replaced: boolean;
      /** "ECDSA over SHA-256" etc., null when the key could not be test-signed */
      proof: string | null;
      publicKeySource: 'backup' | 'device' | null;
      warnings: string[];
    }
  | { kind: 'change-pin'; change: PinChange; triesLeft: number | null };

/** Something a running job reports before it ends. */
export type JobUpdate =
  | { kind: 'share-deriving'; index: number; name: string }
  | { kind: 'share-opened'; index: number; name: string; fingerprint: string }
  | { kind: 'share-imported'; index: number; name: string; fingerprint: string; imported: number; total: number; outstanding: number }
  | { kind: 'key-backed-up'; file: BackupWritten }
  | { kind: 'key-not-backed-up'; keyRef: number; message: string }
  /** a step of a restore, in words (KCV checked, trial unwrap, unwrapped, proof, warnings) */
  | { kind: 'restore-step'; text: string; warning: boolean };

/** Something a running job needs from the people at the terminal. */
export type JobRequest =
  | { kind: 'share-secret'; index: number; name: string }
  /** the restore target is occupied: may it be replaced (after the card accepted the backup in a trial)? */
  | { kind: 'confirm-replace'; keyRef: number; occupant: OccupantView };

/** A job as the screens show it while it runs. */
export interface JobView {
  id: number;
  kind: JobKind;
  /** what is being done, e.g. "encrypting dkek-share-1.pbe" */
  label: string;
  /** per part (e.g. per share of an import): label and progress of its key derivation */
  parts: { part: number; label: string; done: number; total: number }[];
  /** true for a job that changes the card: Ctrl-C waits for it instead of abandoning it */
  changesCard: boolean;
}

/** Jobs whose interruption could leave the card half-changed; Ctrl-C lets them reach a safe point. */
export const CARD_CHANGING_JOBS: ReadonlySet<JobKind> = new Set<JobKind>(['initialize', 'import-shares', 'generate-key', 'backup', 'restore', 'change-pin', 'confirm-dkek']);
