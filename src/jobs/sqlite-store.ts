// JobStore on the embedded SQLite database.
import type Database from 'better-sqlite3';
import type { Db } from '../store/sqlite.js';
import type { ErrorInfo } from '../errors.js';
import { newJobId, nowIso, type JobPatch, type JobProgress, type JobRecord, type JobStatus, type NewJob } from './model.js';
import type { JobStore, ListJobsQuery } from './store.js';

interface Row {
  id: string;
  tool: string;
  status: JobStatus;
  input: string;
  owner: string | null;
  trace_id: string | null;
  progress: string | null;
  result: string | null;
  error: string | null;
  attempts: number;
  cancel_requested: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

function fromRow(r: Row): JobRecord {
  return {
    id: r.id,
    tool: r.tool,
    status: r.status,
    input: JSON.parse(r.input) as unknown,
    owner: r.owner,
    trace_id: r.trace_id,
    progress: parse<JobProgress>(r.progress),
    result: parse<unknown>(r.result),
    error: parse<ErrorInfo>(r.error),
    attempts: r.attempts,
    cancel_requested: r.cancel_requested === 1,
    created_at: r.created_at,
    updated_at: r.updated_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
  };
}

const JSON_COLUMNS = new Set(['progress', 'result', 'error']);

export class SqliteJobStore implements JobStore {
  private readonly db: Db;
  private readonly getStmt;
  private readonly insertStmt;

  constructor(db: Db) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        tool TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        owner TEXT,
        trace_id TEXT,
        progress TEXT,
        result TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
      CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs(owner, created_at);
      CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at);
    `);
    this.getStmt = db.prepare<[string], Row>('SELECT * FROM jobs WHERE id = ?');
    this.insertStmt = db.prepare(
      `INSERT INTO jobs (id, tool, status, input, owner, trace_id, created_at, updated_at)
       VALUES (@id, @tool, 'queued', @input, @owner, @trace_id, @now, @now)`,
    );
  }

  /** Statements by SQL text: updates and listings come in a few shapes, each compiled once. */
  private readonly statements = new Map<string, Database.Statement>();
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async insert(job: NewJob): Promise<JobRecord> {
    const id = job.id ?? newJobId();
    this.insertStmt.run({ id, tool: job.tool, input: JSON.stringify(job.input ?? null), owner: job.owner, trace_id: job.trace_id, now: nowIso() });
    return fromRow(this.getStmt.get(id)!);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.getStmt.get(id);
    return row ? fromRow(row) : undefined;
  }

  async update(id: string, patch: JobPatch, onlyIf?: JobStatus[]): Promise<JobRecord | undefined> {
    const sets: string[] = ['updated_at = @updated_at'];
    const params: Record<string, unknown> = { id, updated_at: nowIso() };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      sets.push(`${k} = @${k}`);
      params[k] = JSON_COLUMNS.has(k) ? (v === null ? null : JSON.stringify(v)) : typeof v === 'boolean' ? Number(v) : v;
    }
    let where = 'id = @id';
    if (onlyIf && onlyIf.length > 0) {
      where += ` AND status IN (${onlyIf.map((_, i) => `@s${i}`).join(', ')})`;
      onlyIf.forEach((s, i) => (params[`s${i}`] = s));
    }
    const res = this.statement(`UPDATE jobs SET ${sets.join(', ')} WHERE ${where}`).run(params);
    if (res.changes === 0) return undefined;
    return this.get(id);
  }

  async list(query: ListJobsQuery): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: Math.min(query.limit ?? 50, 1000) };
    if (query.owner !== undefined) {
      if (query.owner === null) where.push('owner IS NULL');
      else {
        where.push('owner = @owner');
        params.owner = query.owner;
      }
    }
    if (query.tool) {
      where.push('tool = @tool');
      params.tool = query.tool;
    }
    if (query.before) {
      where.push('created_at < @before');
      params.before = query.before;
    }
    if (query.statuses && query.statuses.length > 0) {
      where.push(`status IN (${query.statuses.map((_, i) => `@st${i}`).join(', ')})`);
      query.statuses.forEach((s, i) => (params[`st${i}`] = s));
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT @limit`;
    return (this.statement(sql).all(params) as Row[]).map(fromRow);
  }

  async deleteFinishedBefore(iso: string): Promise<number> {
    return this.db
      .prepare(`DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? AND status IN ('succeeded','failed','cancelled','interrupted')`)
      .run(iso).changes;
  }

  async close(): Promise<void> {
    // The database handle belongs to the app, which closes it after every user of it.
  }
}
