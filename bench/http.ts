// HTTP load bench: N tools/call at C in flight over Streamable HTTP (loopback), against the Shield
// server (serveHttp, stateless and stateful) and against a bare SDK server (McpServer +
// StreamableHTTPServerTransport with one echo tool) measured in the same run.
//
// Each server runs in its own forked process started with --expose-gc, so the load generator
// (undici, in this process) does not share its heap or its core, and heap growth is read after a
// full GC through the IPC channel: heap after warm-up vs heap after the measured calls.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { ms, percentile, type BenchSection } from './report.js';

type Kind = 'shield' | 'bare';
type Mode = 'stateless' | 'stateful';

/** Heap growth after GC that the run must stay under, per 10,000 calls. */
export const HEAP_GROWTH_BOUND_MIB = 20;
const PROTOCOL_VERSION = '2025-11-25';
const ROLE_ENV = 'SHIELD_BENCH_HTTP_ROLE';

type ToParent = { type: 'ready'; url: string } | { type: 'heap'; heapUsed: number; rss: number } | { type: 'error'; message: string };
type ToChild = { type: 'heap' } | { type: 'stop' };

// ---------------------------------------------------------------------------------------------
// Server side (the forked child)
// ---------------------------------------------------------------------------------------------

interface Closable {
  url: string;
  close(): Promise<void>;
}

async function startShield(mode: Mode): Promise<Closable> {
  const { loadConfig } = await import('../src/config/load.js');
  const { startApp } = await import('../src/app.js');
  const { serveHttp } = await import('../src/transports/http.js');
  const config = loadConfig({
    overrides: [
      {
        server: { transport: 'http', host: '127.0.0.1', port: 0, http: { mode } },
        store: { data_dir: ':memory:' },
        logging: { level: 'silent' },
      },
    ],
  });
  const app = await startApp({ config, env: process.env });
  return serveHttp(app, { host: '127.0.0.1', port: 0 });
}

/** The baseline: what the SDK gives for free, nothing else (no Host/Origin checks, no metrics). */
async function startBare(mode: Mode): Promise<Closable> {
  const { McpServer } = await import('@modelcontextprotocol/sdk/server/mcp.js');
  const { StreamableHTTPServerTransport } = await import('@modelcontextprotocol/sdk/server/streamableHttp.js');
  const { isInitializeRequest } = await import('@modelcontextprotocol/sdk/types.js');
  const { z } = await import('zod');
  const makeServer = () => {
    const s = new McpServer({ name: 'bare-echo', version: '1.0.0' });
    s.registerTool(
      'echo',
      { description: 'Echo the input back.', inputSchema: { text: z.string() }, outputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }),
    );
    return s;
  };
  const sessions = new Map<string, InstanceType<typeof StreamableHTTPServerTransport>>();
  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (mode === 'stateless') {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      const server = makeServer();
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const t = sessions.get(sid);
      if (!t) {
        res.writeHead(404).end();
        return;
      }
      await t.handleRequest(req, res, body);
      return;
    }
    if (!isInitializeRequest(body)) {
      res.writeHead(400).end();
      return;
    }
    const transport: InstanceType<typeof StreamableHTTPServerTransport> = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    const server = makeServer();
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void server.close();
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      for (const t of sessions.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

async function childMain(): Promise<void> {
  const send = (m: ToParent): void => void process.send?.(m);
  const [kind, mode] = process.argv.slice(2) as [Kind, Mode];
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    const served = kind === 'shield' ? await startShield(mode) : await startBare(mode);
    process.on('message', (m: ToChild) => {
      if (m.type === 'heap') {
        // Two passes: the first may only queue finalizers for the second to reclaim.
        gc?.();
        gc?.();
        const mem = process.memoryUsage();
        send({ type: 'heap', heapUsed: gc ? mem.heapUsed : Number.NaN, rss: mem.rss });
      } else if (m.type === 'stop') {
        void served.close().finally(() => process.exit(0));
      }
    });
    process.on('disconnect', () => process.exit(0));
    send({ type: 'ready', url: served.url });
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
}

if (process.env[ROLE_ENV] === 'server' && process.send) void childMain();

// ---------------------------------------------------------------------------------------------
// Load generator (the bench process)
// ---------------------------------------------------------------------------------------------

interface Forked {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  ask(m: ToChild): Promise<ToParent>;
}

function forkServer(kind: Kind, mode: Mode): Promise<Forked> {
  const child = fork(fileURLToPath(import.meta.url), [kind, mode], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, [ROLE_ENV]: 'server' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
  const ask = (m: ToChild): Promise<ToParent> =>
    new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`bench server did not answer ${m.type}`)), 10_000);
      child.once('message', (r: ToParent) => {
        clearTimeout(t);
        res(r);
      });
      child.send(m);
    });
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`bench ${kind} server did not start within 20 s\n${err}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`bench ${kind} server exited (code ${code})\n${err}`));
    });
    child.once('message', (m: ToParent) => {
      clearTimeout(t);
      child.removeAllListeners('exit');
      if (m.type === 'ready') res({ child, url: m.url, stderr: () => err, ask });
      else rej(new Error(`bench ${kind} server failed: ${m.type === 'error' ? m.message : m.type}\n${err}`));
    });
  });
}

async function stopServer(f: Forked): Promise<void> {
  if (f.child.exitCode !== null || f.child.signalCode !== null) return;
  const gone = new Promise<void>((r) => f.child.once('exit', () => r()));
  f.child.send({ type: 'stop' } satisfies ToChild);
  const t = setTimeout(() => f.child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(t);
}

interface Call {
  name: string;
  arguments: Record<string, unknown>;
}

interface LoadResult {
  done: number;
  errors: number;
  errorSamples: string[];
  sorted: number[];
  perSecond: number;
  hitDeadline: boolean;
}

/** The JSON-RPC message with this id from an SSE or JSON body. */
function messageWithId(body: string, contentType: string, id: number): { result?: { isError?: boolean; content?: unknown[] }; error?: { message: string } } | undefined {
  const candidates = contentType.includes('text/event-stream')
    ? body
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .filter((l) => l.length > 0)
    : [body];
  for (const c of candidates) {
    try {
      const m = JSON.parse(c) as { id?: number };
      if (m.id === id) return m as ReturnType<typeof messageWithId>;
    } catch {
      // not JSON: skip
    }
  }
  return undefined;
}

class LoadClient {
  private nextId = 1;
  sessionId: string | undefined;
  constructor(
    private readonly pool: Pool,
    private readonly path: string,
  ) {}

  private headers(): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL_VERSION,
      ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}),
    };
  }

  async initialize(): Promise<void> {
    const id = this.nextId++;
    const res = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench-http', version: '1' } } }),
    });
    const text = await res.body.text();
    const sid = res.headers['mcp-session-id'];
    if (res.statusCode !== 200 || typeof sid !== 'string') throw new Error(`initialize: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    this.sessionId = sid;
    const ack = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers(), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    await ack.body.dump();
    if (ack.statusCode !== 202) throw new Error(`notifications/initialized: HTTP ${ack.statusCode}`);
  }

  /** One tools/call; throws with the reason when it did not succeed. */
  async call(call: Call): Promise<void> {
    const id = this.nextId++;
    const res = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: call }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const msg = messageWithId(text, String(res.headers['content-type'] ?? ''), id);
    if (!msg) throw new Error(`no JSON-RPC response with id ${id}`);
    if (msg.error) throw new Error(`JSON-RPC error: ${msg.error.message}`);
    if (!msg.result || msg.result.isError || !Array.isArray(msg.result.content) || msg.result.content.length === 0) {
      throw new Error(`tool error: ${JSON.stringify(msg.result).slice(0, 200)}`);
    }
  }

  async end(): Promise<void> {
    if (!this.sessionId) return;
    const res = await this.pool.request({ path: this.path, method: 'DELETE', headers: this.headers() });
    await res.body.dump();
  }
}

/** `total` calls shared by `concurrency` workers, each with its own client (its own session when stateful). */
async function drive(clients: LoadClient[], call: Call, total: number, deadline: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  let hitDeadline = false;
  const samples: string[] = [];
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (issued < total) {
        if (Date.now() > deadline) {
          hitDeadline = true;
          return;
        }
        issued++;
        const s = performance.now();
        try {
          await c.call(call);
          latencies.push(performance.now() - s);
        } catch (err) {
          errors++;
          if (samples.length < 3) samples.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );
  const elapsed = performance.now() - t0;
  const done = latencies.length + errors;
  return { done, errors, errorSamples: samples, sorted: latencies.sort((a, b) => a - b), perSecond: (latencies.length / elapsed) * 1000, hitDeadline };
}

interface RunFigures {
  load: LoadResult;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  rssAfterMiB: number;
}

async function runAgainst(kind: Kind, mode: Mode, opts: { calls: number; warmup: number; concurrency: number; deadlineMs: number }): Promise<RunFigures> {
  const server = await forkServer(kind, mode);
  const url = new URL(server.url);
  const pool = new Pool(url.origin, { connections: opts.concurrency, pipelining: 1, keepAliveTimeout: 10_000 });
  try {
    const clients = Array.from({ length: opts.concurrency }, () => new LoadClient(pool, url.pathname));
    if (mode === 'stateful') await Promise.all(clients.map((c) => c.initialize()));
    const call: Call =
      kind === 'shield'
        ? { name: 'render_template', arguments: { template: 'outage', platform: 'servicenow', variables: { service: 'payments', symptoms: '502s', started_at: 'now' } } }
        : { name: 'echo', arguments: { text: 'payments 502s now' } };
    const deadline = Date.now() + opts.deadlineMs;
    const warm = await drive(clients, call, opts.warmup, deadline);
    if (warm.errors > 0) throw new Error(`${kind} ${mode}: warm-up failed: ${warm.errorSamples.join('; ')}`);
    const before = await server.ask({ type: 'heap' });
    const load = await drive(clients, call, opts.calls, deadline);
    // Let closed streams and per-request servers settle before the second reading.
    await new Promise((r) => setTimeout(r, 200));
    const after = await server.ask({ type: 'heap' });
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    const mib = (m: ToParent): number => (m.type === 'heap' ? m.heapUsed / 1048576 : Number.NaN);
    return { load, heapBeforeMiB: mib(before), heapAfterMiB: mib(after), rssAfterMiB: after.type === 'heap' ? after.rss / 1048576 : Number.NaN };
  } finally {
    await pool.close();
    await stopServer(server);
  }
}

export interface BenchHttpOptions {
  calls?: number;
  concurrency?: number;
  warmup?: number;
  modes?: Mode[];
  /** Per run (one server, one mode), warm-up included. */
  deadlineMs?: number;
}

export async function benchHttp(options: BenchHttpOptions = {}): Promise<BenchSection[]> {
  const calls = options.calls ?? 10_000;
  const concurrency = options.concurrency ?? 64;
  const warmup = options.warmup ?? 1_000;
  const deadlineMs = options.deadlineMs ?? 12_000;
  const modes = options.modes ?? ['stateless', 'stateful'];
  const sections: BenchSection[] = [];
  for (const mode of modes) {
    const opts = { calls, warmup, concurrency, deadlineMs };
    const shield = await runAgainst('shield', mode, opts);
    const bare = await runAgainst('bare', mode, opts);
    const growth = shield.heapAfterMiB - shield.heapBeforeMiB;
    const bareGrowth = bare.heapAfterMiB - bare.heapBeforeMiB;
    const bound = HEAP_GROWTH_BOUND_MIB * (shield.load.done / 10_000);
    const note = (r: LoadResult): string =>
      [r.hitDeadline ? `stopped at the ${deadlineMs / 1000} s deadline after ${r.done} calls` : '', r.errorSamples.length ? `e.g. ${r.errorSamples[0]}` : '']
        .filter(Boolean)
        .join('; ');
    sections.push({
      title: `HTTP load, ${mode}: render_template vs a bare SDK echo tool (${calls} tools/call at ${concurrency} in flight over Streamable HTTP on loopback, after ${warmup} warm-up calls; same run)`,
      rows: [
        { label: 'calls completed', value: `${shield.load.done}/${calls}`, baseline: `${bare.load.done}/${calls}` },
        {
          label: 'errors',
          value: String(shield.load.errors),
          baseline: String(bare.load.errors),
          note: [shield.load.errors === 0 && !shield.load.hitDeadline ? 'target 0: met' : 'target 0: NOT met', note(shield.load)].filter(Boolean).join('; '),
        },
        { label: 'calls/s', value: shield.load.perSecond.toFixed(0), baseline: bare.load.perSecond.toFixed(0), note: `${((shield.load.perSecond / bare.load.perSecond) * 100).toFixed(0)}% of bare` },
        { label: 'p50 latency', value: ms(percentile(shield.load.sorted, 50)), baseline: ms(percentile(bare.load.sorted, 50)) },
        { label: 'p99 latency', value: ms(percentile(shield.load.sorted, 99)), baseline: ms(percentile(bare.load.sorted, 99)) },
        {
          label: 'heap growth after GC',
          value: `${growth.toFixed(2)} MiB (${shield.heapBeforeMiB.toFixed(1)} -> ${shield.heapAfterMiB.toFixed(1)})`,
          baseline: `${bareGrowth.toFixed(2)} MiB`,
          note: `bound < ${bound.toFixed(0)} MiB: ${growth < bound ? 'met' : 'NOT met'}`,
        },
        { label: 'server RSS after the run', value: `${shield.rssAfterMiB.toFixed(1)} MiB`, baseline: `${bare.rssAfterMiB.toFixed(1)} MiB` },
      ],
    });
  }
  return sections;
}
