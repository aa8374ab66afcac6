/**
 * Hidden input for PINs, passphrases and password-share values.
 *
 * Rules: the typed bytes live in one Uint8Array outside React state and are never rendered, not
 * even as a count of stars (the length of a PIN is a secret too); each keystroke only turns a small
 * indicator so the typist sees that the key arrived. On Enter the bytes go to the vault
 * (CeremonyStore.submitSecret) and the buffer is zeroed; on Escape or when the prompt goes away the
 * buffer is zeroed. Keystrokes reach the program as short strings (Ink reads the terminal as text);
 * those cannot be wiped, which docs/user-guide.md states.
 */
import React, { useEffect, useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { lineKeys } from './line-keys.ts';

/** sc-hsm-tool reads at most 127 characters; the buffer leaves room for 4-byte characters. */
const MAX_CHARS = 127;
const TICKS = ['·  ', '·· ', '···', ' ··', '  ·', '   '];

export interface SecretInputProps {
  label: string;
  onSubmit(bytes: Uint8Array): void;
  onBack(): void;
}

const encoder = new TextEncoder();

export function SecretInput({ label, onSubmit, onBack }: SecretInputProps): React.JSX.Element {
  const buf = useRef(new Uint8Array(MAX_CHARS * 4));
  const len = useRef(0);
  const chars = useRef(0);
  const [ticks, setTicks] = useState(0);
  const [tooLong, setTooLong] = useState(false);
  useEffect(() => {
    const b = buf.current;
    return () => {
      b.fill(0);
    };
  }, []);
  useInput((input, key) => {
    const b = buf.current;
    for (const k of lineKeys(input, key)) {
      if (k.kind === 'escape') {
        b.fill(0);
        len.current = 0;
        chars.current = 0;
        onBack();
        return;
      }
      if (k.kind === 'enter') {
        const out = b.slice(0, len.current);
        b.fill(0);
        len.current = 0;
        chars.current = 0;
        setTicks(0);
        onSubmit(out);
        return;
      }
      if (k.kind === 'clear') {
        b.fill(0);
        len.current = 0;
        chars.current = 0;
      } else if (k.kind === 'backspace') {
        while (len.current > 0 && (b[len.current - 1]! & 0xc0) === 0x80) b[--len.current] = 0;
        if (len.current > 0) {
          b[--len.current] = 0;
          chars.current--;
        }
      } else if (chars.current >= MAX_CHARS) {
        setTooLong(true);
      } else {
        const bytes = encoder.encode(k.char);
        b.set(bytes, len.current);
        len.current += bytes.length;
        chars.current++;
        bytes.fill(0);
      }
    }
    setTicks((t) => t + 1);
  });
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>{`${label}: `}</Text>
        <Text>{ticks === 0 ? '   ' : TICKS[ticks % TICKS.length]}</Text>
        <Text dimColor>{'  (hidden; Enter when done)'}</Text>
      </Box>
      {tooLong ? <Text dimColor>{`at most ${MAX_CHARS} characters are taken (sc-hsm-tool's limit)`}</Text> : null}
    </Box>
  );
}
