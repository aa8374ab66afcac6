/** One finished step in the permanent log above the screen (rendered once, with <Static>). */
import React from 'react';
import { Text } from 'ink';
import type { LogEntry } from '../ceremony/state.ts';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

const MARK: Record<LogEntry['tone'], string> = { done: '✓', info: '·', warn: '!', error: '✗' };

export function LogLine({ entry }: { entry: LogEntry }): React.JSX.Element {
  const theme = useTheme();
  const color = entry.tone === 'done' ? hue(theme, 'success') : entry.tone === 'warn' ? hue(theme, 'warning') : entry.tone === 'error' ? hue(theme, 'error') : undefined;
  return (
    <Text wrap="wrap">
      <Text color={color} bold={entry.tone !== 'info'}>{`${MARK[entry.tone]} `}</Text>
      <Text dimColor={entry.tone === 'info'}>{entry.text}</Text>
    </Text>
  );
}
