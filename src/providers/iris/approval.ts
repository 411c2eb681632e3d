// Approval of a plan per instance policy: auto, a human through the client (elicitation), or an
// operator out of band (shield-mcp approve/deny) while the job waits in awaiting_approval.
import { ShieldError } from '../../errors.js';
import type { ApprovalPolicy } from '../../config/sections/remediation.js';
import type { AuditLog } from '../../observability/audit.js';
import { wait } from '../../upstream/retry.js';
import type { ApprovalRow, ApprovalStore, PlanAction } from './store.js';

/** Asks the human at the client; undefined when there was no answer (cancelled, timed out, failed). */
export type AskHuman = (message: string, signal: AbortSignal) => Promise<{ approved: boolean; reason?: string } | undefined>;

export interface ApprovalRequest {
  policy: ApprovalPolicy;
  instance: string;
  planId: string;
  planHash: string;
  action: PlanAction;
  /** What the human reads: the plan in plain text. */
  summary: string;
  jobId: string;
  /** Who submitted the job (its owner, or "local"). */
  requester: string;
  signal: AbortSignal;
  setStatus(s: 'awaiting_approval' | 'running'): Promise<void>;
  askHuman?: AskHuman | undefined;
  onDecision?: (action: 'approve' | 'deny' | 'expire', outcome: string) => void;
}

export interface ApprovalSettings {
  ttlMs: number;
  pollMs: number;
}

type Approved = { by: string; via: string };
type AuditBase = { tool: string; target: string; plan_hash: string; job_id: string };

/** Resolves with who approved; throws POLICY_DENIED (off, plan_only, denied) or APPROVAL_REQUIRED (expired). */
export async function obtainApproval(req: ApprovalRequest, store: ApprovalStore, audit: AuditLog, s: ApprovalSettings): Promise<Approved> {
  const base: AuditBase = { tool: req.action === 'cpf_change' ? 'apply_cpf_change' : 'restart_instance', target: req.instance, plan_hash: req.planHash, job_id: req.jobId };
  if (req.policy === 'off') {
    throw new ShieldError('POLICY_DENIED', `Remediation is off for instance ${req.instance}.`);
  }
  if (req.policy === 'plan_only') {
    throw new ShieldError('POLICY_DENIED', `Instance ${req.instance} allows plans only; an operator must carry this plan out by hand.`, {
      hint: 'Give the plan (its diff and steps) to an operator; Shield will not apply it on this instance.',
    });
  }
  if (req.policy === 'auto') {
    audit.record({ ...base, kind: 'approval', actor: 'policy:auto', outcome: 'approved', details: { plan_id: req.planId, requested_by: req.requester } });
    req.onDecision?.('approve', 'auto');
    return { by: 'policy:auto', via: 'policy' };
  }

  // confirm. A decision already taken for this job (it ran again after a restart) stands.
  const expiresAt = new Date(Date.now() + s.ttlMs).toISOString();
  const row = store.request({ job_id: req.jobId, plan_id: req.planId, instance: req.instance, action: req.action, plan_hash: req.planHash, summary: req.summary, expires_at: expiresAt });
  if (row.status === 'approved') return { by: row.decided_by ?? 'operator', via: 'operator' };
  if (row.status === 'denied') throw denied(row.decided_by ?? 'operator', row.reason);
  const atClient = req.askHuman ? await askAtClient(req, req.askHuman, store, audit, base, s.ttlMs) : undefined;
  if (atClient) return atClient;
  audit.record({ ...base, kind: 'approval_requested', actor: 'system', outcome: 'pending', details: { plan_id: req.planId, expires_at: row.expires_at } });
  return waitForOperator(req, store, audit, base, s.pollMs);
}

/** The human at the client decides; undefined when there was no answer or an operator decided first. */
async function askAtClient(req: ApprovalRequest, askHuman: AskHuman, store: ApprovalStore, audit: AuditLog, base: AuditBase, ttlMs: number): Promise<Approved | undefined> {
  const signal = AbortSignal.any([req.signal, AbortSignal.timeout(ttlMs)]);
  let answer: Awaited<ReturnType<AskHuman>>;
  try {
    answer = await askHuman(req.summary, signal);
  } catch {
    answer = undefined;
  }
  if (req.signal.aborted) throw req.signal.reason as Error;
  if (!answer) return undefined;
  const by = `human:${req.requester}`;
  const decided = store.decide(req.jobId, answer.approved ? 'approved' : 'denied', by, answer.reason ?? null);
  // An operator decided first: the caller reads that decision.
  if (!decided.ok) return undefined;
  audit.record({ ...base, kind: answer.approved ? 'approval' : 'denial', actor: by, outcome: answer.approved ? 'approved' : 'denied', details: { via: 'elicitation', reason: answer.reason } });
  req.onDecision?.(answer.approved ? 'approve' : 'deny', 'elicitation');
  if (!answer.approved) throw denied(by, answer.reason ?? null);
  return { by, via: 'elicitation' };
}

/** The job waits in awaiting_approval, polling the store, until an operator decides or the request expires. */
async function waitForOperator(req: ApprovalRequest, store: ApprovalStore, audit: AuditLog, base: AuditBase, pollMs: number): Promise<Approved> {
  await req.setStatus('awaiting_approval');
  for (;;) {
    const r = store.get(req.jobId);
    if (r?.status === 'approved') {
      await req.setStatus('running');
      req.onDecision?.('approve', 'operator');
      return { by: r.decided_by ?? 'operator', via: 'operator' };
    }
    if (r?.status === 'denied') {
      req.onDecision?.('deny', 'operator');
      throw denied(r.decided_by ?? 'operator', r.reason);
    }
    if (!r || r.status === 'expired' || r.expires_at <= new Date().toISOString()) {
      store.expire(req.jobId);
      audit.record({ ...base, kind: 'approval_expired', actor: 'system', outcome: 'expired', details: { plan_id: req.planId } });
      req.onDecision?.('expire', 'expired');
      throw new ShieldError('APPROVAL_REQUIRED', `No operator approved the plan for ${req.instance} before the approval expired; nothing was changed.`, {
        hint: 'Plan again and ask an operator to run `shield-mcp approve <job_id>` while the job waits.',
        details: { plan_id: req.planId, expired_at: r?.expires_at },
      });
    }
    await wait(pollMs, req.signal);
  }
}

function denied(by: string, reason: string | null): ShieldError {
  return new ShieldError('POLICY_DENIED', `The plan was denied by ${by}${reason ? `: ${reason}` : ''}. Nothing was changed.`, {
    details: { denied_by: by, reason },
    hint: 'Do not retry the same plan; address the reason given, or ask the operator.',
  });
}

export type OperatorDecision = { ok: true; row: ApprovalRow } | { ok: false; reason: string; row?: ApprovalRow };

/**
 * An operator's decision on a job waiting for approval (the CLI, the admin endpoint): recorded
 * once, only while the request is pending and unexpired, and audited with who and how.
 */
export function recordOperatorDecision(
  store: ApprovalStore,
  audit: AuditLog,
  d: { jobId: string; decision: 'approved' | 'denied'; by: string; reason: string | null; via: 'cli' | 'http' },
): OperatorDecision {
  const { ok, row } = store.decide(d.jobId, d.decision, d.by, d.reason);
  if (!row) return { ok: false, reason: `no approval is pending for ${d.jobId}` };
  if (!ok) return { ok: false, row, reason: row.status === 'pending' ? 'it expired' : `it is already ${row.status}${row.decided_by ? ` by ${row.decided_by}` : ''}` };
  audit.record({
    kind: d.decision === 'approved' ? 'approval' : 'denial',
    actor: d.by,
    tool: row.action === 'cpf_change' ? 'apply_cpf_change' : 'restart_instance',
    target: row.instance,
    plan_hash: row.plan_hash,
    job_id: d.jobId,
    outcome: d.decision,
    details: { plan_id: row.plan_id, via: d.via, reason: d.reason },
  });
  return { ok: true, row };
}
