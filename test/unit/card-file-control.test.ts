/** SELECT answers: FCP/FCI parsing and the SmartCard-HSM tag 85 (spec §3). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAppletInfo, parseFileControl } from '../../app/card/file-control.ts';
import { fromHex } from '../../protocol/bytes.ts';

describe('file control', () => {
  it('Pico HSM 6.6 applet FCP (trace L21)', () => {
    const a = parseAppletInfo(fromHex('62 22 81 02 00 00 82 01 01 83 02 00 00 84 0B 2B 06 01 04 01 81 C3 1F 02 01 00 8A 01 05 85 05 00 01 FF 06 06'));
    assert.deepEqual([a.versionText, a.options, a.userPinResetWithSoPin, a.transportPinMode], ['6.6', 1, true, false]);
  });

  it('Nitrokey HSM FCI from OpenSC #3602: version 4.1', () => {
    const a = parseAppletInfo(fromHex('6F 0A 82 01 78 85 05 00 01 06 04 01'));
    assert.deepEqual(a.version, { major: 4, minor: 1 });
    assert.equal(a.options, 0x0001);
  });

  it('transport-PIN mode is options bit 1', () => {
    assert.equal(parseAppletInfo(fromHex('6207 8505 0003 FF 0303')).transportPinMode, true);
  });

  it('no tag 85: version unknown; empty answer: empty control', () => {
    assert.equal(parseAppletInfo(fromHex('6203 820101')).versionText, 'unknown');
    assert.deepEqual(parseFileControl(new Uint8Array(0)), { tlvs: [], size: null, fid: null, proprietary: null });
  });

  it('EF FCP: size from 81 (or 80) and the FID from 83', () => {
    const f = parseFileControl(fromHex('62 0E 81 02 01 BB 82 01 01 83 02 2F 02 8A 01 05'));
    assert.equal(f.size, 0x1bb);
    assert.equal(f.fid, 0x2f02);
    assert.equal(parseFileControl(fromHex('6204 8002 0010')).size, 16);
  });

  it('anything else is BAD_FCP (device)', () => {
    for (const bad of ['7F 21 00', '62 05 81 02', '90 00']) {
      assert.throws(() => parseFileControl(fromHex(bad)), { code: 'BAD_FCP', kind: 'device' });
    }
  });
});
