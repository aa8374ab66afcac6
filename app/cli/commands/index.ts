import type { Command } from '../command.ts';
import { shareCreate } from './share-create.ts';
import { shareVerify } from './share-verify.ts';

/** Every subcommand, in the order `--help` lists them. */
export const commands: Command[] = [shareCreate, shareVerify];
