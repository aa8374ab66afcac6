/**
 * What counts as "looks like a secret" in a public file: a plan (docs/plan-format.md §5) and a
 * transcript (docs/transcript-format.md §6). Both are read by many people and kept for years, so
 * neither may ever hold a PIN, a passphrase, a share or key material. These checks catch the
 * mistakes people and code actually make: a field named for a secret, and a pasted hex key.
 *
 * They are heuristics with a bias to refusing: a public value that trips them must be renamed or
 * left out, never let through. They are not a proof that no secret is present (a passphrase in a
 * description field cannot be told from prose).
 */

/** Words that name a secret. A field whose name contains one of them is refused. */
const SECRET_WORDS = new Set([
  'pin',
  'pins',
  'sopin',
  'puk',
  'passphrase',
  'passphrases',
  'password',
  'passwords',
  'passwd',
  'pwd',
  'secret',
  'secrets',
  'private',
  'privkey',
  'plaintext',
  'mnemonic',
]);

/**
 * Words that turn a secret word into a public count or state (`pinTriesLeft`, `pwdShares: 2/3`
 * meaning a threshold, `passphraseSet`). They never rescue a name that is only secret words.
 */
const COUNT_WORDS = new Set(['tries', 'retries', 'left', 'count', 'counter', 'length', 'status', 'policy', 'set', 'blocked', 'shares', 'threshold', 'total']);

/** Things that are secrets when the name is only them or them plus a "value" word. */
const MATERIAL_WORDS = new Set(['share', 'dkek', 'key', 'seed']);
const VALUE_WORDS = new Set(['value', 'values', 'bytes', 'material', 'hex', 'raw', 'data', 'plain', 'clear']);

/** Splits `soPin`, `so_pin`, `so-pin`, `SOPIN2` into lower-case words. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/**
 * True if a field name looks like it holds a secret: it contains a secret word (pin, passphrase,
 * password, pwd, secret, private, …) and no count word, or it is a material word (share, dkek, key,
 * seed) alone or with a value word (`shareValue`, `keyBytes`, `dkekHex`).
 *
 * `seed` alone is refused; a public simulator seed must be named for what it is (`simulatorSeed`).
 */
export function looksSecretName(name: string): boolean {
  const words = nameWords(name);
  if (words.length === 0) return false;
  const hasSecret = words.some((w) => SECRET_WORDS.has(w));
  const hasCount = words.some((w) => COUNT_WORDS.has(w));
  if (hasSecret && !hasCount) return true;
  if (hasSecret && words.every((w) => SECRET_WORDS.has(w))) return true;
  if (words.every((w) => MATERIAL_WORDS.has(w) || VALUE_WORDS.has(w)) && words.some((w) => MATERIAL_WORDS.has(w))) return true;
  return false;
}

/** 16 bytes: the shortest key (AES-128) a plan could leak. */
export const KEY_LIKE_HEX_BYTES = 16;

/**
 * True if `text` contains a run of at least 16 bytes of hex (32 digits), contiguous or as byte
 * pairs separated by `:`, `-` or single spaces — the shapes in which keys, DKEK shares and
 * sc-hsm-tool password shares are printed. Shorter values (a KCV is 8 bytes, a share fingerprint
 * 8, a key ID at most 15) pass.
 */
export function containsKeyLikeHex(text: string): boolean {
  if (/[0-9A-Fa-f]{32}/.test(text)) return true;
  // byte pairs with one separator between them, e.g. 1d:10:83:… or "1d 10 83 …"
  const separated = new RegExp(`[0-9A-Fa-f]{2}(?:[:\\- ][0-9A-Fa-f]{2}){${KEY_LIKE_HEX_BYTES - 1},}`);
  if (separated.test(text)) return true;
  // groups of 4 digits, e.g. "3f2a 90c1 7b44 e0d2 …" (8 groups = 16 bytes)
  return /[0-9A-Fa-f]{4}(?:[ :\-][0-9A-Fa-f]{4}){7,}/.test(text);
}
