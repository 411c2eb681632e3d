// Job tools used only by tests of the wrapper and the runner.
import { z } from 'zod';
import { ShieldError } from '../../src/errors.js';
import { defineJobTool, defineTool } from '../../src/tools/define-tool.js';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

/** Counts runs per label so tests can see what ran, and how often. */
export const runs = new Map<string, number>();

export const sleepJob = defineJobTool({
  name: 'test_sleep',
  title: 'Sleep (test)',
  description: 'Sleeps for ms milliseconds in steps, reporting progress; fails when asked.',
  toolset: 'jobs',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z.object({ ms: z.number().int().min(0).max(60_000), steps: z.number().int().min(1).default(1), label: z.string().default('x'), fail: z.string().optional() }),
  result: z.object({ slept_ms: z.number(), label: z.string() }),
  resumable: false,
  inlineBudgetMs: 500,
  run: async (args, ctx) => {
    runs.set(args.label, (runs.get(args.label) ?? 0) + 1);
    for (let i = 1; i <= args.steps; i++) {
      await sleep(args.ms / args.steps, ctx.signal);
      ctx.progress({ done: i, total: args.steps, message: `step ${i}` });
    }
    if (args.fail === 'expected') throw new ShieldError('UPSTREAM_REJECTED', 'the upstream said no', { details: { field: 'x' } });
    if (args.fail === 'bug') throw new TypeError('secret internal detail /etc/passwd');
    return { slept_ms: args.ms, label: args.label };
  },
});

export const resumableJob = defineJobTool({
  ...sleepJob,
  name: 'test_resumable',
  title: 'Resumable sleep (test)',
  resumable: true,
  run: sleepJob.run,
});

export const brokenTool = defineTool({
  name: 'test_broken',
  title: 'Broken (test)',
  description: 'Returns output that does not match its schema.',
  toolset: 'itsm',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({}),
  output: z.object({ n: z.number() }),
  handler: async () => ({ n: 'not a number' }) as unknown as { n: number },
});
