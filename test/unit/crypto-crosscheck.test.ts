/**
 * The key-blob code relies on @noble/ciphers (AES-256-CBC, AES-CMAC) and @noble/hashes (SHA-256).
 * These tests check them against node:crypto (OpenSSL) and against published vectors, so a
 * regression in either library cannot silently change what a blob decrypts to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { cbc, cmac } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from '../../protocol/bytes.ts';

function aesEcbBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

/** GF(2^128) doubling used for the CMAC subkeys (RFC 4493 §2.3). */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[15]! ^= 0x87;
  return out;
}

/** AES-CMAC written from RFC 4493 §2.4 on top of node's AES-ECB, as an independent reference. */
function referenceCmac(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const l = aesEcbBlock(key, new Uint8Array(16));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  const last = new Uint8Array(16);
  const tail = msg.subarray((n - 1) * 16);
  last.set(tail);
  if (!complete) last[tail.length] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i]! ^= sub[i]!;
  let x: Uint8Array = new Uint8Array(16);
  for (let i = 0; i < n - 1; i++) {
    const y = x.map((v, j) => v ^ msg[i * 16 + j]!);
    x = aesEcbBlock(key, y);
  }
  return aesEcbBlock(key, x.map((v, j) => v ^ last[j]!));
}

const M = fromHex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');

test('AES-CMAC: RFC 4493 §4 vectors (AES-128), noble and the reference agree', () => {
  const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
  const vectors: [number, string][] = [
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [len, tag] of vectors) {
    assert.equal(toHex(referenceCmac(key, M.subarray(0, len))), tag, `reference, ${len} bytes`);
    assert.equal(toHex(cmac(M.subarray(0, len), key)), tag, `noble, ${len} bytes`);
  }
});

test('AES-CMAC: NIST SP 800-38B AES-256 examples', () => {
  const key = fromHex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
  const vectors: [number, string][] = [
    [0, '028962f61b7bf89efc6b551f4667d983'],
    [16, '28a7023f452e8f82bd4bf28d8c37c35c'],
    [40, 'aaf3d8f1de5640c232f5b169b9c911e6'],
    [64, 'e1992190549f6ed5696a2c056c315410'],
  ];
  for (const [len, tag] of vectors) {
    assert.equal(toHex(referenceCmac(key, M.subarray(0, len))), tag, `reference, ${len} bytes`);
    assert.equal(toHex(cmac(M.subarray(0, len), key)), tag, `noble, ${len} bytes`);
  }
});

test('AES-256-CMAC: noble equals the node:crypto reference on random inputs of every length class', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 600 }), (key, msg) => {
      assert.equal(toHex(cmac(msg, key)), toHex(referenceCmac(key, msg)));
    }),
    { numRuns: 200 },
  );
});

test('AES-256-CBC with zero IV and no padding: noble equals node:crypto both ways', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 40 }), (key, blocks) => {
      const plain = new Uint8Array(randomBytes(blocks * 16));
      const iv = new Uint8Array(16);
      const n = createCipheriv('aes-256-cbc', key, iv);
      n.setAutoPadding(false);
      const ref = new Uint8Array(Buffer.concat([n.update(plain), n.final()]));
      assert.equal(toHex(cbc(key, iv, { disablePadding: true }).encrypt(plain)), toHex(ref));
      assert.equal(toHex(cbc(key, iv, { disablePadding: true }).decrypt(ref)), toHex(plain));
    }),
    { numRuns: 100 },
  );
});

test('SHA-256: noble equals node:crypto (incl. the 36-byte DKEK || counter inputs)', () => {
  assert.equal(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(toHex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (m) => {
      assert.equal(toHex(sha256(m)), createHash('sha256').update(m).digest('hex'));
    }),
  );
});
