/**
 * The two flows that need no device (docs/ceremony-state-machine.md §5.6):
 * - verify a share file: does this passphrase (or these password shares) open it? The key
 *   derivation runs in a worker with a progress bar; the result names the share by fingerprint;
 * - inspect a backup (wrap) file: what it holds, the KCV of the DKEK it is under, its SHA-256.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import { done, endJob, errorBody, log, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';
import { filePrompt, pathPrompt, pickedFile } from './file-picker.ts';
import { entryStep, secretRefs, startEntry, type ShareSecretEntry } from './share-secret-entry.ts';
import type { BackupInfo } from './jobs.ts';

export type OfflineFlow =
  | { flow: 'verify-share'; step: 'listing' | 'choose-file' | 'type-path' | 'reading' | 'secret' | 'deriving' | 'result'; prompt: Prompt; job: number | null; files: string[]; path: string | null; name: string | null; entry: ShareSecretEntry | null }
  | { flow: 'inspect'; step: 'listing' | 'choose-file' | 'type-path' | 'reading' | 'result'; prompt: Prompt; job: number | null; files: string[] };

type VerifyFlow = Extract<OfflineFlow, { flow: 'verify-share' }>;
type InspectFlow = Extract<OfflineFlow, { flow: 'inspect' }>;

const VERIFY = 'Verify a share file';
const INSPECT = 'Inspect a backup file';

export function startVerifyShare(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'list-files', extensions: ['.pbe'] }, 'listing share files');
  const f: VerifyFlow = { flow: 'verify-share', step: 'listing', prompt: { kind: 'busy', title: VERIFY, body: ['Looking for share files…'] }, job: j.id, files: [], path: null, name: null, entry: null };
  return done({ ...j.state, screen: f }, [j.effect]);
}

export function startInspect(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'list-files', extensions: ['.wrap', '.bin', '.der'] }, 'listing backup files');
  const f: InspectFlow = { flow: 'inspect', step: 'listing', prompt: { kind: 'busy', title: INSPECT, body: ['Looking for backup files…'] }, job: j.id, files: [] };
  return done({ ...j.state, screen: f }, [j.effect]);
}

function verifyChoose(files: string[], error?: string): Prompt {
  const p = filePrompt(VERIFY, ['Offline: checks that a passphrase (or n-of-m password shares) opens a share file. Nothing is sent to any device.'], files);
  return error ? ({ ...p, body: [...(p.kind === 'choose' ? p.body : []), `✗ ${error}`], tone: 'error' } as Prompt) : p;
}

function inspectChoose(files: string[], error?: string): Prompt {
  const p = filePrompt(INSPECT, ['Offline: shows what a backup (wrap) file holds and the KCV of the DKEK it was made under.'], files);
  return error ? ({ ...p, body: [...(p.kind === 'choose' ? p.body : []), `✗ ${error}`], tone: 'error' } as Prompt) : p;
}

function toMenu(s: CeremonyState, effects: Effect[] = []): Transition {
  return done({ ...s, screen: menuScreen(s) }, effects);
}

/** Handles one event of the verify-share flow. */
export function reduceVerifyShare(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as VerifyFlow;
  const at = (g: Partial<VerifyFlow>, effects: Effect[] = []): Transition => done({ ...s, screen: { ...f, ...g } }, effects);
  switch (f.step) {
    case 'listing':
      if (e.type === 'back') return toMenu(endJob(s, f.job!));
      if ((e.type === 'job-done' || e.type === 'job-failed') && e.id === f.job) {
        const files = e.type === 'job-done' && e.result.kind === 'list-files' ? e.result.files : [];
        return at({ step: 'choose-file', job: null, files, prompt: verifyChoose(files) });
      }
      return done(s);
    case 'choose-file': {
      if (e.type === 'back') return toMenu(s);
      const p = pickedFile(e);
      if (!p) return done(s);
      if ('type' in p) return at({ step: 'type-path', prompt: pathPrompt(VERIFY, ['The path of the share file.']) });
      return readShare(s, f, p.file);
    }
    case 'type-path':
      if (e.type === 'back') return at({ step: 'choose-file', prompt: verifyChoose(f.files) });
      if (e.type !== 'text' || e.value.trim() === '') return done(s);
      return readShare(s, f, e.value.trim());
    case 'reading':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'read-share-file') {
        const { entry, prompt } = startEntry(e.result.name, 'Custodian');
        return at({ step: 'secret', job: null, path: e.result.path, name: e.result.name, entry, prompt });
      }
      if (e.type === 'job-failed' && e.id === f.job) return at({ step: 'choose-file', job: null, prompt: verifyChoose(f.files, e.error.message) });
      return done(s);
    case 'secret': {
      const out = entryStep(f.entry!, e);
      if (out.kind === 'ignored') return done(s);
      if (out.kind === 'cancel') return done({ ...s, screen: { ...f, step: 'choose-file', entry: null, prompt: verifyChoose(f.files) } }, [{ type: 'wipe', refs: out.wipe }]);
      if (out.kind === 'prompt') return at({ entry: out.entry, prompt: out.prompt }, out.wipe.length > 0 ? [{ type: 'wipe', refs: out.wipe }] : []);
      const j = startJob(s, { kind: 'verify-share', path: f.path!, secret: out.secret }, `deriving the key of ${f.name}`);
      // the runner copies the secret when the job starts; the vault's copies go now
      return done(
        { ...j.state, screen: { ...f, step: 'deriving', job: j.id, entry: null, prompt: { kind: 'busy', title: VERIFY, body: [`Opening ${f.name}: the key derivation takes a few seconds. Escape cancels.`] } } },
        [j.effect, { type: 'wipe', refs: secretRefs(out.secret) }],
      );
    }
    case 'deriving':
      if (e.type === 'back') return done(s, [{ type: 'cancel-job', id: f.job! }]);
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'verify-share') {
        const r = e.result;
        const st = log(s, 'done', `share file ${r.name} opens (${r.openedWith}); share fingerprint ${r.fingerprint}`);
        return done({ ...st, screen: { ...f, step: 'result', job: null, prompt: { kind: 'notice', title: `${r.name} opens`, tone: 'success', body: [`Opened with: ${r.openedWith}.`, `Share fingerprint: ${r.fingerprint}`, 'The fingerprint names this share in records without revealing it.'] } } });
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const cancelled = e.error.code === 'KDF_CANCELLED';
        const st = log(s, cancelled ? 'info' : 'warn', `verify ${f.name}: ${e.error.message}`);
        return done({ ...st, screen: { ...f, step: 'result', job: null, prompt: { kind: 'notice', title: cancelled ? 'Cancelled' : `${f.name} did not open`, tone: cancelled ? 'info' : 'error', body: errorBody(e.error) } } });
      }
      return done(s);
    case 'result':
      if (e.type === 'continue' || e.type === 'back') return toMenu(s);
      return done(s);
  }
}

function readShare(s: CeremonyState, f: VerifyFlow, path: string): Transition {
  const j = startJob(s, { kind: 'read-share-file', path }, 'reading the share file');
  return done({ ...j.state, screen: { ...f, step: 'reading', job: j.id, prompt: { kind: 'busy', title: VERIFY, body: [`Reading ${path}…`] } } }, [j.effect]);
}

/** The lines that describe a backup file. */
export function backupLines(b: BackupInfo): string[] {
  const key = `${b.keyType}${b.bits ? ` ${b.bits} bits` : ''}`;
  return [
    `Key:         ${key}${b.label ? `, label "${b.label}"` : ''}${b.id ? `, ID ${b.id}` : ''}${b.keyReference !== null ? `, was key reference ${b.keyReference}` : ''}`,
    `DKEK KCV:    ${b.kcv}  (restores only into a device whose DKEK has this KCV)`,
    `Contains:    key blob${b.hasPrkd ? ', key description (PRKD)' : ''}${b.hasCertificate ? `, ${b.certificate ?? 'certificate'}${b.holder ? ` of ${b.holder}` : ''}` : ''}`,
    `SHA-256:     ${b.sha256}`,
    ...b.warnings.map((w) => `Warning: ${w}`),
  ];
}

/** Handles one event of the inspect flow. */
export function reduceInspect(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as InspectFlow;
  const at = (g: Partial<InspectFlow>, effects: Effect[] = []): Transition => done({ ...s, screen: { ...f, ...g } }, effects);
  switch (f.step) {
    case 'listing':
      if (e.type === 'back') return toMenu(endJob(s, f.job!));
      if ((e.type === 'job-done' || e.type === 'job-failed') && e.id === f.job) {
        const files = e.type === 'job-done' && e.result.kind === 'list-files' ? e.result.files : [];
        return at({ step: 'choose-file', job: null, files, prompt: inspectChoose(files) });
      }
      return done(s);
    case 'choose-file': {
      if (e.type === 'back') return toMenu(s);
      const p = pickedFile(e);
      if (!p) return done(s);
      if ('type' in p) return at({ step: 'type-path', prompt: pathPrompt(INSPECT, ['The path of the backup file.']) });
      return readBackup(s, f, p.file);
    }
    case 'type-path':
      if (e.type === 'back') return at({ step: 'choose-file', prompt: inspectChoose(f.files) });
      if (e.type !== 'text' || e.value.trim() === '') return done(s);
      return readBackup(s, f, e.value.trim());
    case 'reading':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'inspect-backup') {
        const b = e.result.info;
        const st = log(s, 'info', `backup ${b.name}: ${b.keyType}${b.label ? ` "${b.label}"` : ''}, DKEK KCV ${b.kcv}, SHA-256 ${b.sha256}`);
        return done({ ...st, screen: { ...f, step: 'result', job: null, prompt: { kind: 'notice', title: `Backup file ${b.name}`, tone: b.warnings.length > 0 ? 'warning' : 'info', body: backupLines(b) } } });
      }
      if (e.type === 'job-failed' && e.id === f.job) return at({ step: 'choose-file', job: null, prompt: inspectChoose(f.files, e.error.message) });
      return done(s);
    case 'result':
      if (e.type === 'continue' || e.type === 'back') return toMenu(s);
      return done(s);
  }
}

function readBackup(s: CeremonyState, f: InspectFlow, path: string): Transition {
  const j = startJob(s, { kind: 'inspect-backup', path }, 'reading the backup file');
  return done({ ...j.state, screen: { ...f, step: 'reading', job: j.id, prompt: { kind: 'busy', title: INSPECT, body: [`Reading ${path}…`] } } }, [j.effect]);
}
