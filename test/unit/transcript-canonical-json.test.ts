/**
 * Canonical JSON (docs/transcript-format.md §3): one encoding per value, and only values with one
 * obvious encoding are accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, isCanonicalJson } from '../../app/transcript/canonical-json.ts';

test('members are sorted by key, with no whitespace; nested objects too', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: -2 }] }), '{"a":[true,null,{"c":-2,"d":"x"}],"b":1}');
  assert.equal(canonicalJson({ é: 1, z: 2, A: 3, '': 4 }), '{"":4,"A":3,"z":2,"é":1}');
});

test('strings are escaped as JSON.stringify escapes them (the RFC 8785 rule)', () => {
  assert.equal(canonicalJson('a"b\\c\n\u0001\u2028😀'), '"a\\"b\\\\c\\n\\u0001\u2028😀"');
});

test('refused: floats, -0, unsafe integers, undefined, bigint, bytes, Map, Date, lone surrogates', () => {
  const bad: [unknown, RegExp][] = [
    [{ a: 1.5 }, /a must be a safe integer/],
    [{ a: -0 }, /-0/],
    [2 ** 53, /safe integer/],
    [{ a: undefined }, /a is undefined/],
    [{ a: 1n }, /bigint/],
    [{ a: { b: new Uint8Array(2) } }, /a\.b is a Uint8Array/],
    [{ m: new Map() }, /Map/],
    [[new Date(0)], /\[0\] is a Date/],
    ['\ud800', /lone UTF-16 surrogate/],
    [{ '\udc00': 1 }, /lone UTF-16 surrogate/],
    [Number.NaN, /safe integer/],
  ];
  for (const [v, re] of bad) assert.throws(() => canonicalJson(v), re);
});

test('only the canonical text of a value is canonical', () => {
  assert.ok(isCanonicalJson('{"a":1,"b":[2]}'));
  for (const t of ['{"b":1,"a":2}', '{"a": 1}', '{"a":1.0}', '{"a":1e0}', '{"a":1,"a":1}', '{"a":"\\u0061"}', ' {"a":1}', '{"a":1}\n', 'nope']) {
    assert.ok(!isCanonicalJson(t), t);
  }
});

test('property: encode → parse → encode is the identity, and the text is canonical', () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'grapheme' }),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).filter((n) => !Object.is(n, -0)),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  fc.assert(
    fc.property(value, (v) => {
      const text = canonicalJson(v);
      assert.equal(canonicalJson(JSON.parse(text)), text);
      assert.ok(isCanonicalJson(text));
    }),
    { numRuns: 300 },
  );
});
