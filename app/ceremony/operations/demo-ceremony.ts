/**
 * A complete DKEK ceremony on two fresh cards, step by step, with nothing to type: what
 * `hsm-ceremony demo` runs on the built-in simulator. Every step is a real operation of this
 * module with the real share-file key derivation (10 million MD5 iterations per chain, as
 * sc-hsm-tool; two derivations at a time) — the demo is the ceremony, minus the people.
 *
 * 1. initialise card A for 3 DKEK shares;
 * 2. create 3 share files with rehearsal passphrases;
 * 3. import them (opening each file again from disk, as custodians would);
 * 4. log in and compare the device KCV with the KCV of the 3 shares;
 * 5. generate an EC P-256 key;
 * 6. back it up to a wrap file;
 * 7. initialise card B with the same 3 shares;
 * 8. restore the backup into card B (safe order, KCV checked first) and prove it signs.
 *
 * The cards come from a factory (the command passes the simulator), files go through a writer that
 * never overwrites, and the rehearsal secrets stay in memory except for a rehearsal secrets file the
 * writer may keep so the steps can be repeated by hand. Nothing secret is in any event.
 */
import type { CardTransport } from '../../card/transport.ts';
import { SmartCardHsm } from '../../card/sc-hsm.ts';
import { createShareFile, type ShareFileKdf } from '../../../protocol/dkek/share-file.ts';
import { combineShares, formatKcv, kcv, shareFingerprint } from '../../../protocol/dkek/dkek.ts';
import { concatBytes, equalBytes, toHex, utf8, wipe } from '../../../protocol/bytes.ts';
import { checkFailed } from '../../../protocol/errors.ts';
import { initializeDevice } from './initialize-device.ts';
import { importShares } from './import-shares.ts';
import { confirmDkek } from './confirm-dkek.ts';
import { generateKey } from './generate-key.ts';
import { backupKey } from './backup-key.ts';
import { restoreKey } from './restore-key.ts';
import { describePublicKey } from './public-key.ts';
import { loginUser } from './login.ts';

/** The number of shares the demo DKEK is split into. */
export const DEMO_SHARES = 3;
/** Steps the demo announces, for "step k of n". */
export const DEMO_STEPS = 8;

export type DemoEvent =
  | { kind: 'step'; step: number; title: string }
  | { kind: 'detail'; text: string };

export interface DemoOptions {
  /** a fresh, uninitialised card for each call (card A, then card B) */
  newCard(label: 'A' | 'B'): Promise<CardTransport> | CardTransport;
  /** writes a new file (never overwriting) and returns its path for display */
  writeFile(name: string, data: Uint8Array): string;
  /** the share-file key derivation for one file */
  kdf(name: string, signal: AbortSignal): ShareFileKdf;
  rng?: (n: number) => Uint8Array;
  signal?: AbortSignal;
  onEvent?: (e: DemoEvent) => void;
}

export interface DemoSummary {
  kcv: string;
  shareFiles: { path: string; fingerprint: string }[];
  key: { keyRef: number; label: string; publicKey: string };
  backup: { path: string; sha256: string };
  restoredInto: { card: 'B'; keyRef: number; signatureVerified: boolean };
  secretsFile: string;
}

const defaultRng = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** Rehearsal secrets: random, so that nobody mistakes them for anything that matters. */
function rehearsalSecrets(rng: (n: number) => Uint8Array) {
  const digits = (n: number) => {
    const r = rng(n);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = 0x30 + (r[i]! % 10);
    wipe(r);
    return out;
  };
  const hexAscii = (bytes: number) => {
    const r = rng(bytes);
    const out = utf8(toHex(r));
    wipe(r);
    return out;
  };
  return {
    pin: digits(8),
    soPin: hexAscii(8),
    passphrases: Array.from({ length: DEMO_SHARES }, (_, i) => concatBytes(utf8(`rehearsal-${i + 1}-`), hexAscii(6))),
  };
}

/** The rehearsal secrets file for the share files, so the steps can be repeated by hand. */
function secretsFileJson(names: string[], passphrases: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [utf8('{\n  "rehearsal": true,\n  "comment": "hsm-ceremony demo: rehearsal passphrases of the demo share files",\n  "shares": {\n')];
  names.forEach((n, i) => {
    parts.push(utf8(`    ${JSON.stringify(n)}: { "passphrase": "`), passphrases[i]!, utf8(`" }${i < names.length - 1 ? ',' : ''}\n`));
  });
  parts.push(utf8('  }\n}\n'));
  return concatBytes(...parts);
}

/**
 * Runs the demo ceremony.
 *
 * @throws CeremonyError check DEMO_KCV_MISMATCH if a card's DKEK differs from the shares' (a bug
 *   somewhere below); incomplete CANCELLED; anything the operations throw
 */
export async function runDemoCeremony(o: DemoOptions): Promise<DemoSummary> {
  const rng = o.rng ?? defaultRng;
  const step = (n: number, title: string) => o.onEvent?.({ kind: 'step', step: n, title });
  const detail = (text: string) => o.onEvent?.({ kind: 'detail', text });
  const signal = o.signal ?? new AbortController().signal;
  const secrets = rehearsalSecrets(rng);
  const shares: Uint8Array[] = [];
  let dkek: Uint8Array | undefined;
  const cards: CardTransport[] = [];
  try {
    const initOptions = { userPin: secrets.pin, soPin: secrets.soPin, dkekShares: DEMO_SHARES, retryCounter: 3 };

    step(1, `initialise card A for ${DEMO_SHARES} DKEK shares`);
    const a = await o.newCard('A');
    cards.push(a);
    const hsmA = new SmartCardHsm(a);
    await hsmA.selectApplet();
    await initializeDevice(hsmA, initOptions, { confirmDestroy: () => false, signal });
    detail('SO-PIN and user PIN set (random rehearsal values, never shown)');

    step(2, `create ${DEMO_SHARES} DKEK share files (real key derivation, two at a time)`);
    const names = Array.from({ length: DEMO_SHARES }, (_, i) => `custodian-${i + 1}.pbe`);
    const files: { name: string; path: string; file: Uint8Array; fingerprint: string }[] = [];
    for (let i = 0; i < DEMO_SHARES; i += 2) {
      const batch = names.slice(i, i + 2).map((name, j) => createShareFile(secrets.passphrases[i + j]!, { kdf: o.kdf(name, signal) }));
      for (const [j, created] of (await Promise.all(batch)).entries()) {
        const name = names[i + j]!;
        shares.push(created.share);
        const fingerprint = shareFingerprint(created.share);
        files.push({ name, path: o.writeFile(name, created.file), file: created.file, fingerprint });
        detail(`${name}: share fingerprint ${fingerprint}`);
      }
    }
    dkek = combineShares(shares);
    const expected = kcv(dkek);
    detail(`the ${DEMO_SHARES} shares together make a DKEK with key check value ${formatKcv(expected)}`);
    const secretsFile = o.writeFile('secrets.json', secretsFileJson(names, secrets.passphrases));

    step(3, 'import the share files into card A');
    await importShares(hsmA, files.map((f, i) => ({ name: f.name, file: f.file, secret: async () => ({ kind: 'passphrase' as const, passphrase: secrets.passphrases[i]!.slice() }) })), {
      kdf: o.kdf,
      signal,
      onEvent: (e) => {
        if (e.kind === 'imported') detail(`${e.name}: imported, ${e.imported} of ${e.total}, ${e.outstanding} outstanding`);
      },
    });

    step(4, 'verify the user PIN and compare the DKEK key check value');
    const confirmed = await confirmDkek(hsmA, { pin: secrets.pin, expectKcv: expected });
    if (confirmed.matches !== true) {
      throw checkFailed('DEMO_KCV_MISMATCH', `card A reports KCV ${confirmed.kcv ?? 'none'}, the shares give ${formatKcv(expected)}`, { hint: 'this is a bug; please report it' });
    }
    detail(`card A: DKEK key check value ${confirmed.kcv}, as expected`);

    step(5, 'generate an EC P-256 key on card A');
    const generated = await generateKey(hsmA, 1, { type: 'ec', curve: 'P-256' }, { label: 'demo-key', id: Uint8Array.of(0x01) });
    const pub = generated.publicKey ? describePublicKey(generated.publicKey) : 'unknown';
    detail(`key reference 1, label "demo-key", ID 01, ${pub}; CV request and key description written`);

    step(6, 'back up the key (WRAP KEY) to a wrap file');
    const b = await backupKey(hsmA, 1, expected);
    const backupPath = o.writeFile('key-1-demo-key.bin', b.file);
    detail(`${backupPath}: DKEK KCV ${b.kcv}, SHA-256 ${b.sha256}`);

    step(7, `initialise card B with the same ${DEMO_SHARES} shares`);
    const bCard = await o.newCard('B');
    cards.push(bCard);
    const hsmB = new SmartCardHsm(bCard);
    await hsmB.selectApplet();
    await initializeDevice(hsmB, initOptions, { confirmDestroy: () => false, signal });
    for (const s of shares) await hsmB.importDkekShare(s);
    await loginUser(hsmB, secrets.pin);
    const statusB = await hsmB.dkekStatus();
    if (!equalBytes(statusB.kcv, expected)) {
      throw checkFailed('DEMO_KCV_MISMATCH', `card B reports KCV ${formatKcv(statusB.kcv)}, the shares give ${formatKcv(expected)}`, { hint: 'this is a bug; please report it' });
    }
    detail(`card B: DKEK key check value ${formatKcv(statusB.kcv)} (shares imported from memory: the files were already proven in step 3)`);

    step(8, 'restore the backup into card B and prove the key signs');
    const restored = await restoreKey(hsmB, b.file, 1, {
      pin: secrets.pin,
      rng,
      signal,
      onEvent: (e) => {
        if (e.kind === 'kcv-checked') detail(`backup and card B share DKEK ${e.kcv}: safe to unwrap`);
        else if (e.kind === 'unwrapped') detail(`unwrapped into key reference ${e.keyRef}; key description and CV request written from the backup`);
        else if (e.kind === 'proved') detail(`card B signed a fresh random challenge (${e.proof.description}); verified with the public key from the backup`);
      },
    });

    return {
      kcv: formatKcv(expected),
      shareFiles: files.map((f) => ({ path: f.path, fingerprint: f.fingerprint })),
      key: { keyRef: 1, label: 'demo-key', publicKey: pub },
      backup: { path: backupPath, sha256: b.sha256 },
      restoredInto: { card: 'B', keyRef: restored.keyRef, signatureVerified: restored.proof !== null },
      secretsFile,
    };
  } finally {
    for (const s of shares) wipe(s);
    wipe(dkek, secrets.pin, secrets.soPin, ...secrets.passphrases);
    for (const c of cards) await c.close().catch(() => undefined);
  }
}
