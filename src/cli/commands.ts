// The CLI's commands, by name. Each returns the process exit code.
import type { Config } from '../config/schema.js';
import type { ParsedArgs } from './args.js';
import { serveCommand } from './serve.js';
import { ALL_TOOLS, selectTools } from '../tools/inventory.js';
import { describeTools } from '../server.js';
import { hashTokenCommand } from '../transports/auth/hash-token.js';
import { approveCommand, approvalsCommand, denyCommand } from './approvals.js';

export interface CommandContext {
  args: ParsedArgs;
  config: Config;
  env: NodeJS.ProcessEnv;
}

export type Command = (ctx: CommandContext) => Promise<number>;

export const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  tools: async ({ config }) => {
    process.stdout.write(`${JSON.stringify(describeTools(selectTools(config, ALL_TOOLS)), null, 2)}\n`);
    return 0;
  },
  approve: approveCommand,
  deny: denyCommand,
  approvals: approvalsCommand,
  'hash-token': hashTokenCommand,
  'check-config': async () => {
    // loadConfig already validated it before any command runs.
    process.stdout.write('configuration is valid\n');
    return 0;
  },
};
