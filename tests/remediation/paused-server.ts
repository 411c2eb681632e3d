// The crash test's entry point: `shield-mcp serve` as the CLI runs it, plus the one hook production
// never sets: at the named pause point, write a marker file and hold until the test kills the process.
// Usage: node --import tsx tests/remediation/paused-server.ts <pause-point> <marker-file> [serve flags...]
import { writeFile } from 'node:fs/promises';
import { flagOverrides, parseCli } from '../../src/cli/args.js';
import { serveCommand } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import type { RemediationHooks } from '../../src/providers/iris/remediation.js';

const [point, marker, ...flags] = process.argv.slice(2);
if (!point || !marker) throw new Error('usage: paused-server.ts <pause-point> <marker-file> [serve flags...]');

const hooks: RemediationHooks = {
  async pauseAt(at, signal) {
    if (at !== point) return;
    process.stderr.write(`paused at ${at}\n`);
    await writeFile(marker, at);
    // Held until SIGKILL; a cancel or a shutdown ends the hold as it ends any step.
    await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  },
};

const args = parseCli(['serve', ...flags]);
const config = loadConfig({ files: args.configFiles, overrides: [flagOverrides(args)] });
process.exitCode = await serveCommand({ args, config, env: process.env }, { remediationHooks: hooks });
