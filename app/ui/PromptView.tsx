/**
 * The current step: its title, its text, and the one input it takes. Every prompt kind the reducer
 * produces has exactly one component here; answers go back to the store as events.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { CeremonyStore } from '../ceremony/ceremony-store.ts';
import type { Prompt } from '../ceremony/state.ts';
import { ChoiceList } from './ChoiceList.tsx';
import { PickList } from './PickList.tsx';
import { TextInput } from './TextInput.tsx';
import { SecretInput } from './SecretInput.tsx';
import { TypedConfirmation } from './TypedConfirmation.tsx';
import { Notice } from './Notice.tsx';
import { BusyView } from './BusyView.tsx';
import { ShareReveal } from './ShareReveal.tsx';
import { KcvVerdict } from './KcvVerdict.tsx';
import { KeysTable } from './KeysTable.tsx';
import { ScrollLines } from './ScrollLines.tsx';
import { useTheme } from './use-theme.ts';
import { hue } from './theme.ts';

export interface PromptViewProps {
  prompt: Prompt;
  store: CeremonyStore;
  columns: number;
  /** rows left for this view */
  rows: number;
}

function ErrorLine({ error }: { error: string | undefined }): React.JSX.Element | null {
  const theme = useTheme();
  if (!error) return null;
  return (
    <Text color={hue(theme, 'error')} bold wrap="wrap">
      {`✗ ${error}`}
    </Text>
  );
}

export function PromptView({ prompt: p, store, columns, rows }: PromptViewProps): React.JSX.Element {
  const theme = useTheme();
  const dispatch = store.dispatch;
  const back = () => dispatch({ type: 'back' });
  const next = () => dispatch({ type: 'continue' });
  const tone = 'tone' in p && p.tone ? hue(theme, p.tone) : hue(theme, 'accent');
  const bodyRows = (reserve: number) => Math.max(2, rows - 1 - reserve);
  const w = Math.max(20, columns - 1);
  let content: React.JSX.Element;
  switch (p.kind) {
    case 'choose': {
      const listRows = p.options.length > 8 && columns >= 60 ? Math.ceil(p.options.length / 2) : p.options.length;
      content = (
        <>
          <ScrollLines lines={p.body} width={w} rows={bodyRows(listRows + 1)} scrollKeys={false} />
          <ChoiceList options={p.options} onChoose={(value) => dispatch({ type: 'choose', value })} onBack={back} columns={columns} />
        </>
      );
      break;
    }
    case 'pick':
      content = (
        <>
          <ScrollLines lines={p.body} width={w} rows={2} scrollKeys={false} />
          <PickList options={p.options} selected={p.selected} onPick={(values) => dispatch({ type: 'pick', values })} onBack={back} rows={bodyRows(5)} />
          <ErrorLine error={p.error} />
        </>
      );
      break;
    case 'text':
      content = (
        <>
          <ScrollLines lines={p.body} width={w} rows={bodyRows(2)} />
          <TextInput label={p.label} initial={p.initial} onSubmit={(value) => dispatch({ type: 'text', value })} onBack={back} />
          <ErrorLine error={p.error} />
        </>
      );
      break;
    case 'secret':
      content = (
        <>
          <ScrollLines lines={p.body} width={w} rows={bodyRows(2)} />
          <SecretInput label={p.label} onSubmit={(bytes) => store.submitSecret(bytes)} onBack={back} />
          <ErrorLine error={p.error} />
        </>
      );
      break;
    case 'phrase':
      content = (
        <>
          <ScrollLines lines={p.body} width={w} rows={bodyRows(3)} />
          <TypedConfirmation phrase={p.phrase} onSubmit={(value) => dispatch({ type: 'text', value })} onBack={back} />
          <ErrorLine error={p.error} />
        </>
      );
      break;
    case 'notice':
      content = <Notice body={p.body} next={p.next} rows={bodyRows(1)} width={w} onContinue={next} onBack={back} />;
      break;
    case 'busy':
      content = <BusyView body={p.body} rows={bodyRows(0)} width={w} onBack={back} />;
      break;
    case 'share-reveal':
      content = <ShareReveal store={store} split={p.split} custodian={p.custodian} total={p.total} threshold={p.threshold} file={p.file} onContinue={next} />;
      break;
    case 'kcv':
      content = <KcvVerdict kcv={p.kcv} expected={p.expected} matches={p.matches} body={p.body} onContinue={next} />;
      break;
    case 'keys':
      content = <KeysTable keys={p.keys} body={p.body} columns={columns} rows={bodyRows(2)} onContinue={next} />;
      break;
  }
  return (
    <Box flexDirection="column" width={Math.max(20, columns - 1)}>
      <Text bold color={tone} wrap="truncate-end">
        {p.title}
      </Text>
      {content}
    </Box>
  );
}
