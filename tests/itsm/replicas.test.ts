// Two apps on the Redis job backend (as two replicas would be) share the ticket ledger, the
// per-key lock and rotated tokens: the same key sent through both gives exactly one Jira issue,
// even while Jira search lags behind writes.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraFake, JIRA_OPENAPI_PATH } from '../fakes/jira/jira-fake.js';
import { RedisKeyLock } from '../../src/providers/itsm/redis-state.js';
import { createTicket, fastItsm, start, type Ctx } from './helpers.js';

const redis = new Redis('redis://127.0.0.1:6379');
const prefix = `shield-itsm-${randomBytes(5).toString('hex')}`;
// A long search lag: only the shared ledger can tell the second replica about the first issue.
const cloud = new JiraFake({ deployment: 'cloud', auth: { type: 'basic', email: 'bot@example.com', apiToken: 'tok' }, openApiPath: JIRA_OPENAPI_PATH, searchLagMs: 60_000 });
const ctxs: Ctx[] = [];

beforeAll(async () => {
  await cloud.start();
});
afterAll(async () => {
  for (const c of ctxs) await c.close();
  await cloud.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('ITSM state shared by replicas on Redis', () => {
  it('one key sent through two replicas at once gives one Jira issue; both answers name it', async () => {
    const config = {
      ...(fastItsm({
        default_platform: 'jira',
        jira: { enabled: true, deployment: 'cloud', base_url: cloud.baseUrl, project_key: 'OPS', lookup_settle_ms: 100, lookup_poll_ms: 20, auth: { type: 'basic', email: 'bot@example.com', api_token_env: 'JIRA_TOKEN' } },
      }) as object),
      jobs: { backend: 'redis', redis: { prefix }, tools: { create_ticket: { inline_budget_ms: 20_000 } } },
    };
    const a = await start(config, { JIRA_TOKEN: 'tok' });
    ctxs.push(a);
    const b = await start(config, { JIRA_TOKEN: 'tok' });
    ctxs.push(b);
    const args = { summary: 'Payments 502s', idempotency_key: 'alert-replicas-1' };
    const [ra, rb] = await Promise.all([createTicket(a.client, args), createTicket(b.client, args)]);
    expect(cloud.issues).toHaveLength(1);
    expect(ra.number).toBe(rb.number);
    expect([ra.created, rb.created].sort()).toEqual([false, true]);
  });

  it('the Redis key lock admits one holder at a time across instances and gives up with CONFLICT', async () => {
    const l1 = new RedisKeyLock(redis, prefix, { ttlMs: 5_000, maxWaitMs: 300 });
    const l2 = new RedisKeyLock(redis, prefix, { ttlMs: 5_000, maxWaitMs: 300 });
    const order: string[] = [];
    let release!: () => void;
    const held = l1.run('k', async () => {
      order.push('l1 in');
      await new Promise<void>((r) => (release = r));
      order.push('l1 out');
    });
    await new Promise((r) => setTimeout(r, 20));
    await expect(l2.run('k', async () => order.push('l2 in'))).rejects.toMatchObject({ code: 'CONFLICT' });
    const waiting = new RedisKeyLock(redis, prefix, { maxWaitMs: 5_000 }).run('k', async () => order.push('l3 in'));
    release();
    await held;
    await waiting;
    expect(order).toEqual(['l1 in', 'l1 out', 'l3 in']);
  });

  it('a lock whose holder died lapses after its lease', async () => {
    await redis.set(`${prefix}:itsm:lock:dead`, 'someone-gone', 'PX', 150);
    const l = new RedisKeyLock(redis, prefix, { maxWaitMs: 2_000 });
    await expect(l.run('dead', async () => 'ran')).resolves.toBe('ran');
  });
});
