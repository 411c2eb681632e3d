// The operator's HTTP endpoint for approvals: only an authenticated operator decides; the job that
// waits in awaiting_approval then applies (or fails on a denial), and the decision is audited.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpAuth } from '../../src/transports/auth/authenticator.js';
import { serveHttp, type HttpHandle } from '../../src/transports/http.js';
import type { App } from '../../src/app.js';
import { connectClient, makeApp, testConfig } from '../helpers/app.js';
import { call, cleanupInstances, ensureBuilt, makeInstance, remediationConfig, waitJob, type TestInstance } from './helpers.js';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
let inst: TestInstance;
let app: App;
let http: HttpHandle;
let base: string;

beforeAll(async () => {
  ensureBuilt();
  inst = await makeInstance('adminhttp', { policy: 'confirm' });
  app = await makeApp({
    config: testConfig(remediationConfig([inst]), {
      auth: {
        mode: 'bearer',
        tokens: [
          { id: 'olivia', sha256: sha('ops-token'), scopes: ['shield:remediation'], operator: true },
          { id: 'agent', sha256: sha('agent-token'), scopes: ['shield:remediation'] },
        ],
      },
    }),
  });
  const auth = createHttpAuth(app.services.config, { logger: app.services.logger });
  http = await serveHttp(app, { host: '127.0.0.1', port: 0, authenticator: auth.authenticator!, serverOptions: { visibleTools: auth.visibleTools } });
  base = http.url.replace(/\/mcp$/, '');
});
afterAll(async () => {
  await http?.close();
  cleanupInstances();
});

const admin = (path: string, token: string | undefined, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...(init.headers ?? {}) } });

describe('the approvals admin endpoint', () => {
  it('needs a token, then the operator scope; the operator approves and the waiting job applies', async () => {
    const client = await connectClient(app); // in-memory, no elicitation: the job must wait for a person
    const plan = await call(client, 'apply_cpf_change', { instance: 'adminhttp', changes: [{ section: 'config', parameter: 'routines', value: '96' }], reason: 'cache' });
    const pending = await call(client, 'apply_cpf_change', { instance: 'adminhttp', plan_id: plan.handle.result!.plan_id, reason: 'apply' });
    expect(pending.handle.job.status).toBe('awaiting_approval');
    const id = pending.handle.job.id;

    expect((await admin('/admin/approvals', undefined)).status).toBe(401);
    expect((await admin(`/admin/approvals/${id}/approve`, 'agent-token', { method: 'POST', body: '{}' })).status).toBe(403);
    const listed = (await (await admin('/admin/approvals', 'ops-token')).json()) as { pending: Array<{ job_id: string; summary: string }> };
    expect(listed.pending.map((p) => p.job_id)).toContain(id);
    expect(listed.pending.find((p) => p.job_id === id)!.summary).toContain('+routines=96');

    const ok = await admin(`/admin/approvals/${id}/approve`, 'ops-token', { method: 'POST', body: JSON.stringify({ reason: 'reviewed the diff' }) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ decision: 'approved', job_id: id, by: 'operator:olivia' });
    const done = await waitJob(client, id);
    expect(done.job.status).toBe('succeeded');
    expect(done.result!.approved_by).toBe('operator:olivia');
    expect(readFileSync(join(inst.dir, 'iris.cpf'), 'utf8')).toContain('routines=96');
    // Decided once only.
    expect((await admin(`/admin/approvals/${id}/deny`, 'ops-token', { method: 'POST', body: JSON.stringify({ reason: 'late' }) })).status).toBe(409);
    expect(app.services.audit.list({ job_id: id, kind: 'approval' })[0]).toMatchObject({ actor: 'operator:olivia', details: { via: 'http' } });
    await client.close();
  });

  it('a denial needs a reason, and fails the job with it', async () => {
    const client = await connectClient(app);
    const plan = await call(client, 'apply_cpf_change', { instance: 'adminhttp', changes: [{ section: 'config', parameter: 'routines', value: '112' }], reason: 'cache' });
    const pending = await call(client, 'apply_cpf_change', { instance: 'adminhttp', plan_id: plan.handle.result!.plan_id, reason: 'apply' });
    const id = pending.handle.job.id;
    expect((await admin(`/admin/approvals/${id}/deny`, 'ops-token', { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await admin(`/admin/approvals/${id}/deny`, 'ops-token', { method: 'POST', body: JSON.stringify({ reason: 'change freeze' }) })).status).toBe(200);
    const done = await waitJob(client, id);
    expect(done.job.status).toBe('failed');
    expect(done.error!.message).toContain('change freeze');
    await client.close();
  });
});
