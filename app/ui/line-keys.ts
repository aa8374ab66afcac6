/**
 * Keystrokes for the line inputs (text, secret, typed phrase) from what Ink's useInput reports. A
 * paste arrives as one string and may carry its own Enter or Backspace, so the string is read
 * character by character. Ctrl-U clears the line, as in a shell.
 */
import type { Key } from 'ink';

export type LineKey =
  | { kind: 'char'; char: string }
  | { kind: 'backspace' }
  | { kind: 'clear' }
  | { kind: 'enter' }
  | { kind: 'escape' };

/** Splits one input report into line-editing keys; arrows and other special keys give nothing. */
export function lineKeys(input: string, key: Key): LineKey[] {
  if (key.escape) return [{ kind: 'escape' }];
  if (key.ctrl) return input === 'u' ? [{ kind: 'clear' }] : [];
  if (key.return) return [{ kind: 'enter' }];
  if (key.backspace || key.delete) return [{ kind: 'backspace' }];
  if (key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab || key.pageUp || key.pageDown || key.meta) return [];
  const out: LineKey[] = [];
  for (const ch of input) {
    const c = ch.codePointAt(0)!;
    if (ch === '\r' || ch === '\n') out.push({ kind: 'enter' });
    else if (c === 0x7f || c === 0x08) out.push({ kind: 'backspace' });
    else if (c === 0x15) out.push({ kind: 'clear' });
    else if (c >= 0x20) out.push({ kind: 'char', char: ch });
  }
  return out;
}
