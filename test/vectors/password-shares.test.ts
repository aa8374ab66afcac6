// Known-answer and rejection tests for sc-hsm-tool's n-of-m password shares
// (docs/password-shares.md). The printout s3-shares.txt and its password come from OpenSC 0.23.0
// against Pico HSM firmware (fixtures/opensc-pico/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { toHex } from '../../protocol/bytes.ts';
import { CeremonyError } from '../../protocol/errors.ts';
import {
  type PasswordCandidate,
  type ShareEntry,
  formatHexColon,
  formatPrintout,
  parsePrime,
  parsePrintout,
  parseShareInput,
  passwordCandidates,
  reconstructSecret,
  shareSet,
  splitPassword,
  validateSplitCounts,
} from '../../protocol/dkek/password-shares.ts';
import { seededRng } from '../helpers/seeded-rng.ts';

const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url);
const printout = readFileSync(new URL('s3-shares.txt', FIXTURES), 'utf8');
const fixtures = JSON.parse(readFileSync(new URL('fixtures.json', FIXTURES), 'utf8')) as {
  shareFiles: { file: string; passwordHex?: string; passwordShares?: { prime: string; threshold: number; shares: Record<string, string> } }[];
};
const s3 = fixtures.shareFiles.find((f) => f.file === 's3.pbe')!;
const PASSWORD = s3.passwordHex!; // 03c1d103dfe4628c
const PRIME = BigInt('0x' + s3.passwordShares!.prime.replaceAll(':', ''));
const SHARES = Object.entries(s3.passwordShares!.shares).map(([id, v]) => ({ id, value: v }));


function text(lines: string[], eol = '\n'): string {
  return lines.join(eol) + eol;
}

/** A printout with the prime once and the given shares (id as written, value as written). */
function printoutOf(prime: string, shares: { id: string; value: string }[]): string {
  return text([`Prime       : ${prime}`, ...shares.flatMap((s) => [`Share ID    : ${s.id}`, `Share value : ${s.value}`])]);
}

function summary(c: PasswordCandidate[]) {
  return c.map((x) => ({ hex: toHex(x.password), form: x.form, idReading: x.idReading, threshold: x.threshold, checked: x.checked }));
}

function rejects(fn: () => unknown, code: string, messageIncludes?: string | RegExp): CeremonyError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CeremonyError, `expected CeremonyError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.hint && caught.hint.length > 0, 'every user error carries a hint');
  assert.match(caught.message, /^[a-z0-9]/, 'message starts lowercase');
  assert.doesNotMatch(caught.message, /\.$/, 'message has no final period');
  if (typeof messageIncludes === 'string') assert.ok(caught.message.includes(messageIncludes), caught.message);
  else if (messageIncludes) assert.match(caught.message, messageIncludes);
  return caught;
}

test('the fixture printout parses to the fixture values', () => {
  const set = parsePrintout(printout);
  assert.equal(set.prime, PRIME);
  assert.equal(set.primeIsSafe, true);
  assert.deepEqual(set.shares.map((s) => s.idText), ['1', '2', '3']);
  assert.deepEqual(set.shares.map((s) => formatHexColon(s.value)), SHARES.map((s) => s.value));
  assert.deepEqual(set.readings, [{ reading: 'decimal', ids: [1, 2, 3] }]);
});

test('every 2-of-3 subset and all 3 fixture shares rebuild password 03c1d103dfe4628c', () => {
  const subsets = [[0, 1], [0, 2], [1, 2], [1, 0], [2, 0], [2, 1], [0, 1, 2], [2, 1, 0], [1, 2, 0]];
  for (const subset of subsets) {
    const chosen = subset.map((i) => SHARES[i]!);
    const candidates = passwordCandidates(parsePrintout(printoutOf(s3.passwordShares!.prime, chosen)));
    assert.deepEqual(summary(candidates)[0], {
      hex: PASSWORD, form: 'padded', idReading: 'decimal', threshold: 2, checked: subset.length === 3,
    }, `subset ${subset}`);
    // 03… has no leading zero byte, so there is no minimal form; the only other candidate is the
    // pre-0.16 wrapped form (s + p < 2^64 here), tried last.
    assert.deepEqual(candidates.slice(1).map((c) => c.form), ['wrapped'], `subset ${subset}`);
    const points = chosen.map((s) => ({ id: Number(s.id), value: BigInt('0x' + s.value.replaceAll(':', '')) }));
    assert.equal(reconstructSecret(points, PRIME), 0x03c1d103dfe4628cn);
  }
});

test('formatPrintout reproduces the fixture printout byte for byte', () => {
  const set = parsePrintout(printout);
  const shares = set.shares.map((s) => ({ id: Number(s.idText), value: s.value }));
  assert.equal(formatPrintout(set.prime, shares), printout);
  // One share is one creation screen of sc-hsm-tool.
  assert.equal(formatPrintout(set.prime, shares.slice(1, 2)),
    'Prime       : c3:72:ff:83:be:5a:1f:df\nShare ID    : 2\nShare value : 9c:15:cc:81:b8:d9:18:7c\n');
  // The pico-hsm documentation's example screen.
  assert.equal(formatPrintout(0xf55646c9a5a10187n, [{ id: 1, value: 0x99646865d88dc05fn }]),
    'Prime       : f5:56:46:c9:a5:a1:01:87\nShare ID    : 1\nShare value : 99:64:68:65:d8:8d:c0:5f\n');
});

test('formatHexColon is BN_bn2bin + sc_bin_to_hex: minimal, lowercase, colon-separated', () => {
  assert.equal(formatHexColon(0n), '');
  assert.equal(formatHexColon(5n), '05');
  assert.equal(formatHexColon(0xabn), 'ab');
  assert.equal(formatHexColon(0x100n), '01:00');
  assert.equal(formatHexColon(0x00c1d103dfe4628cn), 'c1:d1:03:df:e4:62:8c');
  assert.equal(formatHexColon(0xffffffffffffffffn), 'ff:ff:ff:ff:ff:ff:ff:ff');
  assert.throws(() => formatHexColon(-1n), RangeError);
  assert.throws(() => formatHexColon(1 as unknown as bigint), TypeError);
  assert.equal(formatPrintout(PRIME, [{ id: 200, value: 0n }]).split('\n')[2], 'Share value : ');
});

test('printout variants all parse to the same shares', () => {
  const expected = parsePrintout(printout).shares.map((s) => [s.idText, s.value]);
  const noColons = (v: string) => v.replaceAll(':', '');
  const variants: Record<string, string> = {
    uppercase: printout.toUpperCase(),
    'no separators': printoutOf(noColons(s3.passwordShares!.prime), SHARES.map((s) => ({ id: s.id, value: noColons(s.value) }))),
    spaces: printoutOf(s3.passwordShares!.prime.replaceAll(':', ' '), SHARES.map((s) => ({ id: s.id, value: s.value.replaceAll(':', ' ') }))),
    'groups of four': printoutOf('c372 ff83 be5a 1fdf', SHARES.map((s) => ({ id: s.id, value: noColons(s.value).replace(/(....)(?!$)/g, '$1 ') }))),
    'leading zero bytes kept': printoutOf('00:' + s3.passwordShares!.prime, SHARES.map((s) => ({ id: '0' + s.id, value: '00:00:' + s.value }))),
    CRLF: printout.replaceAll('\n', '\r\n'),
    'no final newline': printout.trimEnd(),
    'prime on every share': text(SHARES.flatMap((s, i) => [
      `Share ${i + 1} of 3`, '', `Prime       : ${s3.passwordShares!.prime}`, `Share ID    : ${s.id}`, `Share value : ${s.value}`,
      'Please note ALL values above and press <enter> when finished', ''])),
    'importer prompts and tight spacing': text(['Please enter prime: ' + s3.passwordShares!.prime,
      ...SHARES.flatMap((s) => [`Please enter share ID: ${s.id}`, `Please enter share value:${s.value}`])]),
    'mixed case labels, tabs, trailing space': text([`PRIME:\t${s3.passwordShares!.prime}  `,
      ...SHARES.flatMap((s) => [`share id :  ${s.id} `, `Share  Value\t: ${s.value.toUpperCase()}\t`])]),
    'banner and blank lines': text(['The DKEK will be enciphered using a randomly generated 64 bit password.', '', '',
      ...printout.trimEnd().split('\n').flatMap((l) => [l, ''])]),
  };
  for (const [name, variant] of Object.entries(variants)) {
    const set = parsePrintout(variant);
    assert.equal(set.prime, PRIME, name);
    assert.deepEqual(set.shares.map((s) => [s.idText.replace(/^0+/, ''), s.value]), expected, name);
    assert.equal(toHex(passwordCandidates(set)[0]!.password), PASSWORD, name);
    // The same text as bytes parses the same, and the caller's buffer is left untouched.
    const bytes = new TextEncoder().encode(variant);
    const copy = bytes.slice();
    assert.deepEqual(parsePrintout(bytes).shares, set.shares, `${name} (bytes)`);
    assert.deepEqual(bytes, copy);
  }
});

test('share values printed with leading zero bytes stripped parse and combine', () => {
  // Find a fixed-rng split where some share value is below 2^56 (sc-hsm-tool prints it shorter).
  for (let seed = 0; ; seed++) {
    const split = splitPassword(2, 5, seededRng(`short-${seed}`));
    const short = split.shares.findIndex((s) => s.value < 1n << 56n);
    if (short < 0) continue;
    const out = formatPrintout(split.prime, split.shares);
    const line = out.split('\n').find((l) => l.startsWith('Share value') && l.length < 'Share value : '.length + 23);
    assert.ok(line, 'the short value is printed with fewer than 8 bytes');
    const keep = [short, (short + 1) % 5, (short + 2) % 5].map((i) => split.shares[i]!);
    const set = parsePrintout(formatPrintout(split.prime, keep));
    assert.deepEqual(set.shares.map((s) => s.value), keep.map((s) => s.value));
    assert.deepEqual(passwordCandidates(set)[0]!.password, split.password);
    return;
  }
});


test('typed shares: the prime is given once, by the first custodian', () => {
  const entries = SHARES.map((s, i) => parseShareInput(i === 0 ? { prime: s3.passwordShares!.prime, ...s } : { prime: ' ', ...s }, i + 1));
  assert.equal(entries[0]!.prime, PRIME);
  assert.equal(entries[1]!.prime, undefined);
  for (const pick of [[0, 1], [1, 2], [0, 2]]) {
    const chosen = pick.map((i) => entries[i]!);
    // The prime can come with a share or separately (parsePrime, the importer's first prompt).
    const set = chosen.some((e) => e.prime !== undefined) ? shareSet(chosen) : shareSet(chosen, parsePrime('C372FF83BE5A1FDF').prime);
    assert.equal(toHex(passwordCandidates(set)[0]!.password), PASSWORD);
  }
  const bytes = parseShareInput({ id: new TextEncoder().encode('2'), value: new TextEncoder().encode(SHARES[1]!.value) }, 2);
  assert.equal(bytes.value, entries[1]!.value);
  assert.deepEqual(parsePrime('c3:72:ff:83:be:5a:1f:df'), { prime: PRIME, isSafe: true });
});

test('fixture polynomial with a 4th share: one bad share among 4 is named', () => {
  // f(4) of the fixture's line, what sc-hsm-tool would have printed with --pwd-shares-total 4.
  const four = [...SHARES, { id: '4', value: '70:f6:c8:7b:d3:73:ae:8d' }];
  const good = passwordCandidates(parsePrintout(printoutOf(s3.passwordShares!.prime, four)));
  assert.deepEqual(summary(good)[0], { hex: PASSWORD, form: 'padded', idReading: 'decimal', threshold: 2, checked: true });

  for (const bad of [0, 1, 2, 3]) {
    const shares = four.map((s, i) => (i === bad ? { ...s, value: s.value.replace(/^../, (b) => (b === '00' ? '01' : '00')) } : s));
    const e = rejects(() => passwordCandidates(parsePrintout(printoutOf(s3.passwordShares!.prime, shares))),
      'PWD_SHARES_OUTLIERS', `share ${bad + 1} (id ${bad + 1}, line ${2 * bad + 2}) does not fit the other shares`);
    assert.equal(e.kind, 'check');
    assert.deepEqual(e.detail?.outliers, [{ position: bad + 1, id: String(bad + 1) }]);
    assert.equal(e.detail?.threshold, 2);
  }
  // A fabricated 4th share next to the three real ones of the 2-of-3 split.
  const fake = [...SHARES, { id: '4', value: '12:34:56:78:9a:bc:de:f0' }];
  rejects(() => passwordCandidates(parsePrintout(printoutOf(s3.passwordShares!.prime, fake))), 'PWD_SHARES_OUTLIERS', /^share 4 \(id 4, line 8\)/);
});

test('several bad shares: named when a majority agrees, otherwise "shares are inconsistent"', () => {
  const split = splitPassword(2, 6, seededRng('bad-six'));
  // Typos change a value by unrelated amounts. (Equal changes can conspire: +1 on shares 2 and 5
  // of 1..6 keeps all six on one degree-4 polynomial, since the 5th finite difference cancels.)
  const corrupt = (ids: number[]) => split.shares.map((s) =>
    (ids.includes(s.id) ? { ...s, value: (s.value + 0x9e3779b97f4a7c15n * BigInt(s.id * s.id)) % split.prime } : s));
  const two = rejects(() => passwordCandidates(parsePrintout(formatPrintout(split.prime, corrupt([2, 5])))), 'PWD_SHARES_OUTLIERS',
    'share 2 (id 2, line 4) and share 5 (id 5, line 10) do not fit the other shares');
  assert.deepEqual(two.detail?.outliers, [{ position: 2, id: '2' }, { position: 5, id: '5' }]);
  const three = rejects(() => passwordCandidates(parsePrintout(formatPrintout(split.prime, corrupt([1, 3, 6])))), 'PWD_SHARES_INCONSISTENT', 'shares are inconsistent');
  assert.equal(three.kind, 'check');
});

test('hex ID reading: sc-hsm-tool prints IDs in decimal but its importer reads them as hex', () => {
  const split = splitPassword(2, 16, seededRng('sixteen'));
  const share = (id: number) => split.shares[id - 1]!;
  const typed = (pairs: [string, number][]) => shareSet(pairs.map(([idText, id], i) => ({ position: i + 1, idText, value: share(id).value })), split.prime);
  const hexOf = (c: PasswordCandidate[]) => summary(c).map((x) => `${x.idReading}/${x.form}/${x.checked}`);
  const right = toHex(split.password);

  // IDs 1, 2, 10 written in decimal, as printed: the decimal reading is confirmed, and the hex
  // reading (1, 2, 16) does not fit, so it is not offered.
  const asPrinted = passwordCandidates(typed([['1', 1], ['2', 2], ['10', 10]]));
  assert.equal(toHex(asPrinted[0]!.password), right);
  assert.ok(asPrinted.every((c) => c.idReading === 'decimal' && c.checked));

  // IDs 10, 11, 12: their hex reading 16, 17, 18 is the same points moved by 6 along x, and a shift
  // keeps any polynomial's degree, so both readings are confirmed: decimal first, then hex.
  const shifted = passwordCandidates(typed([['10', 10], ['11', 11], ['12', 12]]));
  assert.deepEqual(hexOf(shifted).filter((x) => !x.includes('wrapped')).slice(0, 1), ['decimal/padded/true']);
  assert.equal(toHex(shifted[0]!.password), right);
  assert.ok(shifted.some((c) => c.idReading === 'hex' && c.form === 'padded' && c.checked));
  assert.ok(shifted.findIndex((c) => c.idReading === 'hex') > shifted.findIndex((c) => c.idReading === 'decimal'));

  // The same shares written the way sc-hsm-tool's importer wants them (a, b, c).
  const asHex = passwordCandidates(typed([['a', 10], ['B', 11], ['0c', 12]]));
  assert.deepEqual(summary(asHex)[0], { hex: right, form: 'padded', idReading: 'hex', threshold: 2, checked: true });
  assert.ok(asHex.every((c) => c.idReading === 'hex'));

  // Share 16 written as "10" (hex, for the importer) next to shares 1 and 2: only hex fits.
  const sixteen = passwordCandidates(typed([['10', 16], ['1', 1], ['2', 2]]));
  assert.deepEqual(summary(sixteen)[0], { hex: right, form: 'padded', idReading: 'hex', threshold: 2, checked: true });
  assert.ok(sixteen.every((c) => c.idReading === 'hex'));

  // Exactly two shares cannot tell the readings apart: decimal first, then hex, wrapped last.
  for (const [meant, index] of [[10, 0], [16, 1]] as const) {
    const c = passwordCandidates(typed([['10', meant], ['1', 1]]));
    const order = hexOf(c).filter((x) => !x.includes('wrapped'));
    assert.deepEqual(order.filter((x) => x.endsWith('padded/false')), ['decimal/padded/false', 'hex/padded/false']);
    const pads = c.filter((x) => x.form === 'padded');
    assert.equal(toHex(pads[index]!.password), right, `share ${meant} typed as "10"`);
    const firstWrapped = c.findIndex((x) => x.form === 'wrapped');
    if (firstWrapped >= 0) assert.ok(c.slice(firstWrapped).every((x) => x.form === 'wrapped'));
  }
  // IDs below 10 read the same both ways: one reading only.
  assert.deepEqual(typed([['1', 1], ['9', 9]]).readings.map((r) => r.reading), ['decimal']);
});

test('leading-zero secret: padded password first, sc-hsm-tool importer\'s minimal form second', () => {
  // 0x80 & 0x7F = 0: the first password byte is zero (1 in 128 of sc-hsm-tool's printouts).
  const split = splitPassword(3, 5, seededRng('lz', [0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]));
  assert.equal(toHex(split.password), '0011223344556677');
  const printed = formatPrintout(split.prime, split.shares);
  for (const pick of [[0, 1, 2], [4, 2, 0], [0, 1, 2, 3, 4]]) {
    const set = parsePrintout(formatPrintout(split.prime, pick.map((i) => split.shares[i]!)));
    const c = passwordCandidates(set);
    assert.deepEqual(summary(c).slice(0, 2), [
      { hex: '0011223344556677', form: 'padded', idReading: 'decimal', threshold: 3, checked: pick.length > 3 },
      { hex: '11223344556677', form: 'minimal', idReading: 'decimal', threshold: 3, checked: pick.length > 3 },
    ]);
    assert.equal(c[1]!.password.length, 7);
  }
  assert.ok(printed.startsWith('Prime       : '));
});

test('splitPassword follows sc-hsm-tool: 8 rng bytes with the top bit cleared, p > s, IDs 1..n', () => {
  const split = splitPassword(2, 3, seededRng('top', [0xff, 1, 2, 3, 4, 5, 6, 7]));
  assert.equal(toHex(split.password), '7f01020304050607');
  assert.ok(split.prime > 0x7f01020304050607n && split.prime >> 62n === 3n);
  assert.deepEqual(split.shares.map((s) => s.id), [1, 2, 3]);
  assert.ok(split.shares.every((s) => s.value >= 0n && s.value < split.prime));
  // Deterministic for a fixed rng.
  assert.deepEqual(splitPassword(2, 3, seededRng('same')), splitPassword(2, 3, seededRng('same')));
});

test('printouts from sc-hsm-tool before 0.16 (secret above the prime) get a wrapped candidate, tried last', () => {
  const s = 0xf123456789abcdefn; // pwd[0] |= 0x80 made s ≥ 2^63; this p is below it
  const a = 0x1111222233334444n;
  const shares = [1n, 2n, 3n].map((x) => ({ id: Number(x), value: (s + a * x) % PRIME }));
  const c = passwordCandidates(parsePrintout(formatPrintout(PRIME, shares)));
  assert.deepEqual(summary(c).map((x) => [x.hex, x.form]), [
    [(s - PRIME).toString(16).padStart(16, '0'), 'padded'],
    ['f123456789abcdef', 'wrapped'],
  ]);
});

test('a prime that is not safe is accepted with a warning flag', () => {
  const p = (1n << 64n) - 59n; // prime, (p-1)/2 is not
  const shares = [1n, 2n].map((x) => ({ id: Number(x), value: (0x0123456789abcdefn + 0x42n * x) % p }));
  const set = parsePrintout(formatPrintout(p, shares));
  assert.equal(set.primeIsSafe, false);
  assert.equal(toHex(passwordCandidates(set)[0]!.password), '0123456789abcdef');
  assert.equal(parsePrime('ff:ff:ff:ff:ff:ff:ff:c5').isSafe, false);
});

test('split counts follow sc-hsm-tool\'s rules', () => {
  for (const [t, n, code] of [[2, 2, 'PWD_SHARES_TOTAL_TOO_SMALL'], [2, 256, 'PWD_SHARES_TOTAL_TOO_LARGE'],
    [1, 3, 'PWD_SHARES_THRESHOLD_TOO_SMALL'], [4, 3, 'PWD_SHARES_THRESHOLD_ABOVE_TOTAL']] as const) {
    assert.equal(rejects(() => validateSplitCounts(t, n), code).kind, 'usage');
    rejects(() => splitPassword(t, n, () => assert.fail('no randomness before validation')), code);
  }
  validateSplitCounts(2, 3);
  validateSplitCounts(255, 255);
  assert.throws(() => splitPassword(2.5, 3), TypeError);
  assert.throws(() => splitPassword(2, '3' as unknown as number), TypeError);
});

test('malformed printouts and shares are refused with a code that names the share', () => {
  const P = s3.passwordShares!.prime;
  const [one, two, three] = SHARES as [typeof SHARES[0], typeof SHARES[0], typeof SHARES[0]];
  const cases: [string, string, string | RegExp][] = [
    [printoutOf(P, [one, two, { ...three, id: '1' }]), 'PWD_SHARE_ID_DUPLICATE', 'share 1 (id 1, line 2) and share 3 (id 1, line 6) have the same id'],
    [printoutOf(P, [one, { ...two, id: '01' }]), 'PWD_SHARE_ID_DUPLICATE', /share 1 .* and share 2 \(id 01/],
    [printoutOf(P, [one, { ...two, id: '0' }]), 'PWD_SHARE_ID_ZERO', 'share 2 (id 0, line 4) has id 0'],
    [printoutOf(P, [one, { ...two, id: '300' }]), 'PWD_SHARE_ID_INVALID', 'share 2 (id 300, line 4) has an id above 255'],
    [printoutOf(P, [one, { ...two, id: 'x2' }]), 'PWD_SHARE_ID_INVALID', 'line 4 has an invalid share id "x2"'],
    [printoutOf(P, [one, { ...two, id: '' }]), 'PWD_SHARE_ID_INVALID', 'line 4 has an invalid share id'],
    [printoutOf(P, [one, { ...two, value: P }]), 'PWD_SHARE_VALUE_TOO_LARGE', 'share 2 (id 2, line 4) has a value that is not below the prime'],
    [printoutOf(P, [one, { ...two, value: '01:' + two.value }]), 'PWD_SHARE_VALUE_TOO_LARGE', 'share 2 (id 2, line 4)'],
    [printoutOf(P, [one, { ...two, value: '' }]), 'PWD_SHARE_VALUE_EMPTY', 'share 2 (id 2, line 4) has an empty share value'],
    [printoutOf(P, [one, { ...two, value: '9c:15:cc:81:b8:d9:18:7g' }]), 'PWD_SHARE_VALUE_GARBLED', 'share 2 (id 2, line 4) has a share value that is not hex: a character is not a hex digit'],
    [printoutOf(P, [one, { ...two, value: '9c:15:c:81:b8:d9:18:7c' }]), 'PWD_SHARE_VALUE_GARBLED', 'byte group 3 has an odd number of hex digits'],
    [printoutOf('c3:72:ff:83:be:5a:1f:dd', [one, two]), 'PWD_SHARES_PRIME_COMPOSITE', 'line 1 is not a prime number'],
    [printoutOf('01:00:00:00:00:00:00:00:0d', [one, two]), 'PWD_SHARES_PRIME_NOT_64_BIT', 'line 1 has 65 bits, sc-hsm-tool primes have 64'],
    [printoutOf('7f:ff:ff:ff:ff:ff:ff:e7', [one, two]), 'PWD_SHARES_PRIME_NOT_64_BIT', 'line 1 has 63 bits'],
    [printoutOf('c3:72:ff:83:be:5a:1f:dq', [one, two]), 'PWD_SHARES_PRIME_GARBLED', "line 1 is not hex: 'q' is not a hex digit"],
    [printoutOf('', [one, two]), 'PWD_SHARES_PRIME_GARBLED', 'line 1 is empty'],
    [printoutOf(P, [one, two]) + 'Prime : f5:56:46:c9:a5:a1:01:87\n', 'PWD_SHARES_PRIME_MISMATCH', 'the prime on line 6 differs from the prime on line 1'],
    [text([`Share ID : 1`, `Share value : ${one.value}`, `Share ID : 2`, `Share value : ${two.value}`]), 'PWD_SHARES_PRIME_MISSING', 'no prime was given'],
    [printoutOf(P, [one]), 'PWD_SHARES_TOO_FEW', '1 password share given, at least 2 are needed'],
    [text([`Prime : ${P}`, `Share ID : 1`, `Share value : ${one.value}`, `Share value : ${two.value}`]), 'PWD_SHARE_ID_MISSING', 'line 4 has a share value without a share id before it'],
    [text([`Prime : ${P}`, `Share ID : 1`, `Share ID : 2`, `Share value : ${two.value}`]), 'PWD_SHARE_VALUE_MISSING', 'share 1 (id 1, line 2) has no share value'],
    [text([`Prime : ${P}`, `Share ID : 1`, `Share value : ${one.value}`, `Share ID : 2`]), 'PWD_SHARE_VALUE_MISSING', 'share 2 (id 2, line 4) has no share value'],
  ];
  const secretHex = SHARES.flatMap((s) => [s.value, s.value.replaceAll(':', '')]);
  for (const [input, code, message] of cases) {
    const e = rejects(() => passwordCandidates(parsePrintout(input)), code, message);
    assert.equal(e.kind, 'usage', code);
    for (const secret of secretHex) assert.ok(!e.message.includes(secret) && !(e.hint ?? '').includes(secret), `${code} leaks a share value`);
  }
});

test('typed-share errors name the share by position and id', () => {
  const [one, two] = SHARES as [typeof SHARES[0], typeof SHARES[0]];
  const a = parseShareInput({ prime: s3.passwordShares!.prime, ...one }, 1);
  rejects(() => shareSet([a, parseShareInput({ prime: 'f5:56:46:c9:a5:a1:01:87', ...two }, 2)]), 'PWD_SHARES_PRIME_MISMATCH',
    'share 2 (id 2) has a different prime than the prime of share 1 (id 1)');
  rejects(() => shareSet([a, parseShareInput(two, 2)], 0xf55646c9a5a10187n), 'PWD_SHARES_PRIME_MISMATCH',
    'share 1 (id 1) has a different prime than the prime given first');
  rejects(() => shareSet([a, parseShareInput({ ...two, id: ' 1 ' }, 2)]), 'PWD_SHARE_ID_DUPLICATE', 'share 1 (id 1) and share 2 (id 1) have the same id');
  rejects(() => parseShareInput({ ...two, value: ':' }, 2), 'PWD_SHARE_VALUE_EMPTY', 'share 2 (id 2) has an empty share value');
  rejects(() => parseShareInput({ ...two, id: '-2' }, 2), 'PWD_SHARE_ID_INVALID', 'share 2 has an invalid share id "-2"');
  rejects(() => shareSet([a]), 'PWD_SHARES_TOO_FEW');
  rejects(() => shareSet([]), 'PWD_SHARES_TOO_FEW', '0 password shares given, at least 2 are needed');
  assert.throws(() => parseShareInput({ id: 1 as unknown as string, value: '00' }), TypeError);
  assert.throws(() => parsePrintout(42 as unknown as string), TypeError);
});

test('reconstructSecret is plain Lagrange at 0 and refuses bad points', () => {
  const pts = SHARES.map((s) => ({ id: BigInt(s.id), value: BigInt('0x' + s.value.replaceAll(':', '')) }));
  assert.equal(reconstructSecret(pts, PRIME), 0x03c1d103dfe4628cn);
  // With a single point the "polynomial" is constant.
  assert.equal(reconstructSecret(pts.slice(0, 1), PRIME), pts[0]!.value);
  assert.throws(() => reconstructSecret([pts[0]!, pts[0]!], PRIME), RangeError);
  assert.throws(() => reconstructSecret([{ id: 0, value: 1n }, pts[1]!], PRIME), RangeError);
  assert.throws(() => reconstructSecret([], PRIME), RangeError);
  assert.throws(() => reconstructSecret(pts, 7 as unknown as bigint), TypeError);
});

test('entries given directly must still be valid', () => {
  const e = (position: number, idText: string, value: bigint): ShareEntry => ({ position, idText, value });
  rejects(() => shareSet([e(1, '1', 1n), e(2, '2', PRIME + 1n)], PRIME), 'PWD_SHARE_VALUE_TOO_LARGE', 'share 2 (id 2)');
  rejects(() => shareSet([e(1, '1', 1n), e(2, '2', 2n)], 0xc372ff83be5a1fddn), 'PWD_SHARES_PRIME_COMPOSITE', 'the prime is not a prime number');
  rejects(() => shareSet([e(1, '1', 1n), e(2, '2', 2n)], 101n), 'PWD_SHARES_PRIME_NOT_64_BIT', 'the prime has 7 bits');
});

test('a reading with outliers is reported rather than replaced by an unsupported reading', () => {
  // 8-of-10, all ten shares, share 1 mistyped. Decimal: nine shares on one degree-7 polynomial, so
  // share 1 is named. The hex reading (ids 1..9, 16) fits trivially (10 points, degree 9) but
  // nothing supports it, so it must not silently yield an unchecked candidate.
  const split = splitPassword(8, 10, seededRng('o-0'));
  const typo = split.shares.map((s, i) => (i === 0 ? { ...s, value: (s.value + 1n) % split.prime } : s));
  const set = parsePrintout(formatPrintout(split.prime, typo));
  assert.deepEqual(set.readings.map((r) => r.reading), ['decimal', 'hex']);
  const e = rejects(() => passwordCandidates(set), 'PWD_SHARES_OUTLIERS',
    'share 1 (id 1, line 2) does not fit the other shares (ids read as decimal; the hex reading fits no better)');
  assert.equal(e.detail?.threshold, 8);
});
