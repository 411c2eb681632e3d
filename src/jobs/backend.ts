// The job backend chosen in config: the embedded SQLite store with in-process queues, or Redis
// with BullMQ so that any replica runs and answers for any job.
import type { Redis } from 'ioredis';
import { lazyModule } from '../lazy.js';

const ioredis = lazyModule<typeof import('ioredis')>('ioredis');
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Db } from '../store/sqlite.js';
import { BullMqDispatcher } from './bullmq-dispatcher.js';
import { RedisJobStore } from './redis-store.js';
import type { Dispatcher } from './runner.js';
import { SqliteJobStore } from './sqlite-store.js';
import type { JobStore } from './store.js';

export interface JobBackend {
  store: JobStore;
  dispatcher?: Dispatcher;
  /** How often waiting calls re-read a job run elsewhere, in ms. */
  waitPollMs: number;
  /** The Redis connection, for other cross-replica state (locks); absent on SQLite. */
  redis?: Redis;
  close(): Promise<void>;
}

export function createJobBackend(config: Config, db: Db, logger: Logger): JobBackend {
  if (config.jobs.backend === 'sqlite') {
    return { store: new SqliteJobStore(db), waitPollMs: 500, close: async () => undefined };
  }
  const r = config.jobs.redis;
  const redis = new (ioredis().Redis)(r.url, { lazyConnect: false, maxRetriesPerRequest: 3 });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  return {
    store: new RedisJobStore(redis, r.prefix),
    dispatcher: new BullMqDispatcher({
      url: r.url,
      prefix: r.prefix,
      lockDurationMs: r.lock_duration_ms,
      stalledIntervalMs: r.stalled_interval_ms,
      logger,
    }),
    waitPollMs: 100,
    redis,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
