/**
 * `RunSecrets` for `host PLAN` (docs/protocol.md §7.3): every secret and sign-off the plan runner
 * asks for is routed to the terminal of the person the step names, through the plan host.
 *
 * - A custodian without a slot (the operator listed them with --at-coordinator) creates and opens
 *   their share at the coordinator: the remote members resolve null, and the executor asks
 *   `local.passphrase()` (typed hidden on the coordinator's terminal, or the secrets file).
 * - create-share: the custodian makes the share on their terminal (request-create with 32 bytes of
 *   the card's GET CHALLENGE); the `created` answer carries the 64-byte encrypted file (public),
 *   which the executor writes under --out. The passphrase never reaches this process.
 * - import-share: the file goes to the custodian (request-share), who opens it there and sends the
 *   32-byte share; the executor imports and wipes it.
 * - n-of-m: show-pwd-share to each custodian in turn (create); request-pwd-share until the
 *   threshold is met (import).
 * - PINs: from the security officer's terminal when the plan names one (request-pins during an
 *   initialize step, request-pin otherwise; the user PIN is kept until the run ends so the officer
 *   types it once), else from the coordinator (`local`).
 * - Sign-offs: on the person's own terminal; a person without a slot, or whose slot timed out,
 *   signs at the coordinator (`local`: its terminal, or the secrets file headless).
 */
import { basename } from 'node:path';
import { utf8, wipe } from '../../protocol/bytes.ts';
import { shareFingerprint } from '../../protocol/dkek/dkek.ts';
import { formatHexColon, parseShareInput, shareSet, type PasswordSplit, type ShareEntry, type ShareSet } from '../../protocol/dkek/password-shares.ts';
import { CeremonyError, usageError } from '../../protocol/errors.ts';
import type { CustodianMessage } from '../../protocol/wire/custodian-messages.ts';
import { wipeMessage } from '../../protocol/wire/message-codec.ts';
import type { SmartCardHsm } from '../card/sc-hsm.ts';
import type { RunSecrets } from '../run/step-executor.ts';
import type { PlanHost } from './plan-host.ts';

export interface HostedSecretsOptions {
  host: PlanHost;
  hsm: SmartCardHsm;
  /** the security officer's name when the plan names one and they have a slot */
  securityOfficer: string | null;
  /** the coordinator's own source (secrets file or terminal) for what has no terminal */
  local: RunSecrets;
  /** the plan step running now (1-based) and its kind, for request-pins vs request-pin */
  current(): { step: number; kind: string; dkekShares?: number; threshold?: number } | null;
  signal: AbortSignal;
}

export interface HostedRunSecrets extends RunSecrets {
  /** wipes the PINs kept for the run */
  wipe(): void;
}

function declined(who: string, m: Extract<CustodianMessage, { type: 'decline' }>): CeremonyError {
  return usageError(m.code, `${who}'s terminal declined: ${m.message}`, { hint: 'sort it out with them, then continue the ceremony (retry the step, or --resume)' });
}

export function hostedRunSecrets(o: HostedSecretsOptions): HostedRunSecrets {
  const { host } = o;
  let userPin: Uint8Array | null = null;
  let soPin: Uint8Array | null = null;
  /** fingerprints of shares created on terminals, by plan path */
  const created = new Map<string, string>();
  const step = () => o.current()?.step;
  const onTerminal = (name: string | null): name is string => name !== null && host.reachable(name);

  async function ask<T extends CustodianMessage['type']>(name: string, what: Parameters<PlanHost['ask']>[1], build: Parameters<PlanHost['ask']>[2], dispose?: () => void) {
    const s = step();
    const m = await host.ask<T | 'decline'>(name, what, build, { signal: o.signal, ...(s !== undefined ? { step: s } : {}), ...(dispose ? { dispose } : {}) });
    if (m.type === 'decline') throw declined(name, m as Extract<CustodianMessage, { type: 'decline' }>);
    return m as Extract<CustodianMessage, { type: T }>;
  }

  async function officerPins(): Promise<void> {
    const cur = o.current();
    if (cur?.kind === 'initialize') {
      const m = await ask<'pins'>(o.securityOfficer!, 'pins', (id) => ({ type: 'request-pins', request: id, dkekShares: cur.dkekShares ?? 0 }));
      wipe(userPin ?? undefined, soPin ?? undefined);
      userPin = m.pin;
      soPin = m.soPin;
    } else {
      const m = await ask<'pin'>(o.securityOfficer!, 'pin', (id) => ({ type: 'request-pin', request: id }));
      wipe(userPin ?? undefined);
      userPin = m.pin;
    }
  }

  return {
    async pin() {
      if (!onTerminal(o.securityOfficer)) return o.local.pin();
      if (userPin === null || o.current()?.kind === 'initialize') await officerPins();
      return userPin!.slice();
    },
    async soPin() {
      if (!onTerminal(o.securityOfficer)) return o.local.soPin();
      if (soPin === null) await officerPins();
      const v = soPin!.slice();
      wipe(soPin!);
      soPin = null;
      return v;
    },
    async passphrase(file, custodian) {
      if (host.slotOf(custodian) !== null) {
        throw usageError('PASSPHRASE_REMOTE_ONLY', `${custodian}'s passphrase for ${file} is typed only on their own terminal`, { hint: 'this step needs the remote create/open of the step executor' });
      }
      return o.local.passphrase(file, custodian);
    },
    async signOff(name, statement) {
      if (!onTerminal(name)) return o.local.signOff(name, statement);
      const s = step() ?? 1;
      const m = await ask<'sign-off'>(name, 'sign-off', (id) => ({ type: 'request-sign-off', request: id, step: s, name, statement: statement.slice(0, 2000) }));
      host.publish({ type: 'signed-off', name, accepted: m.accepted });
      return m.accepted ? { accepted: true } : { accepted: false, reason: m.reason ?? 'declined without a reason' };
    },
    async createShareRemotely(file, custodian) {
      if (host.slotOf(custodian) === null) return null; // at the coordinator: made here with passphrase()
      if (!onTerminal(custodian)) {
        throw usageError('NO_TERMINAL', `${custodian} has no terminal in this ceremony to create ${file} on`, { hint: 'they join with hsm-custodian and a fresh code; then continue the ceremony' });
      }
      const challenge = await o.hsm.getChallenge(32, { secret: true });
      const m = await ask<'created'>(
        custodian,
        'create-share',
        (id) => ({ type: 'request-create', request: id, fileName: basename(file), challenge: challenge.slice() }),
        () => wipe(challenge),
      );
      if (m.file === undefined) throw usageError('CREATED_WITHOUT_FILE', `${custodian}'s terminal made the share but did not send the file`, { hint: 'update hsm-custodian on that terminal' });
      created.set(file, m.fingerprint);
      host.publish({ type: 'share-created', slot: host.slotOf(custodian)!.slot, name: host.slotOf(custodian)!.name, fingerprint: m.fingerprint });
      return m.file.slice();
    },
    async openShareRemotely(file, custodian, fileBytes) {
      if (host.slotOf(custodian) === null) return null; // at the coordinator: opened here with passphrase()
      if (!onTerminal(custodian)) {
        throw usageError('NO_TERMINAL', `${custodian} has no terminal in this ceremony to open ${file} on`, { hint: 'they join with hsm-custodian and a fresh code; then continue the ceremony' });
      }
      const fingerprint = created.get(file);
      const bytes = fileBytes.slice();
      const m = await ask<'share'>(
        custodian,
        'open-share',
        (id) => ({ type: 'request-share', request: id, fileName: basename(file), ...(bytes.length === 64 ? { file: bytes.slice() } : {}), ...(fingerprint ? { fingerprint } : {}) }),
      );
      if (fingerprint !== undefined && shareFingerprint(m.share) !== fingerprint) {
        wipe(m.share);
        throw usageError('NOT_THE_CREATED_SHARE', `${custodian} sent another share than the one created for ${file}`, { hint: 'open the share file created in this ceremony' });
      }
      return m.share;
    },
    async pwdShares(file, custodians, threshold, total) {
      const entries: ShareEntry[] = [];
      let prime: string | undefined;
      for (const c of custodians) {
        if (entries.length >= threshold) break;
        if (!onTerminal(c)) continue;
        const m = await ask<'pwd-share'>(c, 'pwd-share', (id) => ({ type: 'request-pwd-share', request: id, fileName: basename(file), threshold, total, needPrime: prime === undefined }));
        try {
          if (m.prime !== undefined) prime ??= m.prime;
          entries.push(parseShareInput({ id: m.id, value: m.value, ...(m.prime !== undefined ? { prime: m.prime } : {}) }, entries.length + 1));
        } finally {
          wipeMessage(m);
        }
      }
      if (entries.length < threshold) {
        throw usageError('PWD_SHARES_TOO_FEW', `${entries.length} of the ${threshold} password shares of ${file} could be asked for: too few custodians are on a terminal`, { hint: 'have more of them join, then continue the ceremony' });
      }
      return shareSet(entries);
    },
    async handOutPwdShares(file, custodians, split: PasswordSplit) {
      for (let i = 0; i < custodians.length; i++) {
        const c = custodians[i]!;
        const share = split.shares[i]!;
        if (!onTerminal(c)) throw usageError('NO_TERMINAL', `${c} has no terminal in this ceremony to be shown their password share on`, { hint: 'they join with hsm-custodian; then continue the ceremony' });
        const value = utf8(formatHexColon(share.value));
        await ask<'confirmed'>(
          c,
          'show-pwd-share',
          (id) => ({ type: 'show-pwd-share', request: id, fileName: basename(file), prime: formatHexColon(split.prime), id: share.id, value: value.slice(), threshold: o.current()?.threshold ?? 2, total: split.shares.length }),
          () => wipe(value),
        );
      }
    },
    wipe() {
      wipe(userPin ?? undefined, soPin ?? undefined);
      userPin = null;
      soPin = null;
    },
  };
}

