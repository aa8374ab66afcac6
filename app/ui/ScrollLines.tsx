/**
 * Lines of text that fit the room left on the terminal: when there are more lines than rows, ↑/↓
 * (and PageUp/PageDown) scroll, and a dim line says how many more there are.
 */
import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { wrapLines } from './wrap-lines.ts';

export interface ScrollLinesProps {
  lines: string[];
  rows: number;
  /** columns to wrap at */
  width: number;
  color?: string | undefined;
  /** false when another component on screen owns ↑/↓ */
  scrollKeys?: boolean;
}

export function ScrollLines({ lines: text, rows, width, color, scrollKeys = true }: ScrollLinesProps): React.JSX.Element {
  const lines = wrapLines(text, width);
  const fits = lines.length <= rows;
  const room = fits ? lines.length : Math.max(1, rows - 1);
  const [top, setTop] = useState(0);
  const maxTop = Math.max(0, lines.length - room);
  useInput(
    (_input, key) => {
      if (key.upArrow) setTop((t) => Math.max(0, t - 1));
      else if (key.downArrow) setTop((t) => Math.min(maxTop, t + 1));
      else if (key.pageUp) setTop((t) => Math.max(0, t - room));
      else if (key.pageDown) setTop((t) => Math.min(maxTop, t + room));
    },
    { isActive: scrollKeys && !fits },
  );
  const first = Math.min(top, maxTop);
  return (
    <Box flexDirection="column">
      {lines.slice(first, first + room).map((l, i) => (
        <Text key={first + i} color={color} wrap="truncate-end">
          {l === '' ? ' ' : l}
        </Text>
      ))}
      {fits ? null : <Text dimColor>{`  ↑/↓ scroll: lines ${first + 1}-${first + room} of ${lines.length}`}</Text>}
    </Box>
  );
}
