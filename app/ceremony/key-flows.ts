/**
 * The key flows (docs/ceremony-state-machine.md §5.4–5.5):
 * - generate a key pair (for rehearsals: something to back up and restore);
 * - back up one, several or all keys (never the device key at reference 0) into a folder: each
 *   blob's KCV is checked against the device KCV before its file is written, files are never
 *   overwritten, and each file's SHA-256 is shown and logged;
 * - restore a key from a backup: the file is inspected offline first (its KCV is compared with the
 *   device's before anything is sent), the target reference is chosen, and replacing what is there
 *   needs the typed phrase; the operation proves the card accepts the backup before deleting
 *   anything, and proves the restored key signs.
 *
 * Each asks the user PIN first unless this session already verified it.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { BackupInfo, BackupWritten, GeneratedKeyKind, KeyRow, OccupantView } from './jobs.ts';
import type { SecretRef } from './secret-vault.ts';
import { done, endJob, errorBody, log, plural, startJob, type CeremonyState, type Option, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';
import { filePrompt, pathPrompt, pickedFile } from './file-picker.ts';
import { backupLines } from './offline-flows.ts';

export type KeyFlow =
  | {
      flow: 'generate-key';
      step: 'kind' | 'ref' | 'label' | 'pin' | 'running' | 'finished';
      prompt: Prompt;
      job: number | null;
      key: GeneratedKeyKind;
      keyRef: number;
      label: string;
    }
  | {
      flow: 'backup';
      step: 'listing' | 'select' | 'dir' | 'pin' | 'running' | 'finished';
      prompt: Prompt;
      job: number | null;
      keys: KeyRow[];
      selected: number[];
      dir: string;
      written: BackupWritten[];
    }
  | {
      flow: 'restore';
      step: 'listing' | 'choose-file' | 'type-path' | 'inspecting' | 'ref' | 'pin' | 'running' | 'replace' | 'finished';
      prompt: Prompt;
      job: number | null;
      files: string[];
      info: BackupInfo | null;
      keyRef: number;
      occupant: OccupantView | null;
      steps: string[];
    };

type GenerateFlow = Extract<KeyFlow, { flow: 'generate-key' }>;
type BackupFlow = Extract<KeyFlow, { flow: 'backup' }>;
type RestoreFlow = Extract<KeyFlow, { flow: 'restore' }>;

function loggedIn(s: CeremonyState): boolean {
  return s.device?.status.loggedIn === true;
}

function pinPrompt(title: string, why: string, error?: string): Prompt {
  return { kind: 'secret', title, body: [why], label: 'User PIN', secretKind: 'user-pin', ...(error ? { error } : {}) };
}

/** The lowest key reference that holds nothing, or 1. */
function freeRef(s: CeremonyState, prefer?: number | null): number {
  const used = new Set(s.device?.status.keyRefs ?? []);
  if (prefer && prefer >= 1 && prefer <= 255 && !used.has(prefer)) return prefer;
  for (let r = 1; r <= 255; r++) if (!used.has(r)) return r;
  return 1;
}

function parseRef(text: string): number | null {
  const t = text.trim();
  const n = Number(t);
  return /^\d{1,3}$/.test(t) && n >= 1 && n <= 255 ? n : null;
}

function toMenu(s: CeremonyState, effects: Effect[] = []): Transition {
  return done({ ...s, screen: menuScreen(s) }, effects);
}

function refresh(s: CeremonyState): { state: CeremonyState; effect: Effect } {
  const j = startJob(s, { kind: 'read-status' }, 'reading the device');
  return { state: j.state, effect: j.effect };
}

// ---------------------------------------------------------------------------------------------
// Generate

const GEN = 'Generate a key pair';
const KINDS: Option[] = [
  { value: 'ec-p256', key: '1', label: 'EC P-256', hint: 'ECDSA; the common choice' },
  { value: 'ec-p384', key: '2', label: 'EC P-384' },
  { value: 'rsa-2048', key: '3', label: 'RSA 2048', hint: 'takes a few seconds on a real device' },
];

export function startGenerateKey(s: CeremonyState): Transition {
  const f: GenerateFlow = { flow: 'generate-key', step: 'kind', prompt: { kind: 'choose', title: GEN, body: ['The private key is made on the device and can leave it only as a backup under the DKEK.'], options: KINDS }, job: null, key: 'ec-p256', keyRef: 0, label: '' };
  return done({ ...s, screen: f });
}

function runGenerate(s: CeremonyState, f: GenerateFlow, pin: SecretRef | undefined): Transition {
  const j = startJob(s, { kind: 'generate-key', keyRef: f.keyRef, key: f.key, label: f.label, ...(pin !== undefined ? { pin } : {}) }, `generating key ${f.keyRef}`);
  return done({ ...j.state, screen: { ...f, step: 'running', job: j.id, prompt: { kind: 'busy', title: GEN, body: [`Generating key ${f.keyRef} on the device…`] } } }, [j.effect, ...(pin !== undefined ? [{ type: 'wipe' as const, refs: [pin] }] : [])]);
}

export function reduceGenerateKey(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as GenerateFlow;
  const at = (g: Partial<GenerateFlow>, effects: Effect[] = []): Transition => done({ ...s, screen: { ...f, ...g } }, effects);
  if (e.type === 'back' && f.step !== 'running') return toMenu(s);
  switch (f.step) {
    case 'kind':
      if (e.type !== 'choose' || !KINDS.some((k) => k.value === e.value)) return done(s);
      return at({ step: 'ref', key: e.value as GeneratedKeyKind, prompt: { kind: 'text', title: GEN, body: [`Used key references: ${s.device?.status.keyRefs.join(', ') || 'none'}.`], label: 'Key reference (1-255)', initial: String(freeRef(s)) } });
    case 'ref': {
      if (e.type !== 'text') return done(s);
      const ref = parseRef(e.value);
      if (ref === null) return at({ prompt: { ...f.prompt, error: 'type a key reference from 1 to 255' } as Prompt });
      if (s.device?.status.keyRefs.includes(ref)) return at({ prompt: { ...f.prompt, error: `key reference ${ref} is in use; choose a free one` } as Prompt });
      return at({ step: 'label', keyRef: ref, prompt: { kind: 'text', title: GEN, body: ['Applications (PKCS#11) find keys by their label.'], label: 'Label', initial: `key-${ref}` } });
    }
    case 'label': {
      if (e.type !== 'text') return done(s);
      const label = e.value.trim();
      if (label === '' || new TextEncoder().encode(label).length > 64) return at({ prompt: { ...f.prompt, error: 'a label of 1 to 64 bytes' } as Prompt });
      const nf = { ...f, label };
      if (loggedIn(s)) return runGenerate(s, nf, undefined);
      return done({ ...s, screen: { ...nf, step: 'pin', prompt: pinPrompt(GEN, 'Key generation needs the user PIN.') } });
    }
    case 'pin':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at({ prompt: pinPrompt(GEN, 'Key generation needs the user PIN.', e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return runGenerate(s, f, e.ref);
    case 'running':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'generate-key') {
        const r = e.result;
        const st = log(s, 'done', `key ${r.keyRef} generated: ${r.publicKey}, label "${r.label}", ID ${r.id}`);
        const rs = refresh(st);
        return done({ ...rs.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: `Key ${r.keyRef} generated`, tone: 'success', body: [`${r.publicKey}, label "${r.label}", ID ${r.id}.`, 'Its CV request and key description are on the device.'] } } }, [rs.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const st = log(s, 'error', `generate key ${f.keyRef}: ${e.error.message}`);
        const rs = refresh(st);
        if (e.error.code === 'WRONG_PIN' && e.error.detail?.triesLeft !== 0) return done({ ...rs.state, screen: { ...f, step: 'pin', job: null, prompt: pinPrompt(GEN, 'Key generation needs the user PIN.', e.error.message) } }, [rs.effect]);
        return done({ ...rs.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: 'No key was generated', tone: 'error', body: errorBody(e.error) } } }, [rs.effect]);
      }
      return done(s);
    case 'finished':
      if (e.type === 'continue' || e.type === 'back') return toMenu(s);
      return done(s);
  }
}

// ---------------------------------------------------------------------------------------------
// Back up

const BACKUP = 'Back up keys';

export function startBackup(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'list-keys' }, 'listing the keys');
  const f: BackupFlow = { flow: 'backup', step: 'listing', prompt: { kind: 'busy', title: BACKUP, body: ['Reading the key list…'] }, job: j.id, keys: [], selected: [], dir: '.', written: [] };
  return done({ ...j.state, screen: f }, [j.effect]);
}

function keyLabel(k: KeyRow): string {
  return `key ${k.keyRef}${k.label ? ` "${k.label}"` : ''}: ${k.type}${k.bits ? ` ${k.bits}` : ''}${k.id ? `, ID ${k.id}` : ''}`;
}

function selectPrompt(f: BackupFlow, error?: string): Prompt {
  const keys = f.keys.filter((k) => !k.deviceKey);
  return {
    kind: 'pick',
    title: BACKUP,
    body: ['Space selects, a selects all, Enter backs up the selected keys. The device key (reference 0) can never be exported.'],
    options: keys.map((k) => ({ value: String(k.keyRef), label: keyLabel(k) })),
    selected: f.selected.map(String),
    ...(error ? { error } : {}),
  };
}

function runBackup(s: CeremonyState, f: BackupFlow, pin: SecretRef | undefined): Transition {
  const j = startJob(s, { kind: 'backup', keyRefs: f.selected, dir: f.dir, ...(pin !== undefined ? { pin } : {}) }, `backing up ${plural(f.selected.length, 'key')}`);
  return done({ ...j.state, screen: { ...f, step: 'running', job: j.id, prompt: { kind: 'busy', title: BACKUP, body: [`Wrapping ${plural(f.selected.length, 'key')} under the DKEK; each blob's KCV is checked before its file is written.`] } } }, [j.effect, ...(pin !== undefined ? [{ type: 'wipe' as const, refs: [pin] }] : [])]);
}

export function reduceBackup(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as BackupFlow;
  const at = (g: Partial<BackupFlow>, effects: Effect[] = []): Transition => done({ ...s, screen: { ...f, ...g } }, effects);
  if (f.job !== null && e.type === 'job-update' && e.id === f.job) {
    const u = e.update;
    if (u.kind === 'key-backed-up') {
      const w = u.file;
      const st = log(s, 'done', `key ${w.keyRef} backed up to ${w.name} (DKEK KCV ${w.kcv}, SHA-256 ${w.sha256})`);
      return done({ ...st, screen: { ...f, written: [...f.written, w] } });
    }
    if (u.kind === 'key-not-backed-up') return done(log(s, 'error', `key ${u.keyRef} not backed up: ${u.message}`));
    return done(s);
  }
  if (e.type === 'back' && f.step === 'listing') return toMenu(endJob(s, f.job!));
  if (e.type === 'back' && f.step === 'running') return done(s, [{ type: 'cancel-job', id: f.job! }]);
  if (e.type === 'back' && f.step !== 'running') return toMenu(s);
  switch (f.step) {
    case 'listing':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'list-keys') {
        const keys = e.result.keys;
        const exportable = keys.filter((k) => !k.deviceKey);
        if (exportable.length === 0) return at({ step: 'finished', job: null, prompt: { kind: 'notice', title: BACKUP, tone: 'info', body: ['There is no key to back up (the device key at reference 0 cannot be exported).'] } });
        const nf = { ...f, keys, job: null, step: 'select' as const, selected: exportable.map((k) => k.keyRef) };
        return at({ ...nf, prompt: selectPrompt(nf) });
      }
      if (e.type === 'job-failed' && e.id === f.job) return at({ step: 'finished', job: null, prompt: { kind: 'notice', title: 'The keys could not be listed', tone: 'error', body: errorBody(e.error) } });
      return done(s);
    case 'select': {
      if (e.type !== 'pick') return done(s);
      const refs = e.values.map(Number).filter((n) => f.keys.some((k) => k.keyRef === n && !k.deviceKey)).sort((a, b) => a - b);
      if (refs.length === 0) return at({ selected: [], prompt: selectPrompt({ ...f, selected: [] }, 'select at least one key (Space)') });
      return at({ step: 'dir', selected: refs, prompt: { kind: 'text', title: BACKUP, body: [`${plural(refs.length, 'file')} named key-<reference>-<label>.bin, mode 0600; existing files are never overwritten.`], label: 'Folder', initial: '.' } });
    }
    case 'dir': {
      if (e.type !== 'text') return done(s);
      const dir = e.value.trim() || '.';
      const nf = { ...f, dir };
      if (loggedIn(s)) return runBackup(s, nf, undefined);
      return done({ ...s, screen: { ...nf, step: 'pin', prompt: pinPrompt(BACKUP, 'WRAP KEY needs the user PIN (and Pico HSM shows its KCV only after it).') } });
    }
    case 'pin':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at({ prompt: pinPrompt(BACKUP, 'WRAP KEY needs the user PIN.', e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return runBackup(s, f, e.ref);
    case 'running':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'backup') {
        const r = e.result;
        const body = [
          ...r.written.flatMap((w) => [`✓ ${w.name}  key ${w.keyRef}${w.label ? ` "${w.label}"` : ''}, ${w.keyType}`, `    SHA-256 ${w.sha256}`, ...w.warnings.map((x) => `    note: ${x}`)]),
          ...r.failed.map((x) => `✗ key ${x.keyRef}: ${x.message}`),
          `All under DKEK ${r.kcv}: they restore into any device whose DKEK has this KCV.`,
        ];
        const rs = refresh(s);
        return done({ ...rs.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: r.failed.length === 0 ? `${plural(r.written.length, 'backup')} written` : 'Some keys were not backed up', tone: r.failed.length === 0 ? 'success' : 'warning', body } } }, [rs.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const st = log(s, e.error.kind === 'incomplete' ? 'info' : 'error', `back up: ${e.error.message}`);
        const rs = refresh(st);
        if (e.error.code === 'WRONG_PIN' && e.error.detail?.triesLeft !== 0) return done({ ...rs.state, screen: { ...f, step: 'pin', job: null, prompt: pinPrompt(BACKUP, 'WRAP KEY needs the user PIN.', e.error.message) } }, [rs.effect]);
        const written = f.written.map((w) => w.name);
        return done({ ...rs.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: 'Back up stopped', tone: 'error', body: errorBody(e.error, written.length > 0 ? [`Written (complete): ${written.join(', ')}.`] : ['No file was written.']) } } }, [rs.effect]);
      }
      return done(s);
    case 'finished':
      if (e.type === 'continue') return toMenu(s);
      return done(s);
  }
}

// ---------------------------------------------------------------------------------------------
// Restore

const RESTORE = 'Restore a key';

export const replacePhrase = (ref: number): string => `replace key ${ref}`;

export function startRestore(s: CeremonyState): Transition {
  const j = startJob(s, { kind: 'list-files', extensions: ['.bin', '.wrap', '.der'] }, 'listing backup files');
  const f: RestoreFlow = { flow: 'restore', step: 'listing', prompt: { kind: 'busy', title: RESTORE, body: ['Looking for backup files…'] }, job: j.id, files: [], info: null, keyRef: 0, occupant: null, steps: [] };
  return done({ ...j.state, screen: f }, [j.effect]);
}

function chooseBackup(f: RestoreFlow, error?: string): Prompt {
  const p = filePrompt(RESTORE, ['Choose the backup (wrap) file. It is read and checked before anything is sent to the device.'], f.files);
  return error && p.kind === 'choose' ? { ...p, body: [...p.body, `✗ ${error}`], tone: 'error' } : p;
}

function refPrompt(s: CeremonyState, f: RestoreFlow, error?: string): Prompt {
  const b = f.info!;
  return {
    kind: 'text',
    title: `${RESTORE}: ${b.name}`,
    body: [...backupLines(b), `Used key references on the device: ${s.device?.status.keyRefs.join(', ') || 'none'}.`],
    label: 'Restore into key reference',
    initial: String(freeRef(s, b.keyReference)),
    ...(error ? { error } : {}),
  };
}

function runRestore(s: CeremonyState, f: RestoreFlow, pin: SecretRef | undefined): Transition {
  const j = startJob(s, { kind: 'restore', path: f.info!.path, keyRef: f.keyRef, ...(pin !== undefined ? { pin } : {}) }, `restoring into key ${f.keyRef}`);
  return done({ ...j.state, screen: { ...f, step: 'running', job: j.id, steps: [], prompt: { kind: 'busy', title: RESTORE, body: ['Checking the device DKEK against the backup…'] } } }, [j.effect, ...(pin !== undefined ? [{ type: 'wipe' as const, refs: [pin] }] : [])]);
}

function occupantText(o: OccupantView): string {
  return [o.key && 'a key', o.prkd && 'a key description', o.certificate && 'a certificate'].filter(Boolean).join(', ') + (o.label ? ` (label "${o.label}")` : '');
}

export function reduceRestore(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = s.screen as RestoreFlow;
  const at = (g: Partial<RestoreFlow>, effects: Effect[] = []): Transition => done({ ...s, screen: { ...f, ...g } }, effects);
  if (f.job !== null && e.type === 'job-update' && e.id === f.job && e.update.kind === 'restore-step') {
    const u = e.update;
    const st = log(s, u.warning ? 'warn' : 'info', `restore: ${u.text}`);
    const steps = [...f.steps, u.text];
    const prompt: Prompt = f.step === 'running' ? { kind: 'busy', title: RESTORE, body: steps.slice(-6) } : f.prompt;
    return done({ ...st, screen: { ...f, steps, prompt } });
  }
  if (f.job !== null && e.type === 'job-request' && e.id === f.job && e.request.kind === 'confirm-replace') {
    const o = e.request.occupant;
    return at({
      step: 'replace',
      occupant: o,
      prompt: {
        kind: 'phrase',
        title: `Replace what is at key reference ${e.request.keyRef}?`,
        body: [
          `Key reference ${e.request.keyRef} holds ${occupantText(o)}.`,
          'The old key is deleted only after the card has accepted the backup in a trial at a free reference; then the backup is unwrapped into its place.',
          'Type the phrase to replace it, or press Escape to leave it alone.',
        ],
        phrase: replacePhrase(e.request.keyRef),
      },
    });
  }
  switch (f.step) {
    case 'listing':
      if (e.type === 'back') return toMenu(endJob(s, f.job!));
      if ((e.type === 'job-done' || e.type === 'job-failed') && e.id === f.job) {
        const files = e.type === 'job-done' && e.result.kind === 'list-files' ? e.result.files : [];
        const nf = { ...f, files, job: null, step: 'choose-file' as const };
        return at({ ...nf, prompt: chooseBackup(nf) });
      }
      return done(s);
    case 'choose-file': {
      if (e.type === 'back') return toMenu(s);
      const p = pickedFile(e);
      if (!p) return done(s);
      if ('type' in p) return at({ step: 'type-path', prompt: pathPrompt(RESTORE, ['The path of the backup file.']) });
      return inspect(s, f, p.file);
    }
    case 'type-path':
      if (e.type === 'back') return at({ step: 'choose-file', prompt: chooseBackup(f) });
      if (e.type !== 'text' || e.value.trim() === '') return done(s);
      return inspect(s, f, e.value.trim());
    case 'inspecting':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'inspect-backup') {
        const info = e.result.info;
        const device = s.device?.status.dkek?.kcv ?? null;
        if (device !== null && device !== info.kcv) {
          const st = log(s, 'warn', `restore: ${info.name} was made under DKEK ${info.kcv}, the device DKEK is ${device}; nothing was sent`);
          return done({
            ...st,
            screen: {
              ...f,
              step: 'finished',
              job: null,
              info,
              prompt: { kind: 'notice', title: 'This backup belongs to another DKEK', tone: 'error', body: [`${info.name} was made under DKEK ${info.kcv}; this device's DKEK is ${device}. Nothing was sent to the device.`, '→ restore it into a device that holds the same DKEK shares as the one it was backed up from'] },
            },
          });
        }
        const nf = { ...f, job: null, info, step: 'ref' as const };
        return at({ ...nf, prompt: refPrompt(s, nf) });
      }
      if (e.type === 'job-failed' && e.id === f.job) return at({ step: 'choose-file', job: null, prompt: chooseBackup(f, e.error.message) });
      return done(s);
    case 'ref': {
      if (e.type === 'back') return at({ step: 'choose-file', prompt: chooseBackup(f) });
      if (e.type !== 'text') return done(s);
      const ref = parseRef(e.value);
      if (ref === null) return at({ prompt: refPrompt(s, f, 'type a key reference from 1 to 255 (0 is the device key)') });
      const nf = { ...f, keyRef: ref };
      if (loggedIn(s)) return runRestore(s, nf, undefined);
      return done({ ...s, screen: { ...nf, step: 'pin', prompt: pinPrompt(RESTORE, 'UNWRAP needs the user PIN; the device KCV is compared with the backup\'s before anything is sent.') } });
    }
    case 'pin':
      if (e.type === 'back') return toMenu(s);
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at({ prompt: pinPrompt(RESTORE, 'UNWRAP needs the user PIN.', e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return runRestore(s, f, e.ref);
    case 'replace':
      if (e.type === 'back') return at({ step: 'running', prompt: { kind: 'busy', title: RESTORE, body: ['Not replaced; finishing…'] } }, [{ type: 'answer-request', id: f.job!, ok: false }]);
      if (e.type !== 'text') return done(s);
      if (e.value.trim() !== replacePhrase(f.keyRef)) return at({ prompt: { ...f.prompt, error: `type exactly: ${replacePhrase(f.keyRef)}` } as Prompt });
      return at({ step: 'running', prompt: { kind: 'busy', title: RESTORE, body: ['Trying the backup at a free key reference first…'] } }, [{ type: 'answer-request', id: f.job!, ok: true }]);
    case 'running':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'restore') {
        const r = e.result;
        const st = log(s, 'done', `key ${r.keyRef} restored from ${f.info!.name}${r.replaced ? ' (replacing the old one)' : ''}: ${r.keyType}${r.label ? ` "${r.label}"` : ''}, DKEK KCV ${r.kcv}${r.proof ? `; test signature verified (${r.proof})` : '; not test-signed'}`);
        const rs = refresh(st);
        const body = [
          `${r.keyType}${r.label ? `, label "${r.label}"` : ''}${r.id ? `, ID ${r.id}` : ''}, now at key reference ${r.keyRef}.`,
          r.proof ? `Proof: the device signed a fresh challenge (${r.proof}), verified with the public key from the ${r.publicKeySource === 'device' ? 'device' : 'backup'}.` : 'The key could not be test-signed (no public key available).',
          ...r.warnings.map((w) => `Warning: ${w}`),
        ];
        return done({ ...rs.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: `Key ${r.keyRef} restored`, tone: r.proof ? 'success' : 'warning', body } } }, [rs.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const st = log(s, e.error.kind === 'incomplete' ? 'info' : 'error', `restore: ${e.error.message}`);
        const rs = refresh(st);
        if (e.error.code === 'WRONG_PIN' && e.error.detail?.triesLeft !== 0) return done({ ...rs.state, screen: { ...f, step: 'pin', job: null, prompt: pinPrompt(RESTORE, 'UNWRAP needs the user PIN.', e.error.message) } }, [rs.effect]);
        return done({ ...rs.state, screen: { ...f, step: 'finished', job: null, prompt: { kind: 'notice', title: e.error.kind === 'incomplete' ? 'Not restored' : 'Restore failed', tone: 'error', body: errorBody(e.error) } } }, [rs.effect]);
      }
      return done(s);
    case 'finished':
      if (e.type === 'continue' || e.type === 'back') return toMenu(s);
      return done(s);
  }
}

function inspect(s: CeremonyState, f: RestoreFlow, path: string): Transition {
  const j = startJob(s, { kind: 'inspect-backup', path }, 'reading the backup file');
  return done({ ...j.state, screen: { ...f, step: 'inspecting', job: j.id, prompt: { kind: 'busy', title: RESTORE, body: [`Reading ${path}…`] } } }, [j.effect]);
}

/** What an interrupted key flow leaves undone, for the exit summary. */
export function unfinishedKeyFlow(f: KeyFlow): string[] {
  if (f.step === 'finished') return [];
  if (f.flow === 'backup') {
    const w = f.written.map((x) => x.name);
    return [`back up: ${w.length > 0 ? `written (complete): ${w.join(', ')}` : 'no backup file was written'}`];
  }
  if (f.flow === 'restore') return [f.step === 'running' || f.step === 'replace' ? `restore: stopped; ${f.steps.length > 0 ? `last step: ${f.steps[f.steps.length - 1]}` : 'nothing was changed'}` : 'restore: not started; nothing was changed'];
  return [f.step === 'running' ? `generate key: stopped while generating key ${f.keyRef}; check the key list` : 'generate key: not done'];
}
