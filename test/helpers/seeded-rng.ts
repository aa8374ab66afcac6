import { sha256 } from '@noble/hashes/sha2.js';

/** Deterministic byte stream for tests: SHA-256(seed/counter) blocks, optionally after fixed bytes. */
export function seededRng(seed: string, prefix: number[] = []): (n: number) => Uint8Array {
  let counter = 0;
  let pool = Uint8Array.from(prefix);
  return (n) => {
    while (pool.length < n) {
      const block = sha256(new TextEncoder().encode(`${seed}/${counter++}`));
      const next = new Uint8Array(pool.length + block.length);
      next.set(pool);
      next.set(block, pool.length);
      pool = next;
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}
