/** The keys that work on the current screen, on the last line. */
import React from 'react';
import { Text } from 'ink';
import type { Prompt } from '../ceremony/state.ts';

export function hintsFor(p: Prompt): string {
  switch (p.kind) {
    case 'choose':
      return '↑/↓ move · Enter or letter choose · Esc back · Ctrl-C stop';
    case 'pick':
      return '↑/↓ move · Space select · a all · Enter go · Esc back · Ctrl-C stop';
    case 'text':
    case 'phrase':
      return 'type · Enter confirm · Ctrl-U clear · Esc back · Ctrl-C stop';
    case 'secret':
      return 'type (hidden) · Enter confirm · Ctrl-U clear · Esc back · Ctrl-C stop';
    case 'busy':
      return 'Esc stop this step (where safe) · Ctrl-C stop safely';
    default:
      return 'Enter continue · Ctrl-C stop';
  }
}

export function KeyHints({ prompt }: { prompt: Prompt }): React.JSX.Element {
  return (
    <Text dimColor wrap="truncate-end">
      {hintsFor(prompt)}
    </Text>
  );
}
