/**
 * The device panel at the top of every screen: which device (and loudly when it is the simulator or
 * a virtual reader), firmware, initialized, PIN tries, DKEK shares and KCV, keys. Three lines, so
 * the rest of an 80×24 terminal stays free for the current step.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { DeviceView, PublicError } from '../ceremony/jobs.ts';
import { dkekLine } from '../ceremony/device-flows.ts';
import { plural } from '../ceremony/state.ts';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface DevicePanelProps {
  device: DeviceView | null;
  error: PublicError | null;
  columns: number;
}

function tries(p: { state: string; triesLeft: number | null }): string {
  if (p.state === 'blocked') return 'BLOCKED';
  if (p.state === 'verified') return 'verified';
  if (p.state === 'transport') return 'transport PIN';
  return p.triesLeft === null ? '-' : plural(p.triesLeft, 'try', 'tries');
}

export function DevicePanel({ device, error, columns }: DevicePanelProps): React.JSX.Element {
  const theme = useTheme();
  const w = Math.max(20, columns - 1);
  if (!device) {
    return (
      <Box flexDirection="column" width={w}>
        <Text inverse bold wrap="truncate-end">{' hsm-ceremony '}</Text>
        <Text wrap="truncate-end" color={error ? hue(theme, 'error') : undefined}>{error ? `No device: ${error.message}` : 'Reading the device…'}</Text>
        <Text> </Text>
      </Box>
    );
  }
  const st = device.status;
  const tag = device.simulated ? 'SIMULATOR' : device.virtual ? 'VIRTUAL READER' : 'DEVICE';
  const keys = st.keys === 0 ? 'no keys' : `${plural(st.keys, 'key')} (ref ${st.keyRefs.join(', ')})`;
  const line2 = st.initialized ? `Firmware ${st.version} · ${keys} · user PIN ${tries(st.userPin)} · SO-PIN ${tries(st.soPin)}` : `Firmware ${st.version} · NOT initialized`;
  const line3 = st.initialized ? `DKEK ${dkekLine(device)}` : 'Choose "Initialize the device" to set the PINs and the DKEK scheme.';
  return (
    <Box flexDirection="column" width={w}>
      <Box>
        <Text inverse bold color={device.virtual ? hue(theme, 'simulator') : hue(theme, 'accent')}>{` ${tag} `}</Text>
        <Text wrap="truncate-end">{` ${device.description}`}</Text>
      </Box>
      <Text wrap="truncate-end">{line2}</Text>
      <Text wrap="truncate-end">{line3}</Text>
    </Box>
  );
}
