// read_messages_log: parsed, filtered entries of an instance's messages.log, newest first.
import { z } from 'zod';
import { ShieldError } from '../../errors.js';
import { defineTool } from '../define-tool.js';
import { instanceNameSchema, logEntrySchema } from './shared.js';

export const readMessagesLogTool = defineTool({
  name: 'read_messages_log',
  title: 'Read an IRIS messages.log',
  description:
    'Return parsed entries of an IRIS instance\'s messages.log, newest first: time, pid, severity (0 info, 1 warning, 2 severe, ' +
    '3 fatal), category and text (continuation lines attached). Filter by since (ISO time), min_severity, category (e.g. ' +
    'Generic.Event, or Utility for all Utility.*) and limit.',
  toolset: 'remediation',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({
    instance: instanceNameSchema,
    since: z.string().optional().describe('Only entries at or after this ISO-8601 time'),
    min_severity: z.number().int().min(0).max(3).optional().describe('0 info, 1 warning, 2 severe, 3 fatal'),
    category: z.string().regex(/^[\w.%]{1,64}$/).optional().describe('Category or its prefix, e.g. Generic.Event or Utility'),
    limit: z.number().int().min(1).max(500).default(50),
  }),
  output: z.object({
    instance: z.string(),
    order: z.literal('newest_first'),
    returned: z.number(),
    scanned: z.number(),
    entries: z.array(logEntrySchema),
  }),
  handler: async (args, ctx) => {
    const svc = ctx.services.remediation;
    const inst = svc.instance(args.instance);
    let since: Date | undefined;
    if (args.since !== undefined) {
      since = new Date(args.since);
      if (Number.isNaN(since.getTime())) throw new ShieldError('INVALID_INPUT', `since is not an ISO-8601 time: ${args.since}`);
    }
    const { entries, scanned } = await svc.readLog(inst, {
      limit: args.limit,
      ...(since ? { since } : {}),
      ...(args.min_severity !== undefined ? { minSeverity: args.min_severity } : {}),
      ...(args.category !== undefined ? { category: args.category } : {}),
    });
    return { instance: inst.name, order: 'newest_first' as const, returned: entries.length, scanned, entries };
  },
});
