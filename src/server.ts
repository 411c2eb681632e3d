// createMcpServer: registers the inventory on an MCP server; the only place tools meet the SDK.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type ElicitRequestFormParams, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { principalOf, type Principal } from './auth/principal.js';
import { invokeTool, outputSchemaOf, submitJobTask, type AnyTool, type ClientChannel } from './tools/define-tool.js';
import { jobToTask } from './jobs/tasks.js';
import { isShieldError } from './errors.js';
import type { App } from './app.js';
import { registerTaskHandlers, taskTimes } from './server-tasks.js';
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
  const times = taskTimes(services);
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
        return { task: jobToTask(rec, times) };
      } catch (err) {
        if (isShieldError(err)) throw new McpError(ErrorCode.InvalidParams, err.message, err.toInfo());
        throw err;
      }
    }
    return app.track(invokeTool(tool, req.params.arguments, { principal, signal: extra.signal, client, services }));
  });

  registerTaskHandlers(server, services);

  return server;
}
