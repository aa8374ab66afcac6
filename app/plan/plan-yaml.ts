/**
 * Reads a plan's YAML with positions kept, so every later check can name a line
 * (docs/plan-format.md §2). The subset is deliberately small: one document, YAML 1.2 core schema
 * (so `no` stays a string and `010` is not octal), no anchors, aliases, merge keys or tags (a
 * reviewer must see every value where it applies), text field names only, no duplicate fields.
 *
 * It also runs the secret guards (plan-format.md §5) over the raw tree, before any schema: a field
 * named like a secret, or a string holding 16 or more bytes of hex, is refused without quoting it.
 */
import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { containsKeyLikeHex, looksSecretName } from './secret-guard.ts';
import { formatPath, type PlanIssue, type PlanPath } from './plan-issue.ts';

export interface PlanSource {
  /** the parsed value (plain objects, arrays, strings, numbers, booleans, null) */
  value: unknown;
  /** every syntax and guard issue found */
  issues: PlanIssue[];
  /** 1-based line and column of the field at `path` (of its key when it is a mapping field) */
  locate(path: PlanPath): { line: number; column: number };
  /** the source text of the scalar at `path`, if there is one (for "write it in quotes" hints) */
  sourceText(path: PlanPath): string | undefined;
}

const YAML_MESSAGES: Record<string, string> = {
  MULTIPLE_DOCS: 'a plan is one YAML document: remove the "---" separator and what follows',
  DUPLICATE_KEY: 'this field appears twice in the same mapping',
  TAB_AS_INDENT: 'tabs are not allowed for indentation; use spaces',
  BAD_INDENT: 'bad indentation',
};

function lowerFirst(s: string): string {
  const t = s.replace(/\.\s*$/, '').split('\n')[0]!;
  return t.charAt(0).toLowerCase() + t.slice(1);
}

/**
 * Parses the plan file's bytes.
 *
 * @param bytes the exact file content (UTF-8)
 */
export function readPlanSource(bytes: Uint8Array): PlanSource {
  const issues: PlanIssue[] = [];
  const issue = (code: string, path: PlanPath, line: number, column: number, message: string) =>
    issues.push({ severity: 'error', code, path: formatPath(path), line, column, message });

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const at = lossy.indexOf('\ufffd');
    const line = lossy.slice(0, Math.max(0, at)).split('\n').length;
    issue('PLAN_NOT_UTF8', [], line, 1, 'the plan is not valid UTF-8 text');
    return { value: undefined, issues, locate: () => ({ line: 0, column: 0 }), sourceText: () => undefined };
  }

  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    version: '1.2',
    schema: 'core',
    uniqueKeys: true,
    merge: false,
    prettyErrors: false,
    strict: true,
    keepSourceTokens: false,
  });
  const pos = (offset: number | undefined) => {
    if (offset === undefined) return { line: 0, column: 0 };
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };

  for (const e of doc.errors) {
    const p = pos(e.pos[0]);
    issue('PLAN_YAML', [], p.line, p.column, YAML_MESSAGES[e.code] ?? `not valid YAML: ${lowerFirst(e.message)}`);
  }

  // `parent` is where to point when the path does not exist (a missing field): the key that
  // names the enclosing mapping, or the enclosing node itself
  const locateNode = (path: PlanPath): { node: YamlNode | null; key: YamlNode | null; parent: YamlNode | null } => {
    let node: unknown = doc.contents;
    let key: YamlNode | null = null;
    let parent: YamlNode | null = null;
    for (const seg of path) {
      if (isMap(node) && typeof seg === 'string') {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
        if (!pair) return { node: null, key: null, parent: key ?? node };
        parent = node;
        key = pair.key as YamlNode;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) return { node: null, key: null, parent: key ?? node };
        parent = node;
        key = null;
        node = item;
      } else {
        return { node: null, key: null, parent: (node as YamlNode) ?? null };
      }
    }
    return { node: (node as YamlNode) ?? null, key, parent };
  };

  const locate = (path: PlanPath) => {
    const { node, key, parent } = locateNode(path);
    const anchor = key ?? node ?? parent;
    if (anchor && anchor.range) return pos(anchor.range[0]);
    return { line: 1, column: 1 };
  };

  const sourceText = (path: PlanPath) => {
    const { node } = locateNode(path);
    if (node && isScalar(node) && node.range) return text.slice(node.range[0], node.range[1]).trim();
    return undefined;
  };

  if (doc.errors.length > 0) return { value: undefined, issues, locate, sourceText };

  // Walk the tree: refuse YAML features a reviewer could misread, and anything that looks secret.
  const walk = (node: unknown, path: PlanPath) => {
    if (node === null || node === undefined) return;
    const n = node as YamlNode;
    const at = pos(n.range?.[0]);
    if (isAlias(node)) {
      issue('PLAN_YAML_ALIAS', path, at.line, at.column, 'aliases (*name) are not allowed in a plan: write the value out where it applies, so reviewers see it');
      return;
    }
    if ('anchor' in n && n.anchor) {
      issue('PLAN_YAML_ALIAS', path, at.line, at.column, 'anchors (&name) are not allowed in a plan: write each value out where it applies');
    }
    if ('tag' in n && n.tag) {
      issue('PLAN_YAML_TAG', path, at.line, at.column, `tags (${n.tag.replace('tag:yaml.org,2002:', '!!')}) are not allowed in a plan: plain values only`);
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const k = pair.key;
        const kp = pos((k as YamlNode | null)?.range?.[0]);
        if (!isScalar(k) || typeof k.value !== 'string') {
          issue('PLAN_YAML_KEY', path, kp.line, kp.column, 'field names must be plain text');
          continue;
        }
        const name = k.value;
        const childPath = [...path, name];
        if (looksSecretName(name)) {
          issue(
            'PLAN_SECRET_FIELD',
            childPath,
            kp.line,
            kp.column,
            `a plan must not hold secrets, and "${name}" names one (value not shown): PINs, passphrases and shares are typed at the ceremony, or given for rehearsals in --secrets-file`,
          );
          continue;
        }
        if (containsKeyLikeHex(name)) {
          issue('PLAN_SECRET_VALUE', path, kp.line, kp.column, 'a field name contains 16 or more bytes of hex, which could be key material (not shown)');
          continue;
        }
        walk(pair.value, childPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node)) {
      if (typeof node.value === 'string' && containsKeyLikeHex(node.value)) {
        issue(
          'PLAN_SECRET_VALUE',
          path,
          at.line,
          at.column,
          'this value contains 16 or more bytes of hex, the size of a key or DKEK share (not shown): a plan holds no key material; if it is a public hash, leave it out (the transcript records file hashes)',
        );
      }
    }
  };
  walk(doc.contents, []);

  let value: unknown;
  try {
    value = (doc as Document).toJS({ maxAliasCount: 0 });
  } catch {
    value = undefined;
    issue('PLAN_YAML', [], 1, 1, 'the plan could not be read as data');
  }
  return { value, issues, locate, sourceText };
}
