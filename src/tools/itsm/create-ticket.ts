// create_ticket: open a ticket on ServiceNow, Jira or the local desk, exactly once per idempotency key.
import { z } from 'zod';
import { defineJobTool } from '../define-tool.js';
import { PLATFORMS } from '../../providers/itsm/templates.js';
import { variablesSchema } from './render-template.js';

const retrySchema = z.object({
  attempts: z.number().int().describe('Create requests sent (0 when an existing ticket was returned).'),
  delays_ms: z.array(z.number()).describe('Waits between attempts, in ms.'),
  errors: z.array(z.string()).describe('What went wrong on each failed attempt.'),
  final_error: z.string().optional(),
});

export const createTicketTool = defineJobTool({
  name: 'create_ticket',
  title: 'Create a ticket',
  description:
    'Open an incident/issue on ServiceNow, Jira or the built-in local desk (platform defaults from config). Give either ' +
    'a template plus variables (see list_templates) or explicit fields: summary, description (Markdown), priority (P1-P5 ' +
    'or the platform value) or urgency/impact (1-3), category, assignment_group, labels. Pass an idempotency_key you ' +
    'reuse on retries: the same key never creates a second ticket (the first one comes back with created=false). ' +
    'dry_run=true validates and returns the exact request that would be sent, sending nothing. Invalid fields fail with ' +
    'VALIDATION_FAILED listing every problem.',
  toolset: 'itsm',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  resumable: true,
  inlineBudgetMs: 15_000,
  input: z.object({
    platform: z.enum(PLATFORMS).optional().describe('servicenow, jira or local; the configured default when omitted.'),
    template: z.string().min(1).max(64).optional().describe('Template name (list_templates); fields below override it.'),
    variables: variablesSchema,
    summary: z.string().max(1000).optional().describe('One-line title (ServiceNow short_description).'),
    description: z.string().max(200_000).optional().describe('Body in Markdown; converted per platform, truncated with a notice over the limit.'),
    priority: z.string().max(20).optional().describe('P1 (highest) to P5, or the platform value (Jira "High").'),
    urgency: z.enum(['1', '2', '3']).optional().describe('1 high, 2 medium, 3 low (ServiceNow style).'),
    impact: z.enum(['1', '2', '3']).optional().describe('1 high, 2 medium, 3 low (ServiceNow style).'),
    category: z.string().max(100).optional(),
    assignment_group: z.string().max(200).optional(),
    labels: z.array(z.string().max(255)).max(20).optional(),
    issue_type: z.string().max(60).optional().describe('Jira issue type (default from config).'),
    idempotency_key: z
      .string()
      .min(8)
      .max(128)
      .regex(/^[\w.:@/-]+$/, 'letters, digits and . _ : @ / -')
      .optional()
      .describe('Stable key for this ticket (e.g. alert id); reuse it when retrying.'),
    dry_run: z.boolean().default(false).describe('Validate and return the upstream request without sending it.'),
  }),
  result: z.object({
    platform: z.enum(PLATFORMS),
    dry_run: z.boolean(),
    created: z.boolean().describe('False when an existing ticket with the same idempotency key was returned (or on dry runs).'),
    id: z.string().optional(),
    number: z.string().optional().describe('INC0010023, OPS-42 or LOC-000123.'),
    url: z.string().optional(),
    state: z.string().optional(),
    sla_due_at: z.string().optional(),
    idempotency_key: z.string().describe('The key as sent upstream (ServiceNow correlation_id, Jira label).'),
    request: z
      .object({ method: z.string(), path: z.string(), body: z.record(z.string(), z.unknown()) })
      .optional()
      .describe('Dry run only: the exact request that would be sent.'),
    ignored_fields: z.array(z.string()).describe('Inputs this platform has no field for.'),
    retry: retrySchema.optional(),
  }),
  run: async (args, ctx) => {
    const itsm = ctx.services.itsm;
    const prepared = itsm.prepare(
      {
        platform: args.platform,
        template: args.template,
        variables: args.variables,
        // Keys are scoped to the authenticated caller: another principal reusing a key (an alert
        // id, say) gets its own ticket, never a look at someone else's.
        idempotency_key: args.idempotency_key !== undefined && ctx.owner ? `${ctx.owner}\u0000${args.idempotency_key}` : args.idempotency_key,
        fields: {
          summary: args.summary,
          description: args.description,
          priority: args.priority,
          urgency: args.urgency,
          impact: args.impact,
          category: args.category,
          assignment_group: args.assignment_group,
          labels: args.labels,
          issue_type: args.issue_type,
        },
      },
      // Without a caller key, the job is the unit of exactly-once (a resumed job finds its ticket).
      `job:${ctx.jobId}`,
    );
    const base = { platform: prepared.platform, idempotency_key: prepared.upstreamKey, ignored_fields: prepared.ignored };
    if (args.dry_run) return { ...base, dry_run: true, created: false, request: prepared.request };
    ctx.progress({ done: 0, total: 1, message: `creating the ${prepared.platform} ticket` });
    const out = await itsm.create(prepared, { signal: ctx.signal, logger: ctx.logger, jobId: ctx.jobId, attempt: ctx.attempt, callerKey: args.idempotency_key !== undefined });
    ctx.progress({ done: 1, total: 1, message: `${out.created ? 'created' : 'found'} ${out.ticket.number}` });
    const t = out.ticket;
    return {
      ...base,
      dry_run: false,
      created: out.created,
      id: t.id,
      number: t.number,
      url: t.url,
      ...(t.state ? { state: t.state } : {}),
      ...(t.sla_due_at ? { sla_due_at: t.sla_due_at } : {}),
      retry: out.retry,
    };
  },
});
