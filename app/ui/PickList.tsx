/** Several choices at once: Space toggles the one under the cursor, a toggles all, Enter confirms. */
import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { Option } from '../ceremony/state.ts';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface PickListProps {
  options: Option[];
  selected: string[];
  onPick(values: string[]): void;
  onBack(): void;
  rows: number;
}

export function PickList({ options, selected, onPick, onBack, rows }: PickListProps): React.JSX.Element {
  const theme = useTheme();
  const [cursor, setCursor] = useState(0);
  const [picked, setPicked] = useState<Set<string>>(() => new Set(selected));
  useInput((input, key) => {
    if (key.upArrow) setCursor((c) => (c + options.length - 1) % options.length);
    else if (key.downArrow) setCursor((c) => (c + 1) % options.length);
    else if (key.return) onPick(options.filter((o) => picked.has(o.value)).map((o) => o.value));
    else if (key.escape) onBack();
    else if (input === ' ') {
      const v = options[cursor]?.value;
      if (v === undefined) return;
      setPicked((p) => {
        const n = new Set(p);
        if (n.has(v)) n.delete(v);
        else n.add(v);
        return n;
      });
    } else if (input === 'a') {
      setPicked((p) => (p.size === options.length ? new Set() : new Set(options.map((o) => o.value))));
    }
  });
  const visible = Math.max(3, rows);
  const start = Math.min(Math.max(0, cursor - visible + 1), Math.max(0, options.length - visible));
  return (
    <Box flexDirection="column">
      {options.slice(start, start + visible).map((o, k) => {
        const i = start + k;
        return (
          <Text key={o.value} wrap="truncate-end" bold={i === cursor} inverse={i === cursor} color={i === cursor ? hue(theme, 'accent') : undefined}>
            {`${i === cursor ? '›' : ' '} [${picked.has(o.value) ? 'x' : ' '}] ${o.label}`}
          </Text>
        );
      })}
      <Text dimColor>{`  ${picked.size} of ${options.length} selected${options.length > visible ? '  (↑/↓ for more)' : ''}`}</Text>
    </Box>
  );
}
