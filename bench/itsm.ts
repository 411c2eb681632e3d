// ITSM bench: create_ticket through the real server (in-memory MCP transport) against the local
// ServiceNow fake, at 1 and 32 concurrent calls, beside the bare HTTP POST to the same fake.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { request } from 'undici';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { ServiceNowFake } from '../tests/fakes/servicenow/servicenow-fake.js';
import { createMcpServer } from '../src/server.js';
import { ms, percentile, type BenchRow, type BenchSection } from './report.js';

interface Run {
  sorted: number[];
  perSecond: number;
  failures: number;
}

async function measure(count: number, concurrency: number, call: (i: number) => Promise<boolean>): Promise<Run> {
  const lat: number[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const s = performance.now();
        if (!(await call(i))) failures++;
        lat.push(performance.now() - s);
      }
    }),
  );
  return { sorted: lat.sort((a, b) => a - b), perSecond: (count / (performance.now() - t0)) * 1000, failures };
}

export async function benchItsm(options: { calls?: number } = {}): Promise<BenchSection[]> {
  const calls = options.calls ?? 400;
  const fake = new ServiceNowFake({ auth: { type: 'basic', username: 'bench', password: 'bench' } });
  const dataDir = mkdtempSync(join(tmpdir(), 'shield-bench-itsm-'));
  await fake.start();
  const config = loadConfig({
    overrides: [
      {
        store: { data_dir: dataDir },
        logging: { level: 'silent' },
        jobs: { tools: { create_ticket: { concurrency: 32, inline_budget_ms: 30_000 } } },
        itsm: {
          default_platform: 'servicenow',
          servicenow: { enabled: true, instance_url: fake.baseUrl, auth: { type: 'basic', username: 'bench', password_env: 'BENCH_SN_PASSWORD' } },
        },
      },
    ],
  });
  const app = await startApp({ config, env: { BENCH_SN_PASSWORD: 'bench' }, logger: createLogger({ level: 'silent' }), metrics: new Metrics() });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(app).connect(serverSide);
  const client = new Client({ name: 'bench-itsm', version: '1.0.0' });
  await client.connect(clientSide);
  const auth = `Basic ${Buffer.from('bench:bench').toString('base64')}`;
  try {
    let seq = 0;
    const create = async (): Promise<boolean> => {
      const r = (await client.callTool({ name: 'create_ticket', arguments: { summary: `bench ${seq}`, description: 'Bench **ticket**', priority: 'P3', idempotency_key: `bench-key-${seq++}` } })) as {
        isError?: boolean;
        structuredContent?: { job?: { status?: string } };
      };
      return !r.isError && r.structuredContent?.job?.status === 'succeeded';
    };
    const direct = async (): Promise<boolean> => {
      const res = await request(`${fake.baseUrl}/api/now/v2/table/incident`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ short_description: `direct ${seq++}`, urgency: '2', impact: '2' }),
      });
      await res.body.text();
      return res.statusCode === 201;
    };
    for (let i = 0; i < 20; i++) await create(); // warm-up
    const rows: BenchRow[] = [];
    for (const concurrency of [1, 32]) {
      const n = concurrency === 1 ? Math.ceil(calls / 2) : calls;
      const r = await measure(n, concurrency, create);
      const b = await measure(n, concurrency, direct);
      rows.push(
        { label: `c=${concurrency} tickets/s`, value: r.perSecond.toFixed(0), baseline: `${b.perSecond.toFixed(0)} bare POST/s`, note: r.failures ? `${r.failures} FAILED` : `${n} calls, 0 failed` },
        { label: `c=${concurrency} p50`, value: ms(percentile(r.sorted, 50)), baseline: ms(percentile(b.sorted, 50)) },
        { label: `c=${concurrency} p99`, value: ms(percentile(r.sorted, 99)), baseline: ms(percentile(b.sorted, 99)) },
      );
    }
    const created = fake.records().filter((x) => x.correlation_id?.startsWith('shield-')).length;
    rows.push({ label: 'tickets upstream / create_ticket calls', value: `${created} / ${seq - fake.records().filter((x) => !x.correlation_id).length}`, note: 'exactly one per call' });
    return [
      {
        title: 'create_ticket against the local ServiceNow fake (in-memory MCP client, job + SQLite WAL + breaker + look-up per keyed call); baseline: a bare HTTP POST to the same fake',
        rows,
      },
    ];
  } finally {
    await client.close();
    await app.close();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
