import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/tools/inventory.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.js';
import { newJobId, toHandle } from '../../src/jobs/model.js';
import type { App } from '../../src/app.js';
import { connectClient, errorOf, makeApp, structured, testConfig } from '../helpers/app.js';
import { resumableJob, runs, sleepJob } from '../helpers/test-tools.js';

const tools = [...ALL_TOOLS, sleepJob, resumableJob];
const apps: App[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

async function app(overrides: unknown = {}) {
  const a = await makeApp({ tools, overrides: [overrides] });
  apps.push(a);
  return a;
}

/** Poll until the condition holds (bounded), instead of sleeping and hoping. */
async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Handle {
  job: { id: string; status: string; poll_after_ms?: number; progress?: { done: number; total?: number } };
  result?: { slept_ms: number; label: string };
  error?: { code: string };
}

describe('job ids and the handle', () => {
  it('ids carry at least 128 random bits', () => {
    const ids = new Set(Array.from({ length: 1000 }, newJobId));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      const raw = Buffer.from(id.slice(4), 'base64url');
      expect(raw.length * 8).toBeGreaterThanOrEqual(128);
    }
  });
});

describe('SqliteJobStore', () => {
  it('compare-and-set updates only from the expected statuses', async () => {
    const store = new SqliteJobStore(openDatabase({ dataDir: ':memory:', file: 'x' }));
    const rec = await store.insert({ tool: 't', input: { a: 1 }, owner: 'alice', trace_id: null });
    expect(rec.status).toBe('queued');
    expect(await store.update(rec.id, { status: 'running' }, ['queued'])).toMatchObject({ status: 'running' });
    expect(await store.update(rec.id, { status: 'running' }, ['queued'])).toBeUndefined();
    const done = await store.update(rec.id, { status: 'succeeded', result: { ok: true }, finished_at: new Date(0).toISOString() });
    expect(done).toMatchObject({ result: { ok: true }, input: { a: 1 }, owner: 'alice' });
    expect(await store.list({ owner: 'alice' })).toHaveLength(1);
    expect(await store.list({ owner: 'bob' })).toHaveLength(0);
    expect(await store.deleteFinishedBefore(new Date().toISOString())).toBe(1);
    expect(await store.get(rec.id)).toBeUndefined();
  });
});

describe('job tools through the MCP client', () => {
  it('returns the result inline when the job finishes within the budget', async () => {
    const client = await connectClient(await app());
    const h = structured<Handle>(await client.callTool({ name: 'test_sleep', arguments: { ms: 10, label: 'inline' } }));
    expect(h.job.status).toBe('succeeded');
    expect(h.result).toEqual({ slept_ms: 10, label: 'inline' });
    expect(h.job.poll_after_ms).toBeUndefined();
  });

  it('returns a handle with poll_after_ms past the budget; get_job_status follows it to the result', async () => {
    const a = await app({ jobs: { tools: { test_sleep: { inline_budget_ms: 20 } } } });
    const client = await connectClient(a);
    const h = structured<Handle>(await client.callTool({ name: 'test_sleep', arguments: { ms: 300, steps: 3, label: 'async' } }));
    expect(['queued', 'running']).toContain(h.job.status);
    expect(h.job.poll_after_ms).toBe(1000);
    await a.services.jobs.wait(h.job.id, 5000);
    const s = structured<Handle>(await client.callTool({ name: 'get_job_status', arguments: { job_id: h.job.id } }));
    expect(s.job.status).toBe('succeeded');
    expect(s.job.progress).toMatchObject({ done: 3, total: 3 });
    expect(s.result).toEqual({ slept_ms: 300, label: 'async' });
  });

  it('an expected failure is an isError result with its code; a bug is INTERNAL without internals', async () => {
    const client = await connectClient(await app());
    const r1 = await client.callTool({ name: 'test_sleep', arguments: { ms: 0, fail: 'expected' } });
    expect(errorOf(r1).code).toBe('UPSTREAM_REJECTED');
    expect((r1.structuredContent as unknown as Handle).job.status).toBe('failed');
    const r2 = await client.callTool({ name: 'test_sleep', arguments: { ms: 0, fail: 'bug' } });
    const e2 = errorOf(r2);
    expect(e2.code).toBe('INTERNAL');
    expect(JSON.stringify(r2)).not.toContain('/etc/passwd');
  });

  it('unknown job ids are NOT_FOUND; malformed ids are INVALID_INPUT', async () => {
    const client = await connectClient(await app());
    expect(errorOf(await client.callTool({ name: 'get_job_status', arguments: { job_id: newJobId() } })).code).toBe('NOT_FOUND');
    expect(errorOf(await client.callTool({ name: 'get_job_status', arguments: { job_id: '../../etc' } })).code).toBe('INVALID_INPUT');
  });

  it('cancel_job stops a running job through its signal', async () => {
    const a = await app({ jobs: { tools: { test_sleep: { inline_budget_ms: 0 } } } });
    const client = await connectClient(a);
    const h = structured<Handle>(await client.callTool({ name: 'test_sleep', arguments: { ms: 20_000, steps: 100, label: 'cancel-running' } }));
    await until(async () => (await a.services.jobs.store.get(h.job.id))?.status === 'running');
    const c = structured<Handle>(await client.callTool({ name: 'cancel_job', arguments: { job_id: h.job.id } }));
    expect(c.job.status).toBe('cancelled');
    expect(c.error).toMatchObject({ code: 'CANCELLED', message: 'Cancelled on request.' });
    expect(runs.get('cancel-running')).toBe(1); // it was running, and stopped through its signal
  });

  it('honours the per-tool concurrency limit and cancels queued jobs at once', async () => {
    const a = await app({ jobs: { tools: { test_sleep: { inline_budget_ms: 0, concurrency: 1 } } } });
    const client = await connectClient(a);
    const first = structured<Handle>(await client.callTool({ name: 'test_sleep', arguments: { ms: 400, label: 'c1' } }));
    const second = structured<Handle>(await client.callTool({ name: 'test_sleep', arguments: { ms: 10, label: 'c2' } }));
    const third = structured<Handle>(await client.callTool({ name: 'test_sleep', arguments: { ms: 10, label: 'c3' } }));
    await until(async () => (await a.services.jobs.store.get(first.job.id))?.status === 'running');
    expect((await a.services.jobs.store.get(second.job.id))?.status).toBe('queued');
    const cancelled = structured<Handle>(await client.callTool({ name: 'cancel_job', arguments: { job_id: third.job.id } }));
    expect(cancelled.job.status).toBe('cancelled');
    expect((await a.services.jobs.wait(second.job.id, 5000))?.status).toBe('succeeded');
    expect(runs.get('c3')).toBeUndefined();
  });

  it('forwards job progress as MCP progress notifications when the caller sent a token', async () => {
    const client = await connectClient(await app({ jobs: { tools: { test_sleep: { inline_budget_ms: 5000 } } } }));
    const seen: Array<{ progress: number; total?: number }> = [];
    const r = await client.callTool({ name: 'test_sleep', arguments: { ms: 60, steps: 3 } }, undefined, { onprogress: (p) => seen.push(p) });
    expect(structured<Handle>(r).job.status).toBe('succeeded');
    expect(seen.map((p) => p.progress)).toEqual([1, 2, 3]);
    expect(seen[0]?.total).toBe(3);
  });
});

describe('recovery after a restart', () => {
  it('queued jobs resume; running jobs resume only when resumable, else become interrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shield-jobs-'));
    const cfg = testConfig({ store: { data_dir: dir } });
    // A previous process left these behind.
    const db = openDatabase({ dataDir: dir, file: cfg.store.file });
    const store = new SqliteJobStore(db);
    const queued = await store.insert({ tool: 'test_sleep', input: { ms: 1, label: 'r-queued' }, owner: null, trace_id: null });
    const running = await store.insert({ tool: 'test_sleep', input: { ms: 1, label: 'r-running' }, owner: null, trace_id: null });
    await store.update(running.id, { status: 'running', attempts: 1 });
    const resumable = await store.insert({ tool: 'test_resumable', input: { ms: 1, label: 'r-resumable' }, owner: null, trace_id: null });
    await store.update(resumable.id, { status: 'running', attempts: 1 });
    db.close();

    const a = await makeApp({ config: cfg, tools });
    apps.push(a);
    expect((await a.services.jobs.wait(queued.id, 5000))?.status).toBe('succeeded');
    expect((await a.services.jobs.wait(resumable.id, 5000))).toMatchObject({ status: 'succeeded', attempts: 2 });
    const r = await a.services.jobs.store.get(running.id);
    expect(r?.status).toBe('interrupted');
    expect(toHandle(r!, 1000).error?.hint).toMatch(/Check the target system/);
    expect(runs.get('r-running')).toBeUndefined();
  });

  it('deletes finished jobs after their TTL', async () => {
    const a = await app({ jobs: { ttl_s: 1 } });
    const rec = await a.services.jobs.store.insert({ tool: 'test_sleep', input: {}, owner: null, trace_id: null });
    await a.services.jobs.store.update(rec.id, { status: 'succeeded', finished_at: new Date(Date.now() - 5000).toISOString() });
    await (a.services.jobs as unknown as { cleanup(): Promise<void> }).cleanup();
    expect(await a.services.jobs.store.get(rec.id)).toBeUndefined();
  });
});
