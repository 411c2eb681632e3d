// The services tools reach through their context, built once per process from the config.
import { join, resolve } from 'node:path';
import type { Config } from './config/schema.js';
import { BreakerRegistry } from './breakers/registry.js';
import { observeBreakers } from './breakers/observe.js';
import { JobRunner } from './jobs/runner.js';
import { createJobBackend, type JobBackend } from './jobs/backend.js';
import { AuditLog } from './observability/audit.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { TemplateCatalog } from './providers/itsm/templates.js';
import { KnowledgeService } from './providers/knowledge/service.js';
import { ItsmService } from './providers/itsm/service.js';
import { RedisKeyLock, RedisTicketLedger, RedisTokenStore } from './providers/itsm/redis-state.js';
import { openDatabase, type Db } from './store/sqlite.js';
import { RemediationService, type RemediationHooks } from './providers/iris/remediation.js';
import { RedisInstanceLock } from './providers/iris/redis-lock.js';
import { CONFIG_DIR } from './config/load.js';

export interface Services {
  config: Config;
  /** The environment secrets are read from (injected, never read globally by domain code). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  metrics: Metrics;
  breakers: BreakerRegistry;
  db: Db;
  jobs: JobRunner;
  /** Where jobs are stored and dispatched (SQLite in-process, or Redis + BullMQ). */
  jobBackend: JobBackend;
  audit: AuditLog;
  templates: TemplateCatalog;
  /** Ticket platforms (ServiceNow, Jira, the local desk) behind one interface. */
  itsm: ItsmService;
  /** Crawler, embedder and search store (embedded SQLite or Qdrant). */
  knowledge: KnowledgeService;
  /** IRIS instances: plans, approvals, CPF edits and restarts. */
  remediation: RemediationService;
}

export interface BuildOptions {
  config: Config;
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  /** Test seams for remediation (crash-test pause points). Production wiring never sets them. */
  remediationHooks?: RemediationHooks;
}

export function buildServices(options: BuildOptions): Services {
  const { config, env } = options;
  const logger = options.logger ?? createLogger({ level: config.logging.level });
  const metrics = options.metrics ?? new Metrics({ defaultMetrics: true });
  const db = openDatabase({ dataDir: config.store.data_dir, file: config.store.file });
  const breakers = new BreakerRegistry(config.breakers, { maxDynamic: config.breakers.max_dynamic });
  observeBreakers(breakers, metrics, logger);
  const jobBackend = createJobBackend(config, db, logger);
  const jobs = new JobRunner({
    store: jobBackend.store,
    ...(jobBackend.dispatcher ? { dispatcher: jobBackend.dispatcher } : {}),
    waitPollMs: jobBackend.waitPollMs,
    logger,
    metrics,
    ttlS: config.jobs.ttl_s,
    cleanupIntervalMs: config.jobs.cleanup_interval_ms,
  });
  const auditFile = config.store.data_dir === ':memory:' ? undefined : join(resolve(config.store.data_dir), 'audit.jsonl');
  const audit = new AuditLog(db, auditFile);
  const templates = new TemplateCatalog(config.templates, (template) => metrics.templateErrors.inc({ template }));
  const redisPrefix = config.jobs.redis.prefix;
  const itsm = new ItsmService({
    config: config.itsm,
    env,
    db,
    breakers,
    metrics,
    logger,
    templates,
    // Replicas share the ledger, the per-key lock and rotated tokens, or exactly-once breaks.
    ...(jobBackend.redis
      ? {
          shared: {
            ledger: new RedisTicketLedger(jobBackend.redis, redisPrefix),
            keyLock: new RedisKeyLock(jobBackend.redis, redisPrefix),
            tokens: new RedisTokenStore(jobBackend.redis, redisPrefix),
          },
        }
      : {}),
  });
  const knowledge = new KnowledgeService({ config, env, db, logger, metrics, breakers: (name, fn, signal) => breakers.run(name, fn, signal) });
  // With replicas on Redis, the one-remediation-per-instance lock must be shared too.
  const lock = jobBackend.redis ? new RedisInstanceLock(jobBackend.redis, redisPrefix) : undefined;
  const remediation = new RemediationService({ config: config.remediation, configDir: CONFIG_DIR, db, audit, metrics, breakers, lock, hooks: options.remediationHooks });
  return { config, env, logger, metrics, breakers, db, jobs, jobBackend, audit, templates, itsm, knowledge, remediation };
}

/** Close in dependency order; the database last, after every user of it. */
export async function closeServices(s: Services): Promise<void> {
  s.breakers.shutdown();
  await s.itsm.close();
  await s.knowledge.close();
  await s.jobs.store.close();
  await s.jobBackend.close();
  s.audit.close();
  s.db.close();
  s.logger.flush();
}
