// Dispatcher on BullMQ: a job submitted through any replica is run by a worker on any replica.
// A worker that dies loses its lock; BullMQ redelivers the job as stalled and the runner then
// resumes it (resumable tools) or marks it interrupted.
import type { Queue, Worker } from 'bullmq';
import { lazyModule } from '../lazy.js';

const bullmq = lazyModule<typeof import('bullmq')>('bullmq');
import type { Logger } from '../observability/logger.js';
import type { Dispatcher, JobDefinition } from './runner.js';

export interface BullMqOptions {
  url: string;
  prefix: string;
  /** How long a worker's lock on a job lasts without renewal, in ms. */
  lockDurationMs: number;
  /** How often workers look for jobs whose lock lapsed, in ms. */
  stalledIntervalMs: number;
  logger: Logger;
}

function connectionFrom(url: string): { host: string; port: number; db?: number; username?: string; password?: string; maxRetriesPerRequest: null } {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
  };
}

export class BullMqDispatcher implements Dispatcher {
  readonly exclusive = false;
  private readonly opts: BullMqOptions;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];

  constructor(options: BullMqOptions) {
    this.opts = options;
  }

  private queueName(tool: string): string {
    return `jobs-${tool}`;
  }

  async start(execute: (id: string, tool: string) => Promise<void>, defs: ReadonlyMap<string, JobDefinition>): Promise<void> {
    const connection = connectionFrom(this.opts.url);
    const prefix = `${this.opts.prefix}:bull`;
    for (const def of defs.values()) {
      const name = this.queueName(def.tool);
      const { Queue: QueueClass, Worker: WorkerClass } = bullmq();
      this.queues.set(def.tool, new QueueClass(name, { connection, prefix }));
      const worker = new WorkerClass(name, async (job) => execute((job.data as { id: string }).id, def.tool), {
        connection,
        prefix,
        concurrency: def.concurrency,
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: this.opts.stalledIntervalMs,
        // Stalled redeliveries are decided by the runner (resume or interrupted), not dropped here.
        maxStalledCount: 5,
      });
      worker.on('error', (err) => this.opts.logger.warn({ err, tool: def.tool }, 'bullmq worker error'));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  async dispatch(id: string, tool: string, attempt: number): Promise<void> {
    const q = this.queues.get(tool);
    if (!q) throw new Error(`no queue for ${tool}`);
    await q.add(tool, { id }, { jobId: `${id}-${attempt}`, removeOnComplete: true, removeOnFail: true, attempts: 1 });
  }

  withdraw(): void {
    // The job stays in the queue; its claim fails because the store says cancelled.
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.workers.length = 0;
    this.queues.clear();
  }
}
