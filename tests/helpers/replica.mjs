// A Shield replica for the scale-out tests: the real app and HTTP transport (stateless) on the
// Redis job backend, plus two slow job tools that say which process ran them.
// Usage: node tests/helpers/replica.mjs <redis-prefix> <data-dir>
import { z } from 'zod';
import { loadConfig } from '../../dist/config/load.js';
import { startApp } from '../../dist/app.js';
import { serveHttp } from '../../dist/transports/http.js';
import { ALL_TOOLS } from '../../dist/tools/inventory.js';
import { defineJobTool } from '../../dist/tools/define-tool.js';

const [prefix, dataDir] = process.argv.slice(2);

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

const base = {
  title: 'Slow job (replica test)',
  description: 'Sleeps in steps, reporting which process runs it.',
  toolset: 'jobs',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z.object({ ms: z.number().int().min(0), steps: z.number().int().min(1).default(10) }),
  result: z.object({ pid: z.number(), attempt: z.number() }),
  inlineBudgetMs: 0,
  run: async (args, ctx) => {
    for (let i = 1; i <= args.steps; i++) {
      ctx.progress({ done: i - 1, total: args.steps, message: `pid:${process.pid}` });
      await sleep(args.ms / args.steps, ctx.signal);
    }
    return { pid: process.pid, attempt: ctx.attempt };
  },
};
const tools = [
  ...ALL_TOOLS,
  defineJobTool({ ...base, name: 'replica_sleep', resumable: false }),
  defineJobTool({ ...base, name: 'replica_sleep_resumable', resumable: true }),
];

const config = loadConfig({
  overrides: [
    {
      store: { data_dir: dataDir },
      logging: { level: 'warn' },
      server: { shutdown_timeout_ms: 1000, http: { mode: 'stateless' } },
      jobs: {
        backend: 'redis',
        redis: { prefix, lock_duration_ms: 1500, stalled_interval_ms: 500 },
        tools: { replica_sleep: { concurrency: 1 }, replica_sleep_resumable: { concurrency: 1 } },
      },
    },
  ],
});
const app = await startApp({ config, env: {}, allTools: tools });
const handle = await serveHttp(app, { host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url: handle.url, pid: process.pid })}\n`);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void handle.close().then(() => process.exit(0)));
