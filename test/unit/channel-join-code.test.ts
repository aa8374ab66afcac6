// Join codes and their word list: the list's rules, generation from a fixed rng, tolerant parsing,
// errors that name the wrong part without echoing it, and the PRS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex, utf8 } from '../../protocol/bytes.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import {
  formatJoinCode,
  generateJoinCode,
  JOIN_CODE_ENTROPY_BITS,
  joinCodePrs,
  MAX_NAMEPLATE,
  parseJoinCode,
  wipeJoinCode,
} from '../../protocol/channel/join-code.ts';
import { WORD_COUNT, WORD_LIST } from '../../protocol/channel/word-list.ts';

test('word list: 256 sorted, distinct, 4-6 lowercase letters', () => {
  assert.equal(WORD_LIST.length, 256);
  assert.equal(WORD_COUNT, 256);
  assert.equal(new Set(WORD_LIST).size, 256);
  assert.deepEqual([...WORD_LIST].sort(), [...WORD_LIST]);
  for (const w of WORD_LIST) assert.match(w, /^[a-z]{4,6}$/, w);
  assert.ok(Object.isFrozen(WORD_LIST));
});

test('word list: first three letters are unique, so no word is a prefix of another', () => {
  assert.equal(new Set(WORD_LIST.map((w) => w.slice(0, 3))).size, 256);
  for (const a of WORD_LIST) for (const b of WORD_LIST) if (a !== b) assert.ok(!b.startsWith(a), `${a} / ${b}`);
});

test('word list: no word with a common homophone or a competing spelling', () => {
  // One side of common English homophone pairs and words spelled two ways. Not exhaustive, but a
  // regression guard for anyone editing the list.
  const banned = `bare bear berry bury board bored brake break bread bred cedar seeder cell sell cent
    scent coral choral dear deer flour flower hair hare heal heel hole whole knight night knot not
    mail male meat meet metal mettle pair pear peace piece plain plane quartz quarts rain reign read
    reed right write road rode rose rows sail sale sea see son sun stair stare steal steel tail tale
    tea tee toe tow waist waste wait weight weak week whale wail wood would timber timbre sauce source
    gopher gofer llama lama colonel kernel mustard mustered toucan raisin raising kernel harbor harbour
    yogurt yoghurt fiber fibre ketchup catsup alpha alfa`.split(/\s+/);
  for (const w of banned) assert.ok(!WORD_LIST.includes(w), w);
});

test('entropy constant: 3 words of 8 bits', () => {
  assert.equal(JOIN_CODE_ENTROPY_BITS, 24);
  assert.equal(2 ** JOIN_CODE_ENTROPY_BITS, WORD_COUNT ** 3);
});

const fixed = (...bytes: number[]) => (n: number) => {
  assert.equal(n, bytes.length);
  return Uint8Array.from(bytes);
};

test('generate: one rng byte per word, nameplate first', () => {
  const t = WORD_LIST.indexOf('tango');
  const o = WORD_LIST.indexOf('orbit');
  const l = WORD_LIST.indexOf('lemon');
  const code = generateJoinCode(3, fixed(t, o, l));
  assert.equal(code.nameplate, 3);
  assert.equal(formatJoinCode(code), '3-tango-orbit-lemon');
  assert.equal(toHex(joinCodePrs(code)), toHex(utf8('3-tango-orbit-lemon')));
  assert.equal(formatJoinCode(generateJoinCode(999, fixed(0, 255, 128))), `999-acorn-zipper-${WORD_LIST[128]}`);
});

test('generate: nameplate and rng checks', () => {
  assert.throws(() => generateJoinCode(0), RangeError);
  assert.throws(() => generateJoinCode(MAX_NAMEPLATE + 1), RangeError);
  assert.throws(() => generateJoinCode(1.5), RangeError);
  assert.throws(() => generateJoinCode('3' as unknown as number), TypeError);
  assert.throws(() => generateJoinCode(3, () => new Uint8Array(2)), RangeError);
  assert.match(formatJoinCode(generateJoinCode(42)), /^42-[a-z]+-[a-z]+-[a-z]+$/);
});

test('parse: case, spaces, hyphens and leading zeros are tolerated', () => {
  for (const typed of [
    '3-tango-orbit-lemon',
    '3 tango orbit lemon',
    '  3 Tango-ORBIT  lemon \n',
    '3--tango - orbit-lemon',
    '003-tango-orbit-lemon',
    '-3-tango-orbit-lemon-',
    '3\ttango\torbit\tlemon',
  ]) {
    const code = parseJoinCode(typed);
    assert.equal(formatJoinCode(code), '3-tango-orbit-lemon', typed);
    assert.equal(code.nameplate, 3);
  }
  // bytes work the same, and the caller's bytes are left alone
  const typed = utf8('7 ZEBRA acorn Lemon');
  const code = parseJoinCode(typed);
  assert.equal(formatJoinCode(code), '7-zebra-acorn-lemon');
  assert.equal(new TextDecoder().decode(typed), '7 ZEBRA acorn Lemon');
});

function badCode(input: string | Uint8Array, pattern: RegExp, secretWord?: string) {
  assert.throws(
    () => parseJoinCode(input),
    (e: unknown) => {
      assert.ok(isCeremonyError(e));
      assert.equal(e.code, 'CHANNEL_BAD_JOIN_CODE');
      assert.equal(e.kind, 'usage');
      assert.ok(e.hint);
      assert.match(e.message, pattern);
      if (secretWord) assert.ok(!e.message.includes(secretWord) && !JSON.stringify(e.detail).includes(secretWord));
      return true;
    },
  );
}

test('parse: errors name the wrong part, never echo what was typed', () => {
  badCode('3-tango-orbit', /slot number and 3 words, found 3 parts/);
  badCode('3-tango-orbit-lemon-zebra', /found 5 parts/);
  badCode('', /found 0 parts/);
  badCode('x-tango-orbit-lemon', /slot number/);
  badCode('0-tango-orbit-lemon', /slot number/);
  badCode('1000-tango-orbit-lemon', /slot number/);
  badCode('99999999999999999999-tango-orbit-lemon', /slot number/);
  badCode('3-tango-orbiy-lemon', /word 2 of the join code/, 'orbiy');
  badCode('3-tan-orbit-lemon', /word 1/, 'tan');
  badCode('3-tango-orbit-lemons', /word 3/, 'lemons');
  badCode('3-tango-orbit-lémon', /word 3/);
  badCode('3_tango_orbit_lemon', /found 1 parts/);
  badCode('3 ' + 'tango '.repeat(60), /too long/);
  assert.throws(() => parseJoinCode(42 as unknown as string), TypeError);
});

test('property: every generated code parses back to the same bytes, however it is typed', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: MAX_NAMEPLATE }),
      fc.uint8Array({ minLength: 3, maxLength: 3 }),
      fc.array(fc.constantFrom(' ', '-', '  ', ' - '), { minLength: 3, maxLength: 3 }),
      fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      (nameplate, bytes, seps, upper) => {
        const code = generateJoinCode(nameplate, () => bytes.slice());
        const words = formatJoinCode(code).split('-').slice(1);
        const typed =
          String(nameplate) +
          words.map((w, i) => seps[i]! + (upper[i] ? w.toUpperCase() : w)).join('');
        const parsed = parseJoinCode(typed);
        assert.equal(parsed.nameplate, nameplate);
        assert.equal(toHex(parsed.bytes), toHex(code.bytes));
      },
    ),
    { numRuns: 200 },
  );
});

test('PRS is a fresh copy of the whole normalised code, nameplate included', () => {
  const a = parseJoinCode('3-tango-orbit-lemon');
  const b = parseJoinCode('4-tango-orbit-lemon');
  const prs = joinCodePrs(a);
  assert.equal(new TextDecoder().decode(prs), '3-tango-orbit-lemon');
  assert.notEqual(toHex(joinCodePrs(a)), toHex(joinCodePrs(b)));
  prs.fill(0);
  assert.equal(formatJoinCode(a), '3-tango-orbit-lemon', 'wiping the copy leaves the code intact');
  wipeJoinCode(a);
  assert.equal(a.bytes.every((x) => x === 0), true);
  assert.throws(() => joinCodePrs({} as never), TypeError);
});
