/** listKeys against the pkcs15-tool -D sections of the trace. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeCertificateBuiltin, describeKeyBuiltin, formatKeyListing } from '../../app/card/key-list.ts';
import { SmartCardHsm } from '../../app/card/sc-hsm.ts';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import { encodeOid, encodeTlv } from '../../protocol/der.ts';
import { ownExchanges, ScriptedTransport, traceSection, type Exchange } from './card-trace.ts';

function fromCommand(exchanges: Exchange[], prefix: string): Exchange[] {
  const i = exchanges.findIndex((e) => toHex(e.command).toUpperCase().startsWith(prefix.replace(/ /g, '')));
  assert.ok(i >= 0);
  return exchanges.slice(i);
}

describe('listKeys', () => {
  it('pkcs15-tool -D after generating k1 (EC) and r1 (RSA): the same walk, the same facts', async () => {
    const own = ownExchanges(traceSection('pkcs15-tool -D', 1));
    const t = new ScriptedTransport(fromCommand(own, '80 58 00 00 00 00 00'));
    const keys = await new SmartCardHsm(t).listKeys();
    t.done();
    assert.deepEqual(
      keys.map((k) => ({ ref: k.keyRef, dev: k.deviceKey, label: k.label, id: k.id, type: k.type, bits: k.bits, cert: k.certificate?.kind, holder: k.certificate?.holder })),
      [
        { ref: 0, dev: true, label: 'ESPICOHSMTR', id: '00'.repeat(20), type: 'EC', bits: 256, cert: 'cv-request', holder: 'ESPICOHSMTR00001' },
        { ref: 2, dev: false, label: 'r1', id: '02', type: 'RSA', bits: 2048, cert: 'cv-request', holder: 'ESPICOHSMTR00001' },
        { ref: 1, dev: false, label: 'k1', id: '01', type: 'EC', bits: 256, cert: 'cv-request', holder: 'ESPICOHSMTR00001' },
      ],
    );
    assert.equal(keys[2]!.certificate?.type, 'EC');
    assert.equal(keys[1]!.certificate?.bits, 2048, 'RSA size from the CV public key too');
    assert.equal(
      formatKeyListing(keys.slice(1)),
      [
        'Private RSA Key [r1]',
        '\tKey ref        : 2 (0x02)',
        '\tID             : 02',
        '\tModLength      : 2048',
        '\tCertificate    : CV request, holder ESPICOHSMTR00001',
        '',
        'Private EC Key [k1]',
        '\tKey ref        : 1 (0x01)',
        '\tID             : 01',
        '\tFieldLength    : 256',
        '\tCertificate    : CV request, holder ESPICOHSMTR00001',
      ].join('\n'),
    );
  });

  it('a fresh device lists only the device key', async () => {
    const own = ownExchanges(traceSection('pkcs15-tool -D', 0));
    const t = new ScriptedTransport(fromCommand(own, '80 58 00 00 00 00 00'));
    const keys = await new SmartCardHsm(t).listKeys();
    t.done();
    assert.equal(keys.length, 1);
    assert.match(formatKeyListing(keys), /^Private EC Key \[ESPICOHSMTR\] \(device authentication key\)/);
  });

  it('absent PRKD and certificate files leave those fields empty', async () => {
    const t = new ScriptedTransport([
      { command: fromHex('80580000000000'), response: fromHex('CC059000'), line: 0 },
      { command: fromHex('00A4000002C40500'), response: fromHex('6A82'), line: 0 },
      { command: fromHex('00A4000002CE0500'), response: fromHex('6A82'), line: 0 },
    ]);
    const keys = await new SmartCardHsm(t).listKeys();
    t.done();
    assert.deepEqual(keys.map((k) => [k.keyRef, k.label, k.type, k.certificate]), [[5, null, 'unknown', null]]);
    assert.equal(formatKeyListing(keys), 'Private Key []\n\tKey ref        : 5 (0x05)');
  });

  it('decoders tolerate garbage and read an X.509 subject CN', () => {
    assert.equal(describeKeyBuiltin(fromHex('ff')).type, 'unknown');
    assert.equal(describeCertificateBuiltin(fromHex('0102')).kind, 'unknown');
    const name = encodeTlv(0x30, encodeTlv(0x31, encodeTlv(0x30, encodeTlv(0x06, encodeOid('2.5.4.3')), encodeTlv(0x0c, new TextEncoder().encode('Root CA')))));
    const tbs = encodeTlv(0x30, encodeTlv(0xa0, fromHex('020102')), fromHex('020101'), encodeTlv(0x30), name, encodeTlv(0x30), name, encodeTlv(0x30));
    const cert = encodeTlv(0x30, tbs, encodeTlv(0x30), fromHex('030100'));
    assert.deepEqual(describeCertificateBuiltin(cert), { kind: 'x509', holder: 'Root CA', type: null, bits: null });
  });
});
