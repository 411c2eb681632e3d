// The job model: statuses, records and the handle contract every job tool returns.
import { randomBytes } from 'node:crypto';
import type { ErrorInfo } from '../errors.js';

export const JOB_STATUSES = ['queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
export const isTerminal = (s: JobStatus): boolean => TERMINAL_STATUSES.has(s);

export interface JobProgress {
  done: number;
  total?: number;
  message?: string;
}

export interface JobRecord {
  id: string;
  tool: string;
  status: JobStatus;
  input: unknown;
  /** Principal that submitted the job (null when callers are not authenticated). */
  owner: string | null;
  trace_id: string | null;
  progress: JobProgress | null;
  result: unknown;
  error: ErrorInfo | null;
  attempts: number;
  cancel_requested: boolean;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export type NewJob = Pick<JobRecord, 'tool' | 'input' | 'owner' | 'trace_id'> & { id?: string };

export type JobPatch = Partial<
  Pick<JobRecord, 'status' | 'progress' | 'result' | 'error' | 'attempts' | 'cancel_requested' | 'started_at' | 'finished_at'>
>;

/** 144 random bits, URL-safe: unguessable even when callers are not authenticated. */
export function newJobId(): string {
  return `job_${randomBytes(18).toString('base64url')}`;
}

export const nowIso = (): string => new Date().toISOString();

/** The handle contract (architecture.md): what job tools and get_job_status return. */
export interface JobHandle {
  job: {
    id: string;
    tool: string;
    status: JobStatus;
    progress?: JobProgress;
    created_at: string;
    updated_at: string;
    poll_after_ms?: number;
  };
  result?: unknown;
  error?: ErrorInfo;
}

export function toHandle(rec: JobRecord, pollAfterMs: number): JobHandle {
  const handle: JobHandle = {
    job: {
      id: rec.id,
      tool: rec.tool,
      status: rec.status,
      created_at: rec.created_at,
      updated_at: rec.updated_at,
    },
  };
  if (rec.progress) handle.job.progress = rec.progress;
  if (!isTerminal(rec.status)) handle.job.poll_after_ms = pollAfterMs;
  if (rec.status === 'succeeded' && rec.result !== null && rec.result !== undefined) handle.result = rec.result;
  if (rec.error) handle.error = rec.error;
  return handle;
}
