/**
 * A list of choices: ↑/↓ and Enter, or the option's letter. Options that cannot be taken now are
 * shown dimmed, with the reason under the list when the cursor is on them. Long lists take two
 * columns so the menu fits an 80×24 terminal.
 */
import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { Option } from '../ceremony/state.ts';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface ChoiceListProps {
  options: Option[];
  onChoose(value: string): void;
  onBack(): void;
  columns: number;
}

function firstEnabled(options: Option[]): number {
  const i = options.findIndex((o) => !o.disabled);
  return i < 0 ? 0 : i;
}

function step(options: Option[], from: number, dir: 1 | -1): number {
  const n = options.length;
  for (let k = 1; k <= n; k++) {
    const i = (from + dir * k + n * k) % n;
    if (!options[i]!.disabled) return i;
  }
  return from;
}

export function ChoiceList({ options, onChoose, onBack, columns }: ChoiceListProps): React.JSX.Element {
  const theme = useTheme();
  const [cursor, setCursor] = useState(() => firstEnabled(options));
  useInput((input, key) => {
    if (key.upArrow) setCursor((c) => step(options, c, -1));
    else if (key.downArrow || key.tab) setCursor((c) => step(options, c, 1));
    else if (key.return) {
      const o = options[cursor];
      if (o && !o.disabled) onChoose(o.value);
    } else if (key.escape) onBack();
    else if (!key.ctrl && !key.meta && input.length === 1) {
      const i = options.findIndex((o) => o.key !== undefined && o.key.toLowerCase() === input.toLowerCase());
      if (i >= 0) {
        setCursor(i);
        if (!options[i]!.disabled) onChoose(options[i]!.value);
      }
    }
  });
  const twoColumns = options.length > 8 && columns >= 60;
  const colWidth = twoColumns ? Math.floor((columns - 2) / 2) : columns - 2;
  const item = (o: Option, i: number) => {
    const selected = i === cursor;
    const mark = selected ? '›' : ' ';
    const text = `${mark} ${o.key ? `${o.key}  ` : ''}${o.label}`;
    return (
      <Box key={o.value} width={colWidth}>
        <Text wrap="truncate-end" inverse={selected && !o.disabled} bold={selected} dimColor={o.disabled !== undefined} color={selected && !o.disabled ? hue(theme, 'accent') : undefined}>
          {text}
        </Text>
      </Box>
    );
  };
  const current = options[cursor];
  const rows = twoColumns ? Math.ceil(options.length / 2) : options.length;
  return (
    <Box flexDirection="column">
      {twoColumns ? (
        <Box flexDirection="row">
          <Box flexDirection="column">{options.slice(0, rows).map((o, i) => item(o, i))}</Box>
          <Box flexDirection="column">{options.slice(rows).map((o, i) => item(o, i + rows))}</Box>
        </Box>
      ) : (
        options.map(item)
      )}
      <Text dimColor wrap="truncate-end">
        {current?.disabled ? `  not now: ${current.disabled}` : current?.hint ? `  ${current.hint}` : ' '}
      </Text>
    </Box>
  );
}
