/**
 * The end record as the run view shows it when a ceremony ends (and the replay view at the
 * transcript's last event): a first line in the outcome's tone, then the record (endLines) —
 * transcript, chain head, KCV, outputs, the key fingerprint, how to verify — scrollable.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { ScrollLines } from '../ScrollLines.tsx';
import { useTheme } from '../use-theme.ts';
import { hue } from '../theme.ts';
import { endLines, type EndRecord } from './run-view-model.ts';

export interface RunEndProps {
  end: EndRecord;
  rows: number;
  width: number;
  /** scroll keys for the record (off when the screen uses the arrows for something else) */
  scrollKeys?: boolean;
}

export function RunEnd({ end: e, rows, width, scrollKeys = true }: RunEndProps): React.JSX.Element {
  const theme = useTheme();
  const lines = endLines(e);
  const tone = e.outcome === 'completed' ? hue(theme, 'success') : hue(theme, 'error');
  return (
    <Box flexDirection="column">
      <Text bold color={tone} wrap="truncate-end">
        {e.outcome === 'completed' ? 'The ceremony is complete. Write the fingerprint and chain head on the paper record.' : lines[0]}
      </Text>
      <ScrollLines lines={lines.slice(1)} rows={Math.max(3, rows - 1)} width={width} scrollKeys={scrollKeys} />
    </Box>
  );
}
