/**
 * `hsm-ceremony run PLAN` on a terminal: the header (plan, its SHA-256, the device, the rehearsal
 * badge, the ceremony key fingerprint), the script with the running step highlighted and each
 * step's state, the transcript as text lines, the prompt or dialog of the moment, and the keys that
 * work. Fits 80×24: the script shows a window around the current step and the log its last lines.
 *
 * Everything shown comes from the view state (run-view-model.ts), which holds public data only;
 * typed secrets go from SecretInput straight to the store's `reply`. The one secret ever rendered
 * is a password share handed to its custodian (ShareRevealCard), read from the store while shown.
 */
import React, { useSyncExternalStore } from 'react';
import { Box, Text, useInput } from 'ink';
import { SecretInput } from '../SecretInput.tsx';
import { TextInput } from '../TextInput.tsx';
import { TypedConfirmation } from '../TypedConfirmation.tsx';
import { ShareRevealCard } from '../ShareReveal.tsx';
import { ScrollLines } from '../ScrollLines.tsx';
import { useTerminalSize } from '../use-terminal-size.ts';
import { ThemeContext, useTheme } from '../use-theme.ts';
import { hue, type Theme } from '../theme.ts';
import type { RunViewStore } from './run-view-store.ts';
import { RunHeader } from './RunHeader.tsx';
import { RunScript, runRows, FIXED_ROWS } from './RunScript.tsx';
import { RunLog } from './RunLog.tsx';
import { RunEnd } from './RunEnd.tsx';
import { RunPeople, peopleRows } from './RunPeople.tsx';
import { operatorKeysLive, skipTarget, type Ask, type Dialog, type RunViewState } from './run-view-model.ts';

export interface RunViewProps {
  store: RunViewStore;
  theme: Theme;
  /** the operator closed the end screen */
  onClose(): void;
}

/** Rows the prompt/dialog panel may take. */
const PANEL_ROWS = 9;

function statusLine(s: RunViewState): string {
  const n = s.kinds.length;
  if (s.end) return `ceremony ${s.end.outcome.toUpperCase()}`;
  if (s.abortRequested !== null) return `ABORTING: ${s.abortRequested}`;
  if (s.phase === 'paused') {
    const next = skipTarget(s);
    return s.failure ? `PAUSED: step ${s.failure.step} failed` : `PAUSED before step ${next ?? n} of ${n}${next ? ` (${s.kinds[next - 1]})` : ''}`;
  }
  if (s.current !== null) return `step ${s.current + 1} of ${n}: ${s.kinds[s.current]}${s.pauseRequested ? '  (pause requested: the run stops before the next step)' : ''}`;
  return s.phase === 'ready' ? 'starting' : s.phase;
}

function hintsFor(s: RunViewState): string {
  if (s.end) return 'Enter or q close (the record stays printed on the terminal)';
  if (s.dialog?.kind === 'armed') return 'Enter start typing · Esc cancel';
  if (s.dialog) return s.dialog.kind === 'skip-confirm' || s.dialog.kind === 'abort-confirm' ? 'type the word · Enter confirm · Esc cancel' : 'type · Enter done · Ctrl-U clear · Esc cancel';
  if (s.ask && !s.aside) {
    if (s.ask.kind === 'reveal') return s.ask.stage === 'handover' ? 'Enter show the share · Esc set aside · Ctrl-C abort' : 'Enter written down (erases the screen)';
    return `${s.ask.kind === 'secret' ? 'type (hidden)' : 'type'} · Enter done · Ctrl-U clear · Esc set aside (operator keys) · Ctrl-C abort`;
  }
  const back = s.ask && s.aside ? 'Enter back to the prompt · ' : '';
  if (s.phase === 'paused') return `${back}${s.failure ? 'c/Enter retry' : 'c/Enter continue'} · n note · s skip · a abort · Ctrl-C abort`;
  return `${back}p pause · n note · s skip next · a abort · Ctrl-C abort`;
}

function ErrorLine({ error }: { error: string | undefined }): React.JSX.Element | null {
  const theme = useTheme();
  if (!error) return null;
  return (
    <Text color={hue(theme, 'error')} bold wrap="truncate-end">
      {`✗ ${error}`}
    </Text>
  );
}

function AskPanel({ ask, store, width }: { ask: Ask; store: RunViewStore; width: number }): React.JSX.Element {
  const theme = useTheme();
  const aside = () => store.dispatch({ type: 'key', key: 'escape' });
  switch (ask.kind) {
    case 'secret':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'accent')} wrap="truncate-end">{ask.title}</Text>
          <Text bold color={hue(theme, 'warning')} wrap="truncate-end">{`${ask.who} types now.`}</Text>
          <ScrollLines lines={ask.body} rows={4} width={width} scrollKeys={false} />
          <SecretInput key={ask.id} label={ask.label} onSubmit={(b) => store.reply(ask.id, b)} onBack={aside} />
          <ErrorLine error={ask.error} />
        </Box>
      );
    case 'text':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'accent')} wrap="truncate-end">{ask.title}</Text>
          <Text bold color={hue(theme, 'warning')} wrap="truncate-end">{`${ask.who} types now.`}</Text>
          <ScrollLines lines={ask.body} rows={4} width={width} scrollKeys={false} />
          <TextInput key={ask.id} label={ask.label} initial="" onSubmit={(v) => store.reply(ask.id, v)} onBack={aside} />
          <ErrorLine error={ask.error} />
        </Box>
      );
    case 'sign-off':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'accent')} wrap="truncate-end">{`Sign-off: ${ask.who}`}</Text>
          <ScrollLines lines={[`Statement: "${ask.statement}"`]} rows={3} width={width} scrollKeys={false} />
          {ask.stage === 'name' ? (
            <>
              <Text wrap="truncate-end">{`${ask.name}: type your name, ${ask.name}, to sign this statement,`}</Text>
              <Text wrap="truncate-end">{'or type decline to refuse (you will be asked why). Both go in the transcript.'}</Text>
              <TextInput key={`${ask.id}-name`} label="Signature" initial="" onSubmit={(v) => store.reply(ask.id, v)} onBack={aside} />
            </>
          ) : (
            <>
              <Text wrap="truncate-end">{`${ask.name} declines. Why? The reason goes in the transcript.`}</Text>
              <TextInput key={`${ask.id}-reason`} label="Reason" initial="" onSubmit={(v) => store.reply(ask.id, v)} onBack={aside} />
            </>
          )}
          <ErrorLine error={ask.error} />
        </Box>
      );
    case 'reveal':
      return ask.stage === 'handover' ? <Handover ask={ask} store={store} /> : <Reveal ask={ask} store={store} />;
  }
}

function Handover({ ask, store }: { ask: Extract<Ask, { kind: 'reveal' }>; store: RunViewStore }): React.JSX.Element {
  const theme = useTheme();
  useInput((_i, key) => {
    if (key.return) store.showReveal(ask.id);
    else if (key.escape) store.dispatch({ type: 'key', key: 'escape' });
  });
  return (
    <Box flexDirection="column">
      <Text bold color={hue(theme, 'accent')} wrap="truncate-end">{`Password share ${ask.index} of ${ask.total} for ${ask.file}`}</Text>
      <Text bold color={hue(theme, 'warning')} wrap="truncate-end">{`${ask.who} alone takes the seat; everyone else looks away now.`}</Text>
      <Text wrap="truncate-end">{`${ask.who}: have paper and pen ready, then press Enter to see your share.`}</Text>
    </Box>
  );
}

function Reveal({ ask, store }: { ask: Extract<Ask, { kind: 'reveal' }>; store: RunViewStore }): React.JSX.Element {
  const lines = store.revealLines(ask.id) ?? ['(this password share is no longer held)'];
  return <ShareRevealCard who={ask.who} lines={lines} total={ask.total} threshold={ask.threshold} file={ask.file} onContinue={() => store.reply(ask.id, null)} />;
}

function DialogPanel({ s, dialog, store }: { s: RunViewState; dialog: Dialog; store: RunViewStore }): React.JSX.Element {
  const theme = useTheme();
  const submit = (value: string) => store.dispatch({ type: 'dialog-text', value });
  const cancel = () => store.dispatch({ type: 'dialog-cancel' });
  const stepName = (n: number) => `step ${n} (${s.kinds[n - 1]})`;
  switch (dialog.kind) {
    case 'armed':
      return <Armed s={s} dialog={dialog} store={store} />;
    case 'note':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'accent')}>Deviation note</Text>
          <Text wrap="truncate-end">{`Public: it goes in the transcript${s.current !== null ? ` at step ${s.current + 1}` : ''}. Never type a secret here.`}</Text>
          <TextInput key={s.typed} label="Note" initial="" onSubmit={submit} onBack={cancel} />
          <ErrorLine error={dialog.error} />
        </Box>
      );
    case 'skip-reason':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'warning')} wrap="truncate-end">{`Skip ${stepName(dialog.step)}`}</Text>
          <Text wrap="truncate-end">A step is skipped only with a reason; it goes in the transcript.</Text>
          <TextInput key={s.typed} label="Reason" initial="" onSubmit={submit} onBack={cancel} />
          <ErrorLine error={dialog.error} />
        </Box>
      );
    case 'skip-confirm':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'warning')} wrap="truncate-end">{`Skip ${stepName(dialog.step)}: "${dialog.reason}"`}</Text>
          <TypedConfirmation key={s.typed} phrase="skip" onSubmit={submit} onBack={cancel} />
          <ErrorLine error={dialog.error} />
        </Box>
      );
    case 'abort-reason':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'error')}>Abort the ceremony</Text>
          <Text wrap="truncate-end">The transcript is finished as aborted, with this reason; it cannot be continued.</Text>
          <TextInput key={s.typed} label="Reason" initial="" onSubmit={submit} onBack={cancel} />
          <ErrorLine error={dialog.error} />
        </Box>
      );
    case 'abort-confirm':
      return (
        <Box flexDirection="column">
          <Text bold color={hue(theme, 'error')} wrap="truncate-end">{`Abort the ceremony: "${dialog.reason}"`}</Text>
          <TypedConfirmation key={s.typed} phrase="abort" onSubmit={submit} onBack={cancel} />
          <ErrorLine error={dialog.error} />
        </Box>
      );
  }
}

function Armed({ s, dialog, store }: { s: RunViewState; dialog: Extract<Dialog, { kind: 'armed' }>; store: RunViewStore }): React.JSX.Element {
  const theme = useTheme();
  useInput((_i, key) => {
    if (key.return) store.dispatch({ type: 'key', key: 'enter' });
    else if (key.escape) store.dispatch({ type: 'key', key: 'escape' });
  });
  const what =
    dialog.what === 'note' ? 'Add a deviation note' : dialog.what === 'skip' ? `Skip step ${dialog.step ?? '?'} (${s.kinds[(dialog.step ?? 1) - 1]}), with a reason` : 'Abort the ceremony';
  return (
    <Box flexDirection="column">
      <Text bold color={hue(theme, dialog.what === 'note' ? 'accent' : 'warning')} wrap="truncate-end">{`${what}?`}</Text>
      <Text wrap="truncate-end">Press Enter to start typing, Esc to cancel. Other keys are ignored.</Text>
    </Box>
  );
}

function FailurePanel({ s, width }: { s: RunViewState; width: number }): React.JSX.Element | null {
  const theme = useTheme();
  const f = s.failure;
  if (!f) return null;
  const lines = [f.message, ...(f.hint ? [`hint: ${f.hint}`] : [])];
  return (
    <Box flexDirection="column">
      <Text bold color={hue(theme, 'error')} wrap="truncate-end">{`✗ step ${f.step} (${s.kinds[f.step - 1]}) failed: ${f.code}`}</Text>
      <ScrollLines lines={lines} rows={4} width={width} scrollKeys={false} />
      <Text wrap="truncate-end">{`c or Enter retries step ${f.step}; s skips it (with a reason); a aborts the ceremony.`}</Text>
    </Box>
  );
}

function EndScreen({ s, rows, width, onClose }: { s: RunViewState; rows: number; width: number; onClose(): void }): React.JSX.Element {
  useInput((input, key) => {
    if (key.return || input === 'q') onClose();
  });
  return <RunEnd end={s.end!} rows={rows} width={width} />;
}

function useRunView(store: RunViewStore): RunViewState {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}

export function RunView({ store, theme, onClose }: RunViewProps): React.JSX.Element {
  const s = useRunView(store);
  const { columns, rows } = useTerminalSize();
  const width = Math.max(20, columns - 1);
  useInput((input, key) => {
    if (key.ctrl && input === 'c') store.dispatch({ type: 'interrupt' });
  });
  useInput(
    (input, key) => {
      // one key at a time: a pasted or fast-typed chunk (a secret typed too early) is no command
      if (key.ctrl || key.meta || (input.length > 1 && !key.return)) return;
      if (key.return) store.dispatch({ type: 'key', key: 'enter' });
      else if (key.escape) store.dispatch({ type: 'key', key: 'escape' });
      else if (input === 'p' || input === 'c' || input === 'n' || input === 's' || input === 'a') store.dispatch({ type: 'key', key: input });
    },
    { isActive: operatorKeysLive(s) },
  );

  let body: React.JSX.Element;
  if (s.end) {
    body = <EndScreen s={s} rows={rows - FIXED_ROWS} width={width} onClose={onClose} />;
  } else {
    const panel = s.dialog ? (
      <DialogPanel s={s} dialog={s.dialog} store={store} />
    ) : s.ask && !s.aside ? (
      <AskPanel ask={s.ask} store={store} width={width} />
    ) : s.failure && s.phase === 'paused' ? (
      <FailurePanel s={s} width={width} />
    ) : null;
    const panelRows = panel ? PANEL_ROWS : 0;
    // a hosted run's people take what the script and log can spare (at least six rows stay theirs)
    const people = Math.min(peopleRows(s.people), Math.max(0, rows - FIXED_ROWS - panelRows - 6));
    const { stepRows, logRows } = runRows(rows - people, s.kinds.length, panelRows);
    body = (
      <Box flexDirection="column">
        {s.people && people > 0 ? <RunPeople people={s.people} rows={people} /> : null}
        <RunScript kinds={s.kinds} steps={s.steps} current={s.current} rows={stepRows} />
        <RunLog lines={s.log} rows={logRows} width={width} />
        {panel ? (
          <Box flexDirection="column" height={panelRows}>
            {panel}
          </Box>
        ) : null}
      </Box>
    );
  }
  return (
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={width}>
        <RunHeader header={s.header} kcv={s.kcv} width={width} title={s.header.title ?? 'RUN'} />
        <Text bold={s.phase === 'paused' || s.abortRequested !== null} wrap="truncate-end">
          {statusLine(s)}
          {s.notice && !s.end ? <Text dimColor>{`   · ${s.notice}`}</Text> : null}
        </Text>
        {body}
        <Text dimColor wrap="truncate-end">
          {hintsFor(s)}
        </Text>
      </Box>
    </ThemeContext.Provider>
  );
}
