/** Work in progress: what is being done; Escape asks the flow to stop where that is safe. */
import React from 'react';
import { Box, useInput } from 'ink';
import { ScrollLines } from './ScrollLines.tsx';

export interface BusyViewProps {
  body: string[];
  rows: number;
  width: number;
  onBack(): void;
}

export function BusyView({ body, rows, width, onBack }: BusyViewProps): React.JSX.Element {
  useInput((_input, key) => {
    if (key.escape) onBack();
  });
  return (
    <Box flexDirection="column">
      <ScrollLines lines={body} rows={rows} width={width} />
    </Box>
  );
}
