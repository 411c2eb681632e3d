// What both remediation workflows (CPF change, restart) share: the run a job hands them, the
// dependencies the service builds once, and the gates before any change: plan, instance lock, approval.
import { ShieldError } from '../../errors.js';
import type { RemediationConfig } from '../../config/sections/remediation.js';
import type { AuditLog } from '../../observability/audit.js';
import type { Logger } from '../../observability/logger.js';
import { obtainApproval, type AskHuman } from './approval.js';
import type { ResolvedInstance } from './instances.js';
import type { InstanceProbes } from './probes.js';
import type { ApprovalStore, InstanceLock, PlanAction, PlanRow, PlanStore } from './store.js';

/** What a job gives the service: its identity, signal, progress and the way to ask a human. */
export interface RemediationRun {
  jobId: string;
  attempt: number;
  /** Who asked (principal id or "local"). */
  actor: string;
  signal: AbortSignal;
  logger: Logger;
  progress(p: { done: number; total?: number; message?: string }): void;
  setStatus(s: 'awaiting_approval' | 'running'): Promise<void>;
  askHuman?: AskHuman | undefined;
  /** Status of another job (for taking over a lock its dead holder left). */
  jobStatus(id: string): Promise<string | undefined>;
}

/** Where a CPF write can be stopped: the temp file is written but not renamed; renamed but not verified. */
export type PausePoint = 'after_temp_write' | 'after_rename';

/**
 * Seams for tests. Production wiring (buildServices) never sets them, so the destructive path has
 * no test branch: the crash test's own entry point (tests/remediation/paused-server.ts) sets
 * pauseAt to hold a write at a point and kill the process there.
 */
export interface RemediationHooks {
  pauseAt?: (point: PausePoint, signal: AbortSignal) => Promise<void>;
}

/** Built once by the service and shared by the workflows. */
export interface WorkflowDeps {
  config: RemediationConfig;
  plans: PlanStore;
  approvals: ApprovalStore;
  lock: InstanceLock;
  audit: AuditLog;
  probes: InstanceProbes;
  hooks: RemediationHooks;
  /** shield_remediation_actions_total{action,outcome}. */
  count(action: string, outcome: string): void;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export function refuseWhenOff(inst: ResolvedInstance): void {
  if (inst.policy === 'off') throw new ShieldError('POLICY_DENIED', `Remediation is off for instance ${inst.name}.`);
}

export function planExpiry(config: RemediationConfig): string {
  return new Date(Date.now() + config.plan_ttl_s * 1000).toISOString();
}

/** Load a plan for applying: exists, right kind and instance, not expired, not used by another job. */
export function loadPlan<B>(plans: PlanStore, planId: string, action: PlanAction, instance: string, jobId: string): PlanRow<B> {
  const plan = plans.get<B>(planId);
  if (!plan || plan.action !== action) {
    throw new ShieldError('NOT_FOUND', `No ${action === 'cpf_change' ? 'CPF change' : 'restart'} plan ${planId}.`, {
      hint:
        'Call the tool without plan_id to make a plan first. Plans live in the embedded store of the node that made them: ' +
        'with replicas, serve remediation from the one node that hosts the instance.',
    });
  }
  if (plan.instance !== instance) throw new ShieldError('CONFLICT', `Plan ${planId} is for instance ${plan.instance}, not ${instance}.`);
  const mine = plan.job_id === jobId;
  if (plan.status !== 'planned' && !mine) {
    throw new ShieldError('CONFLICT', `Plan ${planId} was already used (${plan.status}${plan.job_id ? ` by job ${plan.job_id}` : ''}).`, { hint: 'Make a new plan.' });
  }
  if (plan.status === 'planned' && plan.expires_at <= new Date().toISOString()) {
    throw new ShieldError('CONFLICT', `Plan ${planId} expired at ${plan.expires_at}.`, { hint: 'Make a new plan; plans expire so that nothing stale is applied.' });
  }
  return plan;
}

/** One remediation per instance: run fn holding the instance's lock, taken over from a finished or dead holder. */
export async function withInstanceLock<T>(lock: InstanceLock, inst: ResolvedInstance, run: RemediationRun, fn: () => Promise<T>): Promise<T> {
  const ok = await lock.acquire(inst.name, run.jobId, async (holder) => {
    const st = await run.jobStatus(holder);
    return st === undefined || TERMINAL.has(st);
  });
  if (!ok) {
    const holder = await lock.holder(inst.name);
    throw new ShieldError('CONFLICT', `Another remediation job (${holder ?? 'unknown'}) is working on ${inst.name}.`, {
      hint: 'Wait for that job to finish (get_job_status), then plan again.',
      details: { holder_job_id: holder },
    });
  }
  try {
    return await fn();
  } finally {
    await lock.release(inst.name, run.jobId);
  }
}

/** Approval of a plan per the instance's policy (auto, a human via the client, or an operator). */
export function approvePlan(d: WorkflowDeps, inst: ResolvedInstance, plan: PlanRow, summary: string, run: RemediationRun): Promise<{ by: string; via: string }> {
  return obtainApproval(
    {
      policy: inst.policy,
      instance: inst.name,
      planId: plan.id,
      planHash: plan.plan_hash,
      action: plan.action,
      summary,
      jobId: run.jobId,
      requester: run.actor,
      signal: run.signal,
      setStatus: run.setStatus,
      askHuman: run.askHuman,
      onDecision: (a, o) => d.count(a, o),
    },
    d.approvals,
    d.audit,
    { ttlMs: d.config.approval_ttl_s * 1000, pollMs: d.config.approval_poll_ms },
  );
}
