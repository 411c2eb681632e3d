// create_ticket against the ServiceNow fake through a real MCP client: every fault ends with
// exactly one ticket upstream per call, none lost; the breaker opens, fails fast and recovers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceNowFake } from '../fakes/servicenow/servicenow-fake.js';
import { errorOf } from '../helpers/app.js';
import { createTicket, fastItsm, metric, start, type Ctx } from './helpers.js';

const fake = new ServiceNowFake({ auth: { type: 'basic', username: 'shield', password: 's3cret' } });
let ctx: Ctx;
const env = { SN_PASSWORD: 's3cret' };
const snConfig = (): unknown =>
  fastItsm({ default_platform: 'servicenow', servicenow: { enabled: true, instance_url: fake.baseUrl, auth: { type: 'basic', username: 'shield', password_env: 'SN_PASSWORD' } } });

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await ctx?.close();
  fake.clearFaults();
  fake.tables.clear();
});

const withKey = (key: string): ReturnType<typeof fake.records> => fake.records().filter((r) => r.correlation_id === key);
const posts = (): number => fake.requests.filter((r) => r.method === 'POST' && r.path.includes('/table/')).length;

describe('ServiceNow create_ticket', () => {
  it('creates an incident with correlation_id, plain-text description and a URL', async () => {
    ctx = await start(snConfig(), env);
    const r = await createTicket(ctx.client, {
      summary: 'Payments API down',
      description: '## Impact\n\nCheckout fails for **all** users.\n\n- retry\n- page on-call\n\n<script>alert(1)</script>',
      priority: 'P1',
      category: 'software',
      assignment_group: 'Payments',
      idempotency_key: 'alert-sn-0001',
    });
    expect(r.created).toBe(true);
    expect(r.number).toMatch(/^INC\d{7}$/);
    expect(r.id).toMatch(/^[0-9a-f]{32}$/);
    expect(r.url).toContain(`${fake.baseUrl}/nav_to.do?uri=`);
    expect(r.retry).toEqual({ attempts: 1, delays_ms: [], errors: [] });
    const recs = withKey(r.idempotency_key);
    expect(recs).toHaveLength(1);
    const rec = recs[0]!;
    expect(rec).toMatchObject({ short_description: 'Payments API down', urgency: '1', impact: '1', priority: '1', category: 'software', assignment_group: 'Payments', correlation_display: 'shield' });
    expect(rec.description).toBe('Impact\n\nCheckout fails for all users.\n\n- retry\n- page on-call\n\n&lt;script&gt;alert(1)&lt;/script&gt;');
    const got = await ctx.client.callTool({ name: 'get_ticket', arguments: { platform: 'servicenow', id: r.number! } });
    expect(got.structuredContent).toMatchObject({ number: r.number, state: 'New', summary: 'Payments API down', priority: '1' });
    expect(await metric(ctx.app, 'shield_itsm_ticket_creation_total', { platform: 'servicenow', outcome: 'created' })).toBe(1);
  });

  it('dry_run returns the exact Table API request and sends nothing', async () => {
    ctx = await start(snConfig(), env);
    const before = fake.requests.length;
    const r = await createTicket(ctx.client, { template: 'outage', variables: { service: 'db', symptoms: 'down', started_at: 'now' }, dry_run: true, idempotency_key: 'dry-run-key-1' });
    expect(fake.requests.length).toBe(before);
    expect(r.request).toEqual({
      method: 'POST',
      path: '/api/now/v2/table/incident?sysparm_exclude_reference_link=true',
      body: {
        short_description: '[PROD] Outage: db',
        description: 'Outage of db in PROD since now.\n\nSymptoms: down\n\nDetected by: Shield agent',
        urgency: '1',
        impact: '1',
        category: 'software',
        correlation_id: r.idempotency_key,
        correlation_display: 'shield',
      },
    });
  });

  it('the same idempotency key returns the first ticket with created:false', async () => {
    ctx = await start(snConfig(), env);
    const a = await createTicket(ctx.client, { summary: 'once', idempotency_key: 'same-key-0001' });
    const b = await createTicket(ctx.client, { summary: 'once', idempotency_key: 'same-key-0001' });
    expect(b).toMatchObject({ created: false, number: a.number, id: a.id });
    expect(withKey(a.idempotency_key)).toHaveLength(1);
    // A fresh process (new app, empty ledger) finds it upstream by correlation_id.
    await ctx.close();
    ctx = await start(snConfig(), env);
    const c = await createTicket(ctx.client, { summary: 'once', idempotency_key: 'same-key-0001' });
    expect(c).toMatchObject({ created: false, number: a.number });
    expect(withKey(a.idempotency_key)).toHaveLength(1);
  });

  it('429 with Retry-After: 0 waits at least the base delay, never a tight loop', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'status', status: 429, headers: { 'retry-after': '0' } }, { times: 2 });
    const r = await createTicket(ctx.client, { summary: 'rate limited', idempotency_key: 'rl-zero-0001' });
    expect(r.retry!.attempts).toBe(3);
    expect(r.retry!.delays_ms).toEqual([20, 20]);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
    expect(await metric(ctx.app, 'shield_itsm_ticket_retry_attempts_total', { platform: 'servicenow' })).toBe(2);
  });

  it('429 with Retry-After in seconds and with X-RateLimit-Reset (Unix seconds) are honoured', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    fake.inject({ kind: 'status', status: 429, headers: { 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1), 'x-ratelimit-limit': '100', 'x-ratelimit-rule': 'shield' } });
    const r = await createTicket(ctx.client, { summary: 'rate limited', idempotency_key: 'rl-secs-0001' });
    expect(r.retry!.delays_ms[0]).toBe(1000);
    expect(r.retry!.delays_ms[1]).toBeGreaterThan(0);
    expect(r.retry!.delays_ms[1]).toBeLessThanOrEqual(2000);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
  });

  it('429 without any hint backs off exponentially', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'status', status: 429 }, { times: 2 });
    const r = await createTicket(ctx.client, { summary: 'rate limited', idempotency_key: 'rl-none-0001' });
    expect(r.retry!.delays_ms).toEqual([20, 40]);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
  });

  it('a Retry-After beyond the cap fails at once as UPSTREAM_RATE_LIMITED with retry_after_s', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
    const e = errorOf(await ctx.client.callTool({ name: 'create_ticket', arguments: { summary: 'x', idempotency_key: 'rl-long-0001' } }));
    expect(e.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(e.retry_after_s).toBe(3600);
    expect(fake.records()).toHaveLength(0);
  });

  it('a 503 burst: looks up after each (ambiguous) failure, then creates exactly one', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'status', status: 503 }, { times: 2 });
    const r = await createTicket(ctx.client, { summary: 'burst', idempotency_key: 'burst-0001' });
    expect(r.retry!.attempts).toBe(3);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
    const lookups = fake.requests.filter((q) => q.method === 'GET' && q.path.includes(`correlation_id%3D${r.idempotency_key}`));
    expect(lookups.length).toBeGreaterThanOrEqual(3); // first (caller key) + after each 503
  });

  it('a hung connection times out, is looked up, and retried: one ticket', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'hang' });
    const r = await createTicket(ctx.client, { summary: 'hung', idempotency_key: 'hang-0001' });
    expect(r.retry!.errors[0]).toMatch(/timeout/i);
    expect(r.retry!.attempts).toBe(2);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
  });

  it('a slow answer (committed, answered after the timeout) is found by the look-up: no duplicate', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'slow', ms: 1_000 });
    const r = await createTicket(ctx.client, { summary: 'slow', idempotency_key: 'slow-0001' });
    expect(r.created).toBe(true);
    expect(r.retry!.attempts).toBe(1);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
    expect(withKey(r.idempotency_key)[0]!.number).toBe(r.number);
  });

  it('the duplicate trap (committed, answer lost) ends with the one ticket that exists', async () => {
    ctx = await start(snConfig(), env);
    const before = posts();
    fake.inject({ kind: 'lost' });
    const r = await createTicket(ctx.client, { summary: 'lost', idempotency_key: 'lost-0001' });
    expect(posts() - before).toBe(1);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
    expect(withKey(r.idempotency_key)[0]!.number).toBe(r.number);
  });

  it('a 201 whose body has no record is treated like a lost answer: looked up, never sent twice', async () => {
    ctx = await start(snConfig(), env);
    const before = posts();
    fake.inject({ kind: 'garbled' }, { target: 'create' });
    const r = await createTicket(ctx.client, { summary: 'garbled', idempotency_key: 'garbled-0001' });
    expect(posts() - before).toBe(1);
    expect(withKey(r.idempotency_key)).toHaveLength(1);
    expect(withKey(r.idempotency_key)[0]!.number).toBe(r.number);
  });

  it('without a caller key, a lost answer is still not duplicated (the job is the key)', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'lost' });
    const r = await createTicket(ctx.client, { summary: 'lost, no key' });
    expect(fake.records().filter((x) => x.short_description === 'lost, no key')).toHaveLength(1);
    expect(r.number).toBe(withKey(r.idempotency_key)[0]!.number);
  });

  it('answer lost and every look-up failing: no second create; a later call with the key finds the ticket', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'lost' });
    // The first look-up (caller key, before creating) passes; those after the lost answer fail.
    fake.inject({ kind: 'status', status: 503 }, { target: 'lookup', after: 1, times: 10 });
    const before = posts();
    const e = errorOf(await ctx.client.callTool({ name: 'create_ticket', arguments: { summary: 'lost twice', idempotency_key: 'lost-lookup-0001' } }));
    expect(e.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(posts() - before).toBe(1);
    expect((e.details as { retry: { errors: string[] } }).retry.errors[1]).toMatch(/^look-up: HTTP 503/);
    fake.clearFaults();
    const again = await createTicket(ctx.client, { summary: 'lost twice', idempotency_key: 'lost-lookup-0001' });
    const recs = fake.records().filter((x) => x.short_description === 'lost twice');
    expect(recs).toHaveLength(1);
    expect(again).toMatchObject({ created: false, number: recs[0]!.number });
    expect(posts() - before).toBe(1);
  });

  it('a 400 with a field error fails at once as UPSTREAM_REJECTED carrying the field', async () => {
    ctx = await start(snConfig(), env);
    fake.inject({ kind: 'status', status: 400, body: { error: { message: 'Invalid value', detail: 'Invalid value for field: assignment_group' }, status: 'failure' } });
    const e = errorOf(await ctx.client.callTool({ name: 'create_ticket', arguments: { summary: 'bad group', assignment_group: 'Nobody', idempotency_key: 'reject-0001' } }));
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.details).toMatchObject({ status: 400, field_errors: { assignment_group: 'Invalid value for field: assignment_group' }, retry: { attempts: 1 } });
    expect(fake.records()).toHaveLength(0);
  });

  it('a missing secret is a clear error naming the environment variable', async () => {
    ctx = await start(snConfig(), {});
    const e = errorOf(await ctx.client.callTool({ name: 'create_ticket', arguments: { summary: 'x' } }));
    expect(e.code).toBe('FORBIDDEN');
    expect(e.message).toContain('SN_PASSWORD');
  });
});

describe('ServiceNow breaker', () => {
  it('opens after the configured failures, fails fast without calling, and recovers', async () => {
    ctx = await start(
      { ...(snConfig() as object), breakers: { upstreams: { servicenow: { timeout_ms: 2_000, error_threshold_percent: 50, volume_threshold: 3, reset_timeout_ms: 400, rolling_window_ms: 10_000, rolling_buckets: 10 } } } },
      env,
    );
    fake.inject({ kind: 'status', status: 503 }, { target: 'any', times: 1000 });
    const first = errorOf(await ctx.client.callTool({ name: 'create_ticket', arguments: { summary: 'b1', idempotency_key: 'breaker-0001' } }));
    expect(first.code).toBe('UPSTREAM_UNAVAILABLE');
    // 3 failed requests (look-up, look-up, look-up: every one 503) reach the volume threshold.
    expect(fake.requests.length).toBeGreaterThanOrEqual(3);
    expect(ctx.app.services.breakers.get('servicenow').state).toBe('open');
    const seen = fake.requests.length;
    const fast = errorOf(await ctx.client.callTool({ name: 'create_ticket', arguments: { summary: 'b2', idempotency_key: 'breaker-0002' } }));
    expect(fast.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(fast.retry_after_s).toBeGreaterThanOrEqual(1);
    expect(fake.requests.length).toBe(seen); // failed fast: nothing reached the upstream
    expect(fake.records()).toHaveLength(0);
    // The upstream heals; after reset_timeout_ms a trial call goes through and closes the breaker.
    fake.clearFaults();
    await new Promise((r) => setTimeout(r, 500));
    const ok = await createTicket(ctx.client, { summary: 'b1', idempotency_key: 'breaker-0001' });
    expect(ok.created).toBe(true);
    expect(ctx.app.services.breakers.get('servicenow').state).toBe('closed');
    expect(fake.records()).toHaveLength(1);
  });
});

describe('ServiceNow OAuth', () => {
  const oauthFake = new ServiceNowFake({ auth: { type: 'oauth', clientId: 'cid', clientSecret: 'csecret', username: 'shield', password: 'pw' } });
  let octx: Ctx;
  beforeAll(async () => {
    await oauthFake.start();
  });
  afterAll(async () => {
    await octx?.close();
    await oauthFake.close();
  });

  it('caches the token, shares one refresh between concurrent calls, refreshes on 401, and reports a revoked grant', async () => {
    octx = await start(
      fastItsm({
        default_platform: 'servicenow',
        servicenow: { enabled: true, instance_url: oauthFake.baseUrl, auth: { type: 'oauth_password', username: 'shield', client_id: 'cid', client_secret_env: 'SN_SECRET', password_env: 'SN_PW' } },
      }),
      { SN_SECRET: 'csecret', SN_PW: 'pw' },
    );
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => createTicket(octx.client, { summary: `oauth ${i}`, idempotency_key: `oauth-key-000${i}` })));
    expect(results.every((r) => r.created)).toBe(true);
    expect(oauthFake.tokenGrants).toBe(1);
    expect(oauthFake.records()).toHaveLength(5);

    oauthFake.expireTokens();
    const after = await createTicket(octx.client, { summary: 'after expiry', idempotency_key: 'oauth-key-0006' });
    expect(after.created).toBe(true);
    expect(oauthFake.tokenGrants).toBe(2);
    expect(oauthFake.records().filter((r) => r.short_description === 'after expiry')).toHaveLength(1);

    oauthFake.revokeCredentials();
    oauthFake.expireTokens();
    const e = errorOf(await octx.client.callTool({ name: 'create_ticket', arguments: { summary: 'revoked', idempotency_key: 'oauth-key-0007' } }));
    expect(e.code).toBe('FORBIDDEN');
    expect(oauthFake.records().filter((r) => r.short_description === 'revoked')).toHaveLength(0);
  });
});
