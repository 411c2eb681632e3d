// The CLI's commands, by name. Each returns the process exit code.
import type { Command } from './context.js';

// Each command loads its own modules when it runs, so `serve` over stdio pays only for itself.
export const COMMANDS: Record<string, Command> = {
  serve: async (ctx) => (await import('./serve.js')).serveCommand(ctx),
  tools: async ({ config }) => {
    const [{ ALL_TOOLS, selectTools }, { describeTools }] = await Promise.all([import('../tools/inventory.js'), import('../server.js')]);
    process.stdout.write(`${JSON.stringify(describeTools(selectTools(config, ALL_TOOLS)), null, 2)}\n`);
    return 0;
  },
  approve: async (ctx) => (await import('./approvals.js')).approveCommand(ctx),
  deny: async (ctx) => (await import('./approvals.js')).denyCommand(ctx),
  approvals: async (ctx) => (await import('./approvals.js')).approvalsCommand(ctx),
  'hash-token': async () => (await import('../transports/auth/hash-token.js')).hashTokenCommand(),
  'check-config': async () => {
    // loadConfig already validated it before any command runs.
    process.stdout.write('configuration is valid\n');
    return 0;
  },
};
