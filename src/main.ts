#!/usr/bin/env node
// CLI entry: parse arguments, load and validate config, run the command. No work at import.
import { ConfigError, loadConfig } from './config/load.js';
import { HELP, UsageError, flagOverrides, parseCli } from './cli/args.js';
import { COMMANDS } from './cli/commands.js';
import { SERVER_VERSION } from './version.js';

async function main(argv: string[]): Promise<number> {
  const args = parseCli(argv);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[args.command];
  if (!command) throw new UsageError(`unknown command ${args.command}`);
  const config = loadConfig({ files: args.configFiles, overrides: [flagOverrides(args)] });
  return command({ args, config, env: process.env });
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`shield-mcp: ${err.message}\n\n${HELP}`);
    else if (err instanceof ConfigError) process.stderr.write(`shield-mcp: ${err.message}\n`);
    else process.stderr.write(`shield-mcp: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 64 : err instanceof ConfigError ? 78 : 1;
  },
);
