// Property tests for protocol/dkek/password-shares.ts (docs/password-shares.md): any threshold
// subset rebuilds the password, the threshold is found from the shares, a single bad share is
// named, leading-zero secrets yield padded-then-minimal, and printouts round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CeremonyError } from '../../protocol/errors.ts';
import {
  type PasswordShare,
  formatHexColon,
  formatPrintout,
  parsePrintout,
  parseShareInput,
  passwordCandidates,
  splitPassword,
} from '../../protocol/dkek/password-shares.ts';
import { seededRng } from '../helpers/seeded-rng.ts';


/** A split plus a shuffled subset of at least `threshold` of its shares. */
const splitAndSubset = (maxTotal: number, maxExtra: number) =>
  fc.integer({ min: 3, max: maxTotal }).chain((total) =>
    fc.record({
      total: fc.constant(total),
      threshold: fc.integer({ min: 2, max: total }),
      seed: fc.nat(),
      order: fc.array(fc.nat(), { minLength: total, maxLength: total }),
      extra: fc.integer({ min: 0, max: maxExtra }),
    }));

function pick(shares: readonly PasswordShare[], order: number[], count: number): PasswordShare[] {
  const keyed = shares.map((s, i) => ({ s, key: order[i]! * 1000 + i }));
  keyed.sort((a, b) => a.key - b.key);
  return keyed.slice(0, count).map((k) => k.s);
}

function combine(prime: bigint, shares: readonly PasswordShare[]) {
  return passwordCandidates(parsePrintout(formatPrintout(prime, shares)));
}

test('any subset of at least threshold shares rebuilds the password and reveals the threshold', () => {
  fc.assert(
    fc.property(splitAndSubset(12, 12), ({ total, threshold, seed, order, extra }) => {
      const split = splitPassword(threshold, total, seededRng(`p-${seed}`));
      const k = Math.min(total, threshold + extra);
      const c = combine(split.prime, pick(split.shares, order, k));
      assert.deepEqual(c[0]!.password, split.password);
      assert.equal(c[0]!.form, 'padded');
      assert.equal(c[0]!.threshold, threshold);
      assert.equal(c[0]!.checked, k > threshold);
    }),
    { numRuns: 80 },
  );
});

test('large splits (n up to 255): threshold found with extra shares, exact sets unchecked', () => {
  fc.assert(
    fc.property(fc.integer({ min: 200, max: 255 }), fc.integer({ min: 2, max: 40 }), fc.nat(), (total, threshold, seed) => {
      const split = splitPassword(threshold, total, seededRng(`big-${seed}`));
      const all = combine(split.prime, split.shares);
      assert.deepEqual(all[0]!.password, split.password);
      assert.equal(all[0]!.threshold, threshold);
      assert.equal(all[0]!.checked, true);
      const exact = combine(split.prime, split.shares.slice(total - threshold));
      assert.deepEqual(exact[0]!.password, split.password);
      assert.equal(exact[0]!.checked, false);
    }),
    { numRuns: 3 },
  );
  // The largest split sc-hsm-tool allows, every share needed.
  const split = splitPassword(255, 255, seededRng('max'));
  const c = combine(split.prime, [...split.shares].reverse());
  assert.deepEqual(c[0]!.password, split.password);
  assert.equal(c[0]!.threshold, 255);
});

test('one mistyped share among at least threshold + 2 is named', () => {
  fc.assert(
    fc.property(splitAndSubset(10, 6), fc.nat(), fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }),
      ({ total, threshold, seed, order, extra }, which, delta) => {
        fc.pre(threshold + 2 <= total);
        const k = Math.min(total, threshold + 2 + extra);
        const split = splitPassword(threshold, total, seededRng(`o-${seed}`));
        const chosen = pick(split.shares, order, k);
        const bad = which % k;
        const typo = chosen.map((s, i) => (i === bad ? { ...s, value: (s.value + delta) % split.prime } : s));
        assert.throws(() => combine(split.prime, typo), (e: unknown) => {
          assert.ok(e instanceof CeremonyError);
          assert.equal(e.code, 'PWD_SHARES_OUTLIERS');
          assert.deepEqual(e.detail?.outliers, [{ position: bad + 1, id: String(chosen[bad]!.id) }]);
          assert.equal(e.detail?.threshold, threshold);
          return true;
        });
      }),
    { numRuns: 60 },
  );
});

test('leading-zero secrets: the 8-byte password first, the minimal form second', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0x00, 0x80), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 7, maxLength: 7 }),
      fc.integer({ min: 2, max: 5 }), fc.nat(),
      (first, rest, threshold, seed) => {
        const split = splitPassword(threshold, 5, seededRng(`lz-${seed}`, [first, ...rest]));
        assert.equal(split.password[0], 0);
        const c = combine(split.prime, split.shares.slice(0, threshold));
        assert.deepEqual(c[0]!.password, split.password);
        assert.equal(c[0]!.form, 'padded');
        let skip = 0;
        while (skip < 8 && split.password[skip] === 0) skip++;
        assert.equal(c[1]!.form, 'minimal');
        assert.deepEqual(c[1]!.password, split.password.slice(skip));
        assert.ok(c.slice(2).every((x) => x.form === 'wrapped'));
      }),
    { numRuns: 40 },
  );
});

test('formatted printouts parse back, in any case and with any separator', () => {
  fc.assert(
    fc.property(
      splitAndSubset(8, 8), fc.constantFrom(':', ' ', '', ' : '), fc.boolean(), fc.constantFrom('\n', '\r\n'),
      ({ total, threshold, seed, order, extra }, sep, upper, eol) => {
        const split = splitPassword(threshold, total, seededRng(`f-${seed}`));
        const chosen = pick(split.shares, order, Math.min(total, threshold + extra));
        let out = formatPrintout(split.prime, chosen).replace(/: (.*)$/gm, (_, v: string) => ': ' + v.replaceAll(':', sep));
        if (upper) out = out.toUpperCase();
        out = out.replaceAll('\n', eol);
        const set = parsePrintout(out);
        assert.equal(set.prime, split.prime);
        assert.deepEqual(set.shares.map((s) => [Number(s.idText), s.value]), chosen.map((s) => [s.id, s.value]));
      }),
    { numRuns: 60 },
  );
});

test('formatHexColon output parses back to the same number', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), (v) => {
      const hex = formatHexColon(v);
      assert.match(hex, /^[0-9a-f]{2}(:[0-9a-f]{2})*$/);
      assert.notEqual(hex.slice(0, 2), '00');
      assert.equal(parseShareInput({ id: '1', value: hex }).value, v);
    }),
    { numRuns: 200 },
  );
});
