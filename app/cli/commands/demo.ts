import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { mkdtempSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { CliIo, Command } from '../command.ts';
import { withInterrupt } from '../progress.ts';
import { writeNewFile } from '../write-new-file.ts';
import { DerivationProgress } from './share-import.ts';
import { DEMO_STEPS, runDemoCeremony, type DemoEvent } from '../../ceremony/operations/demo-ceremony.ts';
import { SimulatedCard, type Flavor } from '../../simulator/card-os.ts';
import { SimulatorTransport } from '../../simulator/transport.ts';
import { usageError } from '../../../protocol/errors.ts';

function demoDir(io: CliIo, dir: string | undefined): string {
  if (dir === undefined) return mkdtempSync(join(tmpdir(), 'hsm-ceremony-demo-'));
  const abs = resolve(io.cwd, dir);
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) {
    mkdirSync(abs, { recursive: true, mode: 0o700 });
    return abs;
  }
  if (!st.isDirectory() || readdirSync(abs).length > 0) {
    throw usageError('DEMO_DIR_NOT_EMPTY', `${abs} is not an empty folder`, { hint: 'give a new or empty folder with --dir, or leave --dir out for a fresh temporary one' });
  }
  return abs;
}

export const demo: Command = {
  path: ['demo'],
  summary: 'run a complete ceremony on the built-in simulator, with no input (start here)',
  help: `usage: hsm-ceremony demo [--dir DIR] [--flavor sc-hsm|pico] [--json]

A complete DKEK ceremony on two simulated cards, printing each step: initialise card A for 3 DKEK
shares; create 3 share files (rehearsal passphrases, the real sc-hsm-tool key derivation, two at a
time); import them; verify the PIN and compare the KCV; generate an EC P-256 key; back it up;
initialise card B with the same shares; restore the backup into card B, checking the KCV first;
prove the restored key signs. No real device is touched.

The share files, the backup and a rehearsal secrets file stay in DIR (default: a new temporary
folder) so the offline commands can be tried on them, e.g.
  hsm-ceremony inspect DIR/key-1-demo-key.bin --share DIR/custodian-1.pbe --share DIR/custodian-2.pbe \\
      --share DIR/custodian-3.pbe --secrets-file DIR/secrets.json
  --flavor pico    simulate Pico HSM behaviour (KCV hidden until PIN login, DKEK committed at login)`,
  async run(argv: string[], io: CliIo) {
    const { values } = parseArgs({ args: argv, strict: true, options: { dir: { type: 'string' }, flavor: { type: 'string' }, json: { type: 'boolean' } } });
    const flavor = (values.flavor ?? 'sc-hsm') as Flavor;
    if (flavor !== 'sc-hsm' && flavor !== 'pico') throw usageError('BAD_FLAVOR', `--flavor takes sc-hsm or pico, got "${values.flavor}"`);
    const dir = demoDir(io, values.dir);
    const started = performance.now();
    const progress = new DerivationProgress(io);
    const say = (line: string) => {
      progress.clear();
      if (!values.json) io.stdout.write(line + '\n');
    };
    if (!values.json) say(`hsm-ceremony demo: a DKEK ceremony on two simulated ${flavor === 'pico' ? 'Pico HSM' : 'SmartCard-HSM'} cards; files go to ${dir}`);
    const onEvent = (e: DemoEvent) => {
      if (e.kind === 'step') say(`\n[${e.step}/${DEMO_STEPS}] ${e.title}`);
      else say(`      ${e.text}`);
    };
    try {
      const summary = await withInterrupt((signal) =>
        runDemoCeremony({
          newCard: () => new SimulatorTransport(SimulatedCard.create({ flavor })),
          writeFile: (name, data) => {
            const p = join(dir, name);
            writeNewFile(p, data, 0o600);
            return p;
          },
          kdf: (name, s) => progress.kdf(name, s),
          signal,
          onEvent,
        }),
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (values.json) {
        io.stdout.write(JSON.stringify({ dir, flavor, seconds: Number(seconds), ...summary }) + '\n');
        return 0;
      }
      say(
        [
          '',
          `Done in ${seconds} s. Summary:`,
          `  DKEK key check value : ${summary.kcv} (3 shares, the same on card A and card B)`,
          ...summary.shareFiles.map((f, i) => `  share file ${i + 1}         : ${f.path} (fingerprint ${f.fingerprint})`),
          `  key                  : key reference ${summary.key.keyRef}, "${summary.key.label}", ${summary.key.publicKey}`,
          `  backup               : ${summary.backup.path}`,
          `                         SHA-256 ${summary.backup.sha256}`,
          `  restored             : card B, key reference ${summary.restoredInto.keyRef}, ${summary.restoredInto.signatureVerified ? 'signature verified' : 'not test-signed'}`,
          `  rehearsal secrets    : ${summary.secretsFile} (rehearsal only; the cards are gone)`,
          '',
          'Try the offline commands on these files:',
          `  hsm-ceremony inspect ${summary.backup.path} --secrets-file ${summary.secretsFile} ${summary.shareFiles.map((f) => `--share ${f.path}`).join(' ')}`,
          `  hsm-ceremony share verify ${summary.shareFiles[0]!.path} --secrets-file ${summary.secretsFile}`,
        ].join('\n'),
      );
      return 0;
    } finally {
      progress.clear();
    }
  },
};
