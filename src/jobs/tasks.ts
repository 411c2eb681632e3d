// MCP Tasks (2025-11-25) served from the job store: the protocol's own 202 pattern.
import type { JobRecord } from './model.js';

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export interface TaskView {
  taskId: string;
  status: TaskStatus;
  ttl: number | null;
  createdAt: string;
  lastUpdatedAt: string;
  pollInterval?: number;
  statusMessage?: string;
}

const STATUS: Record<JobRecord['status'], TaskStatus> = {
  queued: 'working',
  running: 'working',
  awaiting_approval: 'input_required',
  succeeded: 'completed',
  failed: 'failed',
  interrupted: 'failed',
  cancelled: 'cancelled',
};

export function jobToTask(rec: JobRecord, options: { ttlMs: number; pollMs: number }): TaskView {
  const status = STATUS[rec.status];
  const task: TaskView = { taskId: rec.id, status, ttl: options.ttlMs, createdAt: rec.created_at, lastUpdatedAt: rec.updated_at };
  if (status === 'working' || status === 'input_required') task.pollInterval = options.pollMs;
  const message =
    rec.status === 'awaiting_approval'
      ? 'Waiting for a human operator to approve (shield-mcp approve <job_id>).'
      : rec.error
        ? `${rec.error.code}: ${rec.error.message}`
        : rec.progress?.message;
  if (message) task.statusMessage = message;
  return task;
}
