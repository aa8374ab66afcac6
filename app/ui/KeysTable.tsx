/** The key list: reference, ID, label, type, size, certificate holder — sized to the terminal. */
import React from 'react';
import { Box, Text, useInput } from 'ink';
import type { KeyRow } from '../ceremony/jobs.ts';

export interface KeysTableProps {
  keys: KeyRow[];
  body: string[];
  columns: number;
  rows: number;
  onContinue(): void;
}

function cut(s: string, w: number): string {
  return s.length <= w ? s.padEnd(w) : `${s.slice(0, Math.max(0, w - 1))}…`;
}

/** The table as lines (also used for the transcript-like text in tests). */
export function keyTableLines(keys: KeyRow[], columns: number): string[] {
  const wRef = 4;
  const wType = 8;
  const wSize = 5;
  const rest = Math.max(30, columns - wRef - wType - wSize - 6);
  const wId = Math.min(16, Math.floor(rest * 0.3));
  const wLabel = Math.floor((rest - wId) * 0.5);
  const wHolder = rest - wId - wLabel;
  const row = (a: string, b: string, c: string, d: string, e: string, f: string) => `${cut(a, wRef)} ${cut(b, wId)} ${cut(c, wLabel)} ${cut(d, wType)} ${cut(e, wSize)} ${cut(f, wHolder)}`.trimEnd();
  const lines = [row('Ref', 'ID', 'Label', 'Type', 'Size', 'Certificate / holder')];
  for (const k of keys) {
    const cert = k.certificate ? `${k.certificate}${k.holder ? ` ${k.holder}` : ''}` : '-';
    lines.push(row(String(k.keyRef), k.id ?? '-', k.deviceKey ? '(device key)' : (k.label ?? '-'), k.type, k.bits ? String(k.bits) : '-', cert));
  }
  return lines;
}

export function KeysTable({ keys, body, columns, rows, onContinue }: KeysTableProps): React.JSX.Element {
  useInput((_input, key) => {
    if (key.return || key.escape) onContinue();
  });
  const lines = keyTableLines(keys, columns - 2);
  const shown = lines.slice(0, Math.max(2, rows));
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Text key={i} bold={i === 0} wrap="truncate-end">
          {l}
        </Text>
      ))}
      {lines.length > shown.length ? <Text dimColor>{`… and ${lines.length - shown.length} more (hsm-ceremony keys lists them all)`}</Text> : null}
      {body.map((l, i) => (
        <Text key={`b${i}`}>{l}</Text>
      ))}
      <Text dimColor>Press Enter to go back.</Text>
    </Box>
  );
}
