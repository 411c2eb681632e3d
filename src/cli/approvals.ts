// `shield-mcp approve|deny|approvals`: an operator decides a plan a job waits on, out of band,
// through the same SQLite file the server uses (same --data-dir). No tool argument can do this.
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { CommandContext } from './context.js';
import { UsageError } from './args.js';
import { AuditLog } from '../observability/audit.js';
import { ApprovalStore } from '../providers/iris/store.js';
import { recordOperatorDecision } from '../providers/iris/approval.js';
import { openDatabase } from '../store/sqlite.js';

function open(ctx: CommandContext): { store: ApprovalStore; audit: AuditLog; close(): void } {
  const { data_dir, file } = ctx.config.store;
  if (data_dir === ':memory:') throw new UsageError('approvals need the server\'s data directory (--data-dir), not :memory:');
  const db = openDatabase({ dataDir: data_dir, file });
  return { store: new ApprovalStore(db), audit: new AuditLog(db, join(resolve(data_dir), 'audit.jsonl')), close: () => db.close() };
}

function operator(env: NodeJS.ProcessEnv): string {
  let name = env.SHIELD_OPERATOR;
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = 'unknown';
    }
  }
  return `operator:${name}`;
}

async function decide(ctx: CommandContext, decision: 'approved' | 'denied'): Promise<number> {
  const jobId = ctx.args.positionals[0];
  if (!jobId || !/^job_[A-Za-z0-9_-]{16,64}$/.test(jobId)) throw new UsageError(`${decision === 'approved' ? 'approve' : 'deny'} needs a job id: shield-mcp ${decision === 'approved' ? 'approve' : 'deny'} <job_id>`);
  const reason = ctx.args.reason ?? null;
  if (decision === 'denied' && !reason) throw new UsageError('deny needs --reason "..." (it is recorded and shown to the agent)');
  const { store, audit, close } = open(ctx);
  try {
    const by = operator(ctx.env);
    const res = recordOperatorDecision(store, audit, { jobId, decision, by, reason, via: 'cli' });
    if (!res.ok) {
      process.stderr.write(`shield-mcp: cannot decide ${jobId}: ${res.reason}\n`);
      return 1;
    }
    process.stdout.write(`${decision} ${jobId} (plan ${res.row.plan_id} on ${res.row.instance}) as ${by}\n`);
    return 0;
  } finally {
    close();
  }
}

export const approveCommand = (ctx: CommandContext): Promise<number> => decide(ctx, 'approved');
export const denyCommand = (ctx: CommandContext): Promise<number> => decide(ctx, 'denied');

/** List what waits for a decision, with the plan text the job shows. */
export async function approvalsCommand(ctx: CommandContext): Promise<number> {
  const { store, close } = open(ctx);
  try {
    const now = new Date().toISOString();
    const pending = store.listPending().filter((r) => r.expires_at > now);
    if (pending.length === 0) process.stdout.write('no approvals pending\n');
    for (const r of pending) process.stdout.write(`== ${r.job_id} (expires ${r.expires_at})\n${r.summary}\n\n`);
    return 0;
  } finally {
    close();
  }
}
