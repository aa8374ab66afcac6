/** Device selection decisions over a fake reader list and a fake simulator. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDevice, type DeviceDeps, type DeviceFlavor, type ReaderSession } from '../../app/card/device.ts';
import type { ReaderStatus } from '../../app/card/pcsc.ts';
import type { CardTransport } from '../../app/card/transport.ts';
import { deviceError } from '../../protocol/errors.ts';

function reader(name: string, card = false): ReaderStatus {
  return { name, cardPresent: card, atr: card ? Uint8Array.of(0x3b) : null, exclusive: false, virtual: /Virtual PCD/.test(name) };
}

function fakeTransport(kind: 'pcsc' | 'simulator', name: string, log: string[]): CardTransport {
  return {
    info: { kind, reader: name, virtual: kind === 'simulator', atr: Uint8Array.of(0x3b) },
    async transmit() {
      return Uint8Array.of(0x90, 0);
    },
    async close() {
      log.push(`close ${name}`);
    },
  };
}

function world(readers: ReaderStatus[], opts: { pcsc?: 'ok' | 'PCSC_UNAVAILABLE' | 'NO_PCSCD' } = {}) {
  const log: string[] = [];
  const session: ReaderSession = {
    listReaders: () => readers,
    async connect(name) {
      log.push(`connect ${name}`);
      return fakeTransport('pcsc', name, log);
    },
    close() {
      log.push('pcsc closed');
    },
  };
  const deps: DeviceDeps = {
    async openPcsc() {
      const mode = opts.pcsc ?? 'ok';
      if (mode !== 'ok') throw deviceError(mode, 'no pc/sc here');
      log.push('pcsc opened');
      return session;
    },
    async openSimulator(o: { simState?: string; flavor?: DeviceFlavor }) {
      log.push(`simulator ${JSON.stringify(o)}`);
      return fakeTransport('simulator', 'simulator', log);
    },
  };
  return { deps, log };
}

const VPCD = [reader('Virtual PCD 00 00'), reader('Virtual PCD 00 01')];

describe('openDevice', () => {
  it('--sim uses the simulator without touching PC/SC', async () => {
    const { deps, log } = world(VPCD);
    const d = await openDevice({ sim: true, simState: '/tmp/s.json', flavor: 'pico' }, deps);
    assert.equal(d.simulated, true);
    assert.equal(d.fallbackReason, null);
    assert.equal(d.description, 'built-in simulator (Pico HSM flavor, state in /tmp/s.json)');
    assert.deepEqual(log, ['simulator {"simState":"/tmp/s.json","flavor":"pico"}']);
  });

  it('--sim with --reader is a usage error', async () => {
    const { deps } = world(VPCD);
    await assert.rejects(openDevice({ sim: true, reader: 'Nitro' }, deps), { code: 'CONFLICTING_DEVICE_OPTIONS', kind: 'usage' });
  });

  it('no reader holds a card (vpcd readers empty): the simulator, and the description says so', async () => {
    const { deps, log } = world(VPCD);
    const d = await openDevice({}, deps);
    assert.equal(d.simulated, true);
    assert.match(d.description, /^no reader holds a card: using the built-in simulator \(default flavor, in memory/);
    assert.equal(d.fallbackReason, 'no reader holds a card: using the built-in simulator');
    assert.deepEqual(log, ['pcsc opened', 'pcsc closed', 'simulator {}']);
  });

  it('no PC/SC at all: the simulator, saying why', async () => {
    for (const [mode, why] of [
      ['PCSC_UNAVAILABLE', /PC\/SC support is not installed/],
      ['NO_PCSCD', /pcscd\) is not running/],
    ] as const) {
      const { deps } = world([], { pcsc: mode });
      const d = await openDevice({}, deps);
      assert.equal(d.simulated, true);
      assert.match(d.description, why);
      assert.match(d.description, /using the built-in simulator/);
    }
  });

  it('exactly one reader with a card: that one', async () => {
    const { deps, log } = world([...VPCD, reader('Nitrokey Nitrokey HSM (DENK01234) 00 00', true)]);
    const d = await openDevice({}, deps);
    assert.equal(d.simulated, false);
    assert.equal(d.description, 'reader "Nitrokey Nitrokey HSM (DENK01234) 00 00"');
    assert.equal(d.transport.info.reader, 'Nitrokey Nitrokey HSM (DENK01234) 00 00');
    await d.transport.close();
    assert.deepEqual(log, ['pcsc opened', 'connect Nitrokey Nitrokey HSM (DENK01234) 00 00', 'close Nitrokey Nitrokey HSM (DENK01234) 00 00', 'pcsc closed']);
  });

  it('the card in a Virtual PCD reader is named as virtual', async () => {
    const { deps } = world([reader('Virtual PCD 00 00'), reader('Virtual PCD 00 01', true)]);
    const d = await openDevice({}, deps);
    assert.match(d.description, /^reader "Virtual PCD 00 01" \(a virtual reader \(vsmartcard vpcd\): the card in it is software, not a physical device\)$/);
  });

  it('several readers with a card: list them and stop (usage error)', async () => {
    const { deps, log } = world([reader('Virtual PCD 00 00', true), reader('Pico HSM 00 00', true), reader('Empty 00 00')]);
    await assert.rejects(openDevice({}, deps), (e: unknown) => {
      const err = e as { code: string; kind: string; message: string; hint: string };
      assert.equal(err.code, 'MULTIPLE_CARDS');
      assert.equal(err.kind, 'usage');
      assert.equal(err.message, '2 readers hold a card: "Virtual PCD 00 00" (card), "Pico HSM 00 00" (card)');
      assert.match(err.hint, /--reader/);
      return true;
    });
    assert.deepEqual(log, ['pcsc opened', 'pcsc closed']);
  });

  it('--reader matches a substring, case-insensitively, whatever other readers hold', async () => {
    const { deps, log } = world([reader('Virtual PCD 00 00'), reader('Virtual PCD 00 01', true), reader('Nitrokey HSM 00 00', true)]);
    const d = await openDevice({ reader: 'nitrokey' }, deps);
    assert.equal(d.transport.info.reader, 'Nitrokey HSM 00 00');
    assert.equal(d.simulated, false);
    assert.ok(log.includes('connect Nitrokey HSM 00 00'));
  });

  it('--reader: an exact name wins over longer names that contain it', async () => {
    const { deps } = world([reader('Virtual PCD 00 0'), reader('Virtual PCD 00 01')]);
    const d = await openDevice({ reader: 'Virtual PCD 00 0' }, deps);
    assert.equal(d.transport.info.reader, 'Virtual PCD 00 0');
  });

  it('--reader ambiguous: error listing the matches', async () => {
    const { deps, log } = world(VPCD);
    await assert.rejects(openDevice({ reader: 'Virtual' }, deps), (e: unknown) => {
      const err = e as { code: string; message: string; detail: { readers: string[] } };
      assert.equal(err.code, 'READER_AMBIGUOUS');
      assert.equal(err.message, '"Virtual" matches 2 readers: "Virtual PCD 00 00", "Virtual PCD 00 01"');
      assert.deepEqual(err.detail.readers, ['Virtual PCD 00 00', 'Virtual PCD 00 01']);
      return true;
    });
    assert.ok(log.includes('pcsc closed'));
  });

  it('--reader with no match: error listing every reader', async () => {
    const { deps } = world([...VPCD, reader('Pico HSM 00 00', true)]);
    await assert.rejects(openDevice({ reader: 'Nitrokey' }, deps), (e: unknown) => {
      const err = e as { code: string; kind: string; message: string };
      assert.equal(err.code, 'READER_NOT_FOUND');
      assert.equal(err.kind, 'usage');
      assert.equal(err.message, 'no reader name contains "Nitrokey"; readers: "Virtual PCD 00 00", "Virtual PCD 00 01", "Pico HSM 00 00" (card)');
      return true;
    });
    await assert.rejects(openDevice({ reader: '  ' }, deps), { code: 'READER_NOT_FOUND' });
  });

  it('--reader without PC/SC is an error, not a silent fallback', async () => {
    const { deps, log } = world([], { pcsc: 'NO_PCSCD' });
    await assert.rejects(openDevice({ reader: 'Nitrokey' }, deps), { code: 'NO_PCSCD', kind: 'device' });
    assert.deepEqual(log, []);
  });

  it('other PC/SC failures are not hidden behind the simulator', async () => {
    const { deps } = world(VPCD);
    deps.openPcsc = async () => {
      throw deviceError('PCSC_ERROR', 'pcsc-lite failed');
    };
    await assert.rejects(openDevice({}, deps), { code: 'PCSC_ERROR' });
  });
});

describe('openDevice with the real simulator', () => {
  it('--sim opens app/simulator and the command layer talks to it', async () => {
    const { SmartCardHsm } = await import('../../app/card/sc-hsm.ts');
    const { utf8 } = await import('../../protocol/bytes.ts');
    for (const flavor of ['sc-hsm', 'pico'] as const) {
      const d = await openDevice({ sim: true, flavor });
      assert.equal(d.transport.info.kind, 'simulator');
      const hsm = new SmartCardHsm(d.transport);
      const info = await hsm.selectApplet();
      assert.ok(info.version, `${flavor}: version from tag 85`);
      await hsm.initialize({ userPin: utf8('648219'), soPin: utf8('3537363231383830'), dkekShares: 1 });
      assert.ok(['verified', 'not-verified'].includes((await hsm.pinStatus('user')).state));
      const share = await hsm.getChallenge(32, { secret: true });
      const status = await hsm.importDkekShare(share);
      assert.equal(status.outstanding, 0);
      await hsm.verifyPin(utf8('648219'));
      assert.equal((await hsm.dkekStatus()).kcvKnown, true);
      await d.transport.close();
    }
  });
});
