// CPace over ristretto255 / SHA-512 against the test vectors of draft-irtf-cfrg-cpace-21.
//
// Source of the data below (data only, no code): the draft's appendices "Definition and test vectors
// for string utility functions" and "Test vector for CPace using group ristretto255 and hash
// SHA-512", file draft-irtf-cfrg-cpace.md at tag draft-irtf-cfrg-cpace-21 (commit 8fb4056) of
// https://github.com/cfrg/draft-irtf-cfrg-cpace. Hex copied verbatim.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../../protocol/bytes.ts';
import { isCeremonyError } from '../../protocol/errors.ts';
import {
  calculateGenerator,
  CPACE_DSI,
  CPACE_IDENTITY,
  cpaceIsk,
  cpaceShare,
  generatorString,
  lvCat,
  prependLen,
  sampleScalar,
  scalarMult,
  scalarMultVfy,
  SHA512_BLOCK_BYTES,
  transcriptIr,
} from '../../protocol/channel/cpace.ts';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';

const h = (s: string) => fromHex(s.replace(/\s+/g, ''));

// --- Appendix: string utility functions -------------------------------------------------------

test('prepend_len vectors', () => {
  assert.equal(toHex(prependLen(new Uint8Array(0))), '00');
  assert.equal(toHex(prependLen(utf8('1234'))), '0431323334');
  const r127 = Uint8Array.from({ length: 127 }, (_, i) => i);
  const r128 = Uint8Array.from({ length: 128 }, (_, i) => i);
  assert.equal(toHex(prependLen(r127)), '7f' + toHex(r127));
  assert.equal(toHex(prependLen(r128)), '8001' + toHex(r128));
  // beyond the draft's vectors: a three-byte LEB128 length (2^14 = 16384 -> 80 80 01)
  assert.equal(toHex(prependLen(new Uint8Array(16384)).subarray(0, 3)), '808001');
});

test('lv_cat vector', () => {
  assert.equal(
    toHex(lvCat(utf8('1234'), utf8('5'), new Uint8Array(0), utf8('678'))),
    '043132333401350003363738',
  );
});

test('transcript_ir vectors', () => {
  assert.equal(
    toHex(transcriptIr(utf8('123'), utf8('PartyA'), utf8('234'), utf8('PartyB'))),
    '03313233065061727479410332333406506172747942',
  );
  assert.equal(
    toHex(transcriptIr(utf8('3456'), utf8('PartyA'), utf8('2345'), utf8('PartyB'))),
    '043334353606506172747941043233343506506172747942',
  );
});

// --- Appendix: CPace using group ristretto255 and hash SHA-512 --------------------------------

const V = {
  PRS: utf8('Password'),
  CI: h('0b415f696e69746961746f720b425f726573706f6e646572'),
  sid: h('7e4b4791d6a8ef019b936c79fb7f2c57'),
  generatorString: h(`
    11435061636552697374726574746f3235350850617373776f726464
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000180b415f696e69746961746f
    720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
    2c57`),
  hash: h(`
    da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288
    b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772
    05f90851a657ee27`),
  g: h('222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56'),
  ADa: utf8('ADa'),
  ya: h('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08'),
  Ya: h('d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157'),
  ADb: utf8('ADb'),
  yb: h('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d'),
  Yb: h('3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258'),
  K: h('80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f'),
  transcriptIr: h(`
    20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e
    ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa
    8232b5ebe63324e2d9e7433f725803414462`),
  dsiIsk: h('435061636552697374726574746f3235355f49534b'),
  iskInput: h(`
    15435061636552697374726574746f3235355f49534b107e4b4791d6
    a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55
    a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7
    c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7
    e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f
    725803414462`),
  ISK_IR: h(`
    b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc
    ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c
    3fa2068af7900447`),
};

/** An rng that hands out exactly the given bytes, then fails the test if asked again. */
function fixedRng(...chunks: Uint8Array[]) {
  const queue = chunks.map((c) => c.slice());
  return (n: number) => {
    const next = queue.shift();
    assert.ok(next, 'rng called more often than the vector provides');
    assert.equal(n, next.length);
    return next;
  };
}

const le = (b: Uint8Array) => {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
};

test('DSI is CPaceRistretto255 and DSI_ISK its _ISK extension', () => {
  assert.equal(toHex(CPACE_DSI), toHex(utf8('CPaceRistretto255')));
  assert.equal(toHex(V.dsiIsk), toHex(utf8('CPaceRistretto255_ISK')));
});

test('generator_string, its SHA-512 and the encoded generator g', () => {
  const gs = generatorString(CPACE_DSI, V.PRS, V.CI, V.sid, SHA512_BLOCK_BYTES);
  assert.equal(gs.length, 170);
  assert.equal(toHex(gs), toHex(V.generatorString));
  // ZPAD length 100 per the vector's inputs
  assert.equal(gs.subarray(28, 128).every((b) => b === 0), true);
  assert.equal(toHex(sha512(gs)), toHex(V.hash));
  assert.equal(toHex(calculateGenerator(V.PRS, V.CI, V.sid).toBytes()), toHex(V.g));
});

test('sample_scalar reads little-endian and keeps bits 0..251', () => {
  assert.equal(sampleScalar(fixedRng(V.ya)), le(V.ya));
  assert.equal(sampleScalar(fixedRng(V.yb)), le(V.yb));
  const ones = new Uint8Array(32).fill(0xff);
  assert.equal(sampleScalar(fixedRng(ones)), (1n << 252n) - 1n);
  // zero is redrawn (it would make the public share the identity)
  assert.equal(sampleScalar(fixedRng(new Uint8Array(32), V.ya)), le(V.ya));
});

test('public shares Ya and Yb', () => {
  const g = calculateGenerator(V.PRS, V.CI, V.sid);
  assert.equal(toHex(scalarMult(le(V.ya), g)), toHex(V.Ya));
  assert.equal(toHex(scalarMult(le(V.yb), g)), toHex(V.Yb));
  // the same through the one-call API with the vector's scalar as rng output
  const a = cpaceShare({ prs: V.PRS, ci: V.CI, sid: V.sid }, fixedRng(V.ya));
  assert.equal(toHex(a.share), toHex(V.Ya));
  assert.equal(a.scalar, le(V.ya));
});

test('secret point K both ways', () => {
  assert.equal(toHex(scalarMultVfy(le(V.ya), V.Yb)), toHex(V.K));
  assert.equal(toHex(scalarMultVfy(le(V.yb), V.Ya)), toHex(V.K));
});

test('transcript_ir(Ya, ADa, Yb, ADb) and the ISK input string', () => {
  const t = transcriptIr(V.Ya, V.ADa, V.Yb, V.ADb);
  assert.equal(toHex(t), toHex(V.transcriptIr));
  const input = new Uint8Array([...lvCat(V.dsiIsk, V.sid, V.K), ...t]);
  assert.equal(toHex(input), toHex(V.iskInput));
  assert.equal(toHex(sha512(input)), toHex(V.ISK_IR));
});

test('ISK_IR from either side', () => {
  const common = { sid: V.sid, Ya: V.Ya, ADa: V.ADa, Yb: V.Yb, ADb: V.ADb };
  assert.equal(toHex(cpaceIsk({ ...common, scalar: le(V.ya), peerShare: V.Yb })), toHex(V.ISK_IR));
  assert.equal(toHex(cpaceIsk({ ...common, scalar: le(V.yb), peerShare: V.Ya })), toHex(V.ISK_IR));
});

// --- Appendix: scalar_mult with valid inputs, invalid inputs for scalar_mult_vfy --------------

const s = le(h('7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05'));
const X = h('2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c');
const sX = '7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e';
const Y_i1 = h('2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c');
const Y_i2 = h('0000000000000000000000000000000000000000000000000000000000000000');

test('scalar_mult and scalar_mult_vfy with valid inputs', () => {
  assert.equal(toHex(scalarMult(s, ristretto255.Point.fromBytes(X))), sX);
  assert.equal(toHex(scalarMultVfy(s, X)), sX);
});

test('scalar_mult_vfy returns G.I for an invalid encoding and for the identity', () => {
  assert.equal(toHex(scalarMultVfy(s, Y_i1)), toHex(CPACE_IDENTITY));
  assert.equal(toHex(scalarMultVfy(s, Y_i2)), toHex(CPACE_IDENTITY));
  // wrong lengths are not encodings either
  assert.equal(toHex(scalarMultVfy(s, X.subarray(0, 31))), toHex(CPACE_IDENTITY));
  assert.equal(toHex(scalarMultVfy(s, new Uint8Array([...X, 0]))), toHex(CPACE_IDENTITY));
});

test('a run aborts when the peer share is Y_i1 or Y_i2 (either role)', () => {
  for (const bad of [Y_i1, Y_i2]) {
    for (const [scalar, asA] of [
      [le(V.ya), true],
      [le(V.yb), false],
    ] as const) {
      assert.throws(
        () =>
          cpaceIsk({
            scalar,
            peerShare: bad,
            sid: V.sid,
            Ya: asA ? V.Ya : bad,
            ADa: V.ADa,
            Yb: asA ? bad : V.Yb,
            ADb: V.ADb,
          }),
        (e: unknown) => isCeremonyError(e) && e.code === 'CHANNEL_BAD_POINT' && e.kind === 'check',
      );
    }
  }
});

test('scalars outside [1, order) and non-bigint scalars are refused', () => {
  const g = calculateGenerator(V.PRS, V.CI, V.sid);
  assert.throws(() => scalarMult(0n, g), RangeError);
  assert.throws(() => scalarMult(ristretto255.Point.Fn.ORDER, g), RangeError);
  assert.throws(() => scalarMultVfy(1 as unknown as bigint, X), TypeError);
});
