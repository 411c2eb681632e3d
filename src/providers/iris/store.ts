// Remediation state in the embedded store: plans, pending approvals and per-instance locks.
// The CLI (approve/deny) and the server share these tables through the same SQLite file.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../store/sqlite.js';

export type PlanAction = 'cpf_change' | 'restart';
export type PlanStatus = 'planned' | 'applying' | 'applied' | 'rolled_back' | 'failed';

export interface PlanRow<B = unknown> {
  id: string;
  instance: string;
  action: PlanAction;
  plan_hash: string;
  body: B;
  status: PlanStatus;
  job_id: string | null;
  created_at: string;
  expires_at: string;
  updated_at: string;
  /** cpf_change: the restart that made it take effect (or the rollback), so restarts find it once. */
  activated: boolean;
  outcome: unknown;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

export interface ApprovalRow {
  job_id: string;
  plan_id: string;
  instance: string;
  action: PlanAction;
  plan_hash: string;
  summary: string;
  status: ApprovalStatus;
  requested_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

const nowIso = (): string => new Date().toISOString();

export function newPlanId(): string {
  return `plan_${randomBytes(12).toString('base64url')}`;
}

export function ensureSchema(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS remediation_plans (
      id TEXT PRIMARY KEY,
      instance TEXT NOT NULL,
      action TEXT NOT NULL,
      plan_hash TEXT NOT NULL,
      body TEXT NOT NULL,
      status TEXT NOT NULL,
      job_id TEXT,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      activated INTEGER NOT NULL DEFAULT 0,
      outcome TEXT
    );
    CREATE INDEX IF NOT EXISTS remediation_plans_instance ON remediation_plans (instance, action, status);
    CREATE TABLE IF NOT EXISTS remediation_approvals (
      job_id TEXT PRIMARY KEY,
      plan_id TEXT NOT NULL,
      instance TEXT NOT NULL,
      action TEXT NOT NULL,
      plan_hash TEXT NOT NULL,
      summary TEXT NOT NULL,
      status TEXT NOT NULL,
      requested_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      decided_by TEXT,
      decided_at TEXT,
      reason TEXT
    );
    CREATE TABLE IF NOT EXISTS remediation_locks (
      instance TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      acquired_at TEXT NOT NULL
    );`);
}

interface RawPlan extends Omit<PlanRow, 'body' | 'activated' | 'outcome'> {
  body: string;
  activated: number;
  outcome: string | null;
}

const fromRaw = <B>(r: RawPlan): PlanRow<B> => ({
  ...r,
  body: JSON.parse(r.body) as B,
  activated: r.activated === 1,
  outcome: r.outcome === null ? null : (JSON.parse(r.outcome) as unknown),
});

export class PlanStore {
  constructor(private readonly db: Db) {
    ensureSchema(db);
  }

  insert<B>(p: { instance: string; action: PlanAction; plan_hash: string; body: B; expires_at: string }): PlanRow<B> {
    const id = newPlanId();
    const now = nowIso();
    this.db
      .prepare(`INSERT INTO remediation_plans (id, instance, action, plan_hash, body, status, created_at, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, 'planned', ?, ?, ?)`)
      .run(id, p.instance, p.action, p.plan_hash, JSON.stringify(p.body), now, p.expires_at, now);
    return this.get<B>(id)!;
  }

  get<B>(id: string): PlanRow<B> | undefined {
    const r = this.db.prepare<[string], RawPlan>('SELECT * FROM remediation_plans WHERE id = ?').get(id);
    return r ? fromRaw<B>(r) : undefined;
  }

  /** Compare-and-set on the status (two jobs cannot both apply one plan). */
  update(id: string, patch: { status?: PlanStatus; job_id?: string; activated?: boolean; outcome?: unknown }, onlyIf?: PlanStatus[]): boolean {
    const sets: string[] = ['updated_at = @updated_at'];
    const params: Record<string, unknown> = { id, updated_at: nowIso() };
    const columns: Record<string, unknown> = {
      status: patch.status,
      job_id: patch.job_id,
      activated: patch.activated === undefined ? undefined : patch.activated ? 1 : 0,
      outcome: patch.outcome === undefined ? undefined : JSON.stringify(patch.outcome),
    };
    for (const [column, value] of Object.entries(columns)) {
      if (value === undefined) continue;
      sets.push(`${column} = @${column}`);
      params[column] = value;
    }
    let where = 'id = @id';
    if (onlyIf?.length) {
      where += ` AND status IN (${onlyIf.map((_, i) => `@s${i}`).join(', ')})`;
      onlyIf.forEach((s, i) => (params[`s${i}`] = s));
    }
    return this.db.prepare(`UPDATE remediation_plans SET ${sets.join(', ')} WHERE ${where}`).run(params).changes === 1;
  }

  /** CPF changes applied through Shield that no restart has activated yet, newest first. */
  pendingCpfChanges<B>(instance: string): Array<PlanRow<B>> {
    return this.db
      .prepare<[string], RawPlan>(`SELECT * FROM remediation_plans WHERE instance = ? AND action = 'cpf_change' AND status = 'applied' AND activated = 0 ORDER BY updated_at DESC`)
      .all(instance)
      .map((r) => fromRaw<B>(r));
  }
}

export class ApprovalStore {
  constructor(private readonly db: Db) {
    ensureSchema(db);
  }

  /** Ask (or ask again after a restart: a still-valid decision for this job and plan is kept). */
  request(a: Omit<ApprovalRow, 'status' | 'requested_at' | 'decided_by' | 'decided_at' | 'reason'>): ApprovalRow {
    const existing = this.get(a.job_id);
    if (existing && existing.plan_hash === a.plan_hash && existing.status !== 'expired' && !(existing.status === 'pending' && existing.expires_at < nowIso())) return existing;
    this.db
      .prepare(
        `INSERT OR REPLACE INTO remediation_approvals (job_id, plan_id, instance, action, plan_hash, summary, status, requested_at, expires_at) VALUES (@job_id, @plan_id, @instance, @action, @plan_hash, @summary, 'pending', @requested_at, @expires_at)`,
      )
      .run({ ...a, requested_at: nowIso() });
    return this.get(a.job_id)!;
  }

  get(jobId: string): ApprovalRow | undefined {
    return this.db.prepare<[string], ApprovalRow>('SELECT * FROM remediation_approvals WHERE job_id = ?').get(jobId);
  }

  listPending(): ApprovalRow[] {
    return this.db.prepare<[], ApprovalRow>(`SELECT * FROM remediation_approvals WHERE status = 'pending' ORDER BY requested_at`).all();
  }

  /** Decide a pending, unexpired approval; returns the row after the attempt. */
  decide(jobId: string, decision: 'approved' | 'denied', by: string, reason: string | null): { ok: boolean; row: ApprovalRow | undefined } {
    const now = nowIso();
    const changes = this.db
      .prepare(`UPDATE remediation_approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ? WHERE job_id = ? AND status = 'pending' AND expires_at > ?`)
      .run(decision, by, now, reason, jobId, now).changes;
    return { ok: changes === 1, row: this.get(jobId) };
  }

  expire(jobId: string): void {
    this.db.prepare(`UPDATE remediation_approvals SET status = 'expired', decided_at = ? WHERE job_id = ? AND status = 'pending'`).run(nowIso(), jobId);
  }
}

/** One remediation job per instance at a time; a Redis lock can replace this behind the interface. */
export interface InstanceLock {
  /** True when jobId holds the lock now (re-entrant for the same job after a restart). */
  acquire(instance: string, jobId: string, isStale: (holderJobId: string) => Promise<boolean>): Promise<boolean>;
  release(instance: string, jobId: string): Promise<void>;
  holder(instance: string): Promise<string | undefined>;
}

export class SqliteInstanceLock implements InstanceLock {
  constructor(private readonly db: Db) {
    ensureSchema(db);
  }

  async acquire(instance: string, jobId: string, isStale: (holderJobId: string) => Promise<boolean>): Promise<boolean> {
    const insert = this.db.prepare('INSERT OR IGNORE INTO remediation_locks (instance, job_id, acquired_at) VALUES (?, ?, ?)');
    if (insert.run(instance, jobId, nowIso()).changes === 1) return true;
    const holder = await this.holder(instance);
    if (holder === jobId) return true;
    if (holder === undefined) return insert.run(instance, jobId, nowIso()).changes === 1;
    // The holder finished or died with its process: take the lock over, atomically.
    if (await isStale(holder)) {
      return this.db.prepare('UPDATE remediation_locks SET job_id = ?, acquired_at = ? WHERE instance = ? AND job_id = ?').run(jobId, nowIso(), instance, holder).changes === 1;
    }
    return false;
  }

  async release(instance: string, jobId: string): Promise<void> {
    this.db.prepare('DELETE FROM remediation_locks WHERE instance = ? AND job_id = ?').run(instance, jobId);
  }

  async holder(instance: string): Promise<string | undefined> {
    return this.db.prepare<[string], { job_id: string }>('SELECT job_id FROM remediation_locks WHERE instance = ?').get(instance)?.job_id;
  }
}
