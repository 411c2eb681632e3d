// MCP Tasks on the server: tasks/get, tasks/result, tasks/list and tasks/cancel, answered from the
// job store (either backend) and bound to the principal that created each task.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { principalOf, type Principal } from './auth/principal.js';
import { errorResult } from './tools/define-tool.js';
import { canSee, visibleOwner } from './jobs/access.js';
import { isTerminal, toHandle, type JobRecord } from './jobs/model.js';
import { jobToTask } from './jobs/tasks.js';
import type { Services } from './services.js';

const RELATED_TASK = 'io.modelcontextprotocol/related-task';
const PAGE_SIZE = 50;

export function taskTimes(services: Services): { ttlMs: number; pollMs: number } {
  return { ttlMs: services.config.jobs.ttl_s * 1000, pollMs: services.config.jobs.poll_after_ms };
}

export function registerTaskHandlers(server: Server, services: Services): void {
  const times = taskTimes(services);
  const visibleJob = async (taskId: string, principal: Principal | null): Promise<JobRecord> => {
    const rec = await services.jobs.store.get(taskId);
    if (!rec || !canSee(principal, rec)) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    return rec;
  };

  server.setRequestHandler(GetTaskRequestSchema, async (req, extra) => jobToTask(await visibleJob(req.params.taskId, principalOf(extra.authInfo)), times));

  // tasks/result blocks until the task is terminal (or the client gives up, or the server stops).
  server.setRequestHandler(GetTaskPayloadRequestSchema, async (req, extra) => {
    let rec = await visibleJob(req.params.taskId, principalOf(extra.authInfo));
    while (!isTerminal(rec.status)) {
      if (extra.signal.aborted) throw new McpError(ErrorCode.RequestTimeout, 'The client stopped waiting for the task result.');
      if (!services.jobs.accepting) throw new McpError(ErrorCode.InternalError, 'The server is shutting down; ask for the result again later.');
      const next = await services.jobs.wait(rec.id, 30_000, extra.signal);
      if (!next) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${rec.id}`);
      // Waiting on a human does not end the wait for the result: look again after a pause.
      if (next.status === 'awaiting_approval') await new Promise((r) => setTimeout(r, times.pollMs));
      rec = next;
    }
    const handle = toHandle(rec, times.pollMs);
    const meta = { _meta: { [RELATED_TASK]: { taskId: rec.id } } };
    if (rec.status !== 'succeeded') {
      const info = handle.error ?? { code: 'INTERNAL' as const, message: 'The task did not complete.', hint: 'Submit it again.', retryable: true };
      return { ...errorResult(info, rec.trace_id ?? rec.id, handle), ...meta };
    }
    return { content: [{ type: 'text' as const, text: JSON.stringify(handle) }], structuredContent: handle as unknown as Record<string, unknown>, ...meta };
  });

  server.setRequestHandler(ListTasksRequestSchema, async (req, extra) => {
    const principal = principalOf(extra.authInfo);
    const recs = await services.jobs.store.list({
      ...visibleOwner(principal),
      limit: PAGE_SIZE + 1,
      ...(req.params?.cursor ? { before: req.params.cursor } : {}),
    });
    const page = recs.slice(0, PAGE_SIZE);
    return {
      tasks: page.map((r) => jobToTask(r, times)),
      ...(recs.length > PAGE_SIZE ? { nextCursor: page[page.length - 1]!.created_at } : {}),
    };
  });

  server.setRequestHandler(CancelTaskRequestSchema, async (req, extra) => {
    const rec = await visibleJob(req.params.taskId, principalOf(extra.authInfo));
    if (isTerminal(rec.status)) throw new McpError(ErrorCode.InvalidParams, `Task ${rec.id} is already ${jobToTask(rec, times).status}.`);
    return jobToTask((await services.jobs.cancel(rec.id)) ?? rec, times);
  });
}
