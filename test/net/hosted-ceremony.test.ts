// The hosted-ceremony reducer as event lists: events in, state and effects out, no sockets, no card.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialWorld,
  reduceHosted,
  type HostedCeremonyConfig,
  type HostedEffect,
  type HostedEvent,
  type HostedWorld,
} from '../../app/net/hosted-ceremony.ts';
import type { PlanSummary } from '../../protocol/wire/public-events.ts';

const FP = ['0df8 a74f 7388 018e', 'dbfe 1014 406d 86e3', '0a83 b4b9 54b9 a4f5'];

function config(over: Partial<HostedCeremonyConfig> = {}, plan: Partial<PlanSummary> = {}): HostedCeremonyConfig {
  return {
    slots: [
      { slot: 1, name: 'alice', roles: ['custodian'] },
      { slot: 2, name: 'bob', roles: ['custodian'] },
      { slot: 3, name: 'carol', roles: ['custodian'] },
      { slot: 4, name: 'wendy', roles: ['witness'] },
    ],
    plan: { mode: 'import-passphrase', shares: 3, initialize: null, pwdShares: null, expectedKcv: null, ...plan },
    url: 'ws://127.0.0.1:1/v1',
    initialize: null,
    securityOfficer: null,
    shareFiles: {},
    pwdShares: null,
    joinTimeoutMs: 60_000,
    resumed: [],
    ...over,
  };
}

/** Runs events in order; returns the final world and every effect, in order. */
function run(world: HostedWorld, events: HostedEvent[], now = 0): { world: HostedWorld; fx: HostedEffect[] } {
  const fx: HostedEffect[] = [];
  for (const e of events) {
    const step = reduceHosted(world, e, now);
    world = step.world;
    fx.push(...step.effects);
  }
  return { world, fx };
}

const of = <T extends HostedEffect['type']>(fx: HostedEffect[], type: T) => fx.filter((f): f is Extract<HostedEffect, { type: T }> => f.type === type);
const sent = (fx: HostedEffect[], slot: number) => of(fx, 'send').filter((f) => f.slot === slot).map((f) => f.message);
const events = (fx: HostedEffect[]) => of(fx, 'broadcast').map((f) => f.event);

function requestOf(fx: HostedEffect[], slot: number, type: string): number {
  const m = sent(fx, slot).find((x) => x.type === type) as { request: number } | undefined;
  assert.ok(m, `slot ${slot} was sent a ${type}`);
  return m.request;
}

const started = (cfg = config()) => run(initialWorld(cfg), [{ type: 'start' }, { type: 'card-status', dkek: { total: 3, outstanding: 3 }, description: 'sim' }]);

describe('hosted ceremony reducer: passphrase shares', () => {
  it('issues a code per slot, reads the card, asks each custodian on joining, imports, confirms', () => {
    let { world, fx } = run(initialWorld(config()), [{ type: 'start' }]);
    assert.deepEqual(of(fx, 'issue-code').map((f) => f.slot), [1, 2, 3, 4]);
    assert.deepEqual(of(fx, 'read-card-status').length, 1);
    assert.equal(events(fx)[0]!.type, 'listening');
    ({ world, fx } = run(world, [{ type: 'card-status', dkek: { total: 3, outstanding: 3 }, description: 'sim' }]));
    assert.equal(world.ceremony.phase, 'collecting');
    assert.equal(world.ceremony.planned, 3);

    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }]));
    assert.equal(sent(fx, 1)[0]!.type, 'welcome');
    const r1 = requestOf(fx, 1, 'request-share');
    ({ world, fx } = run(world, [{ type: 'joined', slot: 4, connection: 14, sas: '111111' }]));
    assert.ok(!sent(fx, 4).some((m) => m.type.startsWith('request')), 'a witness is never asked for anything');

    ({ world, fx } = run(world, [
      { type: 'message', slot: 1, connection: 11, message: { type: 'progress', request: r1, percent: 40 } },
      { type: 'message', slot: 1, connection: 11, message: { type: 'share', request: r1, share: 7, fingerprint: FP[0]! } },
    ]));
    assert.deepEqual(events(fx)[0], { type: 'deriving', slot: 1, name: 'alice', percent: 40 });
    assert.deepEqual(of(fx, 'import-share'), [{ type: 'import-share', slot: 1, share: 7, fingerprint: FP[0] }]);

    ({ world, fx } = run(world, [{ type: 'card-imported', slot: 1, fingerprint: FP[0]!, total: 3, outstanding: 2 }]));
    assert.deepEqual(events(fx)[0], { type: 'share-imported', slot: 1, name: 'alice', fingerprint: FP[0], imported: 1, total: 3, outstanding: 2 });
    assert.deepEqual(sent(fx, 1)[0], { type: 'result', request: r1, ok: true, code: null, message: null, hint: null });

    for (const [slot, conn, fp, left] of [[2, 12, FP[1]!, 1], [3, 13, FP[2]!, 0]] as const) {
      ({ world, fx } = run(world, [{ type: 'joined', slot, connection: conn, sas: '222222' }]));
      const r = requestOf(fx, slot, 'request-share');
      ({ world, fx } = run(world, [
        { type: 'message', slot, connection: conn, message: { type: 'share', request: r, share: 20 + slot, fingerprint: fp } },
        { type: 'card-imported', slot, fingerprint: fp, total: 3, outstanding: left },
      ]));
    }
    assert.deepEqual(of(fx, 'confirm-dkek'), [{ type: 'confirm-dkek', pin: 'local' }]);
    assert.equal(world.ceremony.phase, 'confirming');
    ({ world, fx } = run(world, [{ type: 'kcv', kcv: '0CD7B68B6E2F3A7E', expected: null, matches: null, outstanding: 0 }]));
    assert.equal(world.ceremony.phase, 'over');
    assert.deepEqual(of(fx, 'finish'), [{ type: 'finish', outcome: 'done', exitCode: 0 }]);
    assert.equal(events(fx).at(-1)!.type, 'ceremony-over');
  });

  it('refuses a share whose fingerprint was already imported, before the card sees it', () => {
    let { world, fx } = started();
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }, { type: 'joined', slot: 2, connection: 12, sas: '123456' }]));
    const r1 = requestOf(fx, 1, 'request-share');
    const r2 = requestOf(fx, 2, 'request-share');
    ({ world, fx } = run(world, [
      { type: 'message', slot: 1, connection: 11, message: { type: 'share', request: r1, share: 1, fingerprint: FP[0]! } },
      // the same share again, while the first is still at the card
      { type: 'message', slot: 2, connection: 12, message: { type: 'share', request: r2, share: 2, fingerprint: FP[0]! } },
    ]));
    assert.equal(of(fx, 'import-share').length, 1);
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [2] }]);
    const refusal = sent(fx, 2).find((m) => m.type === 'result');
    assert.equal(refusal && refusal.type === 'result' && refusal.code, 'SHARE_ALREADY_IMPORTED');
    assert.ok(events(fx).some((e) => e.type === 'share-refused' && e.slot === 2));
    assert.ok(of(fx, 'close').some((f) => f.slot === 2 && f.error === null));
    assert.equal(world.ceremony.importing, 1);
    assert.deepEqual(world.ceremony.fingerprints, [FP[0]]);
  });

  it('closes a connection that answers a request it was not asked, changing nothing else', () => {
    let { world, fx } = started();
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }]));
    const before = world.ceremony;
    ({ world, fx } = run(world, [{ type: 'message', slot: 1, connection: 11, message: { type: 'share', request: 999, share: 5, fingerprint: FP[0]! } }]));
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [5] }]);
    assert.equal(of(fx, 'close')[0]!.error!.code, 'WIRE_UNEXPECTED_MESSAGE');
    assert.equal(of(fx, 'import-share').length, 0);
    assert.deepEqual(world.ceremony, before);
    // PINs nobody asked for are refused the same way
    ({ fx } = run(world, [{ type: 'message', slot: 1, connection: 11, message: { type: 'pins', request: 1, soPin: 8, pin: 9 } }]));
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [8, 9] }]);
    assert.equal(of(fx, 'close').length, 1);
  });

  it('gives a slot a fresh code when its connection ends, and asks again on rejoin; an import in flight is kept', () => {
    let { world, fx } = started();
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }]));
    const r1 = requestOf(fx, 1, 'request-share');
    ({ world, fx } = run(world, [{ type: 'left', slot: 1, connection: 11, reason: 'the connection closed' }]));
    assert.deepEqual(of(fx, 'issue-code'), [{ type: 'issue-code', slot: 1, generation: 2 }]);
    assert.equal(world.slots[0]!.request, null);
    // a late frame of the old connection is ignored (and its secret wiped)
    ({ world, fx } = run(world, [{ type: 'message', slot: 1, connection: 11, message: { type: 'share', request: r1, share: 3, fingerprint: FP[0]! } }]));
    assert.deepEqual(fx, [{ type: 'discard', refs: [3] }]);
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 21, sas: '654321' }]));
    const again = requestOf(fx, 1, 'request-share');
    assert.notEqual(again, r1);
    ({ world, fx } = run(world, [
      { type: 'message', slot: 1, connection: 21, message: { type: 'share', request: again, share: 4, fingerprint: FP[0]! } },
      { type: 'left', slot: 1, connection: 21, reason: 'gone' },
      { type: 'card-imported', slot: 1, fingerprint: FP[0]!, total: 3, outstanding: 2 },
    ]));
    assert.equal(world.slots[0]!.share, 'imported');
    assert.equal(world.ceremony.importedThisRun, 1);
    // rejoining after the import asks nothing
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 31, sas: '000000' }]));
    assert.ok(!sent(fx, 1).some((m) => m.type === 'request-share'));
  });

  it('a failed handshake burns the code and issues a fresh one', () => {
    const { world } = started();
    const { fx } = run(world, [{ type: 'code-burnt', slot: 2, code: 'CHANNEL_CONFIRM_FAILED', message: 'x' }]);
    assert.deepEqual(of(fx, 'issue-code'), [{ type: 'issue-code', slot: 2, generation: 2 }]);
    assert.equal(events(fx)[0]!.type, 'handshake-failed');
  });

  it('times out a slot nobody joined, and ends the ceremony incomplete when its share is needed', () => {
    let { world, fx } = run(initialWorld(config({ joinTimeoutMs: 1000 })), [{ type: 'start' }, { type: 'card-status', dkek: { total: 3, outstanding: 3 }, description: 'sim' }], 0);
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }, { type: 'joined', slot: 2, connection: 12, sas: '123456' }, { type: 'joined', slot: 3, connection: 13, sas: '123456' }], 500));
    // only the witness is still out: it times out, nothing else happens
    ({ world, fx } = run(world, [{ type: 'tick' }], 1500));
    assert.ok(events(fx).some((e) => e.type === 'warning' && e.code === 'SLOT_TIMED_OUT'));
    assert.notEqual(world.ceremony.phase, 'over');
    ({ world, fx } = run(world, [{ type: 'left', slot: 3, connection: 13, reason: 'gone' }], 2000));
    ({ world, fx } = run(world, [{ type: 'tick' }], 2999));
    assert.notEqual(world.ceremony.phase, 'over');
    ({ world, fx } = run(world, [{ type: 'tick' }], 3001));
    assert.equal(world.ceremony.phase, 'over');
    assert.deepEqual(of(fx, 'finish'), [{ type: 'finish', outcome: 'incomplete', exitCode: 4 }]);
    assert.match(world.ceremony.outcome!.message, /carol did not join in time/);
  });

  it('refuses a plan with more shares than the device expects', () => {
    const { world, fx } = run(initialWorld(config()), [{ type: 'start' }, { type: 'card-status', dkek: { total: 3, outstanding: 2 }, description: 'sim' }]);
    assert.equal(world.ceremony.outcome!.code, 'TOO_MANY_SHARES');
    assert.deepEqual(of(fx, 'finish'), [{ type: 'finish', outcome: 'failed', exitCode: 2 }]);
  });

  it('resumes: shares in the record count as imported and are refused if sent again', () => {
    const cfg = config({ resumed: [{ name: 'alice', fingerprint: FP[0]! }] });
    let { world, fx } = run(initialWorld(cfg), [{ type: 'start' }, { type: 'card-status', dkek: { total: 3, outstanding: 2 }, description: 'sim' }]);
    assert.equal(world.ceremony.planned, 2);
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }, { type: 'joined', slot: 2, connection: 12, sas: '123456' }]));
    assert.ok(!sent(fx, 1).some((m) => m.type === 'request-share'), 'alice already gave hers');
    const r2 = requestOf(fx, 2, 'request-share');
    ({ fx } = run(world, [{ type: 'message', slot: 2, connection: 12, message: { type: 'share', request: r2, share: 9, fingerprint: FP[0]! } }]));
    assert.equal(of(fx, 'import-share').length, 0);
    // a record naming more shares than the device holds is refused
    ({ world } = run(initialWorld(config({ resumed: [{ name: 'alice', fingerprint: FP[0]! }, { name: 'bob', fingerprint: FP[1]! }] })), [{ type: 'start' }, { type: 'card-status', dkek: { total: 3, outstanding: 2 }, description: 'sim' }]));
    assert.equal(world.ceremony.outcome!.code, 'RESUME_MISMATCH');
  });

  it('cancel ends the ceremony with exit 4 and discards every held secret', () => {
    let { world, fx } = started(config({ initialize: { dkekShares: 3 }, securityOfficer: 3 }, { initialize: 3 }));
    ({ world, fx } = run(world, [{ type: 'joined', slot: 3, connection: 13, sas: '123456' }]));
    const r = requestOf(fx, 3, 'request-pins');
    ({ world, fx } = run(world, [{ type: 'message', slot: 3, connection: 13, message: { type: 'pins', request: r, soPin: 40, pin: 41 } }]));
    assert.deepEqual(of(fx, 'initialize-card'), [{ type: 'initialize-card', soPin: 40, pin: 41, dkekShares: 3 }]);
    ({ world, fx } = run(world, [{ type: 'cancel', reason: 'Ctrl-C' }]));
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [40, 41] }]);
    assert.deepEqual(of(fx, 'finish'), [{ type: 'finish', outcome: 'cancelled', exitCode: 4 }]);
    assert.equal(of(fx, 'retire-code').length, 4);
  });
});

describe('hosted ceremony reducer: security officer', () => {
  it('asks the officer for PINs, initialises, keeps the new PIN for the final verification', () => {
    const cfg = config({ initialize: { dkekShares: 3 }, securityOfficer: 3 }, { initialize: 3 });
    let { world, fx } = run(initialWorld(cfg), [{ type: 'start' }, { type: 'card-status', dkek: null, description: 'new' }, { type: 'joined', slot: 1, connection: 11, sas: '1' .padStart(6, '0') }]);
    assert.equal(world.ceremony.phase, 'initializing');
    assert.ok(!sent(fx, 1).some((m) => m.type.startsWith('request')), 'custodians wait for the initialisation');
    ({ world, fx } = run(world, [{ type: 'joined', slot: 3, connection: 13, sas: '123456' }]));
    const r = requestOf(fx, 3, 'request-pins');
    ({ world, fx } = run(world, [{ type: 'message', slot: 3, connection: 13, message: { type: 'pins', request: r, soPin: 50, pin: 51 } }]));
    // a wrong SO-PIN: the officer is told and asked again; the refs are wiped
    ({ world, fx } = run(world, [{ type: 'card-failed', step: 'initialize', failure: { code: 'WRONG_SO_PIN', message: 'the SO-PIN is wrong: 2 tries left', kind: 'check' } }]));
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [50, 51] }]);
    assert.equal((sent(fx, 3).find((m) => m.type === 'result') as { code: string }).code, 'WRONG_SO_PIN');
    const r2 = requestOf(fx, 3, 'request-pins');
    ({ world, fx } = run(world, [
      { type: 'message', slot: 3, connection: 13, message: { type: 'pins', request: r2, soPin: 60, pin: 61 } },
      { type: 'card-initialized', total: 3, outstanding: 3 },
    ]));
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [60] }], 'the SO-PIN goes as soon as the device is initialised');
    assert.equal(world.ceremony.phase, 'collecting');
    assert.ok(sent(fx, 1).some((m) => m.type === 'request-share'), 'waiting custodians are asked now');
    assert.equal(world.ceremony.verifyPin, 61);
  });
});

describe('hosted ceremony reducer: n-of-m password shares', () => {
  const cfg = () =>
    config({ pwdShares: { fileName: 's3.pbe', threshold: 2, total: 3 } }, { mode: 'import-pwd-shares', shares: 1, pwdShares: { threshold: 2, total: 3, fileName: 's3.pbe' } });

  it('combines at the threshold once the prime is known, and imports once', () => {
    let { world, fx } = run(initialWorld(cfg()), [{ type: 'start' }, { type: 'card-status', dkek: { total: 1, outstanding: 1 }, description: 'sim' }]);
    assert.equal(world.ceremony.planned, 1);
    ({ world, fx } = run(world, [{ type: 'joined', slot: 2, connection: 12, sas: '123456' }]));
    const m2 = sent(fx, 2).find((m) => m.type === 'request-pwd-share');
    assert.ok(m2 && m2.type === 'request-pwd-share' && m2.needPrime);
    ({ world, fx } = run(world, [{ type: 'message', slot: 2, connection: 12, message: { type: 'pwd-share', request: m2.request, id: '2', value: 70 } }]));
    assert.deepEqual(events(fx).find((e) => e.type === 'pwd-share-received'), { type: 'pwd-share-received', slot: 2, name: 'bob', received: 1, threshold: 2 });
    ({ world, fx } = run(world, [{ type: 'joined', slot: 3, connection: 13, sas: '123456' }]));
    const r3 = requestOf(fx, 3, 'request-pwd-share');
    ({ world, fx } = run(world, [{ type: 'message', slot: 3, connection: 13, message: { type: 'pwd-share', request: r3, id: '3', value: 71 } }]));
    assert.equal(of(fx, 'open-pwd-file').length, 0, 'no prime yet: nothing to combine');
    ({ world, fx } = run(world, [{ type: 'joined', slot: 1, connection: 11, sas: '123456' }]));
    const r1 = requestOf(fx, 1, 'request-pwd-share');
    ({ world, fx } = run(world, [{ type: 'message', slot: 1, connection: 11, message: { type: 'pwd-share', request: r1, id: '1', value: 72, prime: 'c3:72' } }]));
    const open = of(fx, 'open-pwd-file');
    assert.equal(open.length, 1);
    assert.deepEqual(open[0]!.entries.map((e) => e.slot), [2, 3, 1]);
    ({ world, fx } = run(world, [{ type: 'pwd-opened', share: 80, fingerprint: FP[2]!, used: 3 }]));
    assert.deepEqual(of(fx, 'import-share'), [{ type: 'import-share', slot: 0, share: 80, fingerprint: FP[2] }]);
    ({ world, fx } = run(world, [{ type: 'card-imported', slot: 0, fingerprint: FP[2]!, total: 1, outstanding: 0 }]));
    assert.equal(events(fx)[0]!.type, 'share-imported');
    assert.equal(of(fx, 'confirm-dkek').length, 1);
  });

  it('cross-checks a share that arrives after the file was opened, and warns when it does not fit', () => {
    let { world, fx } = run(initialWorld(cfg()), [{ type: 'start' }, { type: 'card-status', dkek: { total: 1, outstanding: 1 }, description: 'sim' }]);
    for (const slot of [1, 2, 3]) ({ world, fx } = run(world, [{ type: 'joined', slot, connection: 10 + slot, sas: '123456' }]));
    const reqs = [1, 2, 3].map((slot) => world.slots[slot - 1]!.request!.id);
    ({ world, fx } = run(world, [
      { type: 'message', slot: 1, connection: 11, message: { type: 'pwd-share', request: reqs[0]!, id: '1', value: 61, prime: 'p' } },
      { type: 'message', slot: 2, connection: 12, message: { type: 'pwd-share', request: reqs[1]!, id: '2', value: 62 } },
    ]));
    assert.equal(of(fx, 'open-pwd-file')[0]!.entries.length, 2);
    ({ world, fx } = run(world, [{ type: 'message', slot: 3, connection: 13, message: { type: 'pwd-share', request: reqs[2]!, id: '3', value: 63 } }]));
    assert.equal(of(fx, 'check-pwd-shares').length, 0, 'nothing is checked while the combination runs');
    ({ world, fx } = run(world, [{ type: 'pwd-opened', share: 64, fingerprint: FP[0]!, used: 2 }]));
    assert.equal(of(fx, 'import-share').length, 1);
    assert.deepEqual(of(fx, 'check-pwd-shares')[0]!.entries.map((e) => e.value), [61, 62, 63]);
    ({ world, fx } = run(world, [{ type: 'pwd-checked', consistent: false, checked: 3, message: 'share 3 (id 3) does not fit the other shares' }]));
    assert.deepEqual(events(fx), [{ type: 'warning', code: 'PWD_SHARES_DO_NOT_FIT', message: 'share 3 (id 3) does not fit the other shares' }]);
    assert.equal(of(fx, 'check-pwd-shares').length, 0, 'checked once');
  });

  it('waits for one more share after a failed combination, and fails when nobody is left', () => {
    let { world, fx } = run(initialWorld(cfg()), [{ type: 'start' }, { type: 'card-status', dkek: { total: 1, outstanding: 1 }, description: 'sim' }]);
    for (const slot of [1, 2]) {
      ({ world, fx } = run(world, [{ type: 'joined', slot, connection: 10 + slot, sas: '123456' }]));
      const r = requestOf(fx, slot, 'request-pwd-share');
      ({ world, fx } = run(world, [{ type: 'message', slot, connection: 10 + slot, message: { type: 'pwd-share', request: r, id: String(slot), value: 90 + slot, prime: 'p' } }]));
    }
    assert.equal(of(fx, 'open-pwd-file').length, 1);
    ({ world, fx } = run(world, [{ type: 'pwd-open-failed', used: 2, failure: { code: 'WRONG_PWD_SHARES', message: 'the password shares do not open this share file', kind: 'check' } }]));
    assert.notEqual(world.ceremony.phase, 'over');
    assert.ok(events(fx).some((e) => e.type === 'warning' && e.code === 'WRONG_PWD_SHARES'));
    ({ world, fx } = run(world, [{ type: 'joined', slot: 3, connection: 13, sas: '123456' }]));
    const r3 = requestOf(fx, 3, 'request-pwd-share');
    ({ world, fx } = run(world, [{ type: 'message', slot: 3, connection: 13, message: { type: 'pwd-share', request: r3, id: '3', value: 93 } }]));
    assert.equal(of(fx, 'open-pwd-file')[0]!.entries.length, 3, 'retried with every share');
    ({ world, fx } = run(world, [{ type: 'pwd-open-failed', used: 3, failure: { code: 'PWD_SHARES_OUTLIERS', message: 'share 2 (id 2) does not fit the other shares', kind: 'check' } }]));
    assert.equal(world.ceremony.phase, 'over');
    assert.deepEqual(of(fx, 'finish'), [{ type: 'finish', outcome: 'failed', exitCode: 1 }]);
    assert.deepEqual(of(fx, 'discard'), [{ type: 'discard', refs: [91, 92, 93] }]);
  });
});
