/**
 * Confirmation of a destructive step by typing an exact phrase (cli-kit's dangerous-confirmation
 * prompt): the phrase is shown, the typed text is echoed, Enter submits it to the reducer (which
 * compares), Escape cancels.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { TextInput } from './TextInput.tsx';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface TypedConfirmationProps {
  phrase: string;
  onSubmit(value: string): void;
  onBack(): void;
}

export function TypedConfirmation({ phrase, onSubmit, onBack }: TypedConfirmationProps): React.JSX.Element {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      <Box>
        <Text>Type </Text>
        <Text bold color={hue(theme, 'warning')}>{phrase}</Text>
        <Text> to confirm (Escape cancels)</Text>
      </Box>
      <TextInput label="Confirm" initial="" onSubmit={onSubmit} onBack={onBack} />
    </Box>
  );
}
