/**
 * Shared set-up for the device command tests: simulated cards prepared through the card layer
 * (no slow key derivation: fixture shares are imported as bytes) and saved as --sim-state files,
 * a rehearsal secrets file for the fixture passphrases, and an APDU recorder hooked into the
 * commands' transport.
 */
import { readFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { SimulatedCard, type Flavor } from '../../app/simulator/card-os.ts';
import { SimulatorTransport } from '../../app/simulator/transport.ts';
import { saveCardStateAtomic } from '../../app/simulator/persistence.ts';
import { SmartCardHsm, FID_PREFIX } from '../../app/card/sc-hsm.ts';
import { testOnlyDeviceHooks } from '../../app/cli/device-options.ts';
import type { CardTransport } from '../../app/card/transport.ts';
import { decodeWrapFile } from '../../protocol/dkek/wrap-file.ts';
import { fromHex, utf8 } from '../../protocol/bytes.ts';
import { FIXTURES, secretFile } from '../helpers/cli.ts';

export const PIN = '648219';
/** Not the factory default 3537363231383830, which hints may quote. */
export const SO_PIN = '7a3c19e05b82d4f6';

interface FixtureShare {
  file: string;
  passphrase?: string;
  share: string;
  passwordShares?: { shares: Record<string, string> };
}

export const fixtures: { shareFiles: FixtureShare[] } = JSON.parse(readFileSync(join(FIXTURES, 'fixtures.json'), 'utf8'));

export function fixtureShare(file: string): Uint8Array {
  const s = fixtures.shareFiles.find((x) => x.file === file);
  if (!s) throw new Error(`no fixture share ${file}`);
  return fromHex(s.share);
}

export const fixturePath = (name: string): string => join(FIXTURES, name);

/** Every secret the fixtures plant: passphrases, share values, password-share values, PINs. */
export const PLANTED: (string | Uint8Array)[] = [
  PIN,
  SO_PIN,
  ...fixtures.shareFiles.flatMap((s) => [
    ...(s.passphrase ? [s.passphrase] : []),
    fromHex(s.share),
    ...Object.values(s.passwordShares?.shares ?? {}).map((v) => v),
  ]),
];

export interface CardSetup {
  flavor?: Flavor;
  /** initialise (default true) */
  init?: boolean;
  /** DKEK shares the card expects; default the number of `shares` */
  dkekShares?: number;
  /** fixture share files whose shares are imported (as bytes) */
  shares?: string[];
  /** wrap files restored as keys, with their PRKD and certificate */
  keys?: { wrap: string; ref: number }[];
  retries?: number;
  seed?: number;
}

/** Prepares a simulated card and saves it to `dir/name`; returns the state file path. */
export async function makeCard(dir: string, o: CardSetup = {}, name = 'card.json'): Promise<string> {
  const card = SimulatedCard.create({ flavor: o.flavor ?? 'sc-hsm', seed: Uint8Array.of(o.seed ?? 7) });
  const hsm = new SmartCardHsm(new SimulatorTransport(card));
  await hsm.selectApplet();
  if (o.init !== false) {
    const shares = o.shares ?? [];
    await hsm.initialize({ userPin: utf8(PIN), soPin: utf8(SO_PIN), dkekShares: o.dkekShares ?? (shares.length > 0 ? shares.length : undefined), retryCounter: o.retries ?? 3 });
    for (const s of shares) await hsm.importDkekShare(fixtureShare(s));
    await hsm.verifyPin(utf8(PIN));
    for (const k of o.keys ?? []) {
      const w = decodeWrapFile(new Uint8Array(readFileSync(fixturePath(k.wrap))));
      await hsm.unwrapKey(k.ref, w.blob);
      if (w.prkd) await hsm.updateBinary((FID_PREFIX.PRKD << 8) | k.ref, w.prkd, { replace: true });
      if (w.certificate) await hsm.updateBinary((FID_PREFIX.EE_CERT << 8) | k.ref, w.certificate, { replace: true });
    }
  }
  const path = join(dir, name);
  saveCardStateAtomic(path, card.snapshot());
  return path;
}

/** A rehearsal secrets file with the fixture PINs and every fixture share's secret. */
export function rehearsalSecrets(dir: string, overrides: { pin?: string; soPin?: string; shares?: Record<string, unknown> } = {}, name = 'secrets.json'): string {
  copyFileSync(fixturePath('s3-shares.txt'), join(dir, 's3-shares.txt'));
  const shares: Record<string, unknown> = {};
  for (const s of fixtures.shareFiles) shares[s.file] = s.passphrase ? { passphrase: s.passphrase } : { pwdShares: 's3-shares.txt' };
  Object.assign(shares, overrides.shares ?? {});
  return secretFile(dir, name, JSON.stringify({ rehearsal: true, pin: overrides.pin ?? PIN, soPin: overrides.soPin ?? SO_PIN, shares }));
}

/** The --sim flags for a state file. */
export const sim = (state: string): string[] => ['--sim', '--sim-state', state];

/** Records every command APDU the commands send (through testOnlyDeviceHooks). */
export class ApduLog {
  readonly commands: Uint8Array[] = [];
  /** called after each command is answered (e.g. to emit SIGINT at a precise point) */
  onAnswered?: (command: Uint8Array) => void;

  install(t: TestContext): this {
    testOnlyDeviceHooks.wrapTransport = (t: CardTransport): CardTransport => ({
      info: t.info,
      transmit: async (c: Uint8Array) => {
        this.commands.push(c.slice());
        const r = await t.transmit(c);
        this.onAnswered?.(c);
        return r;
      },
      close: () => t.close(),
    });
    t.after(() => this.uninstall());
    return this;
  }

  uninstall(): void {
    testOnlyDeviceHooks.wrapTransport = undefined;
  }

  clear(): void {
    this.commands.length = 0;
  }

  /** Commands with this instruction byte (and P1 when given). */
  withIns(ins: number, p1?: number): Uint8Array[] {
    return this.commands.filter((c) => c[1] === ins && (p1 === undefined || c[2] === p1));
  }
}

export const INS = { VERIFY: 0x20, INITIALIZE: 0x50, IMPORT_DKEK: 0x52, WRAP: 0x72, UNWRAP: 0x74, DELETE: 0xe4, SIGN: 0x68, UPDATE: 0xd7 } as const;
