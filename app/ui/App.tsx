/**
 * The coordinator's terminal interface (single-operator mode). Rules for every screen module in
 * this folder:
 * - screens render the ceremony state and dispatch events; all logic is in app/ceremony's reducer;
 * - nothing secret is rendered, except a password share shown to its own custodian (ShareReveal);
 * - everything fits 80×24: the device panel takes three lines, long texts scroll, the menu uses
 *   two columns; the layout follows resizes;
 * - no colour with NO_COLOR; meaning never depends on colour alone;
 * - Ctrl-C is the reducer's business too: it stops safely and says what was done.
 */
import React, { useRef } from 'react';
import { Box, Static, useInput } from 'ink';
import type { CeremonyStore } from '../ceremony/ceremony-store.ts';
import type { Prompt } from '../ceremony/state.ts';
import { stoppingPrompt } from '../ceremony/reducer.ts';
import { useCeremony } from './use-ceremony.ts';
import { useTerminalSize } from './use-terminal-size.ts';
import { ThemeContext } from './use-theme.ts';
import type { Theme } from './theme.ts';
import { DevicePanel } from './DevicePanel.tsx';
import { ProgressBar } from './ProgressBar.tsx';
import { LogLine } from './LogLine.tsx';
import { PromptView } from './PromptView.tsx';
import { KeyHints } from './KeyHints.tsx';

export interface AppProps {
  store: CeremonyStore;
  theme: Theme;
}

/**
 * A key per step, so each new step gets fresh inputs (typed text never carries over). A text or
 * phrase prompt that comes back with only an error added keeps its key, so what was typed stays
 * there to be corrected.
 */
function usePromptKey(prompt: Prompt): string {
  const ids = useRef(new WeakMap<Prompt, number>());
  const next = useRef(1);
  if (prompt.kind === 'text') return `text\u0000${prompt.title}\u0000${prompt.label}\u0000${prompt.initial}`;
  if (prompt.kind === 'phrase') return `phrase\u0000${prompt.title}\u0000${prompt.phrase}`;
  let id = ids.current.get(prompt);
  if (id === undefined) {
    id = next.current++;
    ids.current.set(prompt, id);
  }
  return String(id);
}

export function App({ store, theme }: AppProps): React.JSX.Element {
  const state = useCeremony(store);
  const { columns, rows } = useTerminalSize();
  const prompt = state.quitting && state.screen.flow !== 'quitting' ? stoppingPrompt(state) : state.screen.prompt;
  const key = usePromptKey(prompt);
  useInput((input, k) => {
    if (k.ctrl && input === 'c') store.dispatch({ type: 'interrupt', signal: 'ctrl-c' });
  });
  const bars = state.jobs.flatMap((j) => j.parts.map((p) => ({ id: `${j.id}:${p.part}`, ...p })));
  const shownBars = bars.slice(0, 3);
  const used = 3 + 1 + shownBars.length + (bars.length > 0 ? 1 : 0) + 1;
  const room = Math.max(6, rows - used - 1);
  return (
    <ThemeContext.Provider value={theme}>
      <Static items={state.log}>{(entry) => <LogLine key={entry.id} entry={entry} />}</Static>
      <Box flexDirection="column">
        <DevicePanel device={state.device} error={state.deviceError} columns={columns} />
        {shownBars.length > 0 ? (
          <Box flexDirection="column" marginTop={1}>
            {shownBars.map((b) => (
              <ProgressBar key={b.id} label={b.label} done={b.done} total={b.total} columns={columns - 1} />
            ))}
          </Box>
        ) : null}
        <Box marginTop={1}>
          <PromptView key={key} prompt={prompt} store={store} columns={columns} rows={room} />
        </Box>
        <KeyHints prompt={prompt} />
      </Box>
    </ThemeContext.Provider>
  );
}
