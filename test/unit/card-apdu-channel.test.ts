import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApduChannel, commandCarriesSecret, type ApduTraceEntry } from '../../app/card/apdu-channel.ts';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import { ScriptedTransport, script } from './card-trace.ts';

const none = new Uint8Array(0);

describe('APDU channel', () => {
  it('follows 61xx with GET RESPONSE and joins the parts', async () => {
    const t = new ScriptedTransport(
      script(
        ['80720192000000', 'AABB6104'],
        ['00C0000004', 'CCDDEEFF6102'],
        ['00C0000002', '11229000'],
      ),
    );
    const ch = new ApduChannel(t);
    const r = await ch.send({ cla: 0x80, ins: 0x72, p1: 1, p2: 0x92, data: none, le: 65536 });
    t.done();
    assert.equal(toHex(r.data), 'aabbccddeeff1122');
    assert.equal(r.sw, 0x9000);
  });

  it('GET RESPONSE with 6100 asks for 256 bytes', async () => {
    const big = 'AB'.repeat(256);
    const t = new ScriptedTransport(script(['0084000000', '6100'], ['00C0000000', big + '9000']));
    const r = await new ApduChannel(t).send({ cla: 0, ins: 0x84, p1: 0, p2: 0, data: none, le: 256 });
    t.done();
    assert.equal(r.data.length, 256);
  });

  it('re-sends once with the Le a 6Cxx answer asks for', async () => {
    const t = new ScriptedTransport(script(['00B0000000', '6C05'], ['00B0000005', '01020304059000']));
    const r = await new ApduChannel(t).send({ cla: 0, ins: 0xb0, p1: 0, p2: 0, data: none, le: 256 });
    t.done();
    assert.equal(toHex(r.data), '0102030405');
    assert.equal(r.sw, 0x9000);
  });

  it('6Cxx then 61xx: both are followed', async () => {
    const t = new ScriptedTransport(script(['00CA010100', '6C04'], ['00CA010104', '01026102'], ['00C0000002', '03049000']));
    const r = await new ApduChannel(t).send({ cla: 0, ins: 0xca, p1: 1, p2: 1, data: none, le: 256 });
    t.done();
    assert.equal(toHex(r.data), '01020304');
  });

  it('returns error status words as they are (the caller judges them)', async () => {
    const t = new ScriptedTransport(script(['0020008106363438323139', '63C2']));
    const r = await new ApduChannel(t).send({ cla: 0, ins: 0x20, p1: 0, p2: 0x81, data: fromHex('363438323139'), le: null });
    assert.equal(r.sw, 0x63c2);
    assert.equal(r.data.length, 0);
  });

  it('encodes short and extended commands as OpenSC does', async () => {
    const blob = new Uint8Array(300).fill(7);
    const t = new ScriptedTransport(
      script(
        ['8058000000', '9000'],
        ['80580000000000', '9000'],
        ['8074019300012C' + '07'.repeat(300), '9000'],
      ),
    );
    const ch = new ApduChannel(t);
    await ch.send({ cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: none, le: 256 });
    await ch.send({ cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: none, le: 65536 });
    await ch.send({ cla: 0x80, ins: 0x74, p1: 1, p2: 0x93, data: blob, le: null });
    t.done();
  });

  describe('trace redaction', () => {
    const pin = fromHex('363438323139');
    const share = fromHex('76f4a78ce1fa513b81008114be860db363a54c296aa535a78f820e266eda498e');

    async function traced(pairs: [string, string][], run: (ch: ApduChannel) => Promise<unknown>): Promise<ApduTraceEntry[]> {
      const entries: ApduTraceEntry[] = [];
      const t = new ScriptedTransport(script(...pairs));
      await run(new ApduChannel(t, { trace: (e) => entries.push(e) }));
      t.done();
      return entries;
    }

    it('never shows VERIFY, CHANGE, RESET, INITIALIZE, IMPORT DKEK SHARE or UNWRAP data', async () => {
      const cases: [number, number, number, number][] = [
        [0x00, 0x20, 0x00, 0x81],
        [0x00, 0x24, 0x00, 0x81],
        [0x00, 0x2c, 0x00, 0x81],
        [0x80, 0x50, 0x00, 0x00],
        [0x80, 0x52, 0x00, 0x00],
        [0x80, 0x74, 0x01, 0x93],
      ];
      for (const [cla, ins, p1, p2] of cases) {
        const data = ins === 0x52 ? share : pin;
        const head = toHex(Uint8Array.of(cla, ins, p1, p2, data.length)).toUpperCase();
        const entries = await traced([[head + toHex(data), '9000']], (ch) => ch.send({ cla, ins, p1, p2, data, le: null }, { label: 'X' }));
        assert.equal(entries.length, 1);
        const e = entries[0]!;
        assert.ok(e.redacted);
        assert.ok(!e.command.replace(/ /g, '').includes(toHex(data).toUpperCase()), `INS ${ins.toString(16)} data leaked: ${e.command}`);
        assert.match(e.command, new RegExp(`<${data.length} bytes redacted>`));
        assert.ok(e.command.startsWith(toHex(Uint8Array.of(cla, ins, p1, p2), ' ').toUpperCase()));
      }
    });

    it('keeps Le visible and redacts extended data', async () => {
      const blob = new Uint8Array(300).fill(0x5a);
      const entries = await traced([['8074019300012C' + '5A'.repeat(300), '9000']], (ch) =>
        ch.send({ cla: 0x80, ins: 0x74, p1: 1, p2: 0x93, data: blob, le: null }),
      );
      assert.equal(entries[0]!.command, '80 74 01 93 00 01 2C <300 bytes redacted>');
      const e2 = await traced([['8052000020' + toHex(share) + '00', '01000000000000000000' + '9000']], (ch) =>
        ch.send({ cla: 0x80, ins: 0x52, p1: 0, p2: 0, data: share, le: 256 }),
      );
      assert.equal(e2[0]!.command, '80 52 00 00 20 <32 bytes redacted> 00');
      assert.equal(e2[0]!.response, '01 00 00 00 00 00 00 00 00 00');
      assert.equal(e2[0]!.sw, '9000');
    });

    it('redacts answers the caller marks secret, across GET RESPONSE', async () => {
      const entries = await traced(
        [
          ['0084000020', share.subarray(0, 16).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '') + '6110'],
          ['00C0000010', toHex(share.subarray(16)) + '9000'],
        ],
        async (ch) => {
          const r = await ch.send({ cla: 0, ins: 0x84, p1: 0, p2: 0, data: none, le: 32 }, { secret: 'response', label: 'GET CHALLENGE' });
          assert.equal(toHex(r.data), toHex(share));
        },
      );
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.response, '<32 bytes redacted>');
      assert.ok(entries[0]!.redacted);
    });

    it('shows ordinary commands in full', async () => {
      const entries = await traced([['80580000000000', 'C400CC009000']], (ch) =>
        ch.send({ cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: none, le: 65536 }, { label: 'ENUMERATE OBJECTS' }),
      );
      assert.deepEqual(entries[0], { label: 'ENUMERATE OBJECTS', command: '80 58 00 00 00 00 00', response: 'C4 00 CC 00', sw: '9000', redacted: false });
    });

    it('wipes the encoded bytes of a secret command once sent, not those of others', async () => {
      const seen: Uint8Array[] = [];
      const transport = {
        info: { kind: 'simulator' as const, reader: 'x', virtual: true, atr: none },
        async transmit(c: Uint8Array) {
          seen.push(c); // keep the very buffer the channel passed
          return fromHex('9000');
        },
        async close() {},
      };
      const ch = new ApduChannel(transport);
      await ch.send({ cla: 0, ins: 0x20, p1: 0, p2: 0x81, data: pin, le: null });
      await ch.send({ cla: 0, ins: 0xb1, p1: 0, p2: 0, data: fromHex('54020000'), le: 256 });
      assert.ok(seen[0]!.every((b) => b === 0), 'VERIFY APDU buffer wiped');
      assert.equal(toHex(seen[1]!), '00b100000454020000' + '00', 'READ BINARY buffer left alone');
      assert.equal(toHex(pin), '363438323139', "the caller's PIN is the caller's to wipe");
    });
  });

  it('commandCarriesSecret knows the secret-bearing INS bytes', () => {
    const d = new Uint8Array(1);
    assert.ok(commandCarriesSecret({ cla: 0x00, ins: 0x20, data: d }));
    assert.ok(!commandCarriesSecret({ cla: 0x00, ins: 0x20, data: none }), 'a PIN status query carries nothing');
    assert.ok(commandCarriesSecret({ cla: 0x80, ins: 0x52, data: d }));
    assert.ok(!commandCarriesSecret({ cla: 0x00, ins: 0x52, data: d }), 'INS 52 is proprietary only under CLA 80');
    assert.ok(!commandCarriesSecret({ cla: 0x00, ins: 0xb1, data: d }));
  });
});
