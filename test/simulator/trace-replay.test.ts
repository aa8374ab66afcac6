/**
 * Replays every command OpenSC 0.23 sent to a real Pico HSM 6.6 (apdu-trace.txt, in file order:
 * init, status, listing, key generation, shares, wrap, unwrap with and without --force, signing,
 * re-initialisation, three-share DKEK, a foreign-KCV unwrap) against a pico-flavor simulated card,
 * resetting the card between tool runs as pcscd does.
 *
 * Every status word must match. Answers must match byte for byte where they are deterministic
 * (FCPs, PIN status, DKEK status, EF.DIR, TokenInfo, PRKDs, the firmware's own sizes); where they
 * depend on randomness (device certificate, generated keys and their requests, signatures,
 * challenges, blobs) their shape must match: length, leading tag, KCV and key type.
 *
 * The unwrap sections use the blobs the Pico made: they are under the fixture DKEKs, which the
 * replayed share imports give the simulator too, so they unwrap for real.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../protocol/bytes.ts';
import { parseCommand, parseResponse } from '../../app/card/apdu.ts';
import { FIXTURES, newCard } from './helpers.ts';

interface Exchange {
  command: Uint8Array;
  response: Uint8Array;
  line: number;
}

interface Section {
  title: string;
  exchanges: Exchange[];
}

function loadSections(): Section[] {
  const sections: Section[] = [];
  let current: Section | undefined;
  let pending: { command: Uint8Array; line: number } | undefined;
  readFileSync(new URL('apdu-trace.txt', FIXTURES), 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const m = /^--- APDUs \(pcscd --apdu\) for: (.*)$/.exec(raw.trimEnd());
      if (m) sections.push((current = { title: m[1]!, exchanges: [] }));
      else if (raw.startsWith('APDU: ')) pending = { command: fromHex(raw.slice(6)), line: i + 1 };
      else if (raw.startsWith('SW: ')) {
        assert.ok(current && pending);
        current.exchanges.push({ ...pending, response: fromHex(raw.slice(4)) });
        pending = undefined;
      }
    });
  return sections;
}

/** Files whose content is random (so only their length is compared). */
const RANDOM_CONTENT = (fid: number): boolean => fid === 0x2f02 || fid >> 8 === 0xce;

describe('replay of apdu-trace.txt against the pico flavor', () => {
  const sections = loadSections();

  it('the trace has the runs the fixtures README lists', () => {
    assert.ok(sections.length >= 30, `${sections.length} sections`);
    assert.ok(sections.some((s) => s.title.includes('--unwrap-key w.bin --key-reference 20')));
  });

  it('every status word matches and every deterministic answer is byte-identical', (t) => {
    const card = newCard('pico', 0x66);
    let current = -1;
    let compared = 0;
    let exact = 0;
    for (const section of sections) {
      card.reset(); // each tool run connects anew; pcscd resets the card in between
      for (const x of section.exchanges) {
        const where = `line ${x.line} (${section.title})`;
        const cmd = parseCommand(x.command);
        const expected = parseResponse(x.response);
        const got = parseResponse(card.process(x.command));
        assert.equal(card.lastInternalError, undefined, where);
        assert.equal(got.sw.toString(16), expected.sw.toString(16), `${where}: SW of ${toHex(x.command.subarray(0, 4))}`);
        compared++;
        if (cmd.ins === 0xa4 && got.sw === 0x9000 && cmd.p1 !== 0x04) current = (cmd.data[cmd.data.length - 2]! << 8) | cmd.data[cmd.data.length - 1]!;
        const e = toHex(expected.data);
        const g = toHex(got.data);
        switch (cmd.ins) {
          case 0x58: // ENUMERATE: same objects (the firmware lists them in flash order)
            assert.deepEqual(g.match(/..../g)?.sort() ?? [], e.match(/..../g)?.sort() ?? [], `${where}: listed objects`);
            break;
          case 0x84: // GET CHALLENGE
            assert.equal(got.data.length, expected.data.length, where);
            break;
          case 0x46: // GENERATE: an authenticated request of the same size
            assert.equal(got.data[0], 0x67, where);
            assert.equal(got.data.length, expected.data.length, `${where}: request length`);
            break;
          case 0x72: // WRAP: same DKEK (KCV), key type and algorithm header
            assert.equal(g.slice(0, 42), e.slice(0, 42), `${where}: blob header`);
            break;
          case 0x68: // SIGN: same kind of signature
            if (expected.data[0] === 0x30) assert.equal(got.data[0], 0x30, where);
            else assert.equal(got.data.length, expected.data.length, where);
            break;
          case 0xb1:
            if (RANDOM_CONTENT(current)) assert.equal(got.data.length, expected.data.length, `${where}: length of EF ${current.toString(16)}`);
            else {
              assert.equal(g, e, `${where}: content of EF ${current.toString(16)}`);
              exact++;
            }
            break;
          default:
            assert.equal(g, e, `${where}: answer to ${toHex(x.command.subarray(0, 4))}`);
            exact++;
        }
      }
    }
    t.diagnostic(`${compared} exchanges replayed, ${exact} answers byte-identical`);
    assert.ok(compared > 500, `${compared} exchanges replayed`);
    assert.ok(exact > 400, `${exact} byte-identical answers`);
  });
});
