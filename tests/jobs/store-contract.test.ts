// One contract suite, run against every JobStore implementation (SQLite and Redis).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteJobStore } from '../../src/jobs/sqlite-store.js';
import { RedisJobStore } from '../../src/jobs/redis-store.js';
import type { JobStore } from '../../src/jobs/store.js';

const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `shield-test-${randomBytes(6).toString('hex')}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const backends: Array<[string, () => JobStore]> = [
  ['sqlite', () => new SqliteJobStore(openDatabase({ dataDir: ':memory:', file: 'x' }))],
  ['redis', () => new RedisJobStore(redis, `${prefix}-${randomBytes(3).toString('hex')}`)],
];

describe.each(backends)('JobStore contract: %s', (_name, make) => {
  it('stores the record faithfully, including empty arrays and nested input', async () => {
    const store = make();
    const input = { labels: [], nested: { list: [1, { a: [] }], s: 'é"\n' }, n: null };
    const rec = await store.insert({ tool: 'create_ticket', input, owner: 'alice', trace_id: 't1' });
    expect(rec).toMatchObject({ status: 'queued', attempts: 0, owner: 'alice', trace_id: 't1', cancel_requested: false, result: null, error: null });
    expect((await store.get(rec.id))?.input).toEqual(input);
    expect(await store.get('job_missing')).toBeUndefined();
  });

  it('compare-and-set: a transition happens once, whoever asks', async () => {
    const store = make();
    const rec = await store.insert({ tool: 't', input: {}, owner: null, trace_id: null });
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.update(rec.id, { status: 'running', attempts: 1 }, ['queued'])));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const done = await store.update(rec.id, { status: 'succeeded', result: { key: 'LOC-1', list: [] }, progress: { done: 1, total: 1 } }, ['running']);
    expect(done).toMatchObject({ status: 'succeeded', result: { key: 'LOC-1', list: [] }, progress: { done: 1, total: 1 } });
    expect(await store.update(rec.id, { status: 'running' }, ['queued'])).toBeUndefined();
    expect(await store.update('job_missing', { status: 'running' })).toBeUndefined();
  });

  it('lists by owner, status and tool, newest first, with a limit', async () => {
    const store = make();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await store.insert({ tool: i % 2 ? 'a' : 'b', input: { i }, owner: i < 3 ? 'alice' : 'bob', trace_id: null })).id);
      await new Promise((r) => setTimeout(r, 3));
    }
    await store.update(ids[0]!, { status: 'running' });
    expect((await store.list({ owner: 'alice' })).map((r) => r.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect((await store.list({ owner: 'bob', tool: 'a' })).map((r) => r.id)).toEqual([ids[3]]);
    expect((await store.list({ statuses: ['running'] })).map((r) => r.id)).toEqual([ids[0]]);
    expect(await store.list({ owner: 'alice', limit: 2 })).toHaveLength(2);
    expect(await store.list({ owner: 'carol' })).toEqual([]);
  });

  it('deletes terminal jobs finished before a time, and only those', async () => {
    const store = make();
    const old = await store.insert({ tool: 't', input: {}, owner: null, trace_id: null });
    const fresh = await store.insert({ tool: 't', input: {}, owner: null, trace_id: null });
    const live = await store.insert({ tool: 't', input: {}, owner: null, trace_id: null });
    await store.update(old.id, { status: 'succeeded', finished_at: new Date(Date.now() - 60_000).toISOString() });
    await store.update(fresh.id, { status: 'failed', finished_at: new Date().toISOString() });
    await store.update(live.id, { status: 'running' });
    expect(await store.deleteFinishedBefore(new Date(Date.now() - 30_000).toISOString())).toBe(1);
    expect(await store.get(old.id)).toBeUndefined();
    expect(await store.get(fresh.id)).toBeDefined();
    expect(await store.get(live.id)).toBeDefined();
  });
});
