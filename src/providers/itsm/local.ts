// The built-in ticket desk in the embedded SQLite store: LOC-000123 numbers, state, timestamps and
// an SLA due time per priority. The idempotency key is a UNIQUE column, so creation is exactly-once.
import { ShieldError } from '../../errors.js';
import type { ItsmConfig } from '../../config/sections/itsm.js';
import type { Db } from '../../store/sqlite.js';
import { renderDescription } from './markdown.js';
import type { CreateContext, CreateOutcome, TicketProvider, TicketView, UpstreamRequest } from './types.js';

type LocalConfig = ItsmConfig['local'];

interface Row {
  seq: number;
  number: string;
  summary: string;
  description: string;
  priority: string;
  category: string | null;
  assignment_group: string | null;
  labels: string;
  state: string;
  idempotency_key: string;
  job_id: string | null;
  created_at: string;
  updated_at: string;
  sla_due_at: string;
}

const DESCRIPTION_LIMIT = 65_536;

export class LocalDesk implements TicketProvider {
  readonly platform = 'local' as const;

  constructor(
    private readonly db: Db,
    private readonly cfg: LocalConfig,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS itsm_local_tickets (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      number TEXT NOT NULL UNIQUE,
      summary TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      priority TEXT NOT NULL,
      category TEXT,
      assignment_group TEXT,
      labels TEXT NOT NULL DEFAULT '[]',
      state TEXT NOT NULL DEFAULT 'new',
      idempotency_key TEXT NOT NULL UNIQUE,
      job_id TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      sla_due_at TEXT NOT NULL
    )`);
  }

  buildRequest(fields: Record<string, unknown>, upstreamKey: string): UpstreamRequest {
    const description = typeof fields.description === 'string' ? (renderDescription(fields.description, 'markdown', DESCRIPTION_LIMIT).value as string) : '';
    const body: Record<string, unknown> = {
      summary: fields.summary,
      description,
      priority: fields.priority ?? this.cfg.default_priority,
      category: fields.category ?? null,
      assignment_group: fields.assignment_group ?? null,
      labels: Array.isArray(fields.labels) ? fields.labels : [],
      idempotency_key: upstreamKey,
    };
    return { method: 'INSERT', path: 'itsm_local_tickets', body };
  }

  async create(request: UpstreamRequest, _key: string, ctx: CreateContext): Promise<CreateOutcome> {
    const b = request.body as { summary: string; description: string; priority: keyof LocalConfig['sla_minutes']; category: string | null; assignment_group: string | null; labels: string[]; idempotency_key: string };
    const insert = this.db.transaction((): { row: Row; created: boolean } => {
      const existing = this.db.prepare('SELECT * FROM itsm_local_tickets WHERE idempotency_key = ?').get(b.idempotency_key) as Row | undefined;
      if (existing) return { row: existing, created: existing.job_id === ctx.jobId };
      const now = new Date();
      const due = new Date(now.getTime() + (this.cfg.sla_minutes[b.priority] ?? this.cfg.sla_minutes.P3) * 60_000);
      const seq = ((this.db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get('itsm_local_tickets') as { seq: number } | undefined)?.seq ?? 0) + 1;
      const number = `${this.cfg.prefix}-${String(seq).padStart(6, '0')}`;
      this.db
        .prepare(
          `INSERT INTO itsm_local_tickets (seq, number, summary, description, priority, category, assignment_group, labels, state, idempotency_key, job_id, created_at, updated_at, sla_due_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?)`,
        )
        .run(seq, number, b.summary, b.description, b.priority, b.category, b.assignment_group, JSON.stringify(b.labels), b.idempotency_key, ctx.jobId, now.toISOString(), now.toISOString(), due.toISOString());
      return { row: this.db.prepare('SELECT * FROM itsm_local_tickets WHERE seq = ?').get(seq) as Row, created: true };
    });
    const { row, created } = insert.immediate();
    return { ticket: this.view(row), created, retry: { attempts: created ? 1 : 0, delays_ms: [], errors: [] } };
  }

  async get(id: string): Promise<TicketView & { description: string; labels: string[] }> {
    const row = this.db.prepare('SELECT * FROM itsm_local_tickets WHERE number = ?').get(id) as Row | undefined;
    if (!row) throw new ShieldError('NOT_FOUND', `No local ticket ${id}.`, { hint: `Local ticket numbers look like ${this.cfg.prefix}-000123.` });
    return { ...this.view(row), description: row.description, labels: JSON.parse(row.labels) as string[] };
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM itsm_local_tickets').get() as { n: number }).n;
  }

  private view(row: Row): TicketView {
    return {
      platform: 'local',
      id: row.number,
      number: row.number,
      url: `${this.cfg.url_base}${row.number}`,
      state: row.state,
      summary: row.summary,
      priority: row.priority,
      created_at: row.created_at,
      sla_due_at: row.sla_due_at,
    };
  }
}
