/**
 * The plan as the numbered script people read aloud during the ceremony (docs/plan-format.md §8).
 * Each step says who does what and what it changes, in plain words; the header carries the plan's
 * SHA-256 so the paper in the room can be matched to the reviewed file and to the transcript.
 * Step numbers here are the `step` numbers in the transcript (1-based: step n is `steps[n-1]`).
 */
import { backupFileName, isSimulator, parseThreshold, type Plan, type PlanStep } from './plan-schema.ts';

/** `abcdef…` → `abcd ef01 …`: hex in groups, for reading aloud. */
export function groupHex(hex: string, size = 4): string {
  return (hex.match(new RegExp(`.{1,${size}}`, 'g')) ?? []).join(' ');
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n/)) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && indent.length + line.length + 1 + word.length > width) {
        out.push(indent + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(indent + line);
  }
  return out;
}

const ALGORITHM_NAMES: Record<string, string> = {
  'ec-p256': 'an EC P-256 key pair',
  'ec-p384': 'an EC P-384 key pair',
  'rsa-2048': 'an RSA 2048-bit key pair',
};

function signOffNames(plan: Plan, who: string | string[]): string {
  const parts = (Array.isArray(who) ? who : [who]).map((w) => {
    switch (w) {
      case 'witnesses':
        return `the witnesses (${list(plan.roles.witnesses ?? [])})`;
      case 'custodians':
        return `the custodians (${list(plan.roles.custodians)})`;
      case 'securityOfficer':
        return `the security officer (${plan.roles.securityOfficer})`;
      case 'operator':
        return `the operator (${plan.roles.operator})`;
      case 'everyone':
        return 'everyone present';
      default:
        return w;
    }
  });
  return list(parts);
}

/** One step as a title line and its explanation, without the number. */
export function describeStep(plan: Plan, index: number): { title: string; body: string } {
  const s: PlanStep = plan.steps[index]!;
  const operator = plan.roles.operator ? `the operator (${plan.roles.operator})` : 'the operator';
  const so = plan.roles.securityOfficer ? `${plan.roles.securityOfficer} (security officer)` : 'the operator';
  // which share of the DKEK this import is, counting from the last initialize
  let shareNo = 0;
  let shareTotal: number | null = null;
  for (let j = 0; j <= index; j++) {
    const t = plan.steps[j]!;
    if (t.step === 'initialize') {
      shareNo = 0;
      shareTotal = typeof t.dkekShares === 'number' ? t.dkekShares : null;
    } else if (t.step === 'import-share') shareNo++;
  }
  switch (s.step) {
    case 'initialize': {
      const dkek =
        s.dkekShares === 'none'
          ? 'with no DKEK (keys on it can never be backed up)'
          : s.dkekShares === 'random'
            ? 'with a random DKEK made by the device (nobody knows it; backups restore only into this device)'
            : `for ${s.dkekShares} DKEK share${s.dkekShares === 1 ? '' : 's'}`;
      return {
        title: `INITIALIZE the device ${dkek}`,
        body:
          `${so} enters the SO-PIN and sets the new user PIN, on their own screen only; ` +
          `${s.retryCounter ?? 3} wrong PIN tries block it.` +
          (s.label ? ` Token label "${s.label}".` : '') +
          ' This erases every key on the device.',
      };
    }
    case 'create-share': {
      if (s.custodian) {
        return {
          title: `CREATE SHARE ${s.file} — ${s.custodian}`,
          body: `A new random DKEK share is made for ${s.custodian}, who protects it with a passphrase typed twice on their own screen and keeps the file. Nobody else sees the passphrase. The share fingerprint is read aloud and recorded.`,
        };
      }
      const { threshold, total } = parseThreshold(s.pwdShares!);
      return {
        title: `CREATE SHARE ${s.file} — password shares ${threshold} of ${total}`,
        body: `A new random DKEK share is encrypted under a random password split into ${total} password shares, any ${threshold} of which open it. Each of ${list(s.custodians ?? [])} sees only their own password share, writes it down and confirms; it is then cleared.`,
      };
    }
    case 'import-share': {
      const of = shareTotal !== null ? ` (share ${shareNo} of ${shareTotal})` : ` (share ${shareNo} in this ceremony)`;
      const who = s.custodian ?? (s.custodians ? list(s.custodians) : 'the holders of its password shares');
      const how = s.custodian ? 'types the passphrase on their own screen' : 'type their password shares, each on their own screen';
      return {
        title: `IMPORT SHARE ${s.file} — ${who}${of}`,
        body: `${who} ${how}; the share goes into the device. Everyone checks the share fingerprint and the count of shares imported and outstanding.`,
      };
    }
    case 'expect-kcv':
      return s.kcv
        ? {
            title: `CHECK THE KCV: it must be ${groupHex(s.kcv.replace(/ /g, '').toUpperCase())}`,
            body: `${operator} verifies the user PIN and reads the key check value (KCV) from the device. Everyone compares it aloud with the value in this script; any difference stops the ceremony.`,
          }
        : {
            title: 'READ AND RECORD THE KCV',
            body: `${operator} verifies the user PIN and reads the key check value (KCV) from the device; it is shown on every screen and everyone writes it down. Every later KCV in this ceremony (and in every backup) must equal it.`,
          };
    case 'generate-key':
      return {
        title: `GENERATE KEY at reference ${s.keyRef} (rehearsal)`,
        body: `${operator} makes ${ALGORITHM_NAMES[s.algorithm]} on the simulator` + (s.label ? `, label "${s.label}"` : '') + (s.id ? `, ID ${s.id}` : '') + '. Its public key is recorded.',
      };
    case 'backup': {
      const what = s.keys === 'all' ? 'every key on the device' : `key${s.keys.length === 1 ? '' : 's'} ${list(s.keys.map(String))}`;
      const where = s.keys === 'all' ? `${s.folder}/key-REF.bin` : list(s.keys.map((r) => backupFileName(s.folder, r)));
      return {
        title: `BACK UP ${what}`,
        body: `${operator} exports ${what}, wrapped under the DKEK, to ${where}. Each file's SHA-256 and KCV are recorded; the KCV must equal the device's.`,
      };
    }
    case 'restore':
      return {
        title: `RESTORE ${s.file} to key reference ${s.keyRef}`,
        body: `${operator} checks the backup's KCV against the device's, then imports the key at reference ${s.keyRef}. ${s.replaceAllowed ? `A key already at reference ${s.keyRef} IS REPLACED.` : `Reference ${s.keyRef} must be free; an occupied reference stops the step.`}`,
      };
    case 'verify-restore':
      return {
        title: `VERIFY THE RESTORED KEY at reference ${s.keyRef}`,
        body: `${operator} has the restored key sign a test message and checks the signature with the public key of the key that was backed up.`,
      };
    case 'sign-off':
      return {
        title: `SIGN-OFF — ${signOffNames(plan, s.who)}`,
        body: s.statement ?? 'Each person confirms, by name, that the ceremony followed this script and that every deviation was noted.',
      };
  }
}

export interface ScriptOptions {
  /** the plan's file name, for the header */
  fileName: string;
  /** SHA-256 of the plan file, lower-case hex */
  sha256: string;
  /** line width (default 100) */
  width?: number;
}

/**
 * Renders the plan as the numbered ceremony script.
 *
 * @returns the script's lines, without line endings
 */
export function renderScript(plan: Plan, o: ScriptOptions): string[] {
  const width = o.width ?? 100;
  const r = plan.roles;
  const device = isSimulator(plan)
    ? 'the built-in simulator (a rehearsal: no real key is made or kept)'
    : `the card in the reader whose name contains "${plan.device.reader}"`;
  const expected = [plan.device.serial ? `serial ${plan.device.serial}` : '', plan.device.firmware ? `firmware ${plan.device.firmware}` : ''].filter(Boolean).join(', ');
  const lines: string[] = [
    `CEREMONY SCRIPT: ${plan.name}`,
    `plan file        : ${o.fileName}`,
    `plan SHA-256     : ${groupHex(o.sha256)}`,
    `device           : ${device}${expected ? `; expected ${expected}` : ''}`,
  ];
  if (r.operator) lines.push(`operator         : ${r.operator}`);
  if (r.securityOfficer) lines.push(`security officer : ${r.securityOfficer}`);
  lines.push(`custodians       : ${list(r.custodians)}`);
  lines.push(`witnesses        : ${r.witnesses && r.witnesses.length > 0 ? list(r.witnesses) : 'none'}`);
  if (plan.description) lines.push('', ...wrap(plan.description.trim(), width, ''));
  lines.push('');
  const numWidth = String(plan.steps.length).length;
  plan.steps.forEach((s, i) => {
    const { title, body } = describeStep(plan, i);
    const num = `${String(i + 1).padStart(numWidth)}. `;
    const indent = ' '.repeat(num.length);
    lines.push(`${num}${title}`);
    // a sentence that starts with "the operator" gets its capital; a person's name is left as written
    lines.push(...wrap(body.startsWith('the ') ? `T${body.slice(1)}` : body, width, indent));
    if (s.description) lines.push(...wrap(s.description.trim(), width, indent));
  });
  lines.push('', `End of script: ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}. Any deviation is noted in the transcript as it happens.`);
  return lines;
}
