/**
 * `hsm-ceremony replay` on a terminal: the recorded ceremony played back frame by frame as the
 * coordinator's screen showed it — the script with the running step highlighted, the ceremony key
 * fingerprint, the KCV and the last lines of the log. Keys: → or space next step, ← previous
 * step, p pause/play, + / - speed, q quit.
 */
import React, { useEffect, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import { stepJump, type ReplayModel } from '../../run/replay-model.ts';
import { StepScript } from './StepScript.tsx';

const LOG_LINES = 8;

export function ReplayView({ model, speed: initialSpeed = 2, autoplay = true }: { model: ReplayModel; speed?: number; autoplay?: boolean }): React.JSX.Element {
  const { exit } = useApp();
  const [at, setAt] = useState(0);
  const [playing, setPlaying] = useState(autoplay);
  const [speed, setSpeed] = useState(initialSpeed);
  const last = model.frames.length - 1;

  useEffect(() => {
    if (!playing || at >= last) return;
    const t = setTimeout(() => setAt((a) => Math.min(a + 1, last)), 1000 / speed);
    return () => clearTimeout(t);
  }, [playing, at, speed, last]);

  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) exit();
    else if (key.rightArrow || input === ' ') setAt((a) => stepJump(model, a, 1));
    else if (key.leftArrow) setAt((a) => stepJump(model, a, -1));
    else if (input === 'p') setPlaying((p) => !p);
    else if (input === '+') setSpeed((s) => Math.min(s * 2, 64));
    else if (input === '-') setSpeed((s) => Math.max(s / 2, 0.25));
  });

  const f = model.frames[at]!;
  const log = model.frames.slice(Math.max(0, at - LOG_LINES + 1), at + 1).map((x) => x.line);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">{`REPLAY  ${model.name}${model.rehearsal ? '  (REHEARSAL)' : ''}`}</Text>
      <Text wrap="truncate-end">{`ceremony key ${f.fingerprint ?? '-'}   KCV ${f.kcv ?? '-'}`}</Text>
      <Text dimColor wrap="truncate-end">{`event ${at + 1}/${model.frames.length}  ${f.event.time}  ${playing && at < last ? `playing ×${speed}` : 'paused'}`}</Text>
      <StepScript kinds={model.kinds} steps={f.steps} current={f.current} />
      <Box flexDirection="column" marginTop={1}>
        {log.map((l, i) => (
          <Text key={i} wrap="truncate-end" bold={i === log.length - 1}>
            {l}
          </Text>
        ))}
      </Box>
      <Text dimColor wrap="truncate-end">→/space next step · ← back · p pause · +/- speed · q quit</Text>
    </Box>
  );
}
