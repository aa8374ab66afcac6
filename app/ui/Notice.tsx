/** A message to read: Enter goes on, Escape goes back. Long bodies scroll. */
import React from 'react';
import { Box, Text, useInput } from 'ink';
import { ScrollLines } from './ScrollLines.tsx';

export interface NoticeProps {
  body: string[];
  next?: string | undefined;
  rows: number;
  width: number;
  onContinue(): void;
  onBack(): void;
}

export function Notice({ body, next, rows, width, onContinue, onBack }: NoticeProps): React.JSX.Element {
  useInput((_input, key) => {
    if (key.return) onContinue();
    else if (key.escape) onBack();
  });
  return (
    <Box flexDirection="column">
      <ScrollLines lines={body} rows={rows} width={width} />
      <Text dimColor>{`Press Enter to ${next ?? 'continue'}.`}</Text>
    </Box>
  );
}
