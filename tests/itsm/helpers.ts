// Shared set-up of the ITSM tests: tiny retry delays, timeouts and breaker windows so every fault
// plays out in milliseconds, and a client wired to a fresh app per test.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, makeApp, structured } from '../helpers/app.js';
import type { App } from '../../src/app.js';

export interface Ctx {
  app: App;
  client: Client;
  close(): Promise<void>;
}

export function fastItsm(itsm: Record<string, unknown>, breaker: Record<string, unknown> = {}): unknown {
  const policy = { timeout_ms: 2_000, error_threshold_percent: 50, volume_threshold: 20, reset_timeout_ms: 400, rolling_window_ms: 10_000, rolling_buckets: 10, ...breaker };
  return {
    jobs: { tools: { create_ticket: { inline_budget_ms: 20_000 } } },
    breakers: { upstreams: { servicenow: policy, jira: policy } },
    itsm: {
      retry: { max_attempts: 3, base_delay_ms: 20, multiplier: 2, max_delay_ms: 200, jitter: 0, max_retry_after_ms: 2_000 },
      timeouts: { connect_ms: 500, headers_ms: 300, total_ms: 500 },
      ...itsm,
    },
  };
}

export async function start(overrides: unknown, env: NodeJS.ProcessEnv = {}): Promise<Ctx> {
  const app = await makeApp({ overrides: [overrides], env });
  const client = await connectClient(app);
  return {
    app,
    client,
    close: async () => {
      await client.close();
      await app.close();
    },
  };
}

export interface TicketResult {
  platform: string;
  created: boolean;
  dry_run: boolean;
  id?: string;
  number?: string;
  url?: string;
  state?: string;
  idempotency_key: string;
  request?: { method: string; path: string; body: Record<string, unknown> };
  ignored_fields: string[];
  retry?: { attempts: number; delays_ms: number[]; errors: string[]; final_error?: string };
}

export async function createTicket(client: Client, args: Record<string, unknown>): Promise<TicketResult> {
  const h = structured<{ job: { status: string }; result?: TicketResult }>(await client.callTool({ name: 'create_ticket', arguments: args }));
  if (h.job.status !== 'succeeded' || !h.result) throw new Error(`job not succeeded: ${JSON.stringify(h)}`);
  return h.result;
}

/** The value of one metric sample, 0 when absent. */
export async function metric(app: App, name: string, labels: Record<string, string>): Promise<number> {
  const m = await app.services.metrics.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((s) => Object.entries(labels).every(([k, val]) => String((s.labels as Record<string, unknown>)[k]) === val));
  return v?.value ?? 0;
}
