import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand, parseCommand, parseResponse, encodeResponse } from '../../app/card/apdu.ts';
import { fromHex, toHex } from '../../protocol/bytes.ts';

const cases: [string, Parameters<typeof encodeCommand>[0]][] = [
  ['00200081', { cla: 0, ins: 0x20, p1: 0, p2: 0x81, data: new Uint8Array(0), le: null }],
  ['8052000000', { cla: 0x80, ins: 0x52, p1: 0, p2: 0, data: new Uint8Array(0), le: 256 }],
  ['80720192000000', { cla: 0x80, ins: 0x72, p1: 1, p2: 0x92, data: new Uint8Array(0), le: 65536 }],
  ['0084000008', { cla: 0, ins: 0x84, p1: 0, p2: 0, data: new Uint8Array(0), le: 8 }],
  ['00a404000be82b0601040181c31f020100', { cla: 0, ins: 0xa4, p1: 4, p2: 0, data: fromHex('e82b0601040181c31f0201'), le: 256 }],
  ['80580000000000', { cla: 0x80, ins: 0x58, p1: 0, p2: 0, data: new Uint8Array(0), le: 65536, extended: true }],
];

test('APDUs encode as OpenSC sends them (apdu-trace.txt) and parse back', () => {
  for (const [hex, cmd] of cases) {
    const bytes = encodeCommand(cmd);
    assert.equal(toHex(bytes), hex);
    const back = parseCommand(bytes);
    assert.equal(back.ins, cmd.ins);
    assert.equal(back.le, cmd.le);
    assert.deepEqual(back.data, cmd.data);
  }
});

test('extended case 3 and 4 round-trip with 300 bytes of data', () => {
  const data = new Uint8Array(300).map((_, i) => i & 0xff);
  for (const le of [null, 256, 65536]) {
    const c = parseCommand(encodeCommand({ cla: 0x80, ins: 0x74, p1: 1, p2: 0x93, data, le }));
    assert.equal(c.extended, true);
    assert.deepEqual(c.data, data);
    assert.equal(c.le, le);
  }
});

test('malformed command APDUs are rejected', () => {
  for (const hex of ['0020', '0020008105aabb', '002000810000', '0020008100000300aa']) {
    assert.throws(() => parseCommand(fromHex(hex)), RangeError, hex);
  }
});

test('responses split into data and status word', () => {
  const r = parseResponse(encodeResponse(fromHex('0101'), 0x9000));
  assert.equal(toHex(r.data), '0101');
  assert.equal(r.sw, 0x9000);
  assert.throws(() => parseResponse(new Uint8Array([0x90])), RangeError);
});
