/**
 * Choosing an existing file: the matching files of the working directory (listed by a `list-files`
 * job) as options, plus "type a path". Pure prompt builders shared by the flows that read files.
 */
import type { CeremonyEvent } from './events.ts';
import type { Option, Prompt } from './state.ts';

const FILE = 'file:';
const TYPE = 'type-path';

/**
 * A choose prompt listing `files` (relative names; the first nine, numbered 1-9), then "type a
 * path", then `extra` options. Files in `disabled` stay listed (so numbers do not shift) but cannot
 * be chosen, with the reason.
 */
export function filePrompt(title: string, body: string[], files: readonly string[], extra: Option[] = [], disabled: ReadonlyMap<string, string> = new Map()): Prompt {
  const options: Option[] = files.slice(0, 9).map((f, i) => {
    const why = disabled.get(f);
    return { value: FILE + f, key: String(i + 1), label: f, ...(why ? { disabled: why } : {}) };
  });
  options.push({ value: TYPE, key: 't', label: 'Type a path…', hint: files.length > 9 ? `${files.length - 9} more files are not listed` : 'a file elsewhere' });
  return { kind: 'choose', title, body: files.length === 0 ? [...body, 'No matching file in the working directory.'] : body, options: [...options, ...extra] };
}

/** A text prompt for a path. */
export function pathPrompt(title: string, body: string[], error?: string, initial = ''): Prompt {
  return { kind: 'text', title, body, label: 'Path', initial, ...(error ? { error } : {}) };
}

/** Reads an answer to filePrompt: the chosen file, a request to type a path, or neither. */
export function pickedFile(ev: CeremonyEvent): { file: string } | { type: true } | null {
  if (ev.type !== 'choose') return null;
  if (ev.value.startsWith(FILE)) return { file: ev.value.slice(FILE.length) };
  if (ev.value === TYPE) return { type: true };
  return null;
}
