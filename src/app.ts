// The application: services + the selected inventory + job recovery, with an orderly shutdown.
import type { z } from 'zod';
import type { Config } from './config/schema.js';
import { jobDefinitionOf, type AnyTool, type JobToolDef } from './tools/define-tool.js';
import { ALL_TOOLS, selectTools } from './tools/inventory.js';
import { buildServices, closeServices, type Services } from './services.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { RemediationHooks } from './providers/iris/remediation.js';

export interface App {
  services: Services;
  tools: readonly AnyTool[];
  /** True once stores are open and jobs recovered (/readyz). */
  readonly ready: boolean;
  /** Count a tool call in flight until the promise settles (graceful shutdown waits for these). */
  track<T>(p: Promise<T>): Promise<T>;
  /** Stop accepting work, finish in-flight calls and jobs up to the deadline, close stores. */
  close(): Promise<void>;
}

export interface StartAppOptions {
  config: Config;
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  /** The full inventory (tests may pass their own tools). */
  allTools?: readonly AnyTool[];
  /** Passed to buildServices: test seams that production wiring never sets. */
  remediationHooks?: RemediationHooks;
}

export async function startApp(options: StartAppOptions): Promise<App> {
  const services = buildServices(options);
  const tools = selectTools(options.config, options.allTools ?? ALL_TOOLS);
  for (const t of tools) {
    if (t.kind === 'job') services.jobs.register(jobDefinitionOf(t as JobToolDef<z.ZodObject, z.ZodType>, services));
  }
  await services.jobs.start();
  let ready = true;
  let closing: Promise<void> | undefined;
  const inflight = new Set<Promise<unknown>>();

  return {
    services,
    tools,
    get ready() {
      return ready;
    },
    track<T>(p: Promise<T>): Promise<T> {
      inflight.add(p);
      void p.finally(() => inflight.delete(p)).catch(() => undefined);
      return p;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        ready = false;
        const deadline = options.config.server.shutdown_timeout_ms;
        const started = Date.now();
        services.logger.info({ inflight_calls: inflight.size, running_jobs: services.jobs.inFlight }, 'shutting down');
        await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, deadline).unref())]);
        await services.jobs.drain(Math.max(0, deadline - (Date.now() - started)));
        await closeServices(services);
      })();
      return closing;
    },
  };
}
