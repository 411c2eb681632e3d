// Append-only audit trail: a JSON-lines file beside the store, and the same entries in the store.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db } from '../store/sqlite.js';

export interface AuditEntry {
  /** What happened: tool_call, plan, approval, denial, apply, verification, rollback, ... */
  kind: string;
  /** Who: a principal id, "operator:<name>", "local" (stdio) or "system". */
  actor: string;
  tool?: string;
  target?: string;
  plan_hash?: string;
  job_id?: string;
  trace_id?: string;
  outcome: string;
  details?: unknown;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  ts: string;
}

export class AuditLog {
  private readonly db: Db;
  private readonly file: string | undefined;
  private readonly insert;
  private fd: number | undefined;

  /** file: the JSON-lines path, or undefined for an in-memory store (tests). */
  constructor(db: Db, file: string | undefined) {
    this.db = db;
    this.file = file;
    db.exec(`CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      ts TEXT NOT NULL,
      kind TEXT NOT NULL,
      actor TEXT NOT NULL,
      tool TEXT, target TEXT, plan_hash TEXT, job_id TEXT, trace_id TEXT,
      outcome TEXT NOT NULL,
      details TEXT
    );
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;`);
    this.insert = db.prepare(`INSERT INTO audit (ts, kind, actor, tool, target, plan_hash, job_id, trace_id, outcome, details)
      VALUES (@ts, @kind, @actor, @tool, @target, @plan_hash, @job_id, @trace_id, @outcome, @details)`);
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      // Opened once in append mode: each entry is one write(2), in order, never rewriting the past.
      this.fd = openSync(file, 'a', 0o600);
    }
  }

  record(entry: AuditEntry): AuditRecord {
    const ts = new Date().toISOString();
    const row = {
      ts,
      kind: entry.kind,
      actor: entry.actor,
      tool: entry.tool ?? null,
      target: entry.target ?? null,
      plan_hash: entry.plan_hash ?? null,
      job_id: entry.job_id ?? null,
      trace_id: entry.trace_id ?? null,
      outcome: entry.outcome,
      details: entry.details === undefined ? null : JSON.stringify(entry.details),
    };
    const seq = Number(this.insert.run(row).lastInsertRowid);
    const rec: AuditRecord = { seq, ts, ...entry };
    if (this.fd !== undefined) writeSync(this.fd, `${JSON.stringify(rec)}\n`);
    return rec;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  list(filter: { kind?: string; target?: string; job_id?: string; limit?: number } = {}): AuditRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit ?? 100 };
    for (const k of ['kind', 'target', 'job_id'] as const) {
      if (filter[k] !== undefined) {
        where.push(`${k} = @${k}`);
        params[k] = filter[k];
      }
    }
    const rows = this.db
      .prepare<Record<string, unknown>, Record<string, unknown>>(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`)
      .all(params);
    return rows.map((r) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) if (v !== null) out[k] = k === 'details' ? JSON.parse(v as string) : v;
      return out as unknown as AuditRecord;
    });
  }
}
