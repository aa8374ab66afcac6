/**
 * `hsm-ceremony replay` on a terminal: the recorded ceremony played back frame by frame (one frame
 * per transcript event) as the coordinator's run view showed it — the same header (plan, short plan
 * SHA-256, device, REHEARSAL / RESUMED, the ceremony key fingerprint in force, the KCV), the same
 * script window with the running step highlighted, the same log lines, and at the last event the
 * same end record. There is nothing to type in a replay: no prompts, no dialogs. The status line
 * says REPLAY, the frame, the event's time (UTC), the speed and whether it plays.
 *
 * Keys: → or space next step, ← previous step, p pause/play, + / - speed, q (or Ctrl-C) quit;
 * ↑/↓ scroll the end record when it is longer than the screen.
 */
import React, { useEffect, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import { frameHead, stepJump, type ReplayFrame, type ReplayModel } from '../../run/replay-model.ts';
import { EXIT_CODES } from '../../../protocol/errors.ts';
import { useTerminalSize } from '../use-terminal-size.ts';
import { ThemeContext } from '../use-theme.ts';
import type { Theme } from '../theme.ts';
import { RunHeader } from '../run/RunHeader.tsx';
import { RunScript, runRows, FIXED_ROWS } from '../run/RunScript.tsx';
import { RunLog } from '../run/RunLog.tsx';
import { RunEnd } from '../run/RunEnd.tsx';
import { LOG_KEEP, type EndRecord } from '../run/run-view-model.ts';

export interface ReplayViewProps {
  model: ReplayModel;
  /** NO_COLOR or not (default: colour) */
  theme?: Theme;
  /** events per second while playing */
  speed?: number;
  /** start playing (default) or paused at the first event */
  autoplay?: boolean;
  /** the transcript's path, shown in the end record as the run view showed the one it wrote */
  transcript?: string;
}

export const REPLAY_HINTS = '→/space next step · ← previous step · p pause/play · +/- speed · q quit';

/** "2026-11-28T09:00:02.000Z" → "2026-11-28 09:00:02 UTC" (transcript times are UTC). */
export function utcTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** The status line of frame `at`. */
export function replayStatus(model: ReplayModel, at: number, speed: number, playing: boolean): string {
  const last = model.frames.length - 1;
  const f = model.frames[at]!;
  const state = at < last ? (playing ? 'playing' : 'paused') : f.event.kind === 'ceremony-finished' ? 'the end' : 'the end (incomplete transcript)';
  return `REPLAY  frame ${at + 1} of ${model.frames.length}  ${utcTime(f.event.time)}  ${speed} events/s  ${state}`;
}

/** The end record the run view showed when the ceremony ended, rebuilt at a `ceremony-finished` frame. */
export function replayEnd(f: ReplayFrame, transcript: string): EndRecord | null {
  if (f.event.kind !== 'ceremony-finished') return null;
  const d = f.event.data as { outcome: string; reason?: string };
  const completed = d.outcome === 'completed';
  return {
    outcome: completed ? 'completed' : 'aborted',
    reason: d.reason ?? null,
    transcript,
    head: frameHead(f),
    fingerprint: f.fingerprint ?? '-',
    outputs: f.outputs,
    kcv: f.kcv,
    verifyCommand: `hsm-ceremony verify ${transcript} --plan PLAN`,
    exitCode: completed ? EXIT_CODES.ok : EXIT_CODES.incomplete,
  };
}

export function ReplayView({ model, theme = { color: true }, speed: initialSpeed = 2, autoplay = true, transcript = 'TRANSCRIPT' }: ReplayViewProps): React.JSX.Element {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const width = Math.max(20, columns - 1);
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
  const header = { name: model.name, planSha256: model.planSha256, device: model.device, rehearsal: model.rehearsal, resumed: f.resumed, fingerprint: f.fingerprint ?? '-' };
  const end = replayEnd(f, transcript);
  let body: React.JSX.Element;
  if (end) {
    body = <RunEnd key={at} end={end} rows={rows - FIXED_ROWS} width={width} />;
  } else {
    const { stepRows, logRows } = runRows(rows, model.kinds.length, 0);
    const lines = model.frames.slice(Math.max(0, at - LOG_KEEP + 1), at + 1).map((x) => x.line);
    body = (
      <Box flexDirection="column">
        <RunScript kinds={model.kinds} steps={f.steps} current={f.current} rows={stepRows} />
        <RunLog lines={lines} rows={logRows} width={width} />
      </Box>
    );
  }
  return (
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={width}>
        <RunHeader title="REPLAY" header={header} kcv={f.kcv} width={width} />
        <Text bold={!playing || at >= last} wrap="truncate-end">
          {replayStatus(model, at, speed, playing)}
        </Text>
        {body}
        <Text dimColor wrap="truncate-end">
          {REPLAY_HINTS}
        </Text>
      </Box>
    </ThemeContext.Provider>
  );
}
