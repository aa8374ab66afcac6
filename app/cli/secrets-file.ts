/**
 * The secrets file (docs/secrets-file.md): one JSON document that holds, for automation, every
 * secret a command needs. It is refused unless only its owner can read it, except a file marked
 * `"rehearsal": true`, whose secrets are rehearsal secrets and are accepted only where no real
 * device is involved (offline commands and the simulator).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseSecretJson, wipeSecretJson, SecretJsonError, type SecretJson } from '../../protocol/secret-json.ts';
import { usageError } from '../../protocol/errors.ts';

export interface ShareSecret {
  /** the passphrase bytes (UTF-8 as written in the file) */
  passphrase?: Uint8Array;
  /** absolute path of an sc-hsm-tool password-share printout */
  pwdSharesFile?: string;
}

export interface SecretsFile {
  path: string;
  rehearsal: boolean;
  pin?: Uint8Array;
  soPin?: Uint8Array;
  /** keyed by share file base name, e.g. "s1.pbe" */
  shares: Map<string, ShareSecret>;
  /**
   * Rehearsal sign-offs (docs/secrets-file.md, "Rehearsal sign-offs"): person name → true (signs)
   * or false (declines). Only a rehearsal file may hold them; on the day people sign in person.
   */
  signOffs: Map<string, boolean>;
  /** secrets for one share file, looked up by its base name */
  forShareFile(file: string): ShareSecret | undefined;
  wipe(): void;
}

const TOP_KEYS = new Set(['rehearsal', 'pin', 'soPin', 'shares', 'signOffs', 'comment']);

/**
 * Checks that a file holding secrets can be read only by its owner (mode 0600 or stricter).
 * @throws CeremonyError usage SECRETS_FILE_PERMISSIONS
 */
export function assertOwnerOnly(path: string, what: string): void {
  const st = statSync(path);
  if (!st.isFile()) throw usageError('SECRETS_FILE_NOT_FILE', `${what} ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw usageError('SECRETS_FILE_PERMISSIONS', `${what} ${path} can be read by others (mode ${(st.mode & 0o777).toString(8)})`, {
      hint: `run: chmod 600 ${path}`,
    });
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw usageError('SECRETS_FILE_OWNER', `${what} ${path} belongs to another user`, { hint: 'use a file you own' });
  }
}

/**
 * Loads and validates a secrets file. Errors name the field path; no secret is ever echoed.
 * @throws CeremonyError usage SECRETS_FILE_*
 */
export function loadSecretsFile(path: string, cwd: string): SecretsFile {
  const abs = resolve(cwd, path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(abs);
  } catch (e) {
    throw usageError('SECRETS_FILE_UNREADABLE', `cannot read the secrets file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'check the path',
    });
  }
  let tree: SecretJson;
  try {
    tree = parseSecretJson(bytes);
  } catch (e) {
    throw usageError('SECRETS_FILE_SYNTAX', `the secrets file ${path} is not valid JSON: ${(e as SecretJsonError).message}`, {
      hint: 'see docs/secrets-file.md for the format',
    });
  } finally {
    bytes.fill(0);
  }
  const bad = (field: string, msg: string) => {
    wipeSecretJson(tree);
    return usageError('SECRETS_FILE_INVALID', `${path}: ${field}: ${msg}`, { hint: 'see docs/secrets-file.md for the format' });
  };
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree) || tree instanceof Uint8Array) {
    throw bad('(top level)', 'must be a JSON object');
  }
  const top = tree as { [k: string]: SecretJson };
  for (const k of Object.keys(top)) if (!TOP_KEYS.has(k)) throw bad(k, 'unknown field');
  const rehearsal = top.rehearsal ?? false;
  if (typeof rehearsal !== 'boolean') throw bad('rehearsal', 'must be true or false');
  if (!rehearsal) assertOwnerOnly(abs, 'the secrets file');

  const bytesField = (v: SecretJson | undefined, field: string): Uint8Array | undefined => {
    if (v === undefined) return undefined;
    if (!(v instanceof Uint8Array)) throw bad(field, 'must be a string');
    if (v.length === 0) throw bad(field, 'must not be empty');
    return v;
  };
  const pin = bytesField(top.pin, 'pin');
  const soPin = bytesField(top.soPin, 'soPin');
  const shares = new Map<string, ShareSecret>();
  const sharesNode = top.shares;
  if (sharesNode !== undefined) {
    if (sharesNode === null || typeof sharesNode !== 'object' || Array.isArray(sharesNode) || sharesNode instanceof Uint8Array) {
      throw bad('shares', 'must be an object keyed by share file name');
    }
    for (const [name, entry] of Object.entries(sharesNode)) {
      const field = `shares.${name}`;
      if (name !== basename(name)) throw bad(field, 'use the share file base name, without folders');
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || entry instanceof Uint8Array) {
        throw bad(field, 'must be an object with "passphrase" or "pwdShares"');
      }
      for (const k of Object.keys(entry)) if (k !== 'passphrase' && k !== 'pwdShares') throw bad(`${field}.${k}`, 'unknown field');
      const passphrase = bytesField(entry.passphrase, `${field}.passphrase`);
      const pwd = bytesField(entry.pwdShares, `${field}.pwdShares`);
      if ((passphrase === undefined) === (pwd === undefined)) throw bad(field, 'give exactly one of "passphrase" or "pwdShares"');
      const secret: ShareSecret = {};
      if (passphrase) secret.passphrase = passphrase;
      if (pwd) {
        // a path, not a secret
        secret.pwdSharesFile = resolve(dirname(abs), new TextDecoder().decode(pwd));
        if (!rehearsal) assertOwnerOnly(secret.pwdSharesFile, 'the password-share file');
      }
      shares.set(name, secret);
    }
  }
  const signOffs = new Map<string, boolean>();
  const signOffsNode = top.signOffs;
  if (signOffsNode !== undefined) {
    if (!rehearsal) throw bad('signOffs', 'only a rehearsal file ("rehearsal": true) may sign off; on the day, people sign off in person');
    if (signOffsNode === null || typeof signOffsNode !== 'object' || Array.isArray(signOffsNode) || signOffsNode instanceof Uint8Array) {
      throw bad('signOffs', 'must be an object keyed by person name');
    }
    for (const [name, v] of Object.entries(signOffsNode)) {
      if (typeof v !== 'boolean') throw bad(`signOffs.${name}`, 'must be true (signs) or false (declines)');
      signOffs.set(name, v);
    }
  }
  const file: SecretsFile = {
    path: abs,
    rehearsal,
    shares,
    signOffs,
    forShareFile: (f) => shares.get(basename(f)),
    wipe: () => wipeSecretJson(tree),
  };
  if (pin) file.pin = pin;
  if (soPin) file.soPin = soPin;
  return file;
}
