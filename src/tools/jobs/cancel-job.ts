// cancel_job: stop a queued or running job; a job that already ended is returned as it is.
import { z } from 'zod';
import { defineTool, jobHandleSchema } from '../define-tool.js';
import { toHandle } from '../../jobs/model.js';
import { canSee, notFound } from '../../jobs/access.js';
import { jobIdSchema } from './get-job-status.js';

export const cancelJobTool = defineTool({
  name: 'cancel_job',
  title: 'Cancel a job',
  description:
    'Ask a queued or running job to stop. A queued job is cancelled at once; a running one stops at its next safe ' +
    'point (work already done upstream is not undone). Returns the job handle after the request.',
  toolset: 'jobs',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({ job_id: jobIdSchema }),
  output: jobHandleSchema(z.unknown()),
  handler: async (args, ctx) => {
    const job = await ctx.services.jobs.store.get(args.job_id);
    if (!job || !canSee(ctx.principal, job)) throw notFound(args.job_id);
    const after = (await ctx.services.jobs.cancel(args.job_id)) ?? job;
    return toHandle(after, ctx.services.config.jobs.poll_after_ms);
  },
});
