/**
 * Large block letters for the one word that must not be missed: MATCH or MISMATCH after the KCV
 * comparison. Five rows high; only the letters those words need.
 */
import React from 'react';
import { Box, Text } from 'ink';

const GLYPHS: Record<string, string[]> = {
  M: ['█   █', '██ ██', '█ █ █', '█   █', '█   █'],
  A: [' ███ ', '█   █', '█████', '█   █', '█   █'],
  T: ['█████', '  █  ', '  █  ', '  █  ', '  █  '],
  C: [' ████', '█    ', '█    ', '█    ', ' ████'],
  H: ['█   █', '█   █', '█████', '█   █', '█   █'],
  I: ['███', ' █ ', ' █ ', ' █ ', '███'],
  S: [' ████', '█    ', ' ███ ', '    █', '████ '],
};

/** The five lines of `word` in block letters (letters without a glyph are left out). */
export function bigLines(word: string): string[] {
  const rows = ['', '', '', '', ''];
  for (const ch of word.toUpperCase()) {
    const g = GLYPHS[ch];
    if (!g) continue;
    for (let r = 0; r < 5; r++) rows[r] += (rows[r] === '' ? '' : ' ') + g[r];
  }
  return rows;
}

export function BigText({ word, color }: { word: string; color?: string | undefined }): React.JSX.Element {
  return (
    <Box flexDirection="column">
      {bigLines(word).map((l, i) => (
        <Text key={i} bold color={color}>
          {l}
        </Text>
      ))}
    </Box>
  );
}
