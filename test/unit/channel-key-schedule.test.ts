// Key schedule of the custodian channel: known answers, a cross-check against node:crypto's
// HKDF/HMAC, and the properties the handshake relies on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { concatBytes, toHex, utf8 } from '../../protocol/bytes.ts';
import {
  confirmationTag,
  deriveChannelKeys,
  Labels,
  sasCommitment,
  shortAuthenticationString,
  transcriptHash,
  verifyConfirmationTag,
  wipeChannelKeys,
  type ChannelKeys,
} from '../../protocol/channel/key-schedule.ts';
import { lvCat } from '../../protocol/channel/cpace.ts';

// Known-answer vectors. Made once by running this module's functions on the inputs below
// (ISK = bytes 00 01 … 3f, TH = SHA-256("hsm-ceremony key-schedule KAT"), nonce = 32 × ab) and
// pasting the hex; the node:crypto test further down recomputes the same values independently.
const ISK = Uint8Array.from({ length: 64 }, (_, i) => i);
const TH = new Uint8Array(createHash('sha256').update('hsm-ceremony key-schedule KAT').digest());
const KAT = {
  th: '530204b15ea61a9d99a7377b3f90d3d3173a2d90632fc483a901895fa2057d3b',
  custodianToCoordinator: '713d9d458a5f42b8c075242ef71c0567e3ea063c84e7fa2a1b2466dae8aa625e',
  coordinatorToCustodian: '3c0f1e2fbd7a86aebe2ca3217f03795f6de014f726416e6698f9fbd6f10c7c4e',
  confirmCustodian: '7ca2f3f5ce3eb92708712be35c1758b83dd5ee77e29ba1a5f5f898c86f38907c',
  confirmCoordinator: '7da2ae4fa241ad3b9a1310c19523b07df2f89b87abee3dc4c2bdf9e0e9fa5e41',
  sas: 'd13e54dbb56a832cd788fce168cf365d4fee5f3e54e24ec09416a7e405c925dc',
  tagCustodian: 'ef540cafcf765839c1fc66e26b80e35ef9b57de0bf29ca39570218e22563d179',
  tagCoordinator: '51a129fd470e6130e310a3113b27b87c38e0a7035f09c37fb401dde6efa9c942',
  sasDigits: '311299',
  commitment: '4f12377cf5f361c69e9c616434380129d8fc17fd3bf8642047b68c5c576ee920',
  transcriptHashABC: 'ea1cc672b17a5c99d273503a298965ef39b3616dfc46fb44022907c44f4e34fa',
};

test('key split, confirmation tags, SAS and commitment: known answers', () => {
  assert.equal(toHex(TH), KAT.th);
  const k = deriveChannelKeys(ISK, TH);
  assert.equal(toHex(k.custodianToCoordinator), KAT.custodianToCoordinator);
  assert.equal(toHex(k.coordinatorToCustodian), KAT.coordinatorToCustodian);
  assert.equal(toHex(k.confirmCustodian), KAT.confirmCustodian);
  assert.equal(toHex(k.confirmCoordinator), KAT.confirmCoordinator);
  assert.equal(toHex(k.sas), KAT.sas);
  assert.equal(toHex(confirmationTag('custodian', k, TH)), KAT.tagCustodian);
  assert.equal(toHex(confirmationTag('coordinator', k, TH)), KAT.tagCoordinator);
  assert.equal(shortAuthenticationString(k, TH), KAT.sasDigits);
  assert.equal(toHex(sasCommitment(new Uint8Array(32).fill(0xab))), KAT.commitment);
  assert.equal(toHex(transcriptHash(utf8('a'), utf8('bc'))), KAT.transcriptHashABC);
});

test('the same values recomputed with node:crypto (independent HKDF/HMAC/SHA-256)', () => {
  const hk = (label: string) => toHex(new Uint8Array(hkdfSync('sha256', ISK, TH, utf8(label), 32)));
  assert.equal(hk(Labels.keyCustodianToCoordinator), KAT.custodianToCoordinator);
  assert.equal(hk(Labels.keyCoordinatorToCustodian), KAT.coordinatorToCustodian);
  assert.equal(hk(Labels.confirmCustodian), KAT.confirmCustodian);
  assert.equal(hk(Labels.confirmCoordinator), KAT.confirmCoordinator);
  assert.equal(hk(Labels.sas), KAT.sas);
  const mac = (key: string, label: string, data: Uint8Array) =>
    createHmac('sha256', Buffer.from(key, 'hex')).update(concatBytes(utf8(label), data)).digest();
  assert.equal(mac(KAT.confirmCustodian, Labels.confirmCustodian, TH).toString('hex'), KAT.tagCustodian);
  assert.equal(mac(KAT.confirmCoordinator, Labels.confirmCoordinator, TH).toString('hex'), KAT.tagCoordinator);
  const s = mac(KAT.sas, Labels.sas, TH);
  assert.equal((s.readBigUInt64BE(0) % 1_000_000n).toString().padStart(6, '0'), KAT.sasDigits);
  const commit = createHash('sha256').update(utf8(Labels.sasCommit)).update(new Uint8Array(32).fill(0xab));
  assert.equal(commit.digest('hex'), KAT.commitment);
  assert.equal(createHash('sha256').update(lvCat(utf8('a'), utf8('bc'))).digest('hex'), KAT.transcriptHashABC);
});

test('labels all carry the hsm-ceremony/v1/ prefix and are distinct', () => {
  const all = Object.values(Labels);
  assert.equal(new Set(all).size, all.length);
  for (const l of all) assert.match(l, /^hsm-ceremony\/v1\/[a-z/-]+$/);
});

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

test('property: both sides derive the same keys, tags and SAS from the same ISK and transcript', () => {
  fc.assert(
    fc.property(bytes(64), bytes(32), (isk, th) => {
      const a = deriveChannelKeys(isk, th);
      const b = deriveChannelKeys(isk.slice(), th.slice());
      for (const k of Object.keys(a) as (keyof ChannelKeys)[]) assert.equal(toHex(a[k]), toHex(b[k]));
      for (const role of ['custodian', 'coordinator'] as const) {
        assert.equal(verifyConfirmationTag(role, b, th, confirmationTag(role, a, th)), true);
      }
      assert.equal(shortAuthenticationString(a, th), shortAuthenticationString(b, th));
      assert.match(shortAuthenticationString(a, th), /^\d{6}$/);
    }),
    { numRuns: 50 },
  );
});

test('property: a different ISK (different code) makes every confirmation fail', () => {
  fc.assert(
    fc.property(bytes(64), bytes(64), bytes(32), (isk1, isk2, th) => {
      fc.pre(toHex(isk1) !== toHex(isk2));
      const a = deriveChannelKeys(isk1, th);
      const b = deriveChannelKeys(isk2, th);
      for (const role of ['custodian', 'coordinator'] as const) {
        assert.equal(verifyConfirmationTag(role, b, th, confirmationTag(role, a, th)), false);
      }
      assert.notEqual(toHex(a.custodianToCoordinator), toHex(b.custodianToCoordinator));
    }),
    { numRuns: 50 },
  );
});

test('a tag is bound to its role and transcript: no reflection, no transplant', () => {
  const k = deriveChannelKeys(ISK, TH);
  const tagC = confirmationTag('custodian', k, TH);
  assert.equal(verifyConfirmationTag('coordinator', k, TH, tagC), false);
  const otherTh = TH.slice();
  otherTh[0]! ^= 1;
  assert.equal(verifyConfirmationTag('custodian', k, otherTh, tagC), false);
  assert.equal(verifyConfirmationTag('custodian', k, TH, tagC.subarray(0, 31)), false);
  const flipped = tagC.slice();
  flipped[31]! ^= 0x80;
  assert.equal(verifyConfirmationTag('custodian', k, TH, flipped), false);
});

test('all five derived keys differ from one another', () => {
  const k = deriveChannelKeys(ISK, TH);
  assert.equal(new Set(Object.values(k).map((v) => toHex(v))).size, 5);
});

test('wipeChannelKeys zeroes every key', () => {
  const k = deriveChannelKeys(ISK, TH);
  wipeChannelKeys(k);
  for (const v of Object.values(k)) assert.equal(v.every((b: number) => b === 0), true);
});

test('SAS digits are roughly uniform (no digit position stuck)', () => {
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 2000; i++) {
    const th = new Uint8Array(createHash('sha256').update(`sas ${i}`).digest());
    const sas = shortAuthenticationString(deriveChannelKeys(ISK, th), th);
    counts[Number(sas[0])]++;
  }
  for (const c of counts) assert.ok(c > 120 && c < 290, `leading digit count ${c} out of range`);
});

test('argument checks name the argument', () => {
  assert.throws(() => deriveChannelKeys(new Uint8Array(63), TH), /isk must be 64 bytes/);
  assert.throws(() => deriveChannelKeys(ISK, new Uint8Array(31)), /helloReplyHash must be 32 bytes/);
  assert.throws(() => deriveChannelKeys('x' as unknown as Uint8Array, TH), TypeError);
  assert.throws(() => sasCommitment(new Uint8Array(31)), RangeError);
  const k = deriveChannelKeys(ISK, TH);
  assert.throws(() => confirmationTag('auditor' as 'custodian', k, TH), TypeError);
});
