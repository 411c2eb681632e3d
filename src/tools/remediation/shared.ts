// Shared pieces of the remediation tools: the instance-name schema, result schemas and the adapter
// from a job context (client channel, elicitation) to the domain's RemediationRun.
import { z } from 'zod';
import type { JobToolContext } from '../define-tool.js';
import type { AskHuman } from '../../providers/iris/approval.js';
import type { RemediationRun } from '../../providers/iris/remediation.js';

export const instanceNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'an instance name from list_instances (lower case)')
  .describe('Name of a configured IRIS instance (see list_instances)');

export const planIdSchema = z.string().regex(/^plan_[A-Za-z0-9_-]{10,40}$/, 'a plan id returned by the same tool');

export const logEntrySchema = z.object({
  time: z.string().nullable(),
  ts: z.string().nullable(),
  pid: z.number().nullable(),
  severity: z.number().nullable(),
  category: z.string().nullable(),
  text: z.string(),
});

/** Elicitation form -> the domain's yes/no. The schema is flat primitives, as form mode requires. */
function askHumanVia(ctx: JobToolContext): AskHuman | undefined {
  const elicit = ctx.client()?.elicit;
  if (!elicit) return undefined;
  return async (message, signal) => {
    const res = await elicit(
      {
        message,
        requestedSchema: {
          type: 'object',
          properties: {
            decision: { type: 'string', title: 'Decision', enum: ['approve', 'deny'], description: 'approve applies the plan exactly as shown' },
            reason: { type: 'string', title: 'Reason', description: 'Why (recorded in the audit log)' },
          },
          required: ['decision'],
        },
      },
      signal,
    );
    if (res.action === 'accept') {
      const reason = typeof res.content?.reason === 'string' ? res.content.reason : undefined;
      return { approved: res.content?.decision === 'approve', ...(reason ? { reason } : {}) };
    }
    if (res.action === 'decline') return { approved: false, reason: 'declined at the client' };
    return undefined; // cancelled: leave it to an operator
  };
}

export function runContext(ctx: JobToolContext): RemediationRun {
  return {
    jobId: ctx.jobId,
    attempt: ctx.attempt,
    actor: ctx.owner ?? 'local',
    signal: ctx.signal,
    logger: ctx.logger,
    progress: (p) => ctx.progress(p),
    setStatus: (s) => ctx.setStatus(s),
    askHuman: askHumanVia(ctx),
    jobStatus: async (id) => (await ctx.services.jobs.store.get(id))?.status,
  };
}
