// create_ticket / get_ticket on the local desk through a real MCP client (zero setup).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, errorOf, makeApp, structured } from '../helpers/app.js';
import type { App } from '../../src/app.js';

interface Handle {
  job: { id: string; status: string };
  result?: Record<string, unknown> & { created: boolean; number: string };
}

describe('create_ticket on the local desk', () => {
  let app: App;
  let client: Client;
  beforeAll(async () => {
    app = await makeApp();
    client = await connectClient(app);
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('lists create_ticket and get_ticket with explicit annotations', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(expect.arrayContaining(['create_ticket', 'get_ticket']));
    const create = tools.find((t) => t.name === 'create_ticket')!;
    expect(create.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
    const get = tools.find((t) => t.name === 'get_ticket')!;
    expect(get.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
  });

  it('creates a numbered ticket with an SLA due time from the priority policy', async () => {
    const before = Date.now();
    const res = structured<Handle>(await client.callTool({ name: 'create_ticket', arguments: { summary: 'Disk full on db01', description: 'See **alerts**', priority: 'P1' } }));
    expect(res.job.status).toBe('succeeded');
    const r = res.result!;
    expect(r.platform).toBe('local');
    expect(r.number).toMatch(/^LOC-\d{6}$/);
    expect(r.created).toBe(true);
    expect(r.state).toBe('new');
    const due = Date.parse(String(r.sla_due_at));
    // P1 policy is 60 minutes.
    expect(due - before).toBeGreaterThanOrEqual(59 * 60_000);
    expect(due - before).toBeLessThanOrEqual(61 * 60_000);
    const got = structured<Record<string, unknown>>(await client.callTool({ name: 'get_ticket', arguments: { id: r.number } }));
    expect(got).toMatchObject({ platform: 'local', number: r.number, state: 'new', summary: 'Disk full on db01', priority: 'P1' });
  });

  it('numbers tickets sequentially', async () => {
    const a = structured<Handle>(await client.callTool({ name: 'create_ticket', arguments: { summary: 'first' } })).result!;
    const b = structured<Handle>(await client.callTool({ name: 'create_ticket', arguments: { summary: 'second' } })).result!;
    expect(Number(b.number.slice(4))).toBe(Number(a.number.slice(4)) + 1);
  });

  it('creates from a template and returns the same ticket for the same idempotency key', async () => {
    const args = {
      template: 'outage',
      variables: { service: 'payments', symptoms: 'HTTP 502 on checkout', started_at: '2026-11-02T18:00Z' },
      idempotency_key: 'alert-12345-payments',
    };
    const first = structured<Handle>(await client.callTool({ name: 'create_ticket', arguments: args })).result!;
    const second = structured<Handle>(await client.callTool({ name: 'create_ticket', arguments: args })).result!;
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.number).toBe(first.number);
    const got = structured<Record<string, unknown>>(await client.callTool({ name: 'get_ticket', arguments: { id: first.number } }));
    expect(got.summary).toBe('[PROD] Outage: payments');
    expect(got.priority).toBe('P1');
    const count = (app.services.db.prepare("SELECT COUNT(*) AS n FROM itsm_local_tickets WHERE summary = '[PROD] Outage: payments'").get() as { n: number }).n;
    expect(count).toBe(1);
  });

  it('dry_run returns the exact row it would insert and inserts nothing', async () => {
    const n = (): number => (app.services.db.prepare('SELECT COUNT(*) AS n FROM itsm_local_tickets').get() as { n: number }).n;
    const before = n();
    const res = structured<Handle>(await client.callTool({ name: 'create_ticket', arguments: { summary: 'dry', description: '<script>alert(1)</script> hi', dry_run: true } })).result!;
    expect(res.dry_run).toBe(true);
    expect(res.created).toBe(false);
    const body = (res.request as { body: Record<string, unknown> }).body;
    expect(body.summary).toBe('dry');
    expect(body.description).toBe('&lt;script&gt;alert(1)&lt;/script&gt; hi');
    expect(n()).toBe(before);
  });

  it('fails validation with every problem listed, creating nothing', async () => {
    const res = await client.callTool({ name: 'create_ticket', arguments: { priority: 'urgent', labels: ['has space', 'ok'], category: 'x'.repeat(41) } });
    const err = errorOf(res);
    expect(err.code).toBe('VALIDATION_FAILED');
    const errors = (err.details as { errors: Array<{ field: string; code: string }> }).errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'summary', code: 'required_field_missing' }),
        expect.objectContaining({ field: 'priority', code: 'invalid_enum_value' }),
        expect.objectContaining({ field: 'labels[0]', code: 'pattern_mismatch' }),
        expect.objectContaining({ field: 'category', code: 'max_length_exceeded' }),
      ]),
    );
    const text = await app.services.metrics.text();
    expect(text).toMatch(/shield_itsm_validation_errors_total\{platform="local",field="priority"\} 1/);
  });

  it('refuses a platform that is not enabled with invalid_platform', async () => {
    const err = errorOf(await client.callTool({ name: 'create_ticket', arguments: { platform: 'servicenow', summary: 'x' } }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(err.details)).toContain('invalid_platform');
  });

  it('counts creations in shield_itsm_ticket_creation_total', async () => {
    const text = await app.services.metrics.text();
    expect(text).toMatch(/shield_itsm_ticket_creation_total\{platform="local",outcome="created"\} \d+/);
    expect(text).toMatch(/shield_itsm_ticket_creation_total\{platform="local",outcome="existing"\} 1/);
    expect(text).toMatch(/shield_itsm_ticket_creation_duration_seconds_count\{platform="local"\} \d+/);
  });
});
