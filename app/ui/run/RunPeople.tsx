/**
 * A hosted run's people (host PLAN): the URL to join with, then one row per slot — its number,
 * name and roles, and either the join code its owner types (until they join) or that they are
 * connected with the SAS both screens must show, or that they left or their slot timed out. With
 * fewer rows than people, the rows of those not yet joined come first and the last row says how
 * many are left out (every join and code is also a log line).
 */
import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from '../use-theme.ts';
import { hue } from '../theme.ts';
import { spacedSas } from '../../../protocol/wire/event-text.ts';
import type { PeoplePanel, PersonRow } from './run-view-model.ts';

export interface RunPeopleProps {
  people: PeoplePanel;
  /** rows the panel may take (URL line included) */
  rows: number;
}

/** Rows the panel wants: the URL line and one per person. */
export function peopleRows(p: PeoplePanel | null): number {
  return p === null ? 0 : 1 + p.rows.length;
}

function personText(r: PersonRow): string {
  const who = `${String(r.slot).padStart(2)} ${r.name} (${r.roles})`;
  switch (r.state) {
    case 'waiting':
      return `${who}  ○ join code ${r.code ?? '(being issued)'}`;
    case 'joined':
      return `${who}  ● connected, SAS ${r.sas ? spacedSas(r.sas) : '-'}`;
    case 'left':
      return `${who}  ○ left${r.code ? `; new code ${r.code}` : ''}`;
    case 'timed-out':
      return `${who}  ✗ timed out (nobody joined)`;
  }
}

export function RunPeople({ people, rows }: RunPeopleProps): React.JSX.Element | null {
  const theme = useTheme();
  if (rows < 1) return null;
  const order = [...people.rows].sort((a, b) => Number(a.state === 'joined') - Number(b.state === 'joined') || a.slot - b.slot);
  const room = rows - 1;
  const shown = order.length > room ? order.slice(0, Math.max(0, room - 1)) : order;
  const hidden = order.length - shown.length;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">{`join with: hsm-custodian join ${people.url}`}</Text>
      {shown.map((r) => (
        <Text key={r.slot} wrap="truncate-end" color={r.state === 'joined' ? hue(theme, 'success') : r.state === 'timed-out' ? hue(theme, 'error') : undefined} dimColor={r.state === 'joined'}>
          {personText(r)}
        </Text>
      ))}
      {hidden > 0 && room > 0 ? <Text dimColor wrap="truncate-end">{`   … ${hidden} more (see the log)`}</Text> : null}
    </Box>
  );
}
