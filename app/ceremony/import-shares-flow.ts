/**
 * Import DKEK shares (docs/ceremony-state-machine.md §5.3): an optional expected KCV, the share
 * files (checked and de-duplicated before any derivation), then one custodian after another
 * presents their secret. The import operation derives two shares at a time in workers and imports
 * them strictly in order; it asks for the next custodian's secret as soon as a worker is free, so
 * the next custodian types while the previous share is being derived.
 *
 * After the last share the user PIN is verified in the same card session (Pico HSM commits its
 * DKEK only then and shows a zero KCV before it) and the KCV is shown, with MATCH / MISMATCH in
 * large type when an expected KCV was given.
 *
 * A share already imported in this session is refused — by file content before any derivation, and
 * by share fingerprint after it — because the card XORs shares: the same share twice cancels out
 * and silently leaves a DKEK nobody can reproduce.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { JobRequest, PublicError } from './jobs.ts';
import type { SecretRef } from './secret-vault.ts';
import { done, endJob, errorBody, log, plural, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';
import { filePrompt, pathPrompt, pickedFile } from './file-picker.ts';
import { entryPrompt, entryStep, startEntry, type ShareSecretEntry } from './share-secret-entry.ts';

export type ImportSharesStep = 'expected-kcv' | 'listing' | 'choose-file' | 'type-path' | 'reading' | 'importing' | 'pin' | 'confirming' | 'verdict' | 'finished';

export type ShareProgress = 'waiting' | 'typing' | 'deriving' | 'opened' | 'imported';

export interface ImportSharesFlow {
  flow: 'import-shares';
  step: ImportSharesStep;
  prompt: Prompt;
  /** expected KCV as 16 upper-case hex digits, or null */
  expected: string | null;
  /** shares the device still expects */
  wanted: number;
  /** files found in the working directory */
  candidates: string[];
  files: { path: string; name: string; sha256: string; progress: ShareProgress }[];
  job: number | null;
  /** custodians waiting to type, oldest first */
  queue: ShareRequest[];
  /** the custodian typing now */
  entry: { request: ShareRequest; state: ShareSecretEntry } | null;
  /** secrets handed to the job (wiped by it) */
  pin: SecretRef | null;
  error: PublicError | null;
}

type ShareRequest = Extract<JobRequest, { kind: 'share-secret' }>;

const TITLE = 'Import DKEK shares';

function flowOf(s: CeremonyState): ImportSharesFlow {
  if (s.screen.flow !== 'import-shares') throw new Error('not in the import-shares flow');
  return s.screen;
}

function withFlow(s: CeremonyState, f: ImportSharesFlow, effects: Effect[] = []): Transition {
  return done({ ...s, screen: f }, effects);
}

/** Starts the flow (the menu offers it only while the device expects shares). */
export function startImportShares(s: CeremonyState): Transition {
  const d = s.device?.status.dkek ?? null;
  const wanted = d?.outstanding ?? 0;
  const f: ImportSharesFlow = {
    flow: 'import-shares',
    step: 'expected-kcv',
    prompt: {
      kind: 'text',
      title: TITLE,
      body: [
        `The device expects ${plural(wanted, 'more share')}${d ? ` (${d.total - d.outstanding} of ${d.total} imported)` : ''}.`,
        'If the custodians recorded the DKEK key check value (KCV) of an earlier ceremony, type it to have it checked at the end. Leave it empty otherwise.',
      ],
      label: 'Expected KCV (optional)',
      initial: '',
    },
    expected: null,
    wanted,
    candidates: [],
    files: [],
    job: null,
    queue: [],
    entry: null,
    pin: null,
    error: null,
  };
  return done({ ...s, screen: f });
}

function choosePrompt(s: CeremonyState, f: ImportSharesFlow): Prompt {
  const created = s.createdShares.map((c) => c.path);
  const paths = [...new Set([...f.candidates, ...created])].sort();
  const list = paths.map((p) => relative(s, p));
  const disabled = new Map<string, string>();
  f.files.forEach((x, i) => disabled.set(relative(s, x.path), `already chosen as share file ${i + 1}`));
  const n = f.files.length;
  const body = [
    ...f.files.map((x, i) => `${i + 1}. ${x.name}`),
    `Choose share file ${n + 1} of ${f.wanted}${n > 0 ? ', or start with the files chosen so far' : ''}.`,
  ];
  const extra = n > 0 ? [{ value: 'start', key: 's', label: `Start importing ${plural(n, 'file')}`, hint: n < f.wanted ? `${f.wanted - n} more can be imported later` : 'custodians type their secrets next' }] : [];
  return filePrompt(`${TITLE}: share file ${n + 1} of ${f.wanted}`, body, list, extra, disabled);
}

function relative(s: CeremonyState, p: string): string {
  const base = s.options.cwd.endsWith('/') ? s.options.cwd : `${s.options.cwd}/`;
  return p.startsWith(base) ? p.slice(base.length) : p;
}

function statusLines(f: ImportSharesFlow): string[] {
  const word: Record<ShareProgress, string> = { waiting: 'waiting', typing: 'custodian typing', deriving: 'deriving the key…', opened: 'opened, importing', imported: 'imported ✓' };
  return f.files.map((x, i) => `${i + 1}. ${x.name}: ${word[x.progress]}`);
}

function importingPrompt(f: ImportSharesFlow): Prompt {
  if (f.entry) return entryPrompt(f.entry.state);
  const pending = f.files.some((x) => x.progress === 'waiting');
  return {
    kind: 'busy',
    title: TITLE,
    body: [...statusLines(f), pending ? 'The next custodian is called as soon as a worker is free.' : 'Imports happen in order. Escape stops after the current share.'],
  };
}

function setProgress(f: ImportSharesFlow, index: number, p: ShareProgress): ImportSharesFlow {
  return { ...f, files: f.files.map((x, i) => (i === index ? { ...x, progress: p } : x)) };
}

/** Starts the next waiting custodian's entry, if none is typing. */
function nextCustodian(f: ImportSharesFlow): ImportSharesFlow {
  // a custodian who is typing keeps their prompt (a new prompt object would reset the input)
  if (f.entry) return f;
  if (f.queue.length === 0) return { ...f, prompt: importingPrompt(f) };
  const [request, ...queue] = f.queue;
  const who = `Custodian ${request!.index + 1} of ${f.files.length}`;
  const { entry } = startEntry(request!.name, who);
  const nf = setProgress({ ...f, queue, entry: { request: request!, state: entry } }, request!.index, 'typing');
  return { ...nf, prompt: importingPrompt(nf) };
}

function pinPrompt(error?: string): Prompt {
  return {
    kind: 'secret',
    title: `${TITLE}: confirm the DKEK`,
    body: [
      'All shares are in. The user PIN is verified now, in the same card session: Pico HSM keeps a new DKEK only after that, and shows its key check value only then.',
      'Escape skips this (the KCV may then read as unknown).',
    ],
    label: 'User PIN',
    secretKind: 'user-pin',
    ...(error ? { error } : {}),
  };
}

function finished(s: CeremonyState, f: ImportSharesFlow, prompt: Prompt, effects: Effect[] = []): Transition {
  return withFlow(s, { ...f, step: 'finished', job: null, entry: null, queue: [], prompt }, effects);
}

function refreshStatus(s: CeremonyState): { state: CeremonyState; effect: Effect } {
  const j = startJob(s, { kind: 'read-status' }, 'reading the device');
  return { state: j.state, effect: j.effect };
}

/** Handles one event in the import-shares flow. */
export function reduceImportShares(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = flowOf(s);

  // Updates from the running import, whatever the step.
  if (f.job !== null && e.type === 'job-update' && e.id === f.job) {
    const u = e.update;
    if (u.kind === 'share-deriving') return withFlow(s, refresh(setProgress(f, u.index, 'deriving')));
    if (u.kind === 'share-opened') return withFlow(s, refresh(setProgress(f, u.index, 'opened')));
    if (u.kind !== 'share-imported') return done(s);
    let st = log(s, 'done', `DKEK share ${u.name} imported (fingerprint ${u.fingerprint}): ${u.imported} of ${u.total}, ${u.outstanding} outstanding`);
    // what the card answered to the import is the device's DKEK state now: the panel follows it
    if (st.device?.status.dkek) {
      const d = st.device;
      st = { ...st, device: { ...d, status: { ...d.status, dkek: { ...d.status.dkek!, total: u.total, outstanding: u.outstanding, kcv: u.outstanding > 0 ? null : d.status.dkek!.kcv } } } };
    }
    const sha = f.files[u.index]?.sha256 ?? null;
    return withFlow({ ...st, importedShares: [...st.importedShares, { name: u.name, fingerprint: u.fingerprint, sha256: sha }] }, refresh(setProgress(f, u.index, 'imported')));
  }
  if (f.job !== null && e.type === 'job-request' && e.id === f.job && e.request.kind === 'share-secret') {
    return withFlow(s, nextCustodian({ ...f, queue: [...f.queue, e.request] }));
  }

  switch (f.step) {
    case 'expected-kcv': {
      if (e.type === 'back') return done({ ...s, screen: menuScreen(s) });
      if (e.type !== 'text') return done(s);
      const t = e.value.trim().replace(/[\s:-]/g, '');
      if (t !== '' && !/^[0-9a-fA-F]{16}$/.test(t)) return withFlow(s, { ...f, prompt: { ...f.prompt, error: 'a KCV is 16 hex digits, e.g. 1D1083E78237E99D; leave it empty to skip' } as Prompt });
      const j = startJob(s, { kind: 'list-files', extensions: ['.pbe'] }, 'listing share files');
      return withFlow(j.state, { ...f, step: 'listing', expected: t === '' ? null : t.toUpperCase(), job: j.id, prompt: { kind: 'busy', title: TITLE, body: ['Looking for share files…'] } }, [j.effect]);
    }
    case 'listing':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'list-files') {
        const { dir, files } = e.result;
        const nf = { ...f, step: 'choose-file' as const, job: null, candidates: files.map((x) => `${dir}/${x}`) };
        return withFlow(s, { ...nf, prompt: choosePrompt(s, nf) });
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const nf = { ...f, step: 'choose-file' as const, job: null };
        return withFlow(s, { ...nf, prompt: choosePrompt(s, nf) });
      }
      if (e.type === 'back') return done({ ...endJob(s, f.job!), screen: menuScreen(s) });
      return done(s);
    case 'choose-file': {
      if (e.type === 'back') {
        if (f.files.length === 0) return done({ ...s, screen: menuScreen(log(s, 'info', 'import shares: cancelled, nothing imported')) });
        const nf = { ...f, files: f.files.slice(0, -1) };
        return withFlow(s, { ...nf, prompt: choosePrompt(s, nf) });
      }
      if (e.type === 'choose' && e.value === 'start' && f.files.length > 0) return startImport(s, f);
      const p = pickedFile(e);
      if (!p) return done(s);
      if ('type' in p) return withFlow(s, { ...f, step: 'type-path', prompt: pathPrompt(`${TITLE}: share file ${f.files.length + 1}`, ['The path of the share file (relative to the working directory, or absolute).']) });
      return readFile(s, f, p.file);
    }
    case 'type-path':
      if (e.type === 'back') return withFlow(s, { ...f, step: 'choose-file', prompt: choosePrompt(s, f) });
      if (e.type !== 'text') return done(s);
      if (e.value.trim() === '') return withFlow(s, { ...f, prompt: pathPrompt(`${TITLE}: share file ${f.files.length + 1}`, [], 'type a path') });
      return readFile(s, f, e.value.trim());
    case 'reading':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'read-share-file') {
        const r = e.result;
        const back = { ...f, step: 'choose-file' as const, job: null };
        const twin = f.files.find((x) => x.sha256 === r.sha256);
        if (twin) return rejectFile(s, back, `${r.name} is the same share file as ${twin.name}: each share may be imported only once`);
        const imported = s.importedShares.find((x) => x.sha256 === r.sha256);
        if (imported) return rejectFile(s, back, `${r.name} holds the share already imported in this session from ${imported.name}; the card would XOR it twice`);
        const nf = { ...back, files: [...f.files, { path: r.path, name: r.name, sha256: r.sha256, progress: 'waiting' as const }] };
        if (nf.files.length >= f.wanted) return startImport(s, nf);
        return withFlow(s, { ...nf, prompt: choosePrompt(s, nf) });
      }
      if (e.type === 'job-failed' && e.id === f.job) return rejectFile(s, { ...f, step: 'choose-file', job: null }, e.error.message);
      return done(s);
    case 'importing':
      if (e.type === 'back' && !f.entry) {
        return withFlow(s, { ...f, prompt: { kind: 'busy', title: TITLE, body: [...statusLines(f), 'Stopping after the current share…'] } }, [{ type: 'cancel-job', id: f.job! }]);
      }
      if (f.entry && (e.type === 'choose' || e.type === 'text' || e.type === 'secret-entered' || e.type === 'back')) {
        const out = entryStep(f.entry.state, e);
        if (out.kind === 'ignored') return done(s);
        if (out.kind === 'cancel') {
          const nf = { ...f, entry: null, prompt: { kind: 'busy', title: TITLE, body: [...statusLines(f), 'Stopping: no more shares are imported.'] } as Prompt };
          return withFlow(s, nf, [{ type: 'wipe', refs: out.wipe }, { type: 'cancel-job', id: f.job! }]);
        }
        if (out.kind === 'prompt') {
          const nf = { ...f, entry: { ...f.entry, state: out.entry }, prompt: out.prompt };
          return withFlow(s, nf, out.wipe.length > 0 ? [{ type: 'wipe', refs: out.wipe }] : []);
        }
        // the secret goes to the job, which wipes it when its derivation ends
        const nf = nextCustodian(setProgress({ ...f, entry: null }, f.entry.request.index, 'deriving'));
        return withFlow(s, nf, [{ type: 'supply-secret', id: f.job!, secret: out.secret }]);
      }
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'import-shares') {
        const r = e.result;
        const rs = refreshStatus(s);
        if (r.outstanding === 0) {
          return withFlow(rs.state, { ...f, step: 'pin', job: null, entry: null, prompt: pinPrompt() }, [rs.effect]);
        }
        const st = log(rs.state, 'info', `DKEK: ${r.total - r.outstanding} of ${r.total} shares imported, ${r.outstanding} outstanding`);
        return finished(st, f, {
          kind: 'notice',
          title: `${plural(r.imported.length, 'share')} imported`,
          tone: 'success',
          body: [`The device still expects ${plural(r.outstanding, 'share')}. Import them when their custodians are here: the shares imported so far stay on the device.`],
        }, [rs.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const rs = refreshStatus(s);
        const leftover = f.entry ? f.entry.state.entries.map((x) => x.value) : [];
        const st = log(rs.state, e.error.kind === 'incomplete' ? 'info' : 'error', `import shares: ${e.error.message}`);
        return finished(st, { ...f, error: e.error }, {
          kind: 'choose',
          title: e.error.kind === 'incomplete' ? 'Import stopped' : 'Import failed',
          tone: e.error.kind === 'incomplete' ? 'warning' : 'error',
          body: errorBody(e.error),
          options: [
            { value: 'import-shares', key: 'r', label: 'Import the remaining shares' },
            { value: 'menu', key: 'q', label: 'Back to the menu' },
          ],
        }, [rs.effect, ...(leftover.length > 0 ? [{ type: 'wipe' as const, refs: leftover }] : [])]);
      }
      return done(s);
    case 'pin':
      if (e.type === 'back') return confirm(s, f, undefined);
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return withFlow(s, { ...f, prompt: pinPrompt(e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return confirm(s, f, e.ref);
    case 'confirming':
      if (e.type === 'job-done' && e.id === f.job && e.result.kind === 'confirm-dkek') {
        const c = e.result.confirmation;
        let st = log(s, c.kcv ? 'done' : 'warn', c.kcv ? `DKEK complete: key check value ${c.kcv}${c.matches === true ? ' (matches the expected KCV)' : c.matches === false ? ` (MISMATCH: ${c.expected} was expected)` : ''}` : 'DKEK complete, but the device shows no key check value');
        if (c.loggedIn) st = log(st, 'info', 'user PIN verified');
        const rs = refreshStatus(st);
        const body = c.matches === false
          ? ['A share was wrong or missing, or the expected KCV belongs to another DKEK. Backups made under the expected DKEK will not restore here.']
          : c.kcv === null
            ? ['Log in with the user PIN (menu: Log in) to see the KCV on Pico HSM.']
            : ['Record this KCV with the ceremony: every later import and every backup is checked against it.'];
        return withFlow(rs.state, { ...f, step: 'verdict', job: null, pin: null, prompt: { kind: 'kcv', title: 'DKEK key check value', kcv: c.kcv, expected: c.expected, matches: c.matches, body } }, [rs.effect, ...(f.pin !== null ? [{ type: 'wipe' as const, refs: [f.pin] }] : [])]);
      }
      if (e.type === 'job-failed' && e.id === f.job) {
        const wipe: Effect[] = f.pin !== null ? [{ type: 'wipe', refs: [f.pin] }] : [];
        if (e.error.code === 'WRONG_PIN') return withFlow(s, { ...f, step: 'pin', job: null, pin: null, prompt: pinPrompt(e.error.message) }, wipe);
        const st = log(s, 'error', `confirm DKEK: ${e.error.message}`);
        return finished(st, { ...f, pin: null }, { kind: 'notice', title: 'The KCV could not be read', tone: 'error', body: errorBody(e.error, ['All shares are imported.']) }, wipe);
      }
      return done(s);
    case 'verdict':
    case 'finished':
      if (e.type === 'continue' || e.type === 'back' || (e.type === 'choose' && e.value === 'menu')) return done({ ...s, screen: menuScreen(s) });
      return done(s); // 'import-shares' (retry) is routed by reducer.ts
  }
}

function refresh(f: ImportSharesFlow): ImportSharesFlow {
  return f.step === 'importing' && !f.entry ? { ...f, prompt: importingPrompt(f) } : f;
}

function rejectFile(s: CeremonyState, f: ImportSharesFlow, why: string): Transition {
  const p = choosePrompt(s, f);
  return withFlow(s, { ...f, prompt: p.kind === 'choose' ? { ...p, body: [...p.body, `✗ ${why}`], tone: 'error' } : p });
}

function readFile(s: CeremonyState, f: ImportSharesFlow, path: string): Transition {
  const j = startJob(s, { kind: 'read-share-file', path }, 'reading the share file');
  return withFlow(j.state, { ...f, step: 'reading', job: j.id, prompt: { kind: 'busy', title: TITLE, body: [`Reading ${path}…`] } }, [j.effect]);
}

function startImport(s: CeremonyState, f: ImportSharesFlow): Transition {
  const j = startJob(
    s,
    { kind: 'import-shares', files: f.files.map((x) => ({ path: x.path, name: x.name })), alreadyImported: s.importedShares.map((x) => x.fingerprint) },
    `importing ${plural(f.files.length, 'DKEK share')}`,
  );
  const nf: ImportSharesFlow = { ...f, step: 'importing', job: j.id, queue: [], entry: null };
  return withFlow(j.state, { ...nf, prompt: importingPrompt(nf) }, [j.effect]);
}

function confirm(s: CeremonyState, f: ImportSharesFlow, pin: SecretRef | undefined): Transition {
  const j = startJob(s, { kind: 'confirm-dkek', ...(pin !== undefined ? { pin } : {}), expectKcv: f.expected }, 'reading the key check value');
  return withFlow(j.state, { ...f, step: 'confirming', job: j.id, pin: pin ?? null, prompt: { kind: 'busy', title: TITLE, body: [pin !== undefined ? 'Verifying the user PIN and reading the KCV…' : 'Reading the KCV…'] } }, [j.effect]);
}

/** What an interrupted import leaves undone, for the exit summary. */
export function unfinishedImportShares(s: CeremonyState, f: ImportSharesFlow): string[] {
  if (f.step === 'verdict') return [];
  const imported = f.files.filter((x) => x.progress === 'imported').map((x) => x.name);
  const rest = f.files.filter((x) => x.progress !== 'imported').map((x) => x.name);
  const out: string[] = [];
  if (imported.length > 0) out.push(`import shares: imported ${imported.join(', ')} (they stay on the device)`);
  if (rest.length > 0) out.push(`import shares: not imported: ${rest.join(', ')}`);
  if (f.step === 'pin' || f.step === 'confirming') out.push('import shares: all shares are in, but the user PIN was not verified after the last one: on Pico HSM verify it (menu: Log in) before the device restarts');
  const d = s.device?.status.dkek;
  if (d && d.outstanding > 0 && f.step !== 'pin') out.push(`the device still expects ${plural(d.outstanding, 'DKEK share')}`);
  return out;
}
