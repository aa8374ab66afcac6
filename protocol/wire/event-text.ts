/**
 * One line of text per public event, for every screen of a ceremony (coordinator, custodians,
 * witnesses), so they all describe the same event the same way. Pure; events hold no secrets.
 */

import { COORDINATOR_SLOT, progressText, type PublicEvent } from './public-events.ts';

/** `619639` → `619 639`, easier to read aloud. */
export function spacedSas(sas: string): string {
  return `${sas.slice(0, 3)} ${sas.slice(3)}`;
}

export function rolesText(roles: readonly string[]): string {
  return roles.map((r) => (r === 'security-officer' ? 'security officer' : r)).join(' and ');
}

/** The human line for an event, or null for events that need none. */
export function describeEvent(e: PublicEvent): string | null {
  switch (e.type) {
    case 'listening':
      return `ceremony open at ${e.url} (${e.slots.length} slot${e.slots.length === 1 ? '' : 's'}: ${e.slots.map((s) => `${s.slot} ${s.name}`).join(', ')})`;
    case 'code-issued':
      return null; // the code line says it
    case 'slot-joined':
      return `${e.name} joined (slot ${e.slot}). SAS ${spacedSas(e.sas)}: ${e.name} must see the same six digits`;
    case 'slot-left':
      return `${e.name} left (slot ${e.slot}): ${e.reason}`;
    case 'handshake-failed':
      return `a join for slot ${e.slot} (${e.name}) failed: ${e.message} [${e.code}]`;
    case 'card':
      return e.total === 0 && e.outstanding === 0 ? `device: ${e.description}` : `device DKEK: ${progressText(e.imported, e.total, e.outstanding)}`;
    case 'initialized':
      return `device initialised for ${e.dkekShares} DKEK share${e.dkekShares === 1 ? '' : 's'}`;
    case 'asked':
      return `asked ${e.name} for ${e.what}`;
    case 'step':
      return `step ${e.step} of ${e.total}: ${e.kind}`;
    case 'signed-off':
      return `${e.name} ${e.accepted ? 'signs off' : 'DECLINES to sign off'}`;
    case 'deriving':
      return `${e.slot === COORDINATOR_SLOT ? 'coordinator' : e.name}: deriving… ${e.percent} %`;
    case 'share-created':
      return `${e.name} created a new DKEK share (fingerprint ${e.fingerprint}), saved on their terminal`;
    case 'share-refused':
      return `${e.name}'s share was refused: ${e.message} [${e.code}]`;
    case 'pwd-share-received':
      return `${e.name}'s password share is in (${e.received} received, ${e.threshold} needed)`;
    case 'share-imported':
      return `${e.slot === COORDINATOR_SLOT ? 'the share file' : `${e.name}'s share`} imported (fingerprint ${e.fingerprint}): ${progressText(e.imported, e.total, e.outstanding)}`;
    case 'kcv':
      if (e.kcv === null) return 'the device shows no DKEK key check value';
      return `DKEK key check value ${e.kcv}${e.expected === null ? '' : e.matches ? ` (matches the expected ${e.expected})` : ` (DOES NOT MATCH the expected ${e.expected})`}`;
    case 'warning':
      return `warning: ${e.message}`;
    case 'ceremony-over':
      return `ceremony over (${e.outcome}): ${e.message}`;
    default: {
      const never: never = e;
      return String(never);
    }
  }
}

