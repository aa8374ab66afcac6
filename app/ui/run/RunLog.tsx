/**
 * The transcript as text lines under the script: the last `rows` rows of the lines wrapped to the
 * width, the newest in full brightness, the older ones dim. The run view feeds it the lines of the
 * events written so far (and progress lines); the replay view the lines of the events up to the
 * frame shown — the same text (replay-model.ts `eventLine`).
 */
import React from 'react';
import { Box, Text } from 'ink';
import { wrapLines } from '../wrap-lines.ts';

export interface RunLogProps {
  lines: readonly string[];
  /** rows the log takes, even when it holds fewer lines */
  rows: number;
  width: number;
}

export function RunLog({ lines, rows, width }: RunLogProps): React.JSX.Element {
  const log = wrapLines(lines, width).slice(-rows);
  return (
    <Box flexDirection="column" marginTop={1} height={rows}>
      {log.map((l, i) => (
        <Text key={i} dimColor={i < log.length - 1} wrap="truncate-end">
          {l === '' ? ' ' : l}
        </Text>
      ))}
    </Box>
  );
}
