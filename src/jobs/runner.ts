// The job runner: records jobs before they run, runs them with per-tool concurrency and
// cooperative cancellation, recovers them after a restart, and deletes them after their TTL.
import { EventEmitter } from 'node:events';
import { ShieldError, toErrorInfo } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isTerminal, nowIso, type JobProgress, type JobRecord, type JobStatus } from './model.js';
import type { JobStore } from './store.js';

export interface JobContext {
  jobId: string;
  /** 1 on the first run, 2+ when a resumable job runs again after a restart. */
  attempt: number;
  owner: string | null;
  traceId: string | null;
  /** Aborted when the job is cancelled or the server shuts down: pass it to every I/O call. */
  signal: AbortSignal;
  logger: Logger;
  progress(p: JobProgress): void;
  /** Mark the job as waiting for a human (awaiting_approval) or running again. */
  setStatus(status: 'awaiting_approval' | 'running'): Promise<void>;
}

export interface JobDefinition {
  tool: string;
  /** Safe to run again from the start after a crash (it looks up before it acts). */
  resumable: boolean;
  concurrency: number;
  run(input: unknown, ctx: JobContext): Promise<unknown>;
}

/** Where queued jobs wait and which process runs them: this one, or any replica (BullMQ). */
export interface Dispatcher {
  /**
   * True when this process is the only one running jobs from the store, so a job found `running`
   * at start-up was left by a dead process (false for shared queues, where another replica may
   * be running it and the queue itself redelivers stalled jobs).
   */
  readonly exclusive: boolean;
  start(execute: (id: string, tool: string) => Promise<void>, defs: ReadonlyMap<string, JobDefinition>): Promise<void>;
  /** Make the job run (in order of dispatch, within its tool's concurrency). */
  dispatch(id: string, tool: string, attempt: number): Promise<void>;
  /** Forget a job cancelled while queued (best effort; a claim would fail anyway). */
  withdraw(id: string, tool: string): void;
  /** Stop taking jobs; running ones are the runner's to finish. */
  stop(): Promise<void>;
}

/** In-process queues with a per-tool concurrency limit. */
export class LocalDispatcher implements Dispatcher {
  readonly exclusive = true;
  private readonly queues = new Map<string, string[]>();
  private readonly active = new Map<string, number>();
  private execute: ((id: string, tool: string) => Promise<void>) | undefined;
  private defs: ReadonlyMap<string, JobDefinition> = new Map();
  private stopped = false;

  async start(execute: (id: string, tool: string) => Promise<void>, defs: ReadonlyMap<string, JobDefinition>): Promise<void> {
    this.execute = execute;
    this.defs = defs;
  }

  async dispatch(id: string, tool: string): Promise<void> {
    if (this.stopped) return; // left queued in the store: the next start resumes it
    const q = this.queues.get(tool) ?? [];
    q.push(id);
    this.queues.set(tool, q);
    this.pump(tool);
  }

  withdraw(id: string, tool: string): void {
    const q = this.queues.get(tool);
    if (q) this.queues.set(tool, q.filter((x) => x !== id));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queues.clear();
  }

  private pump(tool: string): void {
    const def = this.defs.get(tool);
    const q = this.queues.get(tool);
    if (!def || !q || !this.execute) return;
    while (q.length > 0 && (this.active.get(tool) ?? 0) < def.concurrency) {
      const id = q.shift()!;
      this.active.set(tool, (this.active.get(tool) ?? 0) + 1);
      this.execute(id, tool)
        .catch(() => undefined) // the runner logs its own failures; a queue slot must never leak
        .finally(() => {
          this.active.set(tool, (this.active.get(tool) ?? 1) - 1);
          this.pump(tool);
        });
    }
  }
}

export interface JobRunnerOptions {
  store: JobStore;
  /** Defaults to in-process queues. */
  dispatcher?: Dispatcher;
  /** How often wait() re-reads the store for jobs run by another process, in ms. */
  waitPollMs?: number;
  logger: Logger;
  metrics: Metrics;
  ttlS: number;
  cleanupIntervalMs: number;
  /** How often running jobs look for a cancel request made by another process, in ms. */
  cancelPollMs?: number;
  /** Minimum interval between progress writes to the store, in ms (the last one always lands). */
  progressWriteMs?: number;
}

interface Running {
  controller: AbortController;
  tool: string;
  done: Promise<void>;
  /** Why it was aborted: a cancel request or the server shutting down. */
  abortReason?: 'cancel' | 'shutdown';
}

export interface SubmitOptions {
  owner?: string | null;
  traceId?: string | null;
}

/** Events: 'progress' (id, JobProgress), 'settled' (JobRecord). */
export class JobRunner extends EventEmitter {
  readonly store: JobStore;
  readonly dispatcher: Dispatcher;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly defs = new Map<string, JobDefinition>();
  private readonly running = new Map<string, Running>();
  private readonly opts: Required<Omit<JobRunnerOptions, 'store' | 'logger' | 'metrics' | 'dispatcher'>>;
  private acceptingWork = true;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private cancelTimer: NodeJS.Timeout | undefined;

  constructor(options: JobRunnerOptions) {
    super();
    this.setMaxListeners(0);
    this.store = options.store;
    this.dispatcher = options.dispatcher ?? new LocalDispatcher();
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.opts = {
      ttlS: options.ttlS,
      cleanupIntervalMs: options.cleanupIntervalMs,
      cancelPollMs: options.cancelPollMs ?? 1000,
      progressWriteMs: options.progressWriteMs ?? 250,
      waitPollMs: options.waitPollMs ?? 500,
    };
  }

  register(def: JobDefinition): void {
    if (this.defs.has(def.tool)) throw new Error(`job tool ${def.tool} registered twice`);
    this.defs.set(def.tool, def);
  }

  definition(tool: string): JobDefinition | undefined {
    return this.defs.get(tool);
  }

  /** Start timers and recover what a previous process left behind. */
  async start(): Promise<{ resumed: number; interrupted: number }> {
    await this.dispatcher.start((id, tool) => this.executeById(id, tool), this.defs);
    const recovered = await this.recover();
    await this.cleanup();
    this.cleanupTimer = setInterval(() => void this.cleanup(), this.opts.cleanupIntervalMs);
    this.cleanupTimer.unref();
    this.cancelTimer = setInterval(() => void this.pollCancelRequests(), this.opts.cancelPollMs);
    this.cancelTimer.unref();
    return recovered;
  }

  /** Record the job first (nothing has happened yet), then schedule it. */
  async submit(tool: string, input: unknown, options: SubmitOptions = {}): Promise<JobRecord> {
    if (!this.acceptingWork) throw new ShieldError('UPSTREAM_UNAVAILABLE', 'The server is shutting down.', { retryAfterS: 5 });
    if (!this.defs.has(tool)) throw new Error(`no job tool ${tool}`);
    const rec = await this.store.insert({ tool, input, owner: options.owner ?? null, trace_id: options.traceId ?? null });
    this.metrics.jobsTotal.inc({ tool, status: 'queued' });
    await this.dispatcher.dispatch(rec.id, tool, 1);
    return rec;
  }

  /**
   * Resolve with the job once it is terminal or awaiting approval, or with its current state when
   * `ms` elapse or the signal aborts.
   */
  async wait(id: string, ms: number, signal?: AbortSignal): Promise<JobRecord | undefined> {
    const settledStatuses = (s: JobStatus): boolean => isTerminal(s) || s === 'awaiting_approval';
    const first = await this.store.get(id);
    if (!first || settledStatuses(first.status) || ms <= 0) return first;
    let stopped = false;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.off('settled', onSettled);
        this.off('status', onSettled);
        this.off('draining', finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const onSettled = (rec: JobRecord): void => {
        if (rec.id === id && settledStatuses(rec.status)) finish();
      };
      const timer = setTimeout(finish, ms);
      // Jobs may run in another process (Redis backend, a second replica): poll as well.
      const poll = setInterval(() => {
        if (!this.acceptingWork) return finish(); // shutting down: answer with what the store says now
        this.store.get(id).then(
          (r) => {
            if (!r || settledStatuses(r.status)) finish();
          },
          () => finish(),
        );
      }, this.opts.waitPollMs);
      this.on('settled', onSettled);
      this.on('status', onSettled);
      signal?.addEventListener('abort', finish, { once: true });
      this.once('draining', finish);
    });
    return this.store.get(id).catch(() => first);
  }

  /** Cancel: a queued job ends at once, a running one is asked to stop through its signal. */
  async cancel(id: string): Promise<JobRecord | undefined> {
    const rec = await this.store.get(id);
    if (!rec || isTerminal(rec.status)) return rec;
    const cancelled = await this.store.update(
      id,
      { status: 'cancelled', finished_at: nowIso(), cancel_requested: true, error: new ShieldError('CANCELLED', 'Cancelled before it started.').toInfo() },
      ['queued'],
    );
    if (cancelled) {
      this.dispatcher.withdraw(id, rec.tool);
      this.settle(cancelled);
      return cancelled;
    }
    await this.store.update(id, { cancel_requested: true });
    const r = this.running.get(id);
    if (r) {
      r.abortReason = 'cancel';
      r.controller.abort(new ShieldError('CANCELLED', 'Cancelled on request.'));
      await r.done;
    }
    return this.store.get(id);
  }

  /** Stop accepting, let running jobs finish until the deadline, then interrupt the rest. */
  async drain(deadlineMs: number): Promise<void> {
    this.acceptingWork = false;
    this.emit('draining');
    clearInterval(this.cleanupTimer);
    clearInterval(this.cancelTimer);
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadlineMs).unref());
    if ((await Promise.race([all.then(() => 'done' as const), timeout])) === 'timeout') {
      for (const r of this.running.values()) {
        r.abortReason = 'shutdown';
        r.controller.abort(new ShieldError('CANCELLED', 'The server is shutting down.'));
      }
      await all;
    }
    await this.dispatcher.stop();
  }

  /** False once shutdown has begun. */
  get accepting(): boolean {
    return this.acceptingWork;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Run one job to its end (the dispatcher calls this where the job is to run). */
  private async executeById(id: string, tool: string): Promise<void> {
    const def = this.defs.get(tool);
    if (!def || !this.acceptingWork) return;
    await this.execute(id, def);
  }

  private async execute(id: string, def: JobDefinition): Promise<void> {
    const prev = await this.store.get(id);
    if (!prev) return;
    let from: JobStatus[] = ['queued'];
    if (!this.dispatcher.exclusive && (prev.status === 'running' || prev.status === 'awaiting_approval')) {
      // A shared queue redelivered it: the worker that claimed it died or lost its lock.
      if (!def.resumable || prev.cancel_requested) {
        const rec = await this.store.update(id, { status: 'interrupted', finished_at: nowIso(), error: interruptedError(def.tool) }, [prev.status]);
        if (rec) {
          this.metrics.jobsTotal.inc({ tool: def.tool, status: 'interrupted' });
          this.settle(rec);
        }
        return;
      }
      from = [prev.status];
    }
    const claimed = await this.store.update(id, { status: 'running', attempts: prev.attempts + 1, started_at: prev.started_at ?? nowIso() }, from);
    if (!claimed) return; // cancelled while queued, or claimed by another worker
    const controller = new AbortController();
    let resolveDone!: () => void;
    const entry: Running = { controller, tool: def.tool, done: new Promise<void>((r) => (resolveDone = r)) };
    this.running.set(id, entry);
    this.metrics.jobsInFlight.inc({ tool: def.tool });
    this.metrics.jobsTotal.inc({ tool: def.tool, status: 'running' });
    const log = this.logger.child({ job_id: id, tool: def.tool, trace_id: claimed.trace_id, attempt: claimed.attempts });
    const progress = this.progressWriter(id, log);
    const ctx: JobContext = {
      jobId: id,
      attempt: claimed.attempts,
      owner: claimed.owner,
      traceId: claimed.trace_id,
      signal: controller.signal,
      logger: log,
      progress,
      setStatus: async (status) => {
        const rec = await this.store.update(id, { status }, ['running', 'awaiting_approval']);
        if (rec) this.emit('status', rec);
      },
    };
    const started = Date.now();
    try {
      if (claimed.cancel_requested) throw new ShieldError('CANCELLED', 'Cancelled on request.');
      const result = await def.run(claimed.input, ctx);
      await this.finish(id, def.tool, { status: 'succeeded', result: result ?? null, error: null }, await progress.takePending());
      log.info({ duration_ms: Date.now() - started }, 'job succeeded');
    } catch (err) {
      const last = await progress.takePending();
      if (entry.abortReason === 'shutdown') {
        // Leave it for the next start: resumable jobs run again, others are marked interrupted.
        const status: JobStatus = def.resumable ? 'queued' : 'interrupted';
        await this.finish(
          id,
          def.tool,
          {
            status,
            ...(status === 'interrupted' ? { error: interruptedError(def.tool) } : {}),
          },
          last,
        );
        // A shared queue hands it to another replica now; a local one resumes it at the next start.
        if (status === 'queued' && !this.dispatcher.exclusive) await this.dispatcher.dispatch(id, def.tool, claimed.attempts + 1);
        log.warn({ status }, 'job stopped by shutdown');
      } else if (entry.abortReason === 'cancel' || (err instanceof ShieldError && err.code === 'CANCELLED')) {
        await this.finish(id, def.tool, { status: 'cancelled', error: toErrorInfo(err) }, last);
        log.info('job cancelled');
      } else {
        const info = toErrorInfo(err, claimed.trace_id ?? undefined);
        if (info.code === 'INTERNAL') log.error({ err }, 'job failed with an unexpected error');
        else log.warn({ code: info.code, message: info.message }, 'job failed');
        await this.finish(id, def.tool, { status: 'failed', error: info }, last);
      }
    } finally {
      this.running.delete(id);
      this.metrics.jobsInFlight.dec({ tool: def.tool });
      resolveDone();
    }
  }

  private async finish(id: string, tool: string, patch: { status: JobStatus; result?: unknown; error?: JobRecord['error'] }, progress?: JobProgress): Promise<void> {
    const terminal = isTerminal(patch.status);
    const rec = await this.store.update(id, { ...patch, ...(progress ? { progress } : {}), ...(terminal ? { finished_at: nowIso() } : {}) });
    this.metrics.jobsTotal.inc({ tool, status: patch.status });
    if (rec) this.settle(rec);
  }

  private settle(rec: JobRecord): void {
    this.emit('settled', rec);
  }

  /** Throttled progress: every report reaches listeners, the store sees one write per interval. */
  /**
   * Throttled progress: every report reaches listeners at once; the store sees at most one write
   * per interval, none at all for a job that ends within the first interval (its last report goes
   * into the same write that records the end: `takePending`).
   */
  private progressWriter(id: string, log: Logger): ((p: JobProgress) => void) & { takePending(): Promise<JobProgress | undefined> } {
    let pending: JobProgress | undefined;
    let lastWrite = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    const write = (): void => {
      if (!pending) return;
      const p = pending;
      pending = undefined;
      lastWrite = Date.now();
      writing = writing.then(() => this.store.update(id, { progress: p })).catch((err: unknown) => log.warn({ err }, 'progress write failed'));
    };
    const fn = ((p: JobProgress) => {
      pending = p;
      this.emit('progress', id, p);
      const wait = this.opts.progressWriteMs - (Date.now() - lastWrite);
      if (wait <= 0) write();
      else if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          write();
        }, wait);
      }
    }) as ((p: JobProgress) => void) & { takePending(): Promise<JobProgress | undefined> };
    fn.takePending = async () => {
      clearTimeout(timer);
      timer = undefined;
      await writing;
      const p = pending;
      pending = undefined;
      return p;
    };
    return fn;
  }

  private async recover(): Promise<{ resumed: number; interrupted: number }> {
    let resumed = 0;
    let interrupted = 0;
    // With a shared queue, other replicas may be running these right now; the queue itself
    // redelivers the jobs of dead workers.
    if (!this.dispatcher.exclusive) return { resumed, interrupted };
    const stale = await this.store.list({ statuses: ['running', 'awaiting_approval'], limit: 1000 });
    for (const rec of stale) {
      const def = this.defs.get(rec.tool);
      if (def?.resumable && !rec.cancel_requested) {
        await this.store.update(rec.id, { status: 'queued' }, ['running', 'awaiting_approval']);
      } else {
        await this.store.update(rec.id, { status: 'interrupted', finished_at: nowIso(), error: interruptedError(rec.tool) });
        this.metrics.jobsTotal.inc({ tool: rec.tool, status: 'interrupted' });
        interrupted++;
      }
    }
    const queued = await this.store.list({ statuses: ['queued'], limit: 1000 });
    // Oldest first, the order they were submitted in.
    for (const rec of queued.reverse()) {
      if (!this.defs.has(rec.tool)) continue;
      await this.dispatcher.dispatch(rec.id, rec.tool, rec.attempts + 1);
      resumed++;
    }
    if (resumed || interrupted) this.logger.info({ resumed, interrupted }, 'jobs recovered after restart');
    return { resumed, interrupted };
  }

  private async pollCancelRequests(): Promise<void> {
    try {
      for (const [id, r] of this.running) {
        if (r.abortReason) continue;
        const rec = await this.store.get(id);
        if (rec?.cancel_requested) {
          r.abortReason = 'cancel';
          r.controller.abort(new ShieldError('CANCELLED', 'Cancelled on request.'));
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'checking for cancel requests failed');
    }
  }

  private async cleanup(): Promise<void> {
    try {
      const removed = await this.store.deleteFinishedBefore(new Date(Date.now() - this.opts.ttlS * 1000).toISOString());
      if (removed > 0) this.logger.info({ removed }, 'expired jobs deleted');
    } catch (err) {
      this.logger.warn({ err }, 'job clean-up failed');
    }
  }
}

function interruptedError(tool: string): JobRecord['error'] {
  return new ShieldError('INTERNAL', `The server stopped while this ${tool} job was running; it was not repeated because it is not safe to.`, {
    retryable: false,
    hint: 'Check the target system for the effect of this job before submitting it again.',
  }).toInfo();
}
