/** A progress bar for a key derivation: label, bar, percent, on one line. */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface ProgressBarProps {
  label: string;
  done: number;
  total: number;
  columns: number;
}

export function ProgressBar({ label, done, total, columns }: ProgressBarProps): React.JSX.Element {
  const theme = useTheme();
  const pct = total <= 0 ? 0 : Math.min(100, Math.floor((done / total) * 100));
  const labelWidth = Math.min(36, Math.max(10, Math.floor(columns * 0.4)));
  const width = Math.max(10, columns - labelWidth - 8);
  const filled = Math.round((pct / 100) * width);
  const name = label.length > labelWidth ? `${label.slice(0, labelWidth - 1)}…` : label.padEnd(labelWidth);
  return (
    <Box>
      <Text>{`${name} `}</Text>
      <Text color={hue(theme, 'accent')}>{'█'.repeat(filled)}</Text>
      <Text dimColor>{'░'.repeat(width - filled)}</Text>
      <Text>{` ${String(pct).padStart(3)}%`}</Text>
    </Box>
  );
}
