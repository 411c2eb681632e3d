// The one tool wrapper: declarations, input/output validation, trace ids, logs, metrics, audit,
// error mapping and job submission live here, never in handlers. Free of MCP SDK types.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { ShieldError, fromErrorInfo, toErrorInfo, type ErrorInfo } from '../errors.js';
import type { Toolset } from '../config/toolsets.js';
import type { JobContext } from '../jobs/runner.js';
import { toHandle, type JobHandle, type JobProgress, type JobRecord } from '../jobs/model.js';
import { accessLoggerOf, type Logger } from '../observability/logger.js';
import type { Services } from '../services.js';

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** A form the human is asked to fill in (MCP elicitation, form mode: flat primitives only). */
export interface Elicitation {
  message: string;
  requestedSchema: {
    type: 'object';
    properties: Record<string, { type: 'string' | 'number' | 'integer' | 'boolean'; title?: string; description?: string; enum?: string[] }>;
    required?: string[];
  };
}

export interface ElicitResult {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/** What the transport offers back to the calling client for the life of one request. */
export interface ClientChannel {
  /** Present only when the client declared the elicitation capability. */
  elicit?: (e: Elicitation, signal?: AbortSignal) => Promise<ElicitResult>;
  /** Present only when the request carried a progress token. */
  progress?: (p: { progress: number; total?: number; message?: string }) => Promise<void>;
}

export interface CallContext {
  traceId: string;
  logger: Logger;
  signal: AbortSignal;
  principal: Principal | null;
  services: Services;
  client: ClientChannel;
}

export interface JobToolContext extends JobContext {
  services: Services;
  /** The submitting client's channel while its call is still waiting inline; undefined after. */
  client(): ClientChannel | undefined;
}

interface ToolBase<I extends z.ZodObject> {
  name: string;
  /** Old names that still resolve to this tool. */
  aliases?: string[];
  title: string;
  description: string;
  toolset: Toolset;
  annotations: ToolAnnotations;
  input: I;
}

export interface InlineToolDef<I extends z.ZodObject, O extends z.ZodObject> extends ToolBase<I> {
  kind: 'inline';
  output: O;
  handler(args: z.output<I>, ctx: CallContext): Promise<z.input<O>>;
}

export interface JobToolDef<I extends z.ZodObject, R extends z.ZodType> extends ToolBase<I> {
  kind: 'job';
  /** Schema of the job's result (the `result` of the handle). */
  result: R;
  /** Safe to run again from the start after a crash (it looks up before it acts). */
  resumable: boolean;
  /** Default inline budget in ms (config jobs.tools.<name>.inline_budget_ms overrides). */
  inlineBudgetMs?: number;
  run(args: z.output<I>, ctx: JobToolContext): Promise<z.input<R>>;
}

// eslint-style `any` is confined to the inventory's heterogeneous list.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = InlineToolDef<any, any> | JobToolDef<any, any>;

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: Omit<InlineToolDef<I, O>, 'kind'>): InlineToolDef<I, O> {
  return { kind: 'inline', ...def };
}

export function defineJobTool<I extends z.ZodObject, R extends z.ZodType>(def: Omit<JobToolDef<I, R>, 'kind'>): JobToolDef<I, R> {
  return { kind: 'job', ...def };
}

// --- the handle contract as a schema, shared by job tools and get_job_status -------------------

export const errorInfoSchema = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string(),
  retryable: z.boolean(),
  retry_after_s: z.number().optional(),
  details: z.unknown().optional(),
});

export const jobSchema = z.object({
  id: z.string(),
  tool: z.string(),
  status: z.enum(['queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  progress: z.object({ done: z.number(), total: z.number().optional(), message: z.string().optional() }).optional(),
  created_at: z.string(),
  updated_at: z.string(),
  poll_after_ms: z.number().int().optional(),
});

export function jobHandleSchema<R extends z.ZodType>(result: R) {
  return z.object({ job: jobSchema, result: result.optional(), error: errorInfoSchema.optional() });
}

const handleSchemaCache = new WeakMap<z.ZodType, z.ZodObject>();

/** The public output schema of a tool (a job tool's is the handle around its result). */
export function outputSchemaOf(tool: AnyTool): z.ZodObject {
  if (tool.kind === 'inline') return tool.output as z.ZodObject;
  let s = handleSchemaCache.get(tool.result);
  if (!s) {
    s = jobHandleSchema(tool.result);
    handleSchemaCache.set(tool.result, s);
  }
  return s;
}

// --- results ------------------------------------------------------------------------------------

/** A plain CallToolResult (kept SDK-free; the server passes it through). */
export interface ToolResult {
  [key: string]: unknown;
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export function okResult(structured: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/** Errors carry their structured part as text (structuredContent must match the output schema). */
export function errorResult(info: ErrorInfo, traceId: string, handle?: JobHandle): ToolResult {
  const body = { error: { ...info, trace_id: traceId } };
  if (handle) {
    // A job tool's handle fits its output schema, so it travels as structuredContent too.
    const structured = { ...handle, error: info } as Record<string, unknown>;
    return { isError: true, content: [{ type: 'text', text: JSON.stringify({ ...body, job: handle.job }) }], structuredContent: structured };
  }
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }] };
}

function zodIssues(err: z.ZodError): Array<{ path: string; message: string }> {
  return err.issues.map((i) => ({ path: i.path.length ? i.path.join('.') : '(root)', message: i.message }));
}

export function invalidInput(err: z.ZodError): ShieldError {
  const issues = zodIssues(err);
  return new ShieldError('INVALID_INPUT', `Invalid arguments: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    details: { issues },
  });
}

// --- the pipeline -------------------------------------------------------------------------------

export interface InvokeOptions {
  principal: Principal | null;
  signal: AbortSignal;
  client: ClientChannel;
  services: Services;
}

/** Live client channels of job submitters still waiting inline, by job id. */
const waitingClients = new Map<string, ClientChannel>();

/** Job definitions for the runner: the tool's run with the services and client channel bound. */
export function jobDefinitionOf(tool: JobToolDef<z.ZodObject, z.ZodType>, services: Services) {
  const cfg = services.config.jobs;
  return {
    tool: tool.name,
    resumable: tool.resumable,
    concurrency: cfg.tools[tool.name]?.concurrency ?? cfg.default_concurrency,
    run: async (input: unknown, ctx: JobContext): Promise<unknown> => {
      // Input was validated at submission; parse again so defaults apply to stored records too.
      const args = tool.input.parse(input);
      const result = await tool.run(args, { ...ctx, services, client: () => waitingClients.get(ctx.jobId) });
      const checked = tool.result.safeParse(result);
      if (!checked.success) {
        ctx.logger.error({ issues: zodIssues(checked.error) }, 'job result does not match its schema');
        throw new Error(`result of ${tool.name} does not match its schema`);
      }
      return checked.data;
    },
  };
}

/**
 * The pipeline every call goes through, whatever it returns: input validation, a trace id, the
 * audit entries of tools that write, one access line, metrics, and error mapping. `body` does the
 * tool-specific part and says which outcome to record.
 */
async function pipeline<T>(
  tool: AnyTool,
  rawArgs: unknown,
  opts: InvokeOptions,
  body: (args: unknown, ctx: CallContext) => Promise<{ value: T; outcome: string }>,
): Promise<{ ok: true; value: T } | { ok: false; info: ErrorInfo; err: unknown; traceId: string }> {
  const { services } = opts;
  const traceId = randomUUID();
  const bindings = { trace_id: traceId, tool: tool.name, ...(opts.principal ? { principal: opts.principal.id } : {}) };
  // A child logger costs more than the call it would log: make it only when a handler asks.
  let child: Logger | undefined;
  const getLogger = (): Logger => (child ??= services.logger.child(bindings));
  const started = process.hrtime.bigint();
  const writes = !tool.annotations.readOnlyHint;
  const actor = opts.principal?.id ?? 'local';
  let outcome = 'ok';
  try {
    const parsed = tool.input.safeParse(rawArgs ?? {});
    if (!parsed.success) throw invalidInput(parsed.error);
    if (writes) services.audit.record({ kind: 'tool_call', tool: tool.name, actor, trace_id: traceId, outcome: 'started' });
    const ctx: CallContext = {
      traceId,
      get logger() {
        return getLogger();
      },
      signal: opts.signal,
      principal: opts.principal,
      services,
      client: opts.client,
    };
    const done = await body(parsed.data, ctx);
    outcome = done.outcome;
    return { ok: true, value: done.value };
  } catch (err) {
    const info = toErrorInfo(err, traceId);
    outcome = info.code;
    if (info.code === 'INTERNAL') services.logger.error({ ...bindings, err }, 'tool call failed with an unexpected error');
    else services.logger.info({ ...bindings, code: info.code, message: info.message }, 'tool call failed');
    return { ok: false, info, err, traceId };
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    services.metrics.toolCalls.inc({ tool: tool.name, outcome });
    services.metrics.toolDuration.observe({ tool: tool.name }, seconds);
    accessLoggerOf(services.logger).info({ ...bindings, outcome, duration_ms: Math.round(seconds * 1e4) / 10 }, 'tool call');
    if (writes) services.audit.record({ kind: 'tool_call', tool: tool.name, actor, trace_id: traceId, outcome });
  }
}

export async function invokeTool(tool: AnyTool, rawArgs: unknown, opts: InvokeOptions): Promise<ToolResult> {
  const res = await pipeline(tool, rawArgs, opts, async (args, ctx) => {
    if (tool.kind === 'inline') {
      const out = await tool.handler(args, ctx);
      const checked = (tool.output as z.ZodObject).safeParse(out);
      if (!checked.success) {
        ctx.logger.error({ issues: zodIssues(checked.error) }, 'tool output does not match its schema');
        throw new Error(`output of ${tool.name} does not match its schema`);
      }
      return { value: okResult(checked.data as Record<string, unknown>), outcome: 'ok' };
    }
    const result = await runJobTool(tool, args, ctx);
    const code = result.isError ? ((result.structuredContent?.error as ErrorInfo | undefined)?.code ?? 'INTERNAL') : 'ok';
    return { value: result, outcome: code };
  });
  return res.ok ? res.value : errorResult(res.info, res.traceId);
}

/**
 * A task-augmented call: the same pipeline, but the job is only recorded and dispatched, and its
 * record returned at once (the client follows it with tasks/get and tasks/result). Failures are
 * thrown as ShieldErrors for the transport to answer as protocol errors.
 */
export async function submitJobTask(tool: AnyTool, rawArgs: unknown, opts: InvokeOptions): Promise<JobRecord> {
  if (tool.kind !== 'job') throw new ShieldError('INVALID_INPUT', `${tool.name} does not run as a task; call it without task.`);
  const res = await pipeline(tool, rawArgs, opts, async (args, ctx) => ({ value: await submitJob(tool, args, ctx), outcome: 'task_submitted' }));
  if (res.ok) return res.value;
  throw res.err instanceof ShieldError ? res.err : fromErrorInfo(res.info);
}

/** Record and dispatch a job for the caller, within the caller's quota. */
async function submitJob(tool: AnyTool, args: unknown, ctx: CallContext): Promise<JobRecord> {
  await checkJobQuota(ctx.services, ctx.principal);
  const rec = await ctx.services.jobs.submit(tool.name, args, { owner: ctx.principal?.id ?? null, traceId: ctx.traceId });
  ctx.logger.info({ job_id: rec.id }, 'job submitted');
  return rec;
}

/** An authenticated principal may have only so many unfinished jobs at once. */
async function checkJobQuota(services: Services, principal: Principal | null): Promise<void> {
  const cap = services.config.jobs.max_active_per_principal;
  if (!principal || principal.operator) return;
  const active = await services.jobs.store.list({ owner: principal.id, statuses: ['queued', 'running', 'awaiting_approval'], limit: cap });
  if (active.length >= cap) {
    throw new ShieldError('RATE_LIMITED', `You already have ${active.length} unfinished jobs (the limit is ${cap}).`, {
      retryAfterS: 5,
      hint: 'Wait for a job to finish (get_job_status) or cancel one (cancel_job) before submitting another.',
    });
  }
}

async function runJobTool(tool: JobToolDef<z.ZodObject, z.ZodType>, args: unknown, ctx: CallContext): Promise<ToolResult> {
  const { services } = ctx;
  const jobsCfg = services.config.jobs;
  const budget = jobsCfg.tools[tool.name]?.inline_budget_ms ?? tool.inlineBudgetMs ?? jobsCfg.default_inline_budget_ms;
  const submitted = await submitJob(tool, args, ctx);
  let rec: JobRecord | undefined = submitted;
  if (budget > 0) {
    waitingClients.set(submitted.id, ctx.client);
    const forward = ctx.client.progress ? progressForwarder(submitted.id, ctx) : undefined;
    try {
      rec = await services.jobs.wait(submitted.id, budget, ctx.signal);
    } finally {
      waitingClients.delete(submitted.id);
      forward?.stop();
    }
  }
  const handle = toHandle(rec ?? submitted, jobsCfg.poll_after_ms);
  if (handle.job.status === 'failed' || handle.job.status === 'cancelled' || handle.job.status === 'interrupted') {
    return errorResult(handle.error ?? toErrorInfo(new Error('job failed')), ctx.traceId, handle);
  }
  return okResult(handle as unknown as Record<string, unknown>);
}

/** Job progress -> MCP progress notifications (strictly increasing) while the caller waits. */
function progressForwarder(jobId: string, ctx: CallContext): { stop(): void } {
  let last = -1;
  const onProgress = (id: string, p: JobProgress): void => {
    if (id !== jobId || !ctx.client.progress) return;
    const value = Math.max(p.done, last + 1e-6);
    if (value <= last) return;
    last = value;
    void ctx.client
      .progress({ progress: value, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.message ? { message: p.message } : {}) })
      .catch(() => undefined);
  };
  ctx.services.jobs.on('progress', onProgress);
  return { stop: () => ctx.services.jobs.off('progress', onProgress) };
}
