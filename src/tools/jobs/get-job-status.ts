// get_job_status: the handle contract of any job (status, progress, result or error).
import { z } from 'zod';
import { defineTool, jobHandleSchema } from '../define-tool.js';
import { toHandle } from '../../jobs/model.js';
import { canSee, notFound } from '../../jobs/access.js';

export const jobIdSchema = z.string().regex(/^job_[A-Za-z0-9_-]{16,64}$/, 'a job id looks like job_ followed by 24 characters');

export const getJobStatusTool = defineTool({
  name: 'get_job_status',
  title: 'Get job status',
  description:
    'Return the status, progress, and (when finished) the result or error of a job started by a job tool such as ' +
    'create_ticket or crawl_web. Poll again after job.poll_after_ms while the status is queued, running or awaiting_approval.',
  toolset: 'jobs',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({ job_id: jobIdSchema.describe('The job id, e.g. job_3kT...') }),
  output: jobHandleSchema(z.unknown()),
  handler: async (args, ctx) => {
    const job = await ctx.services.jobs.store.get(args.job_id);
    if (!job || !canSee(ctx.principal, job)) throw notFound(args.job_id);
    return toHandle(job, ctx.services.config.jobs.poll_after_ms);
  },
});
