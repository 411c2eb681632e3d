// The steps of one restart, each named, recorded and audited: check active users, stop quietly,
// start, verify health, roll back pending CPF changes; the steps taken go into the result or error.
import { existsSync } from 'node:fs';
import { ShieldError } from '../../errors.js';
import { wait } from '../../upstream/retry.js';
import type { CpfPlanBody } from './cpf-change.js';
import { readCpf, restoreCpf } from './cpf-file.js';
import { httpCheck, tcpCheck, type IrisControl, type QlistEntry } from './control.js';
import type { ResolvedInstance } from './instances.js';
import { errorsFirst, parseMessagesLog, readLogTail, type LogEntry } from './messages-log.js';
import { controlFor, type InstanceProbes } from './probes.js';
import type { PlanRow } from './store.js';
import type { RemediationRun, WorkflowDeps } from './workflow.js';

export interface StepRecord {
  step: string;
  ok: boolean;
  detail: string;
}

export interface HealthChecks {
  qlist: boolean;
  tcp: boolean;
  /** null when the instance has no HTTP check configured. */
  http: boolean | null;
}

/** One start (and its health checks): healthy, or the problem, with the state qlist last printed. */
export interface StartAttempt {
  healthy: boolean;
  problem: string;
  checks: HealthChecks;
  state: string | null;
}

type FailCode = 'POLICY_DENIED' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_REJECTED';
type Pending = Array<PlanRow<CpfPlanBody>>;

/** Poll until qlist says running + ok and the superserver (and HTTP, if configured) answer, or health_ms ends. */
export async function checkHealth(probes: InstanceProbes, inst: ResolvedInstance, signal: AbortSignal): Promise<StartAttempt> {
  const checks: HealthChecks = { qlist: false, tcp: false, http: null };
  const deadline = Date.now() + inst.timeouts.health_ms;
  let q: QlistEntry | undefined;
  for (;;) {
    q = await probes.qlist(inst, signal).catch(() => undefined);
    checks.qlist = q?.state === 'running' && q.health === 'ok';
    checks.tcp = checks.qlist ? await tcpCheck('127.0.0.1', inst.superserverPort, Math.min(2000, inst.timeouts.health_ms)) : false;
    if (inst.webPort && inst.httpCheckPath) checks.http = checks.tcp ? await httpCheck('127.0.0.1', inst.webPort, inst.httpCheckPath, 2000) : false;
    if (checks.qlist && checks.tcp && checks.http !== false) break;
    if (Date.now() >= deadline || signal.aborted) break;
    // An abort only cuts the wait short: the loop then makes its last round and reports what it saw.
    await wait(inst.timeouts.health_poll_ms, signal).catch(() => undefined);
  }
  const healthy = checks.qlist && checks.tcp && checks.http !== false;
  const problem = healthy
    ? ''
    : !checks.qlist
      ? `qlist says "${q?.stateText ?? 'nothing'}" with health "${q?.health ?? '?'}" after ${inst.timeouts.health_ms} ms`
      : !checks.tcp
        ? `superserver port ${inst.superserverPort} does not accept connections`
        : `HTTP check ${inst.httpCheckPath} failed`;
  return { healthy, problem, checks, state: q?.stateText ?? null };
}

/** One restart in progress: the instance, who approved it, and the steps recorded so far. */
export class RestartSteps {
  readonly steps: StepRecord[] = [];
  private readonly ctl: IrisControl;
  private readonly auditBase: { tool: string; target: string; plan_hash: string; job_id: string };

  private constructor(
    private readonly d: WorkflowDeps,
    private readonly inst: ResolvedInstance,
    private readonly planId: string,
    planHash: string,
    private readonly by: string,
    private readonly run: RemediationRun,
    private readonly logStart: number,
  ) {
    this.ctl = controlFor(inst);
    this.auditBase = { tool: 'restart_instance', target: inst.name, plan_hash: planHash, job_id: run.jobId };
  }

  /** Starts where messages.log ends now, so the report holds what the restart wrote. */
  static async begin(d: WorkflowDeps, inst: ResolvedInstance, plan: PlanRow, by: string, run: RemediationRun): Promise<RestartSteps> {
    const logStart = (await readLogTail(inst.logPath, 0)).size;
    return new RestartSteps(d, inst, plan.id, plan.plan_hash, by, run, logStart);
  }

  /** The run for the steps from the start on: the job's, with a signal only their own timeouts end. */
  finishingRun(): RemediationRun {
    const t = this.inst.timeouts;
    return { ...this.run, signal: AbortSignal.timeout(2 * (t.start_ms + t.health_ms) + t.stop_ms + 4 * t.command_ms) };
  }

  /** 1-2. A running instance is stopped, unless users are active that the plan did not accept. */
  async stopIfRunning(acceptActiveUsers: boolean): Promise<void> {
    this.run.progress({ done: 1, total: 6, message: 'checking state and active users' });
    const before = await this.d.probes.qlist(this.inst, this.run.signal);
    if (before?.state !== 'running') {
      this.steps.push({ step: 'stop', ok: true, detail: 'skipped: already down' });
      return;
    }
    await this.checkActiveUsers(acceptActiveUsers);
    await this.stop();
  }

  private async checkActiveUsers(accept: boolean): Promise<void> {
    const users = await this.d.probes.activeUsers(this.inst, this.run.signal);
    if (users.count > 0 && !accept) {
      this.steps.push({ step: 'check_active_users', ok: false, detail: `${users.count} active` });
      return this.fail('POLICY_DENIED', `${this.inst.name} has ${users.count} active user(s) and the plan did not account for them; nothing was stopped.`, { active_users: users.users });
    }
    this.steps.push({ step: 'check_active_users', ok: true, detail: users.known ? `${users.count} active${users.count ? ' (accepted by the plan)' : ''}` : 'unknown (no probe)' });
  }

  /** Stop quietly within the shutdown timeout; a failed stop means no start. */
  private async stop(): Promise<void> {
    const { inst, run } = this;
    run.progress({ done: 2, total: 6, message: `stopping ${inst.irisName} quietly` });
    this.d.audit.record({ ...this.auditBase, kind: 'stop', actor: this.by, outcome: 'started' });
    const r = await this.ctl.stop(inst.timeouts.stop_ms, run.signal);
    const afterStop = await this.d.probes.qlist(inst, run.signal);
    if (r.timedOut || afterStop?.state !== 'down') {
      const detail = r.timedOut ? `did not finish within ${inst.timeouts.stop_ms} ms` : `exit ${r.code}, qlist says ${afterStop?.stateText ?? 'nothing'}`;
      this.steps.push({ step: 'stop', ok: false, detail });
      this.d.audit.record({ ...this.auditBase, kind: 'stop', actor: this.by, outcome: 'failed', details: { detail } });
      return this.fail(r.timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_REJECTED', `Stopping ${inst.name} failed (${detail}); it was NOT started again. qlist: ${afterStop?.stateText ?? 'unknown'}.`, {
        state: afterStop?.stateText ?? null,
      });
    }
    this.steps.push({ step: 'stop', ok: true, detail: 'down' });
    this.d.audit.record({ ...this.auditBase, kind: 'stop', actor: this.by, outcome: 'ok' });
  }

  /** 3-4 (5-6 after a rollback): start within start_ms, then verify health within health_ms. */
  async startAndVerify(run: RemediationRun, stepNo: number, label = ''): Promise<StartAttempt> {
    const failed = await this.start(run, stepNo, label);
    if (failed) return failed;
    run.progress({ done: stepNo + 1, total: 6, message: 'health checks' });
    const health = await checkHealth(this.d.probes, this.inst, run.signal);
    const detail = health.healthy ? 'qlist running+ok, superserver accepts TCP' + (health.checks.http ? ', HTTP ok' : '') : health.problem;
    this.steps.push({ step: `health${label}`, ok: health.healthy, detail });
    return health;
  }

  /** The start command; a failed or timed-out start is returned as the attempt's outcome. */
  private async start(run: RemediationRun, stepNo: number, label: string): Promise<StartAttempt | undefined> {
    const { inst } = this;
    run.progress({ done: stepNo, total: 6, message: `starting ${inst.irisName}` });
    const r = await this.ctl.start(inst.timeouts.start_ms, run.signal);
    if (r.timedOut || r.code !== 0) {
      const q = await this.d.probes.qlist(inst, run.signal).catch(() => undefined);
      const problem = r.timedOut ? `start did not finish within ${inst.timeouts.start_ms} ms` : `start failed (exit ${r.code}): ${r.stdout.trim().split('\n').pop() ?? ''}`;
      this.steps.push({ step: `start${label}`, ok: false, detail: problem });
      return { healthy: false, problem, checks: { qlist: false, tcp: false, http: null }, state: q?.stateText ?? null };
    }
    this.steps.push({ step: `start${label}`, ok: true, detail: 'start command finished' });
    return undefined;
  }

  recordStart(outcome: string, checks: HealthChecks | undefined): void {
    this.d.audit.record({ ...this.auditBase, kind: 'start', actor: this.by, outcome, details: { checks } });
  }

  /** 5. Bring the instance down (stop, else force), then restore the backups of pending plans newest first. */
  async rollBack(pending: Pending, run: RemediationRun): Promise<{ ok: boolean; backups: string[] }> {
    if (!(await this.downForRollback(run))) return { ok: false, backups: [] };
    return this.restoreBackups(pending, run);
  }

  private async downForRollback(run: RemediationRun): Promise<boolean> {
    const { inst } = this;
    const q = await this.d.probes.qlist(inst, run.signal).catch(() => undefined);
    if (q?.state !== 'running') return true;
    const r = await this.ctl.stop(inst.timeouts.stop_ms, run.signal);
    let after = await this.d.probes.qlist(inst, run.signal).catch(() => undefined);
    if (r.timedOut || after?.state !== 'down') {
      await this.ctl.force(inst.timeouts.command_ms, run.signal);
      after = await this.d.probes.qlist(inst, run.signal).catch(() => undefined);
    }
    if (after?.state !== 'down') {
      // Never rewrite iris.cpf under a running instance.
      this.steps.push({ step: 'stop before rollback', ok: false, detail: `still ${after?.stateText ?? 'in an unknown state'}; iris.cpf not restored` });
      return false;
    }
    this.steps.push({ step: 'stop before rollback', ok: true, detail: 'down' });
    return true;
  }

  /** Only a file that is still exactly what the plan wrote is restored; the first refusal stops the rest. */
  private async restoreBackups(pending: Pending, run: RemediationRun): Promise<{ ok: boolean; backups: string[] }> {
    const { inst } = this;
    const backups: string[] = [];
    let ok = true;
    for (const p of pending) {
      const backup = (p.outcome as { backup?: string } | null)?.backup;
      const current = await readCpf(inst.cpfPath);
      if (!backup || !existsSync(backup) || current.sha !== p.body.new_sha256) {
        ok = false;
        this.steps.push({ step: 'rollback', ok: false, detail: `plan ${p.id}: ${!backup || !existsSync(backup) ? 'backup missing' : 'iris.cpf changed since it was applied'}; not restored` });
        this.d.audit.record({ kind: 'rollback', actor: 'system', tool: 'restart_instance', target: inst.name, job_id: run.jobId, plan_hash: p.plan_hash, outcome: 'refused', details: { plan_id: p.id } });
        this.d.count('rollback', 'refused');
        break;
      }
      await restoreCpf(inst.cpfPath, backup);
      const restored = (await readCpf(inst.cpfPath)).sha === p.body.file_sha256;
      ok &&= restored;
      backups.push(backup);
      this.d.plans.update(p.id, { status: 'rolled_back', activated: true });
      this.steps.push({ step: 'rollback', ok: restored, detail: `plan ${p.id}: restored ${backup}` });
      this.d.audit.record({ kind: 'rollback', actor: this.by, tool: 'restart_instance', target: inst.name, job_id: run.jobId, plan_hash: p.plan_hash, outcome: restored ? 'restored' : 'failed', details: { plan_id: p.id, backup } });
      this.d.count('rollback', restored ? 'restored' : 'failed');
      if (!restored) break;
    }
    return { ok, backups };
  }

  /** 6. Healthy: the pending CPF changes are now active; the report holds the log entries written meanwhile. */
  async succeed(attempt: StartAttempt, pending: Pending): Promise<Record<string, unknown>> {
    for (const p of pending) this.d.plans.update(p.id, { activated: true });
    const result = {
      outcome: 'restarted' as const,
      instance: this.inst.name,
      plan_id: this.planId,
      approved_by: this.by,
      healthy: true,
      state: attempt.state,
      checks: attempt.checks,
      steps: this.steps,
      activated_cpf_changes: pending.map((p) => p.id),
      rolled_back: false,
      log_entries: await this.logSince(),
    };
    this.d.plans.update(this.planId, { status: 'applied', outcome: { outcome: 'restarted' } });
    this.d.audit.record({ ...this.auditBase, kind: 'restart', actor: this.by, outcome: 'restarted', details: { plan_id: this.planId, activated: result.activated_cpf_changes } });
    this.d.count('restart', 'restarted');
    this.run.progress({ done: 6, total: 6, message: 'healthy' });
    return result;
  }

  /** Every failure ends here: the plan is marked failed, the restart audited, the steps and log reported. */
  async fail(code: FailCode, message: string, extra: Record<string, unknown> = {}): Promise<never> {
    const details = { steps: this.steps, ...extra, log_entries: await this.logSince() };
    this.d.plans.update(this.planId, { status: 'failed', outcome: details });
    this.d.audit.record({ ...this.auditBase, kind: 'restart', actor: this.by, outcome: 'failed', details: { plan_id: this.planId, message, steps: this.steps } });
    this.d.count('restart', 'failed');
    throw new ShieldError(code, message, { details, retryable: false });
  }

  private async logSince(): Promise<LogEntry[]> {
    const { text } = await readLogTail(this.inst.logPath, this.d.config.max_log_bytes, this.logStart).catch(() => ({ text: '' }));
    return errorsFirst(parseMessagesLog(text)).slice(0, 200);
  }
}
