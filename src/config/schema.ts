// The one configuration schema: every key, its default and its unit, validated once at start-up.
// Defaults live here and in sections/*.ts only; config/default.json holds the shipped ticket
// templates and no settings (tests/config/defaults.test.ts keeps it that way).
import { z } from 'zod';
import { itsmSection } from './sections/itsm.js';
import { knowledgeSection } from './sections/knowledge.js';
import { remediationSection } from './sections/remediation.js';
import { authSection } from './sections/auth.js';
import { TOOLSETS, toolsetSchema } from './toolsets.js';

const port = z.number().int().min(0).max(65535);

export const breakerPolicySchema = z
  .object({
    /** Time allowed for one call before it counts as a failure, in ms. */
    timeout_ms: z.number().int().positive(),
    /** Failure percentage within the rolling window that opens the breaker. */
    error_threshold_percent: z.number().min(1).max(100),
    /** Calls needed within the window before the breaker may open. */
    volume_threshold: z.number().int().min(0),
    /** Time an open breaker waits before letting one trial call through, in ms. */
    reset_timeout_ms: z.number().int().positive(),
    /** Length of the rolling statistics window, in ms. */
    rolling_window_ms: z.number().int().positive(),
    /** Buckets the window is divided into (must divide rolling_window_ms). */
    rolling_buckets: z.number().int().positive(),
  })
  .strict();

export type BreakerPolicy = z.infer<typeof breakerPolicySchema>;

/** breakers.defaults: each field defaulted on its own, so a file may set only what it changes. */
const breakerDefaultsSchema = z
  .object({
    timeout_ms: breakerPolicySchema.shape.timeout_ms.default(10_000),
    error_threshold_percent: breakerPolicySchema.shape.error_threshold_percent.default(50),
    volume_threshold: breakerPolicySchema.shape.volume_threshold.default(5),
    reset_timeout_ms: breakerPolicySchema.shape.reset_timeout_ms.default(30_000),
    rolling_window_ms: breakerPolicySchema.shape.rolling_window_ms.default(10_000),
    rolling_buckets: breakerPolicySchema.shape.rolling_buckets.default(10),
  })
  .strict()
  .prefault({});

const templateSchema = z
  .object({
    description: z.string().min(1),
    variables: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
        z
          .object({
            description: z.string().default(''),
            required: z.boolean().default(true),
            default: z.string().optional(),
          })
          .strict(),
      )
      .default({}),
    platforms: z
      .object({
        servicenow: z.record(z.string(), z.unknown()).optional(),
        jira: z.record(z.string(), z.unknown()).optional(),
        local: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .refine((p) => Object.keys(p).length > 0, 'a template needs at least one platform'),
  })
  .strict();

export type TemplateConfig = z.infer<typeof templateSchema>;

export const configSchema = z
  .object({
    server: z
      .object({
        name: z.string().default('shield-mcp'),
        transport: z.enum(['stdio', 'http']).default('stdio'),
        host: z.string().default('127.0.0.1'),
        port: port.default(8787),
        /** Grace period for in-flight calls on SIGINT/SIGTERM, in ms. */
        shutdown_timeout_ms: z.number().int().positive().default(10_000),
        http: z
          .object({
            path: z.string().startsWith('/').default('/mcp'),
            /** stateful: sessions answered over SSE; stateless: a server per request (replicas). */
            mode: z.enum(['stateful', 'stateless']).default('stateful'),
            /** Origins allowed besides loopback ones; requests without Origin are allowed. */
            allowed_origins: z.array(z.string()).default([]),
            /** Host header values allowed besides loopback names and the bound host. */
            allowed_hosts: z.array(z.string()).default([]),
            max_body_bytes: z.number().int().positive().default(1_048_576),
            /** Stateful sessions idle longer than this are closed, in ms. */
            session_idle_timeout_ms: z.number().int().positive().default(30 * 60_000),
            max_sessions: z.number().int().positive().default(1000),
          })
          .strict()
          .prefault({}),
        /** In stdio mode, serve /metrics on this loopback port (null: off). */
        metrics_port: port.nullable().default(null),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        /** Directory for the embedded SQLite store; ":memory:" keeps everything in memory. */
        data_dir: z.string().default('./data'),
        file: z.string().regex(/^[\w.-]+$/).default('shield.db'),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        backend: z.enum(['sqlite', 'redis']).default('sqlite'),
        redis: z
          .object({
            url: z.string().default('redis://127.0.0.1:6379'),
            prefix: z.string().regex(/^[\w.-]+$/).default('shield'),
            /** A worker's lock on a job lapses after this without renewal (a dead worker's job is then redelivered), in ms. */
            lock_duration_ms: z.number().int().positive().default(30_000),
            /** How often workers look for jobs whose lock lapsed, in ms. */
            stalled_interval_ms: z.number().int().positive().default(30_000),
          })
          .strict()
          .prefault({}),
        /** Finished jobs are deleted this long after they end, in seconds. */
        ttl_s: z.number().int().positive().default(7 * 24 * 3600),
        /** How often finished jobs older than ttl_s are looked for and deleted, in ms. */
        cleanup_interval_ms: z.number().int().positive().default(10 * 60_000),
        /** Suggested polling interval returned with a job handle, in ms. */
        poll_after_ms: z.number().int().positive().default(1000),
        /** How long a job tool waits for its job before returning the handle, in ms. */
        default_inline_budget_ms: z.number().int().min(0).default(2000),
        /** Unfinished jobs one authenticated principal may have at once (operators are exempt). */
        max_active_per_principal: z.number().int().positive().default(20),
        /** Jobs of one tool running at once in this process. */
        default_concurrency: z.number().int().positive().default(4),
        tools: z
          .record(
            z.string(),
            z
              .object({
                inline_budget_ms: z.number().int().min(0).optional(),
                concurrency: z.number().int().positive().optional(),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    breakers: z
      .object({
        /** The policy of every breaker, before its entry in upstreams. */
        defaults: breakerDefaultsSchema,
        /** Breakers made on demand (host:<name>, iris:<name>) kept at most; least recently used closed ones go first. */
        max_dynamic: z.number().int().positive().default(256),
        /** Per-upstream overrides, keyed by breaker name (servicenow, jira, qdrant, ollama, ...). */
        upstreams: z.record(z.string(), breakerPolicySchema.partial()).default({}),
      })
      .strict()
      .prefault({}),
    tools: z
      .object({
        enabled_toolsets: z.array(toolsetSchema).default([...TOOLSETS]),
        /** Register only tools whose readOnlyHint is true. */
        read_only: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    templates: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), templateSchema).default({}),
    itsm: itsmSection,
    knowledge: knowledgeSection,
    remediation: remediationSection,
    auth: authSection,
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
