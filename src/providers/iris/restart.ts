// restart_instance's workflow: plan a graceful restart (state, active users, steps, timeouts), then
// carry it out after approval: stop, start, verify, and roll back pending CPF changes on failure.
import { ShieldError } from '../../errors.js';
import type { CpfPlanBody } from './cpf-change.js';
import { sha256 } from './cpf.js';
import type { QlistEntry } from './control.js';
import type { ResolvedInstance } from './instances.js';
import type { ActiveUsers } from './probes.js';
import { RestartSteps, type StartAttempt } from './restart-steps.js';
import type { PlanRow } from './store.js';
import { approvePlan, loadPlan, planExpiry, refuseWhenOff, withInstanceLock, type RemediationRun, type WorkflowDeps } from './workflow.js';

export interface RestartPlanBody {
  instance: string;
  reason: string;
  requested_by: string;
  state: { status: string; health: string; text: string };
  active_users: ActiveUsers;
  accept_active_users: boolean;
  pending_cpf_changes: Array<{ plan_id: string; changes: CpfPlanBody['changes'] }>;
  steps: Array<{ step: string; detail: string; timeout_ms?: number }>;
  notes: string[];
}

export class RestartWorkflow {
  constructor(private readonly d: WorkflowDeps) {}

  async plan(inst: ResolvedInstance, reason: string, acceptActiveUsers: boolean, actor: string, signal?: AbortSignal): Promise<PlanRow<RestartPlanBody>> {
    refuseWhenOff(inst);
    const q = await this.d.probes.qlist(inst, signal);
    if (!q) throw new ShieldError('UPSTREAM_REJECTED', `iris qlist does not list ${inst.irisName}.`, { hint: 'Check iris_name in the instance configuration.' });
    const users = q.state === 'running' ? await this.d.probes.activeUsers(inst, signal) : { known: true, count: 0, users: [] };
    const pending = this.d.plans.pendingCpfChanges<CpfPlanBody>(inst.name).map((p) => ({ plan_id: p.id, changes: p.body.changes }));
    const steps = plannedSteps(inst, q, acceptActiveUsers, pending);
    const body: RestartPlanBody = {
      instance: inst.name,
      reason,
      requested_by: actor,
      state: { status: q.state, health: q.health, text: q.stateText },
      active_users: users,
      accept_active_users: acceptActiveUsers,
      pending_cpf_changes: pending,
      steps,
      notes: planNotes(users, acceptActiveUsers, pending.length > 0),
    };
    const planHash = sha256(JSON.stringify({ action: 'restart', instance: inst.name, steps, accept: acceptActiveUsers, pending: pending.map((p) => p.plan_id) }));
    const row = this.d.plans.insert({ instance: inst.name, action: 'restart', plan_hash: planHash, body, expires_at: planExpiry(this.d.config) });
    this.d.audit.record({ kind: 'plan', actor, tool: 'restart_instance', target: inst.name, plan_hash: planHash, outcome: 'planned', details: { plan_id: row.id, reason, state: body.state, active_users: users.count } });
    this.d.count('plan', 'planned');
    return row;
  }

  async apply(inst: ResolvedInstance, planId: string, run: RemediationRun): Promise<Record<string, unknown>> {
    const plan = loadPlan<RestartPlanBody>(this.d.plans, planId, 'restart', inst.name, run.jobId);
    return this.withApprovedPlan(inst, plan, run, async (s) => {
      await s.stopIfRunning(plan.body.accept_active_users);
      // From here on a cancel or a shutdown must not leave the instance down: the remaining steps
      // run to their end, bounded by their own timeouts only.
      const finishing = s.finishingRun();
      const pending = this.d.plans.pendingCpfChanges<CpfPlanBody>(inst.name);
      const first = await s.startAndVerify(finishing, 3);
      s.recordStart(first.healthy ? 'healthy' : 'unhealthy', first.checks);
      if (first.healthy) return s.succeed(first, pending);
      if (pending.length === 0) {
        return s.fail('UPSTREAM_REJECTED', `${inst.name} did not come up healthy after the restart (${first.problem}). No CPF change made through Shield is pending, so nothing was rolled back.`, {
          checks: first.checks,
          state: first.state,
        });
      }
      return this.rollBackAndRetry(s, inst, first, pending, finishing);
    });
  }

  /** Under the instance lock: approval, then the plan taken for this job, then the steps. */
  private withApprovedPlan<T>(inst: ResolvedInstance, plan: PlanRow<RestartPlanBody>, run: RemediationRun, steps: (s: RestartSteps) => Promise<T>): Promise<T> {
    return withInstanceLock(this.d.lock, inst, run, async () => {
      run.progress({ done: 0, total: 6, message: 'waiting for approval' });
      const { by } = await approvePlan(this.d, inst, plan, restartSummary(plan.body, plan.id), run);
      if (!this.d.plans.update(plan.id, { status: 'applying', job_id: run.jobId }, ['planned'])) {
        throw new ShieldError('CONFLICT', `Plan ${plan.id} was taken by another job.`);
      }
      return steps(await RestartSteps.begin(this.d, inst, plan, by, run));
    });
  }

  /** 5. It did not come up: roll back the CPF change(s) this restart was activating, start again, report both attempts. */
  private async rollBackAndRetry(s: RestartSteps, inst: ResolvedInstance, first: StartAttempt, pending: Array<PlanRow<CpfPlanBody>>, run: RemediationRun): Promise<never> {
    run.progress({ done: 5, total: 6, message: 'rolling back the CPF change and starting again' });
    const rollback = await s.rollBack(pending, run);
    const second = rollback.ok ? await s.startAndVerify(run, 5, ' (after rollback)') : undefined;
    s.recordStart(second?.healthy ? 'healthy_after_rollback' : 'unhealthy_after_rollback', second?.checks);
    const ids = pending.map((p) => p.id);
    const report = {
      first_attempt: { problem: first.problem, checks: first.checks, state: first.state },
      rollback: { plans: ids, restored: rollback.ok, backups: rollback.backups },
      second_attempt: second ? { healthy: second.healthy, problem: second.problem, checks: second.checks, state: second.state } : null,
      rolled_back: rollback.ok,
      healthy: second?.healthy ?? false,
    };
    return s.fail(
      'UPSTREAM_REJECTED',
      `${inst.name} did not come up with the new configuration (${first.problem}). ` +
        (rollback.ok
          ? `The CPF change (${ids.join(', ')}) was rolled back and the instance ${second?.healthy ? 'started healthy with the previous configuration' : `still did not come up (${second?.problem})`}.`
          : 'The CPF change could not be rolled back; an operator must restore it.'),
      report,
    );
  }
}

function plannedSteps(inst: ResolvedInstance, q: QlistEntry, accept: boolean, pending: RestartPlanBody['pending_cpf_changes']): RestartPlanBody['steps'] {
  const t = inst.timeouts;
  const steps: RestartPlanBody['steps'] = [];
  if (q.state === 'running') {
    steps.push({ step: 'check_active_users', detail: accept ? 'active users accepted by this plan' : 'refuse if any user is active' });
    steps.push({ step: 'stop', detail: `iris stop ${inst.irisName} quietly; if it does not finish, do not start`, timeout_ms: t.stop_ms });
  } else {
    steps.push({ step: 'stop', detail: 'skipped: the instance is down' });
  }
  steps.push({ step: 'start', detail: `iris start ${inst.irisName}`, timeout_ms: t.start_ms });
  const checks = ['qlist running + ok', `TCP connect 127.0.0.1:${inst.superserverPort}`];
  if (inst.webPort && inst.httpCheckPath) checks.push(`HTTP GET 127.0.0.1:${inst.webPort}${inst.httpCheckPath}`);
  steps.push({ step: 'health', detail: checks.join(', '), timeout_ms: t.health_ms });
  if (pending.length) steps.push({ step: 'rollback_on_failure', detail: `if it does not come up: restore the backup of ${pending.map((p) => p.plan_id).join(', ')}, start again, check health` });
  steps.push({ step: 'report', detail: 'messages.log entries written during the restart, errors first' });
  return steps;
}

function planNotes(users: ActiveUsers, accept: boolean, cpfPending: boolean): string[] {
  const notes: string[] = [];
  if (users.count > 0 && !accept) notes.push(`${users.count} active user(s): applying this plan will be refused. Coordinate with them, then plan again with accept_active_users: true.`);
  if (users.count > 0 && accept) notes.push(`${users.count} active user(s) will be disconnected by the stop.`);
  if (!users.known) notes.push('No active-users probe is configured for this instance: active users are unknown.');
  if (cpfPending) notes.push('The restart activates CPF changes applied through Shield; they are rolled back automatically if the instance does not come up.');
  return notes;
}

function restartSummary(b: RestartPlanBody, planId: string): string {
  return [
    `Restart IRIS instance ${b.instance} (plan ${planId}), requested by ${b.requested_by}.`,
    `Reason: ${b.reason}`,
    `Now: ${b.state.text} (health ${b.state.health}); active users: ${b.active_users.known ? b.active_users.count : 'unknown'}`,
    ...b.steps.map((s, i) => `${i + 1}. ${s.step}: ${s.detail}${s.timeout_ms ? ` (timeout ${s.timeout_ms} ms)` : ''}`),
    ...b.notes,
  ].join('\n');
}
