// Two (then three) server processes against the real Redis on 127.0.0.1: jobs submitted through
// one replica run on any, any replica answers for them, and a killed worker's job is retried or
// marked interrupted according to the tool's resumability.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateTaskResultSchema, GetTaskPayloadResultSchema, GetTaskResultSchema, ListTasksResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { structured } from '../helpers/app.js';

interface Replica {
  url: string;
  pid: number;
  child: ChildProcess;
}
interface Handle {
  job: { id: string; status: string; progress?: { message?: string } };
  result?: { pid: number; attempt: number };
  error?: { code: string };
}

const prefix = `shield-scale-${randomBytes(5).toString('hex')}`;
const replicas: Replica[] = [];

async function startReplica(): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), 'shield-replica-'));
  const child = spawn(process.execPath, ['tests/helpers/replica.mjs', prefix, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const r = await new Promise<Replica>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`replica did not start: ${err}`)), 15_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(t);
      const { url, pid } = JSON.parse(d.toString()) as { url: string; pid: number };
      resolve({ url, pid, child });
    });
  });
  replicas.push(r);
  return r;
}

async function call(r: Replica, name: string, args: Record<string, unknown>): Promise<Handle> {
  const client = new Client({ name: 'scale-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(r.url)));
  try {
    return structured<Handle>(await client.callTool({ name, arguments: args }));
  } finally {
    await client.close();
  }
}

async function until(r: Replica, id: string, done: (h: Handle) => boolean, ms = 20_000): Promise<Handle> {
  const deadline = Date.now() + ms;
  for (;;) {
    const h = await call(r, 'get_job_status', { job_id: id });
    if (done(h)) return h;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${JSON.stringify(h.job)}`);
    await new Promise((res) => setTimeout(res, 150));
  }
}

function kill(r: Replica): Promise<void> {
  return new Promise((resolve) => {
    r.child.once('exit', () => resolve());
    r.child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  await Promise.all([startReplica(), startReplica()]);
}, 30_000);

afterAll(async () => {
  await Promise.all(replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null).map(kill));
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('scale-out on Redis with BullMQ', () => {
  it('jobs submitted through replica A run on both replicas, and replica B answers for them', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const handles = [];
    for (let i = 0; i < 4; i++) handles.push(await call(a, 'replica_sleep', { ms: 400, steps: 2 }));
    const results = await Promise.all(handles.map((h) => until(b, h.job.id, (x) => x.job.status === 'succeeded')));
    const pids = new Set(results.map((r) => r.result!.pid));
    expect(pids).toEqual(new Set([a.pid, b.pid]));
  });

  it('MCP tasks work across replicas: created through A, followed and fetched through B', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const ca = new Client({ name: 'scale-test', version: '1' });
    await ca.connect(new StreamableHTTPClientTransport(new URL(a.url)));
    const created = await ca.request({ method: 'tools/call', params: { name: 'replica_sleep', arguments: { ms: 200, steps: 2 }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
    await ca.close();
    const cb = new Client({ name: 'scale-test', version: '1' });
    await cb.connect(new StreamableHTTPClientTransport(new URL(b.url)));
    const result = (await cb.request({ method: 'tasks/result', params: { taskId: created.task.taskId } }, GetTaskPayloadResultSchema)) as { structuredContent: Handle };
    expect(result.structuredContent.job.status).toBe('succeeded');
    expect([a.pid, b.pid]).toContain(result.structuredContent.result!.pid);
    const got = await cb.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema);
    expect(got.status).toBe('completed');
    const listed = await cb.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    expect(listed.tasks.map((t) => t.taskId)).toContain(created.task.taskId);
    await cb.close();
  });

  it('a non-resumable job whose worker is killed becomes interrupted', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const h = await call(a, 'replica_sleep', { ms: 20_000, steps: 40 });
    const running = await until(b, h.job.id, (x) => x.job.status === 'running' && Boolean(x.job.progress?.message));
    const pid = Number(running.job.progress!.message!.slice(4));
    const victim = replicas.find((r) => r.pid === pid)!;
    const survivor = victim === a ? b : a;
    await kill(victim);
    const after = await until(survivor, h.job.id, (x) => x.job.status !== 'running');
    expect(after.job.status).toBe('interrupted');
    expect(after.error?.code).toBe('INTERNAL');
    replicas.splice(replicas.indexOf(victim), 1);
  }, 40_000);

  it('a resumable job whose worker is killed is run again on another replica', async () => {
    await startReplica();
    const [a, b] = replicas as [Replica, Replica];
    const h = await call(a, 'replica_sleep_resumable', { ms: 3000, steps: 30 });
    const running = await until(b, h.job.id, (x) => x.job.status === 'running' && Boolean(x.job.progress?.message));
    const pid = Number(running.job.progress!.message!.slice(4));
    const victim = replicas.find((r) => r.pid === pid)!;
    const survivor = victim === a ? b : a;
    await kill(victim);
    const after = await until(survivor, h.job.id, (x) => x.job.status === 'succeeded', 30_000);
    expect(after.result).toEqual({ pid: survivor.pid, attempt: 2 });
  }, 45_000);
});
