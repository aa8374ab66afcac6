/**
 * What the session printed when it ends — after Quit, and above all after Ctrl-C: what was done,
 * what was not, and what state the device and the files are in. Built from public state only.
 */
import type { CeremonyState } from './state.ts';
import { plural } from './state.ts';
import { unfinishedInitialize } from './initialize-flow.ts';
import { unfinishedCreateShares } from './create-shares-flow.ts';
import { unfinishedImportShares } from './import-shares-flow.ts';
import { unfinishedKeyFlow } from './key-flows.ts';

function unfinished(s: CeremonyState): string[] {
  const sc = s.screen;
  switch (sc.flow) {
    case 'initialize':
      return unfinishedInitialize(sc);
    case 'create-shares':
      return unfinishedCreateShares(sc);
    case 'import-shares':
      return unfinishedImportShares(s, sc);
    case 'generate-key':
    case 'backup':
    case 'restore':
      return unfinishedKeyFlow(sc);
    case 'pins':
      return sc.step === 'running' ? ['PINs: stopped while the device was being told; read the status to see the outcome'] : [];
    case 'verify-share':
      return sc.step === 'result' ? [] : ['verify share: not finished (nothing is written by it)'];
    default:
      return [];
  }
}

/** The lines printed after the interface is gone. */
export function exitSummary(s: CeremonyState, why: 'quit' | 'interrupted' | 'error'): string[] {
  const lines: string[] = [];
  lines.push(why === 'interrupted' ? `hsm-ceremony: stopped (${s.quitting?.signal === 'SIGTERM' ? 'terminated' : 'Ctrl-C'})` : 'hsm-ceremony: session ended');
  const doneSteps = s.log.filter((l) => l.tone === 'done');
  if (doneSteps.length > 0) {
    lines.push('Done in this session:');
    for (const l of doneSteps) lines.push(`  ✓ ${l.text}`);
  } else {
    lines.push('Nothing was changed in this session.');
  }
  const open = unfinished(s);
  const d = s.device?.status.dkek;
  if (d && d.outstanding > 0 && !open.some((l) => l.includes('expects'))) {
    open.push(`the device still expects ${plural(d.outstanding, 'DKEK share')} (${d.total - d.outstanding} of ${d.total} imported); run hsm-ceremony again and choose "Import DKEK shares"`);
  }
  if (open.length > 0) {
    lines.push('Not done:');
    for (const l of open) lines.push(`  - ${l}`);
  }
  lines.push('Every secret typed in this session was wiped from memory; none was written to a file or the screen log.');
  return lines;
}
