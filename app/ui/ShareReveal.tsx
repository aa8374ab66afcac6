/**
 * One custodian's password share, alone on the screen: the only screen that shows a secret. The
 * lines are read from the vault while this screen is up and exist nowhere else in the interface;
 * on Enter the flow moves on and the runner erases the terminal, scrollback included.
 */
import React, { useMemo } from 'react';
import { Box, Text, useInput } from 'ink';
import type { CeremonyStore } from '../ceremony/ceremony-store.ts';
import type { SecretRef } from '../ceremony/secret-vault.ts';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface ShareRevealProps {
  store: CeremonyStore;
  split: SecretRef;
  custodian: number;
  total: number;
  threshold: number;
  file: string;
  onContinue(): void;
}

export function ShareReveal({ store, split, custodian, total, threshold, file, onContinue }: ShareRevealProps): React.JSX.Element {
  const lines = useMemo(() => {
    try {
      return store.shareToShow(split, custodian);
    } catch {
      return ['(this password share is no longer held)'];
    }
  }, [store, split, custodian]);
  return <ShareRevealCard who={`Custodian ${custodian}`} lines={lines} total={total} threshold={threshold} file={file} onContinue={onContinue} />;
}

export interface ShareRevealCardProps {
  /** who alone looks, e.g. "Custodian 2" or "bob (custodian)" */
  who: string;
  /** the share as sc-hsm-tool prints it (prime, ID, value) */
  lines: readonly string[];
  total: number;
  threshold: number;
  file: string;
  onContinue(): void;
}

/** The share on screen, whoever holds it (the terminal interface's vault, or a plan run). */
export function ShareRevealCard({ who, lines, total, threshold, file, onContinue }: ShareRevealCardProps): React.JSX.Element {
  const theme = useTheme();
  useInput((_input, key) => {
    if (key.return) onContinue();
  });
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{`${who}, only you look: any ${threshold} of ${total} shares open ${file}.`}</Text>
      <Box flexDirection="column" borderStyle="round" borderColor={hue(theme, 'warning')} paddingX={2} alignSelf="flex-start">
        {lines.map((l, i) => (
          <Text key={i} bold>
            {l}
          </Text>
        ))}
      </Box>
      <Text wrap="truncate-end">Write down ALL three values (prime, ID, value); keep them safe.</Text>
      <Text dimColor wrap="truncate-end">Enter when done: the screen is then erased, scrollback too.</Text>
    </Box>
  );
}
