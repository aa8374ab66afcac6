// `npm run bench:kdf`: what one share file's key derivation costs, side by side with OpenSSL's own
// EVP_BytesToKey (sc-hsm-tool's code path) and with the floor, OpenSSL's MD5_Transform on one
// block, 3 x 10^7 times. The two C programs are written to bench/.build/ (gitignored) and compiled
// with the system C compiler against libcrypto; without them the bench still prints our numbers.
//
// Every figure is the median of RUNS runs of the derivation alone (process start-up excluded, timed
// inside the C programs with CLOCK_MONOTONIC and around the call in JavaScript).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { toHex } from '../protocol/bytes.ts';
import { deriveShareFileKey } from '../protocol/dkek/derive.ts';
import { SHARE_FILE_KDF_ITERATIONS, evpBytesToKey } from '../protocol/dkek/md5-chain.ts';
import type { DerivedKey, Md5Engine } from '../protocol/dkek/md5-chain.ts';

const RUNS = 3;
const COUNT = SHARE_FILE_KDF_ITERATIONS;
const BLOCKS = 3 * COUNT;
const PASSWORD = new TextEncoder().encode('bench passphrase for a DKEK share');
const SALT = Uint8Array.from([0x6c, 0xbe, 0x14, 0x88, 0x05, 0x2a, 0x94, 0x1f]);
const BUILD = fileURLToPath(new URL('./.build/', import.meta.url));

// --- the two C references (our own code; facts about the OpenSSL API only) -------------------------

const EVP_SOURCE = String.raw`/* bench/kdf.ts reference: OpenSSL's EVP_BytesToKey exactly as sc-hsm-tool calls it
   (aes-256-cbc, md5, 8-byte salt, count). Prints key, iv, seconds of the call, OpenSSL version. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int from_hex(const char *hex, unsigned char *out, int max) {
  int n = (int)strlen(hex) / 2;
  if ((int)strlen(hex) % 2 != 0 || n > max) return -1;
  for (int i = 0; i < n; i++) {
    unsigned int byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
    out[i] = (unsigned char)byte;
  }
  return n;
}

static void print_hex(const char *label, const unsigned char *b, int n) {
  printf("%s ", label);
  for (int i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

int main(int argc, char **argv) {
  unsigned char password[512], salt[8], key[32], iv[16];
  if (argc != 4) {
    fprintf(stderr, "usage: %s PASSWORD_HEX SALT_HEX COUNT\n", argv[0]);
    return 2;
  }
  int password_len = from_hex(argv[1], password, (int)sizeof password);
  if (password_len < 0 || from_hex(argv[2], salt, 8) != 8) return 2;
  int count = atoi(argv[3]);
  struct timespec start, stop;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int key_len = EVP_BytesToKey(EVP_aes_256_cbc(), EVP_md5(), salt, password, password_len, count, key, iv);
  clock_gettime(CLOCK_MONOTONIC, &stop);
  if (key_len != 32) return 1;
  print_hex("key", key, 32);
  print_hex("iv", iv, 16);
  printf("seconds %.6f\n", (double)(stop.tv_sec - start.tv_sec) + (stop.tv_nsec - start.tv_nsec) / 1e9);
  printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION));
  return 0;
}
`;

const FLOOR_SOURCE = String.raw`/* bench/kdf.ts floor: N calls of OpenSSL's MD5_Transform (its assembly compression function),
   each on one 64-byte block holding the previous digest with MD5's constant padding for a 16-byte
   message, i.e. the same chain the KDF computes, minus everything but the compression. */
#include <openssl/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 30000000L;
  unsigned char block[64] = {0};
  block[16] = 0x80; /* end-of-message marker after 16 bytes */
  block[56] = 128;  /* message length in bits, little-endian */
  MD5_CTX ctx;
  MD5_Init(&ctx);
  struct timespec start, stop;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < n; i++) {
    MD5_LONG digest[4] = {ctx.A, ctx.B, ctx.C, ctx.D};
    memcpy(block, digest, 16); /* little-endian hosts: the words are the digest bytes */
    ctx.A = 0x67452301UL;
    ctx.B = 0xefcdab89UL;
    ctx.C = 0x98badcfeUL;
    ctx.D = 0x10325476UL;
    MD5_Transform(&ctx, block);
  }
  clock_gettime(CLOCK_MONOTONIC, &stop);
  printf("blocks %ld\n", n);
  printf("seconds %.6f\n", (double)(stop.tv_sec - start.tv_sec) + (stop.tv_nsec - start.tv_nsec) / 1e9);
  printf("last %08lx\n", (unsigned long)ctx.A);
  return 0;
}
`;

/** Compiles one C program; returns its path, or a one-line reason why not. */
function compile(name: string, source: string, extraFlags: string[]): { path: string } | { reason: string } {
  mkdirSync(BUILD, { recursive: true });
  const src = `${BUILD}${name}.c`;
  const exe = `${BUILD}${name}`;
  writeFileSync(src, source);
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
  } catch {
    return { reason: 'no C compiler (cc) found' };
  }
  try {
    execFileSync('cc', ['-O2', ...extraFlags, '-o', exe, src, '-lcrypto'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '');
    const missing = /openssl\/\w+\.h|-lcrypto|cannot find/.test(stderr);
    return { reason: missing ? 'libcrypto headers or library missing (install libssl-dev)' : `cc failed: ${stderr.split('\n')[0]}` };
  }
  return { path: exe };
}

/** Runs a C program and returns its "name value" lines as a record. */
function runC(exe: string, args: string[]): Record<string, string> {
  const out = execFileSync(exe, args, { encoding: 'utf8' });
  const fields: Record<string, string> = {};
  for (const line of out.trim().split('\n')) {
    const i = line.indexOf(' ');
    fields[line.slice(0, i)] = line.slice(i + 1);
  }
  return fields;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  name: string;
  seconds: number;
  result?: DerivedKey;
}

function timeSync(engine: Md5Engine): Row {
  const times: number[] = [];
  let result: DerivedKey | undefined;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    result = evpBytesToKey(PASSWORD, SALT, COUNT, { engine });
    times.push((performance.now() - t0) / 1000);
  }
  const label = engine === 'wasm' ? 'ours: WebAssembly, in chunks' : 'ours: plain JS (fallback)';
  return { name: label, seconds: median(times), ...(result ? { result } : {}) };
}

async function timeWorker(): Promise<Row> {
  const times: number[] = [];
  let result: DerivedKey | undefined;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    result = await deriveShareFileKey(PASSWORD, SALT);
    times.push((performance.now() - t0) / 1000);
  }
  return { name: 'ours: WebAssembly in a worker (as the CLI/TUI)', seconds: median(times), ...(result ? { result } : {}) };
}

const progress = (what: string) => process.stderr.write(`  measuring ${what} (${RUNS} runs)...\n`);

console.log('share-file KDF: EVP_BytesToKey(aes-256-cbc, md5, 8-byte salt, count 10^7) = 3 x 10^7 MD5 blocks');
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), median of ${RUNS} runs each`);
console.log('');

progress('WebAssembly path');
const wasm = timeSync('wasm');
progress('plain-JS path');
const js = timeSync('js');
progress('worker path');
const worker = await timeWorker();
const rows: Row[] = [wasm, js, worker];

let openssl: Row | undefined;
let floor: Row | undefined;
let opensslVersion = '';
const notes: string[] = [];

const evpExe = compile('evp-bytes-to-key', EVP_SOURCE, []);
if ('path' in evpExe) {
  progress('OpenSSL EVP_BytesToKey');
  const times: number[] = [];
  let f: Record<string, string> = {};
  for (let r = 0; r < RUNS; r++) {
    f = runC(evpExe.path, [toHex(PASSWORD), toHex(SALT), String(COUNT)]);
    times.push(Number(f['seconds']));
  }
  opensslVersion = f['openssl'] ?? '';
  openssl = {
    name: 'OpenSSL EVP_BytesToKey (C, sc-hsm-tool path)',
    seconds: median(times),
    result: { key: Uint8Array.from(Buffer.from(f['key'] ?? '', 'hex')), iv: Uint8Array.from(Buffer.from(f['iv'] ?? '', 'hex')) },
  };
  rows.push(openssl);
} else {
  notes.push(`OpenSSL reference skipped: ${evpExe.reason}`);
}

const floorExe = compile('md5-transform-floor', FLOOR_SOURCE, ['-Wno-deprecated-declarations']);
if ('path' in floorExe) {
  progress('floor (MD5_Transform)');
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) times.push(Number(runC(floorExe.path, [String(BLOCKS)])['seconds']));
  floor = { name: 'floor: OpenSSL MD5_Transform x 3e7 (C)', seconds: median(times) };
  rows.push(floor);
} else {
  notes.push(`floor skipped: ${floorExe.reason}`);
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (x: number | undefined, digits = 2) => (x === undefined ? '-' : x.toFixed(digits)).padStart(9);
console.log(`${pad('implementation', 48)}  seconds  M blocks/s  x OpenSSL    x floor`);
for (const r of rows) {
  const mbps = BLOCKS / r.seconds / 1e6;
  const vsOpenssl = openssl ? r.seconds / openssl.seconds : undefined;
  const vsFloor = floor ? r.seconds / floor.seconds : undefined;
  console.log(`${pad(r.name, 48)} ${num(r.seconds)} ${num(mbps, 1).padStart(11)} ${num(vsOpenssl)}  ${num(vsFloor)}`);
}
console.log('');

const ours = wasm; // what 'auto' picks wherever WebAssembly is available
const same = (a?: DerivedKey, b?: DerivedKey) =>
  a !== undefined && b !== undefined && toHex(a.key) === toHex(b.key) && toHex(a.iv) === toHex(b.iv);
console.log(`key ${toHex(ours.result!.key)}  iv ${toHex(ours.result!.iv)}`);
console.log(`engines agree (WebAssembly, plain JS, worker): ${same(wasm.result, js.result) && same(wasm.result, worker.result) ? 'yes' : 'NO'}`);
if (openssl) {
  console.log(`agree: ${same(ours.result, openssl.result) ? 'yes' : 'NO'} (${opensslVersion} derives the same key and iv)`);
  const speedup = openssl.seconds / ours.seconds;
  console.log(`ours vs OpenSSL: ${speedup.toFixed(2)}x faster (target >= 3x: ${speedup >= 3 ? 'met' : 'NOT met'})`);
}
if (floor) {
  const ratio = ours.seconds / floor.seconds;
  const jsRatio = js.seconds / floor.seconds;
  console.log(`ours vs floor:   ${ratio.toFixed(2)}x the floor (target <= 1.3x: ${ratio <= 1.3 ? 'met' : 'NOT met'}); plain JS ${jsRatio.toFixed(2)}x`);
}
for (const n of notes) console.log(n);
