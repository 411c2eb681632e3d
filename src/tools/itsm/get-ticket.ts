// get_ticket: a ticket's current state, read fresh from its platform.
import { z } from 'zod';
import { defineTool } from '../define-tool.js';
import { PLATFORMS } from '../../providers/itsm/templates.js';

export const getTicketTool = defineTool({
  name: 'get_ticket',
  title: 'Get a ticket',
  description:
    'Read a ticket\'s current state, summary, priority and URL from its platform (servicenow number or sys_id, Jira ' +
    'key, local LOC-000123). Use it after create_ticket to follow a ticket. Changes nothing.',
  toolset: 'itsm',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.object({
    platform: z.enum(PLATFORMS).optional().describe('The configured default when omitted.'),
    id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w-]+$/, 'a ticket number, key or id')
      .describe('INC0010023, OPS-42, LOC-000123 or a ServiceNow sys_id.'),
  }),
  output: z.object({
    platform: z.enum(PLATFORMS),
    id: z.string(),
    number: z.string(),
    url: z.string(),
    state: z.string().optional(),
    summary: z.string().optional(),
    priority: z.string().optional(),
    created_at: z.string().optional(),
    sla_due_at: z.string().optional(),
  }),
  handler: async (args, ctx) => {
    const platform = args.platform ?? ctx.services.itsm.config.default_platform;
    const t = await ctx.services.itsm.get(platform, args.id, ctx.signal);
    return { platform: t.platform, id: t.id, number: t.number, url: t.url, state: t.state, summary: t.summary, priority: t.priority, created_at: t.created_at, sla_due_at: t.sla_due_at };
  },
});
