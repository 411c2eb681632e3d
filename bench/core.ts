// Core bench: render_template over stdio against a bare SDK echo server, start-up time, idle RSS.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ms, percentile, type BenchSection } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
/** Baseline servers compiled to plain JavaScript (bench/tsconfig.json), so they start as Shield does. */
const BASELINES = join(ROOT, 'build', 'bench-servers');

interface Spawned {
  client: Client;
  transport: StdioClientTransport;
  startedAt: number;
}

async function spawnServer(args: string[]): Promise<Spawned> {
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: 'ignore' });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const startedAt = performance.now();
  await client.connect(transport);
  return { client, transport, startedAt };
}

function rssMiB(pid: number | null): number {
  if (!pid) return Number.NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function latencies(call: () => Promise<unknown>, warmup: number, count: number): Promise<{ sorted: number[]; perSecond: number }> {
  for (let i = 0; i < warmup; i++) await call();
  const out: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    await call();
    out.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  return { sorted: out.sort((a, b) => a - b), perSecond: (count / total) * 1000 };
}

export async function benchCore(options: { calls?: number } = {}): Promise<BenchSection[]> {
  const calls = options.calls ?? 4000;
  const dataDir = mkdtempSync(join(tmpdir(), 'shield-bench-'));
  const shieldArgs = [join(DIST, 'main.js'), '--data-dir', dataDir];
  try {
    // Start-up: process start to the first tools/list answer, median of 5.
    const startups: number[] = [];
    let idleRss = Number.NaN;
    for (let i = 0; i < 5; i++) {
      const s = await spawnServer(shieldArgs);
      await s.client.listTools();
      startups.push(performance.now() - s.startedAt);
      if (i === 4) {
        await new Promise((r) => setTimeout(r, 1000));
        idleRss = rssMiB(s.transport.pid);
      }
      await s.client.close();
    }
    const baselineStartups: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await spawnServer([join(BASELINES, 'echo-server.js')]);
      await s.client.listTools();
      baselineStartups.push(performance.now() - s.startedAt);
      await s.client.close();
    }

    // Both servers run side by side and take turns in blocks, so drift in machine load lands on
    // both alike rather than on whichever ran second.
    const shield = await spawnServer(shieldArgs);
    const echo = await spawnServer([join(BASELINES, 'echo-server.js')]);
    await shield.client.listTools();
    await echo.client.listTools();
    const args = { template: 'outage', platform: 'servicenow', variables: { service: 'payments', symptoms: '502s', started_at: 'now' } };
    const callShield = () => shield.client.callTool({ name: 'render_template', arguments: args });
    const callEcho = () => echo.client.callTool({ name: 'echo', arguments: { text: 'payments 502s now' } });
    const block = 200;
    const renderTimes: number[] = [];
    const echoTimes: number[] = [];
    let renderTotal = 0;
    let echoTotal = 0;
    await latencies(callShield, 300, 0);
    await latencies(callEcho, 300, 0);
    for (let done = 0; done < calls; done += block) {
      const r = await latencies(callShield, 0, block);
      const e = await latencies(callEcho, 0, block);
      renderTimes.push(...r.sorted);
      echoTimes.push(...e.sorted);
      renderTotal += (block / r.perSecond) * 1000;
      echoTotal += (block / e.perSecond) * 1000;
    }
    const render = { sorted: renderTimes.sort((a, b) => a - b), perSecond: (renderTimes.length / renderTotal) * 1000 };
    const base = { sorted: echoTimes.sort((a, b) => a - b), perSecond: (echoTimes.length / echoTotal) * 1000 };
    const rssAfter = rssMiB(shield.transport.pid);
    await shield.client.close();
    await echo.client.close();

    const p50 = percentile(render.sorted, 50);
    const bp50 = percentile(base.sorted, 50);
    const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
    return [
      {
        title: `render_template over stdio vs a bare SDK echo tool (${calls} sequential calls each, interleaved in blocks of 200, same run)`,
        rows: [
          { label: 'p50 latency', value: ms(p50), baseline: ms(bp50) },
          { label: 'p99 latency', value: ms(percentile(render.sorted, 99)), baseline: ms(percentile(base.sorted, 99)) },
          { label: 'calls/s', value: render.perSecond.toFixed(0), baseline: base.perSecond.toFixed(0) },
          { label: 'p50 ratio', value: `${(p50 / bp50).toFixed(2)}x`, note: `target <= 1.30x: ${p50 / bp50 <= 1.3 ? 'met' : 'NOT met'}` },
        ],
      },
      {
        title: 'Start-up and memory',
        rows: [
          { label: 'process start -> first tools/list answer (median of 5)', value: ms(median(startups)), baseline: ms(median(baselineStartups)) },
          { label: 'idle RSS (1 s after start-up)', value: `${idleRss.toFixed(1)} MiB` },
          { label: `RSS after ${calls + 300} calls`, value: `${rssAfter.toFixed(1)} MiB` },
        ],
      },
    ];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
