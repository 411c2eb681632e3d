// JobStore on Redis, shared by every replica: one hash per job (status, version, record JSON),
// sorted sets for listing by time and owner and for TTL clean-up.
import type { Redis } from 'ioredis';
import { isTerminal, newJobId, nowIso, type JobPatch, type JobRecord, type JobStatus, type NewJob } from './model.js';
import type { JobStore, ListJobsQuery } from './store.js';

/**
 * Compare-and-set: apply the new record only if nobody wrote since we read it (version) and the
 * status is one of the allowed ones. Returns 1 applied, 0 version moved (retry), -1 missing,
 * -2 status not allowed.
 */
const CAS_SCRIPT = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'status')
if not cur[1] then return -1 end
if cur[1] ~= ARGV[1] then return 0 end
if ARGV[4] ~= '' then
  local ok = false
  for s in string.gmatch(ARGV[4], '[^,]+') do if s == cur[2] then ok = true end end
  if not ok then return -2 end
end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(cur[1]) + 1), 'status', ARGV[2], 'json', ARGV[3])
return 1
`;

const NO_OWNER = '~';

export class RedisJobStore implements JobStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
    redis.defineCommand('shieldJobCas', { numberOfKeys: 1, lua: CAS_SCRIPT });
  }

  private key(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  private ownerKey(owner: string | null): string {
    return `${this.prefix}:jobs:owner:${owner ?? NO_OWNER}`;
  }

  async insert(job: NewJob): Promise<JobRecord> {
    const now = nowIso();
    const rec: JobRecord = {
      id: job.id ?? newJobId(),
      tool: job.tool,
      status: 'queued',
      input: job.input ?? null,
      owner: job.owner,
      trace_id: job.trace_id,
      progress: null,
      result: null,
      error: null,
      attempts: 0,
      cancel_requested: false,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
    };
    const score = Date.parse(now);
    await this.redis
      .multi()
      .hset(this.key(rec.id), 'v', '0', 'status', rec.status, 'json', JSON.stringify(rec))
      .zadd(`${this.prefix}:jobs:all`, score, rec.id)
      .zadd(this.ownerKey(rec.owner), score, rec.id)
      .exec();
    return rec;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const json = await this.redis.hget(this.key(id), 'json');
    return json ? (JSON.parse(json) as JobRecord) : undefined;
  }

  async update(id: string, patch: JobPatch, onlyIf?: JobStatus[]): Promise<JobRecord | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [v, json] = await this.redis.hmget(this.key(id), 'v', 'json');
      if (v === null || v === undefined || json === null || json === undefined) return undefined;
      const cur = JSON.parse(json) as JobRecord;
      if (onlyIf && onlyIf.length > 0 && !onlyIf.includes(cur.status)) return undefined;
      const next: JobRecord = { ...cur, updated_at: nowIso() };
      for (const [k, val] of Object.entries(patch)) if (val !== undefined) (next as unknown as Record<string, unknown>)[k] = val;
      const res = (await (this.redis as unknown as { shieldJobCas(...a: string[]): Promise<number> }).shieldJobCas(
        this.key(id),
        v,
        next.status,
        JSON.stringify(next),
        onlyIf?.join(',') ?? '',
      )) as number;
      if (res === 1) {
        if (next.finished_at && isTerminal(next.status)) await this.redis.zadd(`${this.prefix}:jobs:finished`, Date.parse(next.finished_at), id);
        return next;
      }
      if (res === -1 || res === -2) return undefined;
      // res === 0: another writer got there first; read again.
    }
    throw new Error(`job ${id}: too much write contention`);
  }

  async list(query: ListJobsQuery): Promise<JobRecord[]> {
    const limit = Math.min(query.limit ?? 50, 1000);
    const key = query.owner === undefined ? `${this.prefix}:jobs:all` : this.ownerKey(query.owner);
    const max = query.before ? `(${Date.parse(query.before)}` : '+inf';
    const out: JobRecord[] = [];
    let offset = 0;
    const page = Math.max(limit, 100);
    // Filters apply after reading; bounded so a large history cannot stall a call.
    while (out.length < limit && offset < 10_000) {
      const ids = await this.redis.zrevrangebyscore(key, max, '-inf', 'LIMIT', offset, page);
      if (ids.length === 0) break;
      offset += ids.length;
      const jsons = await this.redis.pipeline(ids.map((id) => ['hget', this.key(id), 'json'])).exec();
      for (const [, json] of jsons ?? []) {
        if (typeof json !== 'string') continue;
        const rec = JSON.parse(json) as JobRecord;
        if (query.statuses?.length && !query.statuses.includes(rec.status)) continue;
        if (query.tool && rec.tool !== query.tool) continue;
        out.push(rec);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  async deleteFinishedBefore(iso: string): Promise<number> {
    const ids = await this.redis.zrangebyscore(`${this.prefix}:jobs:finished`, '-inf', Date.parse(iso), 'LIMIT', 0, 1000);
    let removed = 0;
    for (const id of ids) {
      const rec = await this.get(id);
      const m = this.redis.multi().del(this.key(id)).zrem(`${this.prefix}:jobs:finished`, id).zrem(`${this.prefix}:jobs:all`, id);
      if (rec) m.zrem(this.ownerKey(rec.owner), id);
      await m.exec();
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    // The connection belongs to the backend, which closes it.
  }
}
