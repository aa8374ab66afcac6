/**
 * The DKEK key check value after the last share, and — when the custodians gave the one they
 * expect — MATCH or MISMATCH in large type, with the word itself too (for screen readers and
 * NO_COLOR terminals alike).
 */
import React from 'react';
import { Box, Text, useInput } from 'ink';
import { BigText } from './BigText.tsx';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface KcvVerdictProps {
  kcv: string | null;
  expected: string | null;
  matches: boolean | null;
  body: string[];
  onContinue(): void;
}

/** "1D1083E78237E99D" → "1D10 83E7 8237 E99D", easier to read aloud and compare. */
export function groupKcv(kcv: string): string {
  return kcv.replace(/(.{4})(?=.)/g, '$1 ');
}

export function KcvVerdict({ kcv, expected, matches, body, onContinue }: KcvVerdictProps): React.JSX.Element {
  const theme = useTheme();
  useInput((_input, key) => {
    if (key.return || key.escape) onContinue();
  });
  return (
    <Box flexDirection="column">
      <Box>
        <Text>{'Device KCV:    '}</Text>
        <Text bold>{kcv ? groupKcv(kcv) : 'not shown by the device'}</Text>
      </Box>
      {expected ? (
        <Box>
          <Text>{'Expected KCV:  '}</Text>
          <Text bold>{groupKcv(expected)}</Text>
        </Box>
      ) : null}
      {matches === null ? null : (
        <Box flexDirection="column" marginTop={1}>
          <BigText word={matches ? 'MATCH' : 'MISMATCH'} color={hue(theme, matches ? 'success' : 'error')} />
          <Text bold color={hue(theme, matches ? 'success' : 'error')}>
            {matches ? 'MATCH: the device DKEK is the expected one.' : 'MISMATCH: this is NOT the expected DKEK.'}
          </Text>
        </Box>
      )}
      {body.map((l, i) => (
        <Text key={i} wrap="wrap">
          {l}
        </Text>
      ))}
      <Text dimColor>Press Enter to continue.</Text>
    </Box>
  );
}
