import type { Command } from '../command.ts';
import { shareCreate } from './share-create.ts';
import { shareVerify } from './share-verify.ts';
import { shareImport } from './share-import.ts';
import { status } from './status.ts';
import { init } from './init.ts';
import { keys } from './keys.ts';
import { backup } from './backup.ts';
import { restore } from './restore.ts';
import { inspect } from './inspect.ts';
import { pinChange, pinChangeSo, pinUnblock } from './pin.ts';
import { sim } from './sim.ts';
import { demo } from './demo.ts';
import { planCheck } from './plan-check.ts';
import { verify } from './verify.ts';
import { host } from './host.ts';
import { join } from './join.ts';
import { run } from './run.ts';
import { replay } from './replay.ts';

/** Every subcommand, in the order `--help` lists them. */
export const commands: Command[] = [demo, shareCreate, shareVerify, status, init, shareImport, keys, backup, restore, inspect, pinChange, pinUnblock, pinChangeSo, planCheck, run, replay, verify, host, join, sim];
