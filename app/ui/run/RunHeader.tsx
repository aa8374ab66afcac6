/**
 * The run view's header, three rows: the title (RUN or REPLAY) with the plan's name and the
 * REHEARSAL / RESUMED badges; the plan's SHA-256 (first 16 digits) and the device; the ceremony key
 * fingerprint to compare with the paper record, and the DKEK's KCV once one was read.
 * Without colour (NO_COLOR) the badges are inverse and the fingerprint bold.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from '../use-theme.ts';
import { hue } from '../theme.ts';
import type { RunHeader as RunHeaderData } from './run-view-model.ts';

export interface RunHeaderProps {
  header: Pick<RunHeaderData, 'name' | 'planSha256' | 'device' | 'rehearsal' | 'resumed' | 'fingerprint'>;
  kcv: string | null;
  width: number;
  /** the first word: RUN live, HOST for host PLAN, REPLAY when played back */
  title?: 'RUN' | 'HOST' | 'REPLAY';
}

export function RunHeader({ header: h, kcv, width, title = 'RUN' }: RunHeaderProps): React.JSX.Element {
  const theme = useTheme();
  return (
    <Box flexDirection="column" width={width}>
      <Box>
        <Text bold wrap="truncate-end">{`${title}  ${h.name}`}</Text>
        {h.rehearsal ? <Text inverse color={hue(theme, 'simulator')}>{' REHEARSAL '}</Text> : null}
        {h.resumed ? <Text inverse>{' RESUMED '}</Text> : null}
      </Box>
      <Text wrap="truncate-end">{`plan SHA-256 ${h.planSha256.slice(0, 16)}…  device ${h.device}`}</Text>
      <Text wrap="truncate-end">
        <Text>ceremony key </Text>
        <Text bold color={hue(theme, 'accent')}>
          {h.fingerprint}
        </Text>
        <Text>{`   KCV ${kcv ?? '-'}`}</Text>
      </Text>
    </Box>
  );
}
