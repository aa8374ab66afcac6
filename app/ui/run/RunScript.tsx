/**
 * The ceremony script as a column of numbered steps, the current one highlighted — the run view's
 * and the replay view's, so an auditor sees what the operator saw. With `rows`, only that many rows
 * are used: a window around the current (or next) step, the first and last row saying how many
 * steps are above and below it.
 *
 * Also the split of a screen's rows between the script window, the log and a prompt panel
 * (`runRows`), so both views place them alike.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { StepKind } from '../../plan/plan-schema.ts';
import type { StepState } from '../../run/run-machine.ts';
import { focusStep, stepWindow } from './run-view-model.ts';

const MARK: Record<StepState, string> = { pending: ' ', running: '▶', finished: '✓', skipped: '↷', failed: '✗' };

/** Rows outside the script and log: three header rows, the status line, the hints, one row left free. */
export const FIXED_ROWS = 3 + 1 + 1 + 1;

/** How many rows the script window and the log get on a screen of `rows` rows with a panel of `panelRows`. */
export function runRows(rows: number, stepCount: number, panelRows: number): { stepRows: number; logRows: number } {
  const room = Math.max(4, rows - FIXED_ROWS - panelRows);
  const stepRows = Math.min(stepCount, panelRows > 0 ? Math.max(3, Math.min(5, room - 2)) : Math.max(3, Math.min(10, room - 3)));
  return { stepRows, logRows: Math.max(1, room - stepRows - 1) };
}

export interface RunScriptProps {
  kinds: readonly StepKind[];
  steps: readonly StepState[];
  current: number | null;
  /** at most this many rows (default: one per step) */
  rows?: number;
}

export function RunScript({ kinds, steps, current, rows }: RunScriptProps): React.JSX.Element {
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
