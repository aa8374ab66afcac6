// The .pbe share file (protocol/dkek/share-file.ts): every fixture made by sc-hsm-tool on Pico HSM
// firmware decrypts to its recorded share and re-encrypts to the same bytes (full count, in worker
// threads, two at a time), plus round trips, the strict padding rule and the malformed-file errors
// at small iteration counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, toHexUpper } from '../../protocol/bytes.ts';
import { deriveShareFileKey } from '../../protocol/dkek/derive.ts';
import { evpBytesToKey } from '../../protocol/dkek/md5-chain.ts';
import type { DerivedKey } from '../../protocol/dkek/md5-chain.ts';
import {
  SHARE_FILE_LENGTH,
  createShareFile,
  decryptShareFile,
  encryptShareFile,
  parseShareFile,
  shareFileKdfSync,
} from '../../protocol/dkek/share-file.ts';
import type { ShareFileKdf } from '../../protocol/dkek/share-file.ts';
import { isCeremonyError } from '../../protocol/errors.ts';

const FIXTURES = new URL('../../../shared/fixtures/opensc-pico/', import.meta.url);
const utf8 = (s: string) => new TextEncoder().encode(s);

interface ShareFixture {
  file: string;
  passphrase?: string;
  passwordHex?: string;
  share: string;
  kcvAlone: string;
}
const fixtures = (JSON.parse(readFileSync(new URL('fixtures.json', FIXTURES), 'utf8')) as { shareFiles: ShareFixture[] })
  .shareFiles;

/** The passphrase bytes sc-hsm-tool used: argv bytes, or for s3 the 8 raw bytes of the n-of-m secret. */
function passwordOf(f: ShareFixture): Uint8Array {
  if (f.passphrase !== undefined) return utf8(f.passphrase);
  assert.ok(f.passwordHex, `${f.file} has a passphrase or passwordHex`);
  return fromHex(f.passwordHex);
}

/** A KDF that hands out copies of one precomputed key, so one derivation serves decrypt and encrypt. */
function fixedKdf(k: DerivedKey): ShareFileKdf {
  return () => ({ key: k.key.slice(), iv: k.iv.slice() });
}

const SMALL = 3; // iteration count for format tests; the full count is covered by the fixtures

function expectError(code: string, kind: string) {
  return (e: unknown): true => {
    assert.ok(isCeremonyError(e), `a CeremonyError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.kind, kind);
    assert.ok(e.hint, 'has a hint');
    assert.match(e.message, /^[a-z].*[^.]$/, 'lowercase, no final period');
    return true;
  };
}

test('every fixture .pbe decrypts to its share and re-encrypts byte-identically (full count, two workers)', async () => {
  assert.equal(fixtures.length, 4);
  for (let i = 0; i < fixtures.length; i += 2) {
    await Promise.all(
      fixtures.slice(i, i + 2).map(async (f) => {
        const file = new Uint8Array(readFileSync(new URL(f.file, FIXTURES)));
        const password = passwordOf(f);
        const { salt } = parseShareFile(file);
        const derived = await deriveShareFileKey(password, salt);
        const share = await decryptShareFile(file, password, fixedKdf(derived));
        assert.equal(toHex(share), f.share, f.file);
        const kcv = createHash('sha256').update(share).digest().subarray(0, 8);
        assert.equal(toHexUpper(kcv), f.kcvAlone, `${f.file} KCV`);
        assert.deepEqual(await encryptShareFile(share, password, salt, fixedKdf(derived)), file, `${f.file} re-encrypted`);
      }),
    );
  }
});

test('encryption equals node:crypto AES-256-CBC with PKCS#7 under the same key, and decrypts back', async () => {
  const share = fromHex('76f4a78ce1fa513b81008114be860db363a54c296aa535a78f820e266eda498e');
  const salt = fromHex('0102030405060708');
  const password = utf8('round-trip');
  const file = await encryptShareFile(share, password, salt, shareFileKdfSync(SMALL));
  assert.equal(file.length, SHARE_FILE_LENGTH);
  const { key, iv } = evpBytesToKey(password, salt, SMALL);
  const c = createCipheriv('aes-256-cbc', key, iv); // PKCS#7 padding on by default
  const expected = Buffer.concat([Buffer.from('Salted__'), salt, c.update(share), c.final()]);
  assert.equal(toHex(file), expected.toString('hex'));
  assert.deepEqual(await decryptShareFile(file, password, shareFileKdfSync(SMALL)), share);
  assert.deepEqual(share, fromHex('76f4a78ce1fa513b81008114be860db363a54c296aa535a78f820e266eda498e'), 'share left alone');
});

test('an async KDF works the same as a sync one', async () => {
  const share = new Uint8Array(32).fill(7);
  const salt = new Uint8Array(8).fill(1);
  const asyncKdf: ShareFileKdf = async (pw, s) => evpBytesToKey(pw, s, SMALL);
  const a = await encryptShareFile(share, utf8('pw'), salt, asyncKdf);
  assert.deepEqual(a, await encryptShareFile(share, utf8('pw'), salt, shareFileKdfSync(SMALL)));
  assert.deepEqual(await decryptShareFile(a, utf8('pw'), asyncKdf), share);
});

test('the key and iv returned by the KDF are wiped after use', async () => {
  const handed: DerivedKey[] = [];
  const kdf: ShareFileKdf = (pw, s) => {
    const k = evpBytesToKey(pw, s, SMALL);
    handed.push(k);
    return k;
  };
  const file = await encryptShareFile(new Uint8Array(32).fill(9), utf8('pw'), new Uint8Array(8), kdf);
  await decryptShareFile(file, utf8('pw'), kdf);
  await assert.rejects(decryptShareFile(file, utf8('other'), kdf));
  assert.equal(handed.length, 3);
  for (const k of handed) {
    assert.deepEqual(k.key, new Uint8Array(32));
    assert.deepEqual(k.iv, new Uint8Array(16));
  }
});

test('a wrong passphrase is rejected with WRONG_PASSPHRASE (kind check)', async () => {
  const file = await encryptShareFile(new Uint8Array(32).fill(0x42), utf8('right'), fromHex('1122334455667788'), shareFileKdfSync(SMALL));
  for (const wrong of ['wrong', 'Right', 'right ', '']) {
    await assert.rejects(decryptShareFile(file, utf8(wrong), shareFileKdfSync(SMALL)), expectError('WRONG_PASSPHRASE', 'check'));
  }
});

test('strict padding: any tail but 16 x 0x10 is rejected, including valid PKCS#7 that sc-hsm-tool would accept', async () => {
  const salt = fromHex('a1a2a3a4a5a6a7a8');
  const password = utf8('padding');
  const { key, iv } = evpBytesToKey(password, salt, SMALL);
  for (const tail of ['01', '0202', '10'.repeat(15) + '01', '0f'.repeat(15), '00' + '10'.repeat(15)]) {
    const plain = new Uint8Array(48).fill(0x33);
    plain.set(fromHex(tail), 48 - tail.length / 2);
    const c = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
    const file = new Uint8Array(Buffer.concat([Buffer.from('Salted__'), salt, c.update(plain), c.final()]));
    await assert.rejects(decryptShareFile(file, password, shareFileKdfSync(SMALL)), expectError('WRONG_PASSPHRASE', 'check'), tail);
  }
});

test('malformed files: wrong size and wrong magic each give their named error, before any key derivation', async () => {
  let kdfCalls = 0;
  const counting: ShareFileKdf = (pw, s) => {
    kdfCalls++;
    return evpBytesToKey(pw, s, SMALL);
  };
  const good = await encryptShareFile(new Uint8Array(32), utf8('pw'), new Uint8Array(8), shareFileKdfSync(SMALL));
  const sizes: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['magic only', good.slice(0, 8)],
    ['63 bytes', good.slice(0, 63)],
    ['65 bytes (a newline appended)', new Uint8Array([...good, 0x0a])],
    ['128 bytes (two files concatenated)', new Uint8Array([...good, ...good])],
  ];
  for (const [what, bytes] of sizes) {
    assert.throws(() => parseShareFile(bytes), expectError('SHARE_FILE_SIZE', 'usage'), what);
    await assert.rejects(decryptShareFile(bytes, utf8('pw'), counting), expectError('SHARE_FILE_SIZE', 'usage'), what);
  }
  for (const magic of ['salted__', 'Salted_\0', '\0\0\0\0\0\0\0\0', 'RIFF1234']) {
    const bytes = good.slice();
    bytes.set(utf8(magic), 0);
    assert.throws(() => parseShareFile(bytes), expectError('SHARE_FILE_MAGIC', 'usage'), magic);
    await assert.rejects(decryptShareFile(bytes, utf8('pw'), counting), expectError('SHARE_FILE_MAGIC', 'usage'), magic);
  }
  assert.equal(kdfCalls, 0);
  assert.throws(() => parseShareFile('Salted__' as unknown as Uint8Array), TypeError);
});

test('parseShareFile returns copies of the salt and the ciphertext', () => {
  const file = new Uint8Array(64).map((_, i) => i);
  file.set(utf8('Salted__'));
  const { salt, ciphertext } = parseShareFile(file);
  assert.deepEqual(salt, file.slice(8, 16));
  assert.deepEqual(ciphertext, file.slice(16));
  file.fill(0, 8);
  assert.notDeepEqual(salt, new Uint8Array(8));
});

test('encryptShareFile validates its arguments', async () => {
  const kdf = shareFileKdfSync(SMALL);
  await assert.rejects(encryptShareFile(new Uint8Array(31), utf8('pw'), new Uint8Array(8), kdf), { name: 'RangeError', message: /share/ });
  await assert.rejects(encryptShareFile(new Uint8Array(32), utf8('pw'), new Uint8Array(9), kdf), { name: 'RangeError', message: /salt/ });
  await assert.rejects(encryptShareFile(new Uint8Array(32), 'pw' as unknown as Uint8Array, new Uint8Array(8), kdf), {
    name: 'TypeError',
    message: /password/,
  });
  await assert.rejects(encryptShareFile(new Uint8Array(32), utf8('pw'), new Uint8Array(8), (() => ({ key: new Uint8Array(16), iv: new Uint8Array(16) }))), {
    name: 'RangeError',
    message: /kdf/,
  });
});

test('createShareFile draws salt (8) then share (32) from the rng and round-trips', async () => {
  let counter = 0;
  const requests: number[] = [];
  const rng = (n: number) => {
    requests.push(n);
    return new Uint8Array(n).map(() => counter++ & 0xff);
  };
  const { file, share } = await createShareFile(utf8('custodian one'), { rng, kdf: shareFileKdfSync(SMALL) });
  assert.deepEqual(requests, [8, 32]);
  assert.deepEqual(parseShareFile(file).salt, new Uint8Array(8).map((_, i) => i));
  assert.deepEqual(share, new Uint8Array(32).map((_, i) => 8 + i));
  assert.deepEqual(await decryptShareFile(file, utf8('custodian one'), shareFileKdfSync(SMALL)), share);
});

test('a cancelled KDF propagates KDF_CANCELLED unchanged', async () => {
  const ac = new AbortController();
  ac.abort();
  const file = await encryptShareFile(new Uint8Array(32), utf8('pw'), new Uint8Array(8), shareFileKdfSync(SMALL));
  await assert.rejects(
    decryptShareFile(file, utf8('pw'), (pw, s) => deriveShareFileKey(pw, s, { signal: ac.signal })),
    expectError('KDF_CANCELLED', 'incomplete'),
  );
});

test("the caller's password array stays usable (and wipeable) after a worker derivation", async () => {
  const { deriveShareFileKey } = await import('../../protocol/dkek/derive.ts');
  // A Buffer-species copy: slice() returns a Buffer whose ArrayBuffer is transferable; a
  // transfer of the caller's own buffer would detach it and make the caller's wipe throw.
  const pw = Uint8Array.prototype.slice.call(Buffer.from('pico-test-pw-1'), 0) as Uint8Array;
  const k = await deriveShareFileKey(pw, new Uint8Array(8), { iterations: 3 });
  assert.equal(pw.length, 14);
  pw.fill(0);
  assert.equal(k.key.length, 32);
});
