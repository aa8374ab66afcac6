/**
 * The ceremony script as a column of numbered steps, the current one highlighted — shared by the
 * run view and the replay view, so an auditor sees what the operator saw. With `rows`, only that
 * many rows are used: a window around the current (or next) step, the first and last row saying
 * how many steps are above and below it.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { StepKind } from '../../plan/plan-schema.ts';
import type { StepState } from '../../run/run-machine.ts';
import { focusStep, stepWindow } from '../run/run-view-model.ts';

const MARK: Record<StepState, string> = { pending: ' ', running: '▶', finished: '✓', skipped: '↷', failed: '✗' };

export interface StepScriptProps {
  kinds: readonly StepKind[];
  steps: readonly StepState[];
  current: number | null;
  /** at most this many rows (default: one per step) */
  rows?: number;
}

export function StepScript({ kinds, steps, current, rows }: StepScriptProps): React.JSX.Element {
  const room = rows === undefined ? kinds.length : Math.max(3, rows);
  const { from, to } = stepWindow(kinds.length, focusStep({ steps: [...steps], current }), room);
  const out: React.JSX.Element[] = [];
  for (let i = from; i < to; i++) {
    if (i === from && from > 0) {
      out.push(<Text key="above" dimColor>{`  ↑ ${from + 1} step${from + 1 === 1 ? '' : 's'} above`}</Text>);
      continue;
    }
    if (i === to - 1 && to < kinds.length) {
      const n = kinds.length - to + 1;
      out.push(<Text key="below" dimColor>{`  ↓ ${n} step${n === 1 ? '' : 's'} below`}</Text>);
      continue;
    }
    const k = kinds[i]!;
    out.push(
      <Text key={i} inverse={i === current} bold={i === current} dimColor={steps[i] === 'pending' && i !== current} wrap="truncate-end">
        {`${MARK[steps[i] ?? 'pending']} ${String(i + 1).padStart(3)} ${k.padEnd(15)} ${steps[i] ?? 'pending'}`}
      </Text>,
    );
  }
  return <Box flexDirection="column">{out}</Box>;
}
