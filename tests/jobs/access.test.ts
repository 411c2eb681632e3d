import { afterEach, describe, expect, it } from 'vitest';
import { GetTaskResultSchema, ListTasksResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { ALL_TOOLS } from '../../src/tools/inventory.js';
import type { App } from '../../src/app.js';
import type { Principal } from '../../src/auth/principal.js';
import { connectClient, errorOf, makeApp, structured } from '../helpers/app.js';
import { sleepJob } from '../helpers/test-tools.js';

const alice: Principal = { id: 'alice', scopes: ['shield:jobs'], operator: false };
const bob: Principal = { id: 'bob', scopes: ['shield:jobs'], operator: false };
const ops: Principal = { id: 'ops', scopes: ['shield:operator'], operator: true };

const apps: App[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

async function setup(overrides: unknown = {}) {
  const app = await makeApp({ tools: [...ALL_TOOLS, sleepJob], overrides: [{ server: { shutdown_timeout_ms: 200 }, jobs: { tools: { test_sleep: { inline_budget_ms: 0 } } } }, overrides] });
  apps.push(app);
  return { app, a: await connectClient(app, {}, alice), b: await connectClient(app, {}, bob), o: await connectClient(app, {}, ops) };
}

describe('jobs and tasks belong to the principal that created them', () => {
  it('only the owner and operators can see or cancel a job', async () => {
    const { app, a, b, o } = await setup();
    const h = structured<{ job: { id: string } }>(await a.callTool({ name: 'test_sleep', arguments: { ms: 5000, steps: 50 } }));
    expect((await app.services.jobs.store.get(h.job.id))?.owner).toBe('alice');
    expect(errorOf(await b.callTool({ name: 'get_job_status', arguments: { job_id: h.job.id } })).code).toBe('NOT_FOUND');
    expect(errorOf(await b.callTool({ name: 'cancel_job', arguments: { job_id: h.job.id } })).code).toBe('NOT_FOUND');
    await expect(b.request({ method: 'tasks/get', params: { taskId: h.job.id } }, GetTaskResultSchema)).rejects.toThrow(/Task not found/);
    expect((await b.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema)).tasks).toEqual([]);
    expect(structured<{ job: { id: string } }>(await a.callTool({ name: 'get_job_status', arguments: { job_id: h.job.id } })).job.id).toBe(h.job.id);
    expect((await o.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema)).tasks.map((t) => t.taskId)).toContain(h.job.id);
    const c = structured<{ job: { status: string } }>(await o.callTool({ name: 'cancel_job', arguments: { job_id: h.job.id } }));
    expect(c.job.status).toBe('cancelled');
  });

  it('caps the unfinished jobs of one principal; operators are exempt', async () => {
    const { a, b, o } = await setup({ jobs: { max_active_per_principal: 2 } });
    for (let i = 0; i < 2; i++) structured(await a.callTool({ name: 'test_sleep', arguments: { ms: 5000, steps: 50 } }));
    const e = errorOf(await a.callTool({ name: 'test_sleep', arguments: { ms: 10 } }));
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retry_after_s).toBeGreaterThan(0);
    structured(await b.callTool({ name: 'test_sleep', arguments: { ms: 10 } }));
    for (let i = 0; i < 3; i++) structured(await o.callTool({ name: 'test_sleep', arguments: { ms: 10 } }));
  });
});

describe('create_ticket idempotency keys are scoped to the caller', () => {
  it('the same key from another principal opens its own ticket; from the same principal, the first ticket', async () => {
    const { a, b } = await setup();
    const args = { summary: 'Disk full on db01', idempotency_key: 'alert-4711' };
    type T = { result: { number: string; created: boolean } };
    const first = structured<T>(await a.callTool({ name: 'create_ticket', arguments: args }));
    const again = structured<T>(await a.callTool({ name: 'create_ticket', arguments: args }));
    const other = structured<T>(await b.callTool({ name: 'create_ticket', arguments: args }));
    expect(first.result.created).toBe(true);
    expect(again.result).toMatchObject({ number: first.result.number, created: false });
    expect(other.result.created).toBe(true);
    expect(other.result.number).not.toBe(first.result.number);
  });
});
