/**
 * The ceremony script as a column of numbered steps, the current one highlighted — shared by the
 * run view and the replay view, so an auditor sees what the operator saw.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { StepKind } from '../../plan/plan-schema.ts';
import type { StepState } from '../../run/run-machine.ts';

const MARK: Record<StepState, string> = { pending: ' ', running: '▶', finished: '✓', skipped: '↷', failed: '✗' };

export function StepScript({ kinds, steps, current }: { kinds: readonly StepKind[]; steps: readonly StepState[]; current: number | null }): React.JSX.Element {
  return (
    <Box flexDirection="column">
      {kinds.map((k, i) => (
        <Text key={i} inverse={i === current} bold={i === current} dimColor={steps[i] === 'pending' && i !== current} wrap="truncate-end">
          {`${MARK[steps[i] ?? 'pending']} ${String(i + 1).padStart(3)} ${k.padEnd(15)} ${steps[i] ?? 'pending'}`}
        </Text>
      ))}
    </Box>
  );
}
