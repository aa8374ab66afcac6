/** One line of public text (a file name, a number, a KCV, a share ID, the prime), echoed as typed. */
import React, { useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { lineKeys } from './line-keys.ts';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface TextInputProps {
  label: string;
  initial: string;
  onSubmit(value: string): void;
  onBack(): void;
}

export function TextInput({ label, initial, onSubmit, onBack }: TextInputProps): React.JSX.Element {
  const theme = useTheme();
  const [value, setValue] = useState(initial);
  // the line as typed so far, also between renders: an Enter that arrives before React re-rendered
  // the last keys (a fast typist, a paste, tmux send-keys) must submit them too
  const line = useRef(initial);
  useInput((input, key) => {
    let v = line.current;
    for (const k of lineKeys(input, key)) {
      if (k.kind === 'escape') return onBack();
      if (k.kind === 'enter') return onSubmit(v);
      if (k.kind === 'clear') v = '';
      else if (k.kind === 'backspace') v = [...v].slice(0, -1).join('');
      else v += k.char;
    }
    line.current = v;
    if (v !== value) setValue(v);
  });
  return (
    <Box>
      <Text bold>{`${label}: `}</Text>
      <Text color={hue(theme, 'accent')}>{value}</Text>
      <Text inverse> </Text>
    </Box>
  );
}
