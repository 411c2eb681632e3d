// createMcpServer: registers the inventory on an MCP server; the only place tools meet the SDK.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type ElicitRequestFormParams,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { z } from 'zod';
import { invokeTool, outputSchemaOf, submitJobTask, type AnyTool, type ClientChannel, type Principal } from './tools/define-tool.js';
import { canSee } from './tools/jobs/access.js';
import { isTerminal, toHandle, type JobRecord } from './jobs/model.js';
import { jobToTask } from './jobs/tasks.js';
import { errorResult } from './tools/define-tool.js';
import { isShieldError } from './errors.js';
import type { App } from './app.js';

import { SERVER_VERSION } from './version.js';

export { SERVER_VERSION };

const INSTRUCTIONS =
  'Shield exposes operations tools. Side effects run as jobs: a job tool returns a job handle; when job.status is ' +
  'not final, poll get_job_status after job.poll_after_ms. Errors carry a stable code and a hint: follow the hint.';

type JsonSchema = Tool['inputSchema'];

/** Tool listings are computed once per tool list (schemas do not change at run time). */
const listingCache = new WeakMap<readonly AnyTool[], Tool[]>();

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json as JsonSchema;
}

export function describeTools(tools: readonly AnyTool[]): Tool[] {
  let listing = listingCache.get(tools);
  if (!listing) {
    listing = tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: toJsonSchema(t.input, 'input'),
      outputSchema: toJsonSchema(outputSchemaOf(t), 'output'),
      annotations: { title: t.title, ...t.annotations },
      // Job tools can run as MCP tasks; clients without tasks follow get_job_status instead.
      ...(t.kind === 'job' ? { execution: { taskSupport: 'optional' as const } } : {}),
    }));
    listingCache.set(tools, listing);
  }
  return listing;
}

/** Authenticated transports put the principal in AuthInfo.extra; stdio and open HTTP have none. */
export function principalOf(auth: AuthInfo | undefined): Principal | null {
  const p = auth?.extra?.principal as Principal | undefined;
  return p ?? null;
}

export interface CreateServerOptions {
  /** Tools a principal may see and call (scope filtering); all of them when absent. */
  visibleTools?: (principal: Principal | null, tools: readonly AnyTool[]) => readonly AnyTool[];
}

export function createMcpServer(app: App, options: CreateServerOptions = {}): Server {
  const { services, tools } = app;
  const server = new Server(
    { name: services.config.server.name, title: 'Shield MCP', version: SERVER_VERSION },
    {
      capabilities: { tools: { listChanged: false }, logging: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      instructions: INSTRUCTIONS,
    },
  );
  const byName = new Map<string, AnyTool>();
  for (const t of tools) for (const n of [t.name, ...(t.aliases ?? [])]) byName.set(n, t);
  const taskTimes = { ttlMs: services.config.jobs.ttl_s * 1000, pollMs: services.config.jobs.poll_after_ms };
  const visible = (principal: Principal | null): readonly AnyTool[] => options.visibleTools?.(principal, tools) ?? tools;

  server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => ({ tools: describeTools(visible(principalOf(extra.authInfo))) }));

  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const principal = principalOf(extra.authInfo);
    const tool = byName.get(req.params.name);
    if (!tool || !visible(principal).includes(tool)) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`);
    }
    const client: ClientChannel = {};
    if (server.getClientCapabilities()?.elicitation) {
      client.elicit = async (e, signal) => {
        const res = await server.elicitInput(
          { mode: 'form', message: e.message, requestedSchema: e.requestedSchema as ElicitRequestFormParams['requestedSchema'] },
          { relatedRequestId: extra.requestId, ...(signal ? { signal } : {}) },
        );
        return { action: res.action, ...(res.content ? { content: res.content } : {}) };
      };
    }
    const progressToken = req.params._meta?.progressToken;
    if (progressToken !== undefined) {
      client.progress = (p) => extra.sendNotification({ method: 'notifications/progress', params: { progressToken, ...p } });
    }
    if (req.params.task) {
      if (tool.kind !== 'job') throw new McpError(ErrorCode.InvalidParams, `Tool ${tool.name} does not support task execution.`);
      try {
        const rec = await submitJobTask(tool, req.params.arguments, { principal, signal: extra.signal, client: {}, services });
        return { task: jobToTask(rec, taskTimes) };
      } catch (err) {
        if (isShieldError(err)) throw new McpError(ErrorCode.InvalidParams, err.message, err.toInfo());
        throw err;
      }
    }
    return app.track(invokeTool(tool, req.params.arguments, { principal, signal: extra.signal, client, services }));
  });

  // Tasks are jobs: served from the job store, bound to the caller who created them.
  const visibleJob = async (taskId: string, principal: Principal | null): Promise<JobRecord> => {
    const rec = await services.jobs.store.get(taskId);
    if (!rec || !canSee(principal, rec)) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    return rec;
  };

  server.setRequestHandler(GetTaskRequestSchema, async (req, extra) => {
    const rec = await visibleJob(req.params.taskId, principalOf(extra.authInfo));
    return jobToTask(rec, taskTimes);
  });

  server.setRequestHandler(GetTaskPayloadRequestSchema, async (req, extra) => {
    let rec = await visibleJob(req.params.taskId, principalOf(extra.authInfo));
    // tasks/result blocks until the task is terminal (or the client gives up).
    while (!isTerminal(rec.status) && !extra.signal.aborted) {
      rec = (await services.jobs.wait(rec.id, 30_000, extra.signal)) ?? rec;
      if (rec.status === 'awaiting_approval') await new Promise((r) => setTimeout(r, services.config.jobs.poll_after_ms));
    }
    const handle = toHandle(rec, services.config.jobs.poll_after_ms);
    const meta = { _meta: { 'io.modelcontextprotocol/related-task': { taskId: rec.id } } };
    if (rec.status !== 'succeeded') {
      return { ...errorResult(handle.error ?? { code: 'INTERNAL', message: 'The task did not complete.', hint: '', retryable: false }, rec.trace_id ?? rec.id, handle), ...meta };
    }
    return { content: [{ type: 'text' as const, text: JSON.stringify(handle) }], structuredContent: handle as unknown as Record<string, unknown>, ...meta };
  });

  server.setRequestHandler(ListTasksRequestSchema, async (req, extra) => {
    const principal = principalOf(extra.authInfo);
    const pageSize = 50;
    const recs = await services.jobs.store.list({
      ...(principal?.operator ? {} : { owner: principal?.id ?? null }),
      limit: pageSize + 1,
      ...(req.params?.cursor ? { before: req.params.cursor } : {}),
    });
    const page = recs.slice(0, pageSize);
    return {
      tasks: page.map((r) => jobToTask(r, taskTimes)),
      ...(recs.length > pageSize ? { nextCursor: page[page.length - 1]!.created_at } : {}),
    };
  });

  server.setRequestHandler(CancelTaskRequestSchema, async (req, extra) => {
    const rec = await visibleJob(req.params.taskId, principalOf(extra.authInfo));
    if (isTerminal(rec.status)) throw new McpError(ErrorCode.InvalidParams, `Task ${rec.id} is already ${jobToTask(rec, taskTimes).status}.`);
    const after = (await services.jobs.cancel(rec.id)) ?? rec;
    return jobToTask(after, taskTimes);
  });

  return server;
}
