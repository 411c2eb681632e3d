// The JobStore interface: what the runner needs of any backend (SQLite here, Redis for scale-out).
import type { JobPatch, JobRecord, JobStatus, NewJob } from './model.js';

export interface ListJobsQuery {
  owner?: string | null;
  statuses?: JobStatus[];
  tool?: string;
  limit?: number;
  /** Only jobs created before this ISO time (pagination by created_at). */
  before?: string;
}

export interface JobStore {
  insert(job: NewJob): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * Apply a patch; when `onlyIf` is given, only if the current status is one of them (a
   * compare-and-set, so two workers cannot both claim a job). Returns the new record, or
   * undefined when the job is missing or the condition failed.
   */
  update(id: string, patch: JobPatch, onlyIf?: JobStatus[]): Promise<JobRecord | undefined>;
  list(query: ListJobsQuery): Promise<JobRecord[]>;
  /** Delete terminal jobs that finished before the given ISO time; returns how many. */
  deleteFinishedBefore(iso: string): Promise<number>;
  close(): Promise<void>;
}
