// What every CLI command receives and returns; its own module so commands and the table that
// names them do not import each other.
import type { Config } from '../config/schema.js';
import type { ParsedArgs } from './args.js';

export interface CommandContext {
  args: ParsedArgs;
  config: Config;
  env: NodeJS.ProcessEnv;
}

/** Runs one command; resolves to the process exit code. */
export type Command = (ctx: CommandContext) => Promise<number>;
