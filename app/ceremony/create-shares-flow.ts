/**
 * Create DKEK share files (docs/ceremony-state-machine.md §5.2). For each share: how it is
 * protected (a passphrase, or n-of-m password shares), the file name (never an existing file), the
 * secret. Each share's key derivation starts in a worker the moment its secret is complete, so the
 * next custodian types while it runs (the runner allows two derivations at once, one per core).
 *
 * n-of-m: the password is random; each custodian sees only their own password share, alone on the
 * screen, and the screen is erased (scrollback too) before the next custodian is called.
 *
 * A share file is written only when its derivation finished, so Escape or Ctrl-C leaves either a
 * complete file or none.
 */
import type { CeremonyEvent } from './events.ts';
import type { Effect } from './effects.ts';
import type { PublicError } from './jobs.ts';
import type { SecretRef } from './secret-vault.ts';
import { done, endJob, isRunning, log, plural, startJob, type CeremonyState, type Prompt, type Transition } from './state.ts';
import { menuScreen } from './menu.ts';

export type CreateSharesStep =
  | 'count'
  | 'mode'
  | 'split-spec'
  | 'path'
  | 'checking-path'
  | 'passphrase'
  | 'passphrase-again'
  | 'splitting'
  | 'handover'
  | 'reveal'
  | 'finishing'
  | 'summary';

export interface CreateSharesFlow {
  flow: 'create-shares';
  step: CreateSharesStep;
  prompt: Prompt;
  /** shares to create in this run */
  count: number;
  /** 1-based number of the share being set up */
  index: number;
  mode: 'passphrase' | 'pwd-shares';
  threshold: number;
  total: number;
  /** the chosen file of the current share, once checked */
  path: string | null;
  name: string | null;
  checkJob: number | null;
  first: SecretRef | null;
  split: { ref: SecretRef; prime: string; threshold: number; total: number; custodian: number } | null;
  /** derivations under way */
  running: { job: number; index: number; name: string; protection: string }[];
  created: { index: number; name: string; path: string; fingerprint: string; protection: string }[];
  failed: { index: number; name: string; error: PublicError }[];
  /** paths chosen in this run (so two shares never get the same name) */
  taken: string[];
}

const TITLE = 'Create DKEK share files';

function flowOf(s: CeremonyState): CreateSharesFlow {
  if (s.screen.flow !== 'create-shares') throw new Error('not in the create-shares flow');
  return s.screen;
}

function at(s: CeremonyState, f: Partial<CreateSharesFlow>, effects: Effect[] = []): Transition {
  return done({ ...s, screen: { ...flowOf(s), ...f } }, effects);
}

function title(f: Pick<CreateSharesFlow, 'index' | 'count'>): string {
  return `${TITLE}: share ${f.index} of ${f.count}`;
}

function defaultName(f: CreateSharesFlow): string {
  for (let i = f.index; ; i++) {
    const name = `dkek-share-${i}.pbe`;
    if (!f.taken.includes(name)) return name;
  }
}

function modePrompt(f: CreateSharesFlow): Prompt {
  return {
    kind: 'choose',
    title: title(f),
    body: ['How should this share file be protected? Its custodian needs this to import it.'],
    options: [
      { value: 'passphrase', key: 'p', label: 'A passphrase', hint: 'the custodian chooses it and types it twice (hidden)' },
      { value: 'pwd-shares', key: 'n', label: 'n-of-m password shares', hint: 'a random password split so that any n of m custodians can open the file' },
    ],
  };
}

function pathPromptFor(f: CreateSharesFlow, error?: string): Prompt {
  return {
    kind: 'text',
    title: title(f),
    body: ['The share file (64 bytes, readable by sc-hsm-tool). An existing file is never overwritten.'],
    label: 'File',
    initial: defaultName(f),
    ...(error ? { error } : {}),
  };
}

function passphrasePrompt(f: CreateSharesFlow, error?: string): Prompt {
  return {
    kind: 'secret',
    title: title(f),
    body: [
      `Custodian of ${f.name}: choose the passphrase. More than 10 characters, or several random words; nothing is shown while typing.`,
      'Keep the file safe, and a paper copy (e.g. "openssl base64 -in FILE").',
    ],
    label: 'New passphrase',
    secretKind: 'new-passphrase',
    ...(error ? { error } : {}),
  };
}

function flowStart(count: number, s: CeremonyState): CreateSharesFlow {
  const f: CreateSharesFlow = {
    flow: 'create-shares',
    step: 'mode',
    prompt: { kind: 'busy', title: TITLE, body: [] },
    count,
    index: 1,
    mode: 'passphrase',
    threshold: 0,
    total: 0,
    path: null,
    name: null,
    checkJob: null,
    first: null,
    split: null,
    running: [],
    created: [],
    failed: [],
    taken: s.createdShares.map((c) => c.name),
  };
  return { ...f, prompt: modePrompt(f) };
}

/**
 * Starts the flow. With `count` (e.g. right after initializing with N shares) it goes straight to
 * the first share; without, it asks how many.
 */
export function startCreateShares(s: CeremonyState, count?: number): Transition {
  if (count !== undefined && count >= 1) return done({ ...s, screen: flowStart(count, s) });
  const expected = s.device?.status.dkek?.outstanding ?? 0;
  const f = flowStart(1, s);
  return done({
    ...s,
    screen: {
      ...f,
      step: 'count',
      prompt: {
        kind: 'text',
        title: TITLE,
        body: ['Every share file holds a new random 32-byte DKEK share. The device combines all of its shares into its DKEK.'],
        label: 'How many share files',
        initial: String(expected > 0 ? expected : 1),
      },
    },
  });
}

function heldRefs(f: CreateSharesFlow): SecretRef[] {
  return [f.first, f.split?.ref ?? null].filter((r): r is SecretRef => r !== null);
}

/** After a share's secret is complete: the next share, or wait for the derivations. */
function nextShare(s: CeremonyState, f: CreateSharesFlow, effects: Effect[]): Transition {
  const base: CreateSharesFlow = { ...f, path: null, name: null, first: null, split: null };
  if (f.index < f.count) {
    const n = { ...base, index: f.index + 1, step: 'mode' as const };
    return done({ ...s, screen: { ...n, prompt: modePrompt(n) } }, effects);
  }
  return finishing(s, base, effects);
}

function finishing(s: CeremonyState, f: CreateSharesFlow, effects: Effect[]): Transition {
  if (f.running.length > 0) {
    const busy: Prompt = {
      kind: 'busy',
      title: TITLE,
      body: [`Encrypting ${plural(f.running.length, 'share file')}: ${f.running.map((r) => r.name).join(', ')}. Escape stops (unfinished files are not written).`],
    };
    return done({ ...s, screen: { ...f, step: 'finishing', prompt: busy } }, effects);
  }
  return summary(s, f, effects);
}

function summary(s: CeremonyState, f: CreateSharesFlow, effects: Effect[]): Transition {
  const outstanding = s.device?.status.dkek?.outstanding ?? 0;
  const body = [
    ...f.created.map((c) => `✓ ${c.name}  fingerprint ${c.fingerprint}  (${c.protection})`),
    ...f.failed.map((x) => `✗ ${x.name}: ${x.error.message}`),
  ];
  if (f.created.length > 0) body.push('A fingerprint names a share in records without revealing it.');
  const options = [
    ...(outstanding > 0 && f.created.length > 0 ? [{ value: 'import-shares', key: 'm', label: `Import shares into the device now (${outstanding} expected)` }] : []),
    { value: 'menu', key: 'q', label: 'Back to the menu' },
  ];
  const prompt: Prompt = {
    kind: 'choose',
    title: f.failed.length === 0 ? `${plural(f.created.length, 'share file')} created` : 'Share files: some were not created',
    tone: f.failed.length === 0 ? 'success' : 'warning',
    body,
    options,
  };
  return done({ ...s, screen: { ...f, step: 'summary', prompt } }, effects);
}

function startDerivation(s: CeremonyState, f: CreateSharesFlow, secret: { kind: 'passphrase'; passphrase: SecretRef } | { kind: 'split'; split: SecretRef }): { state: CeremonyState; flow: CreateSharesFlow; effect: Effect } {
  const j = startJob(s, { kind: 'create-share', path: f.path!, secret }, `encrypting ${f.name}`);
  const protection = secret.kind === 'passphrase' ? 'passphrase' : `${f.threshold}-of-${f.total} password shares`;
  return { state: j.state, flow: { ...f, running: [...f.running, { job: j.id, index: f.index, name: f.name!, protection }], taken: [...f.taken, f.name!] }, effect: j.effect };
}

function handoverPrompt(f: CreateSharesFlow, custodian: number, shown: boolean): Prompt {
  const sp = f.split!;
  const lead = shown ? [`Password share ${custodian - 1} is hidden and the screen was erased.`] : [`${f.name} is encrypted under a random password split ${sp.threshold}-of-${sp.total}: any ${sp.threshold} password shares open it.`];
  return {
    kind: 'notice',
    title: `${title(f)}: password share ${custodian} of ${sp.total}`,
    tone: 'info',
    body: [...lead, `Hand over to custodian ${custodian}. Everybody else looks away.`, `Custodian ${custodian}: press Enter to see your password share.`],
    next: 'show my share',
  };
}

/** Handles one event in the create-shares flow. */
export function reduceCreateShares(s: CeremonyState, e: CeremonyEvent): Transition {
  const f = flowOf(s);

  // Derivations finish in the background, whatever the step.
  if ((e.type === 'job-done' || e.type === 'job-failed') && f.running.some((r) => r.job === e.id)) {
    const r = f.running.find((x) => x.job === e.id)!;
    let st = s;
    let nf: CreateSharesFlow = { ...f, running: f.running.filter((x) => x.job !== e.id) };
    if (e.type === 'job-done' && e.result.kind === 'create-share') {
      nf = { ...nf, created: [...nf.created, { index: r.index, name: e.result.name, path: e.result.path, fingerprint: e.result.fingerprint, protection: r.protection }] };
      st = log(st, 'done', `share file ${e.result.name} written (fingerprint ${e.result.fingerprint})`);
      st = { ...st, createdShares: [...st.createdShares, { path: e.result.path, name: e.result.name, fingerprint: e.result.fingerprint }] };
    } else if (e.type === 'job-failed') {
      nf = { ...nf, failed: [...nf.failed, { index: r.index, name: r.name, error: e.error }] };
      st = log(st, e.error.code === 'KDF_CANCELLED' ? 'info' : 'error', `share file ${r.name} not written: ${e.error.message}`);
    }
    st = { ...st, screen: nf };
    if (nf.step === 'finishing') return finishing(st, nf, []);
    return done(st);
  }

  if (e.type === 'back') {
    if (f.step === 'summary') return done({ ...s, screen: menuScreen(s) });
    if (f.step === 'reveal' || f.step === 'handover') {
      // every custodian must see their share: stopping here loses the password, so the file is not written
      return stopAll(s, f, 'stopped before every custodian saw their password share');
    }
    return stopAll(s, f, 'stopped');
  }

  switch (f.step) {
    case 'count': {
      if (e.type !== 'text') return done(s);
      const t = e.value.trim();
      const n = Number(t);
      if (!/^\d{1,3}$/.test(t) || n < 1 || n > 127) return at(s, { prompt: { ...f.prompt, error: 'type a number from 1 to 127' } as Prompt });
      const nf = { ...f, count: n, step: 'mode' as const };
      return at(s, { ...nf, prompt: modePrompt(nf) });
    }
    case 'mode':
      if (e.type !== 'choose') return done(s);
      if (e.value === 'passphrase') return at(s, { step: 'path', mode: 'passphrase', prompt: pathPromptFor(f) });
      if (e.value === 'pwd-shares') {
        return at(s, {
          step: 'split-spec',
          mode: 'pwd-shares',
          prompt: { kind: 'text', title: title(f), body: ['n-of-m: any n of the m password shares open the file (sc-hsm-tool: 2 ≤ n ≤ m, 3 ≤ m).'], label: 'Threshold/total, e.g. 2/3', initial: '2/3' },
        });
      }
      return done(s);
    case 'split-spec': {
      if (e.type !== 'text') return done(s);
      const m = /^\s*(\d{1,3})\s*(?:\/|of)\s*(\d{1,3})\s*$/.exec(e.value);
      const t = m ? Number(m[1]) : 0;
      const n = m ? Number(m[2]) : 0;
      if (!m || n < 3 || n > 255 || t < 2 || t > n) {
        return at(s, { prompt: { ...f.prompt, error: 'give n/m with 2 ≤ n ≤ m and 3 ≤ m ≤ 255, e.g. 2/3' } as Prompt });
      }
      return at(s, { step: 'path', threshold: t, total: n, prompt: pathPromptFor(f) });
    }
    case 'path': {
      if (e.type !== 'text') return done(s);
      const p = e.value.trim();
      if (p === '') return at(s, { prompt: pathPromptFor(f, 'type a file name') });
      const j = startJob(s, { kind: 'check-new-file', path: p }, 'checking the file name');
      return done({ ...j.state, screen: { ...f, step: 'checking-path', checkJob: j.id, prompt: { kind: 'busy', title: title(f), body: [`Checking ${p}…`] } } }, [j.effect]);
    }
    case 'checking-path':
      if (e.type === 'job-done' && e.id === f.checkJob && e.result.kind === 'check-new-file') {
        const { path, name } = e.result;
        if (f.running.some((r) => r.name === name) || f.created.some((c) => c.path === path) || f.taken.includes(name)) {
          return at(s, { step: 'path', checkJob: null, prompt: pathPromptFor(f, `${name} is already used by another share of this ceremony`) });
        }
        const nf = { ...f, checkJob: null, path, name };
        if (f.mode === 'passphrase') return at(s, { ...nf, step: 'passphrase', prompt: passphrasePrompt(nf) });
        const j = startJob(s, { kind: 'split-password', threshold: f.threshold, total: f.total }, 'making the random password and its shares');
        return done({ ...j.state, screen: { ...nf, step: 'splitting', checkJob: j.id, prompt: { kind: 'busy', title: title(f), body: ['Making a random password and splitting it…'] } } }, [j.effect]);
      }
      if (e.type === 'job-failed' && e.id === f.checkJob) return at(s, { step: 'path', checkJob: null, prompt: pathPromptFor(f, e.error.message) });
      return done(s);
    case 'passphrase':
      if (e.type !== 'secret-entered') return done(s);
      if (!e.facts.ok) return at(s, { prompt: passphrasePrompt(f, e.facts.problem) }, [{ type: 'wipe', refs: [e.ref] }]);
      return at(s, {
        step: 'passphrase-again',
        first: e.ref,
        prompt: {
          kind: 'secret',
          title: title(f),
          body: [...e.facts.advice.map((a) => `Advice: ${a}.`), 'Type the passphrase again.'],
          label: 'Passphrase again',
          secretKind: 'new-passphrase',
          confirmOf: e.ref,
        },
      });
    case 'passphrase-again': {
      if (e.type !== 'secret-entered') return done(s);
      if (e.facts.matches !== true) {
        return at(s, { step: 'passphrase', first: null, prompt: passphrasePrompt(f, 'the two entries differ; type the passphrase twice again') }, [{ type: 'wipe', refs: [e.ref, f.first!] }]);
      }
      const d = startDerivation(s, f, { kind: 'passphrase', passphrase: f.first! });
      // the runner copies the passphrase into the worker when the job starts; both entries are wiped now
      const st = log(d.state, 'info', `${f.name}: passphrase set; encrypting in the background`);
      return nextShare(st, d.flow, [d.effect, { type: 'wipe', refs: [e.ref, f.first!] }]);
    }
    case 'splitting':
      if (e.type === 'job-done' && e.id === f.checkJob && e.result.kind === 'split-password') {
        const r = e.result;
        const nf: CreateSharesFlow = { ...f, checkJob: null, split: { ref: r.split, prime: r.prime, threshold: r.threshold, total: r.total, custodian: 1 } };
        return done({ ...s, screen: { ...nf, step: 'handover', prompt: handoverPrompt(nf, 1, false) } });
      }
      if (e.type === 'job-failed' && e.id === f.checkJob) return stopAll(s, { ...f, checkJob: null }, e.error.message);
      return done(s);
    case 'handover': {
      if (e.type !== 'continue') return done(s);
      const sp = f.split!;
      return at(s, {
        step: 'reveal',
        prompt: { kind: 'share-reveal', title: `Password share ${sp.custodian} of ${sp.total} for ${f.name}`, split: sp.ref, custodian: sp.custodian, total: sp.total, threshold: sp.threshold, file: f.name! },
      });
    }
    case 'reveal': {
      if (e.type !== 'continue') return done(s);
      const sp = f.split!;
      const clear: Effect = { type: 'clear-screen' };
      if (sp.custodian < sp.total) {
        const nf = { ...f, split: { ...sp, custodian: sp.custodian + 1 } };
        return done({ ...s, screen: { ...nf, step: 'handover', prompt: handoverPrompt(nf, sp.custodian + 1, true) } }, [clear]);
      }
      // Only now, with every password share seen, is the file worth writing: encrypt it in the background.
      const d = startDerivation(s, f, { kind: 'split', split: sp.ref });
      const st = log(d.state, 'info', `${f.name}: ${sp.total} password shares shown, one custodian at a time (prime ${sp.prime}); encrypting in the background`);
      return nextShare(st, d.flow, [clear, d.effect, { type: 'wipe', refs: [sp.ref] }]);
    }
    case 'finishing':
      return done(s);
    case 'summary':
      if (e.type === 'choose' && e.value === 'menu') return done({ ...s, screen: menuScreen(s) });
      if (e.type === 'continue') return done({ ...s, screen: menuScreen(s) });
      return done(s); // 'import-shares' is routed by reducer.ts
  }
}

/** Escape or an error: cancel derivations still running, wipe, and go to the summary. */
function stopAll(s: CeremonyState, f: CreateSharesFlow, why: string): Transition {
  const effects: Effect[] = [{ type: 'wipe', refs: heldRefs(f) }];
  let st = s;
  if (f.checkJob !== null) st = endJob(st, f.checkJob);
  for (const r of f.running) if (isRunning(st, r.job)) effects.push({ type: 'cancel-job', id: r.job });
  st = log(st, 'info', `create shares: ${why}`);
  const nf: CreateSharesFlow = { ...f, checkJob: null, first: null, split: null };
  return finishing(st, nf, effects);
}

/** What an interrupted create-shares flow leaves undone, for the exit summary. */
export function unfinishedCreateShares(f: CreateSharesFlow): string[] {
  if (f.step === 'summary') return [];
  const made = f.created.map((c) => c.name);
  const out = [`create shares: ${made.length > 0 ? `written: ${made.join(', ')}` : 'no share file was written'}`];
  const missing = f.count - f.created.length;
  if (missing > 0) out.push(`create shares: ${plural(missing, 'share file')} not written (no partial file is left)`);
  return out;
}
