import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSecretJson, wipeSecretJson, SecretJsonError } from '../../protocol/secret-json.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: unknown) => new TextDecoder().decode(b as Uint8Array);

test('string values come back as bytes, keys as strings', () => {
  const v = parseSecretJson(enc('{"pin":"648219","n":[1,-2.5e3,true,false,null],"x":{"é":"\\u00e9\\ud83d\\ude00\\n"}}')) as any;
  assert.ok(v.pin instanceof Uint8Array);
  assert.equal(dec(v.pin), '648219');
  assert.deepEqual(v.n, [1, -2500, true, false, null]);
  assert.equal(dec(v.x['é']), 'é😀\n');
});

test('agrees with JSON.parse on random JSON values (strings compared as UTF-8)', () => {
  const norm = (v: unknown): unknown =>
    v instanceof Uint8Array ? dec(v) : Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : v;
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (j) => {
      const text = JSON.stringify(j);
      assert.deepEqual(norm(parseSecretJson(enc(text))), JSON.parse(text));
    }),
    { numRuns: 300 },
  );
});

test('rejects what strict JSON rejects, with a position and without echoing input', () => {
  for (const bad of ['{"a":1,}', "{'a':1}", '{"a":1}x', '{"a":"b', '[1 2]', '{"a":1,"a":2}', '{"a":01}', '"\u0001"', '{"a":"\\x"}', '']) {
    assert.throws(() => parseSecretJson(enc(bad)), (e: unknown) => {
      assert.ok(e instanceof SecretJsonError, bad);
      assert.match((e as Error).message, /line \d+, column \d+/);
      return true;
    });
  }
  try {
    parseSecretJson(enc('{"passphrase": "hunter2-secret" oops}'));
    assert.fail('should throw');
  } catch (e) {
    assert.doesNotMatch((e as Error).message, /hunter2/);
  }
});

test('wipe zeroes every string value', () => {
  const v = parseSecretJson(enc('{"a":"secret","b":["x",{"c":"y"}]}')) as any;
  const held = [v.a, v.b[0], v.b[1].c] as Uint8Array[];
  wipeSecretJson(v);
  for (const b of held) assert.ok(b.every((x) => x === 0));
});
