/**
 * Test helper run as a child process (not a test): starts the example ceremony's transcript at
 * argv[2] and appends its events slowly, printing each seq after its fsync, until it is killed.
 * It never finishes, so the parent can kill it mid-ceremony like a crash.
 */
import { TranscriptWriter } from '../../app/transcript/writer.ts';
import { planIdentity } from '../../app/transcript/event.ts';
import { examplePlan, exampleEvents, seededRng } from './transcript-ceremony.ts';

const path = process.argv[2]!;
const w = TranscriptWriter.create(path, { plan: planIdentity(examplePlan), version: '0.1.0', rng: seededRng('crash'), rehearsal: true });
process.stdout.write(`key ${w.publicKeyHex}\n`);
const events = exampleEvents();
let i = 0;
const tick = () => {
  if (i < events.length - 12) {
    const e = w.append(events[i++]!);
    process.stdout.write(`seq ${e.seq}\n`);
  }
  setTimeout(tick, 2);
};
tick();
