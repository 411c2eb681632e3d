// The remediation service: plan -> approve -> apply -> verify -> roll back, for iris.cpf changes and
// instance restarts. Domain code: no MCP SDK; tools adapt their job context to RemediationRun.
import { existsSync } from 'node:fs';
import type { Counter } from 'prom-client';
import { ShieldError } from '../../errors.js';
import type { RemediationConfig } from '../../config/sections/remediation.js';
import type { BreakerRegistry } from '../../breakers/registry.js';
import type { AuditLog } from '../../observability/audit.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Db } from '../../store/sqlite.js';
import { wait } from '../../upstream/retry.js';
import { obtainApproval, type AskHuman } from './approval.js';
import { ParameterCatalog } from './catalog.js';
import { CpfDocument, sha256, unifiedDiff } from './cpf.js';
import { backupCpf, pruneBackups, readCpf, removeStaleTemps, restoreCpf, writeCpfAtomically } from './cpf-file.js';
import { IrisControl, httpCheck, runCommand, tcpCheck, type QlistEntry } from './control.js';
import { instanceNames, resolveInstance, type ResolvedInstance } from './instances.js';
import { errorsFirst, filterEntries, parseMessagesLog, readLogTail, type LogEntry, type LogFilter } from './messages-log.js';
import { ApprovalStore, PlanStore, SqliteInstanceLock, type InstanceLock, type PlanRow } from './store.js';

export interface CpfChangeInput {
  section: string;
  parameter: string;
  value: string;
  expected_current?: string | undefined;
}

export interface CpfPlanBody {
  instance: string;
  reason: string;
  requested_by: string;
  changes: Array<{ section: string; parameter: string; old: string | null; new: string; unit: string; restart_required: boolean }>;
  diff: string;
  file_sha256: string;
  new_sha256: string;
  restart_required: boolean;
  notes: string[];
}

export interface RestartPlanBody {
  instance: string;
  reason: string;
  requested_by: string;
  state: { status: string; health: string; text: string };
  active_users: { known: boolean; count: number; users: string[] };
  accept_active_users: boolean;
  pending_cpf_changes: Array<{ plan_id: string; changes: CpfPlanBody['changes'] }>;
  steps: Array<{ step: string; detail: string; timeout_ms?: number }>;
  notes: string[];
}

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

export interface RemediationDeps {
  config: RemediationConfig;
  configDir: string;
  db: Db;
  audit: AuditLog;
  metrics: Metrics;
  breakers: BreakerRegistry;
  lock?: InstanceLock;
  /** Test seams (crash-test pause points); production wiring never sets them. */
  hooks?: RemediationHooks | undefined;
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

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export class RemediationService {
  readonly plans: PlanStore;
  readonly approvals: ApprovalStore;
  private readonly lock: InstanceLock;
  private readonly actions: Counter<'action' | 'outcome'>;
  private catalogCache: ParameterCatalog | undefined;

  constructor(private readonly d: RemediationDeps) {
    this.plans = new PlanStore(d.db);
    this.approvals = new ApprovalStore(d.db);
    this.lock = d.lock ?? new SqliteInstanceLock(d.db);
    this.actions = d.metrics.counter('shield_remediation_actions_total', 'Remediation actions (plan, approve, apply, verify, rollback, restart) by outcome.', ['action', 'outcome']);
  }

  get catalog(): ParameterCatalog {
    this.catalogCache ??= ParameterCatalog.load(this.d.config.catalog_file, this.d.configDir, this.d.config.parameters);
    return this.catalogCache;
  }

  instance(name: string): ResolvedInstance {
    return resolveInstance(this.d.config, name);
  }

  instanceNames(): string[] {
    return instanceNames(this.d.config);
  }

  private control(inst: ResolvedInstance): IrisControl {
    return new IrisControl({ command: inst.command, irisName: inst.irisName, commandTimeoutMs: inst.timeouts.command_ms });
  }

  private count(action: string, outcome: string): void {
    this.actions.inc({ action, outcome });
  }

  /** qlist through the instance's breaker. */
  async qlist(inst: ResolvedInstance, signal?: AbortSignal): Promise<QlistEntry | undefined> {
    return this.d.breakers.run(`iris:${inst.name}`, (s) => this.control(inst).qlist(s), signal);
  }

  async activeUsers(inst: ResolvedInstance, signal?: AbortSignal): Promise<{ known: boolean; count: number; users: string[] }> {
    const cmd = inst.activeUsersCommand;
    if (!cmd) return { known: false, count: 0, users: [] };
    const r = await this.d.breakers.run(`iris:${inst.name}`, (s) => runCommand(cmd, inst.timeouts.command_ms, s), signal);
    if (r.code !== 0 || r.timedOut) throw new ShieldError('UPSTREAM_UNAVAILABLE', `The active-users probe of ${inst.name} failed (exit ${r.code ?? 'timeout'}).`, { retryAfterS: 10 });
    const users = r.stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    return { known: true, count: users.length, users };
  }

  async readLog(inst: ResolvedInstance, filter: LogFilter): Promise<{ entries: LogEntry[]; scanned: number }> {
    const { text } = await readLogTail(inst.logPath, this.d.config.max_log_bytes);
    const all = parseMessagesLog(text);
    return { entries: filterEntries(all, filter), scanned: all.length };
  }

  // --- apply_cpf_change ------------------------------------------------------------------------

  async planCpfChange(name: string, changes: CpfChangeInput[], reason: string, actor: string): Promise<PlanRow<CpfPlanBody>> {
    const inst = this.instance(name);
    if (inst.policy === 'off') throw new ShieldError('POLICY_DENIED', `Remediation is off for instance ${inst.name}.`);
    const seen = new Set<string>();
    const checked = changes.map((c) => {
      const { spec, value } = this.catalog.check(c.section, c.parameter, c.value);
      const k = `${spec.section}/${spec.name}`.toLowerCase();
      if (seen.has(k)) throw new ShieldError('INVALID_INPUT', `[${spec.section}] ${spec.name} appears twice in changes.`);
      seen.add(k);
      return { c, spec, value };
    });
    const { text, sha } = await readCpf(inst.cpfPath);
    let doc = CpfDocument.parse(text);
    const out: CpfPlanBody['changes'] = [];
    const notes: string[] = [];
    for (const { c, spec, value } of checked) {
      if (!doc.hasSection(spec.section)) throw new ShieldError('VALIDATION_FAILED', `iris.cpf of ${inst.name} has no [${spec.section}] section.`);
      const old = doc.get(spec.section, spec.name) ?? null;
      if (c.expected_current !== undefined && (old ?? '') !== c.expected_current.trim()) {
        throw new ShieldError('CONFLICT', `[${spec.section}] ${spec.name} is ${JSON.stringify(old)}, not the expected ${JSON.stringify(c.expected_current)}.`, {
          details: { section: spec.section, parameter: spec.name, current: old, expected_current: c.expected_current },
        });
      }
      if (old === value) notes.push(`[${spec.section}] ${spec.name} is already ${value}; that line stays as it is.`);
      else doc = doc.with(spec.section, spec.name, value);
      if (old === null) notes.push(`[${spec.section}] ${spec.name} is not in the file yet; the line is added to the section.`);
      out.push({ section: spec.section, parameter: spec.name, old, new: value, unit: spec.unit, restart_required: spec.restart_required });
    }
    const newText = doc.toString();
    if (newText === text) throw new ShieldError('VALIDATION_FAILED', `Nothing to change: every parameter already has the requested value on ${inst.name}.`, { details: { changes: out } });
    const restartRequired = out.some((c) => c.restart_required && c.old !== c.new);
    if (restartRequired) {
      notes.push(`IRIS reads these parameters at start-up: the change takes effect after restart_instance on ${inst.name}. If the instance then fails to start, Shield rolls this change back and starts it again.`);
    } else {
      notes.push('These parameters apply without a restart once IRIS activates the file; Shield does not activate it (no activation command is configured), so restart_instance activates it.');
    }
    notes.push(`Applying requires approval per the instance policy (${inst.policy}); a timestamped backup is written beside iris.cpf first.`);
    const expires = new Date(Date.now() + this.d.config.plan_ttl_s * 1000).toISOString();
    const body: CpfPlanBody = {
      instance: inst.name,
      reason,
      requested_by: actor,
      changes: out,
      diff: unifiedDiff(text, newText, 'iris.cpf'),
      file_sha256: sha,
      new_sha256: sha256(Buffer.from(newText, 'utf8')),
      restart_required: restartRequired,
      notes,
    };
    const planHash = sha256(JSON.stringify({ action: 'cpf_change', instance: inst.name, changes: out, file: sha, new: body.new_sha256 }));
    const row = this.plans.insert({ instance: inst.name, action: 'cpf_change', plan_hash: planHash, body, expires_at: expires });
    this.d.audit.record({ kind: 'plan', actor, tool: 'apply_cpf_change', target: inst.name, plan_hash: planHash, outcome: 'planned', details: { plan_id: row.id, reason, changes: out } });
    this.count('plan', 'planned');
    return row;
  }

  /** Load a plan for applying: exists, right kind and instance, not expired, not used by another job. */
  private loadPlan<B>(planId: string, action: 'cpf_change' | 'restart', instance: string, jobId: string): PlanRow<B> {
    const plan = this.plans.get<B>(planId);
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

  private async withLock<T>(inst: ResolvedInstance, run: RemediationRun, fn: () => Promise<T>): Promise<T> {
    const ok = await this.lock.acquire(inst.name, run.jobId, async (holder) => {
      const st = await run.jobStatus(holder);
      return st === undefined || TERMINAL.has(st);
    });
    if (!ok) {
      const holder = await this.lock.holder(inst.name);
      throw new ShieldError('CONFLICT', `Another remediation job (${holder ?? 'unknown'}) is working on ${inst.name}.`, {
        hint: 'Wait for that job to finish (get_job_status), then plan again.',
        details: { holder_job_id: holder },
      });
    }
    try {
      return await fn();
    } finally {
      await this.lock.release(inst.name, run.jobId);
    }
  }

  async applyCpfChange(name: string, planId: string, given: CpfChangeInput[] | undefined, run: RemediationRun): Promise<Record<string, unknown>> {
    const inst = this.instance(name);
    const plan = this.loadPlan<CpfPlanBody>(planId, 'cpf_change', inst.name, run.jobId);
    const body = plan.body;
    if (given?.length) {
      const same =
        given.length === body.changes.length &&
        given.every((g) => body.changes.some((c) => c.section.toLowerCase() === g.section.toLowerCase() && c.parameter.toLowerCase() === g.parameter.toLowerCase() && c.new === g.value.trim()));
      if (!same) throw new ShieldError('CONFLICT', `The changes given differ from plan ${planId}.`, { hint: 'Pass only plan_id (and instance) to apply a plan exactly as planned, or plan again.' });
    }
    if (plan.status === 'applied' && plan.job_id === run.jobId) return plan.outcome as Record<string, unknown>;
    const audit = { tool: 'apply_cpf_change', target: inst.name, plan_hash: plan.plan_hash, job_id: run.jobId };

    return this.withLock(inst, run, async () => {
      const resuming = plan.status === 'applying' && plan.job_id === run.jobId;
      let approvedBy = 'unknown';
      if (!resuming) {
        const current = await readCpf(inst.cpfPath);
        if (current.sha !== body.file_sha256) throw this.stale(inst, planId, 'before approval');
        run.progress({ done: 1, total: 5, message: 'waiting for approval' });
        try {
          approvedBy = (
            await this.approve(inst, planId, plan.plan_hash, 'cpf_change', cpfSummary(body, planId), run)
          ).by;
        } catch (err) {
          if (err instanceof ShieldError && err.code === 'POLICY_DENIED' && (inst.policy === 'off' || inst.policy === 'plan_only')) {
            this.d.audit.record({ ...audit, kind: 'denial', actor: 'policy', outcome: 'denied', details: { policy: inst.policy } });
            this.count('apply', 'policy_denied');
          }
          throw err;
        }
        // The file may have changed while a human was reading the plan.
        const again = await readCpf(inst.cpfPath);
        if (again.sha !== body.file_sha256) throw this.stale(inst, planId, 'after approval');
        if (!this.plans.update(planId, { status: 'applying', job_id: run.jobId }, ['planned'])) {
          throw new ShieldError('CONFLICT', `Plan ${planId} was taken by another job while this one waited.`);
        }
      } else {
        run.logger.warn({ plan_id: planId }, 'resuming a CPF apply interrupted by a restart');
        this.d.audit.record({ ...audit, kind: 'apply', actor: 'system', outcome: 'resumed', details: { attempt: run.attempt } });
        approvedBy = this.approvals.get(run.jobId)?.decided_by ?? (inst.policy === 'auto' ? 'policy:auto' : 'unknown');
      }
      return this.writePlannedCpf(inst, planId, body, approvedBy, resuming, run);
    });
  }

  private stale(inst: ResolvedInstance, planId: string, when: string): ShieldError {
    this.count('apply', 'conflict');
    this.d.audit.record({ kind: 'apply', actor: 'system', tool: 'apply_cpf_change', target: inst.name, outcome: 'conflict', details: { plan_id: planId, when } });
    return new ShieldError('CONFLICT', `iris.cpf of ${inst.name} changed since plan ${planId} was made (checksum differs ${when}); nothing was written.`, {
      hint: 'Plan again from the current file.',
    });
  }

  /** Backup, atomic write, read-back; any failure restores the backup. Resumable after a crash. */
  private async writePlannedCpf(inst: ResolvedInstance, planId: string, body: CpfPlanBody, approvedBy: string, resuming: boolean, run: RemediationRun): Promise<Record<string, unknown>> {
    const audit = { tool: 'apply_cpf_change', target: inst.name, job_id: run.jobId };
    const removed = await removeStaleTemps(inst.cpfPath);
    if (removed) run.logger.warn({ removed }, 'removed temp files left by an interrupted write');
    const progressRow = this.plans.get<CpfPlanBody>(planId)!;
    const prior = (progressRow.outcome ?? {}) as { backup?: string };
    const current = await readCpf(inst.cpfPath);

    let backup = prior.backup && existsSync(prior.backup) ? prior.backup : undefined;
    if (current.sha === body.new_sha256 && resuming) {
      // The rename landed before the crash: only verification is left.
      run.logger.info('the planned content is already in place; verifying');
    } else if (current.sha === body.file_sha256) {
      if (!backup) {
        backup = await backupCpf(inst.cpfPath, planId);
        this.plans.update(planId, { outcome: { backup } });
      }
      run.progress({ done: 2, total: 5, message: `backup written: ${backup}` });
      const { text } = current;
      let doc = CpfDocument.parse(text);
      for (const c of body.changes) if (c.old !== c.new) doc = doc.with(c.section, c.parameter, c.new);
      const next = doc.toString();
      if (sha256(Buffer.from(next, 'utf8')) !== body.new_sha256) {
        throw new ShieldError('INTERNAL', 'The edit no longer reproduces the planned content.');
      }
      const pauseAt = this.d.hooks?.pauseAt;
      try {
        await writeCpfAtomically(inst.cpfPath, next, pauseAt ? () => pauseAt('after_temp_write', run.signal) : undefined);
        await pauseAt?.('after_rename', run.signal);
      } catch (err) {
        if (run.signal.aborted) throw err;
        return this.rollbackCpf(inst, planId, body, backup, `write failed: ${(err as Error).message}`, run);
      }
      run.progress({ done: 3, total: 5, message: 'new iris.cpf in place' });
    } else {
      this.plans.update(planId, { status: 'failed' });
      throw this.stale(inst, planId, resuming ? 'while the server was down' : 'before writing');
    }

    // Read-back verification: the bytes are the planned ones and every value parses back.
    const after = await readCpf(inst.cpfPath);
    const doc = CpfDocument.parse(after.text);
    const mismatches = body.changes.filter((c) => doc.get(c.section, c.parameter) !== c.new).map((c) => `[${c.section}] ${c.parameter}`);
    const verified = after.sha === body.new_sha256 && mismatches.length === 0 && after.text === doc.toString();
    this.d.audit.record({ ...audit, kind: 'verification', actor: 'system', outcome: verified ? 'ok' : 'failed', details: { plan_id: planId, sha256: after.sha, mismatches } });
    this.count('verify', verified ? 'ok' : 'failed');
    if (!verified) {
      return this.rollbackCpf(inst, planId, body, backup, `read-back verification failed (${mismatches.join(', ') || 'checksum differs'})`, run);
    }
    run.progress({ done: 4, total: 5, message: 'verified' });
    const pruned = await pruneBackups(inst.cpfPath, this.d.config.backup_retention);
    const result = {
      outcome: 'applied' as const,
      instance: inst.name,
      plan_id: planId,
      approved_by: approvedBy,
      changes: body.changes,
      backup: backup ?? null,
      file_sha256: after.sha,
      verified: true,
      rolled_back: false,
      restart_required: body.restart_required,
      next_step: body.restart_required ? `Call restart_instance for ${inst.name} to make the change take effect.` : 'No restart is needed for these parameters.',
      pruned_backups: pruned.length,
    };
    this.plans.update(planId, { status: 'applied', activated: !body.restart_required, outcome: result });
    this.d.audit.record({ ...audit, kind: 'apply', actor: approvedBy, outcome: 'applied', details: { plan_id: planId, backup, restart_required: body.restart_required } });
    this.count('apply', 'applied');
    run.progress({ done: 5, total: 5, message: 'applied' });
    return result;
  }

  private async rollbackCpf(inst: ResolvedInstance, planId: string, body: CpfPlanBody, backup: string | undefined, why: string, run: RemediationRun): Promise<never> {
    let restored = false;
    if (backup) {
      await restoreCpf(inst.cpfPath, backup);
      restored = (await readCpf(inst.cpfPath)).sha === body.file_sha256;
    }
    this.plans.update(planId, { status: 'rolled_back', activated: true, outcome: { backup, rolled_back: restored, why } });
    this.d.audit.record({ kind: 'rollback', actor: 'system', tool: 'apply_cpf_change', target: inst.name, job_id: run.jobId, outcome: restored ? 'restored' : 'failed', details: { plan_id: planId, backup, why } });
    this.count('rollback', restored ? 'restored' : 'failed');
    throw new ShieldError('UPSTREAM_REJECTED', `Applying plan ${planId} to ${inst.name} failed (${why}); ${restored ? 'the backup was restored (rolled_back)' : 'the backup could not be restored'}.`, {
      details: { rolled_back: restored, backup, reason: why },
      hint: restored ? 'The file is as it was before; investigate the cause before planning again.' : 'Restore iris.cpf from the named backup by hand.',
    });
  }

  // --- restart_instance ------------------------------------------------------------------------

  async planRestart(name: string, reason: string, acceptActiveUsers: boolean, actor: string, signal?: AbortSignal): Promise<PlanRow<RestartPlanBody>> {
    const inst = this.instance(name);
    if (inst.policy === 'off') throw new ShieldError('POLICY_DENIED', `Remediation is off for instance ${inst.name}.`);
    const q = await this.qlist(inst, signal);
    if (!q) throw new ShieldError('UPSTREAM_REJECTED', `iris qlist does not list ${inst.irisName}.`, { hint: 'Check iris_name in the instance configuration.' });
    const users = q.state === 'running' ? await this.activeUsers(inst, signal) : { known: true, count: 0, users: [] };
    const pending = this.plans.pendingCpfChanges<CpfPlanBody>(inst.name).map((p) => ({ plan_id: p.id, changes: p.body.changes }));
    const t = inst.timeouts;
    const steps: RestartPlanBody['steps'] = [];
    if (q.state === 'running') {
      steps.push({ step: 'check_active_users', detail: acceptActiveUsers ? 'active users accepted by this plan' : 'refuse if any user is active' });
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
    const notes: string[] = [];
    if (users.count > 0 && !acceptActiveUsers) notes.push(`${users.count} active user(s): applying this plan will be refused. Coordinate with them, then plan again with accept_active_users: true.`);
    if (users.count > 0 && acceptActiveUsers) notes.push(`${users.count} active user(s) will be disconnected by the stop.`);
    if (!users.known) notes.push('No active-users probe is configured for this instance: active users are unknown.');
    if (pending.length) notes.push('The restart activates CPF changes applied through Shield; they are rolled back automatically if the instance does not come up.');
    const body: RestartPlanBody = {
      instance: inst.name,
      reason,
      requested_by: actor,
      state: { status: q.state, health: q.health, text: q.stateText },
      active_users: users,
      accept_active_users: acceptActiveUsers,
      pending_cpf_changes: pending,
      steps,
      notes,
    };
    const planHash = sha256(JSON.stringify({ action: 'restart', instance: inst.name, steps, accept: acceptActiveUsers, pending: pending.map((p) => p.plan_id) }));
    const row = this.plans.insert({ instance: inst.name, action: 'restart', plan_hash: planHash, body, expires_at: new Date(Date.now() + this.d.config.plan_ttl_s * 1000).toISOString() });
    this.d.audit.record({ kind: 'plan', actor, tool: 'restart_instance', target: inst.name, plan_hash: planHash, outcome: 'planned', details: { plan_id: row.id, reason, state: body.state, active_users: users.count } });
    this.count('plan', 'planned');
    return row;
  }

  async applyRestart(name: string, planId: string, run: RemediationRun): Promise<Record<string, unknown>> {
    const inst = this.instance(name);
    const plan = this.loadPlan<RestartPlanBody>(planId, 'restart', inst.name, run.jobId);
    const body = plan.body;
    const auditBase = { tool: 'restart_instance', target: inst.name, plan_hash: plan.plan_hash, job_id: run.jobId };
    return this.withLock(inst, run, async () => {
      run.progress({ done: 0, total: 6, message: 'waiting for approval' });
      const { by } = await this.approve(inst, planId, plan.plan_hash, 'restart', restartSummary(body, planId), run);
      if (!this.plans.update(planId, { status: 'applying', job_id: run.jobId }, ['planned'])) {
        throw new ShieldError('CONFLICT', `Plan ${planId} was taken by another job.`);
      }
      const ctl = this.control(inst);
      const logStart = (await readLogTail(inst.logPath, 0)).size;
      const steps: Array<{ step: string; ok: boolean; detail: string }> = [];
      const fail = (code: 'POLICY_DENIED' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_REJECTED', message: string, extra: Record<string, unknown> = {}): Promise<never> =>
        this.logSince(inst, logStart).then((log) => {
          const details = { steps, ...extra, log_entries: log };
          this.plans.update(planId, { status: 'failed', outcome: details });
          this.d.audit.record({ ...auditBase, kind: 'restart', actor: by, outcome: 'failed', details: { plan_id: planId, message, steps } });
          this.count('restart', 'failed');
          throw new ShieldError(code, message, { details, retryable: false });
        });

      // 1. current state and active users
      run.progress({ done: 1, total: 6, message: 'checking state and active users' });
      const before = await this.qlist(inst, run.signal);
      if (before?.state === 'running') {
        const users = await this.activeUsers(inst, run.signal);
        if (users.count > 0 && !body.accept_active_users) {
          steps.push({ step: 'check_active_users', ok: false, detail: `${users.count} active` });
          return fail('POLICY_DENIED', `${inst.name} has ${users.count} active user(s) and the plan did not account for them; nothing was stopped.`, { active_users: users.users });
        }
        steps.push({ step: 'check_active_users', ok: true, detail: users.known ? `${users.count} active${users.count ? ' (accepted by the plan)' : ''}` : 'unknown (no probe)' });
        // 2. stop quietly within the shutdown timeout; a failed stop means no start.
        run.progress({ done: 2, total: 6, message: `stopping ${inst.irisName} quietly` });
        this.d.audit.record({ ...auditBase, kind: 'stop', actor: by, outcome: 'started' });
        const r = await ctl.stop(inst.timeouts.stop_ms, run.signal);
        const afterStop = await this.qlist(inst, run.signal);
        if (r.timedOut || afterStop?.state !== 'down') {
          const detail = r.timedOut ? `did not finish within ${inst.timeouts.stop_ms} ms` : `exit ${r.code}, qlist says ${afterStop?.stateText ?? 'nothing'}`;
          steps.push({ step: 'stop', ok: false, detail });
          this.d.audit.record({ ...auditBase, kind: 'stop', actor: by, outcome: 'failed', details: { detail } });
          return fail(r.timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_REJECTED', `Stopping ${inst.name} failed (${detail}); it was NOT started again. qlist: ${afterStop?.stateText ?? 'unknown'}.`, {
            state: afterStop?.stateText ?? null,
          });
        }
        steps.push({ step: 'stop', ok: true, detail: 'down' });
        this.d.audit.record({ ...auditBase, kind: 'stop', actor: by, outcome: 'ok' });
      } else {
        steps.push({ step: 'stop', ok: true, detail: 'skipped: already down' });
      }

      // 3-4. start and health. From here on a cancel or a shutdown must not leave the instance
      // down: the remaining steps run to their end, bounded by their own timeouts only.
      const t = inst.timeouts;
      const finishing: RemediationRun = { ...run, signal: AbortSignal.timeout(2 * (t.start_ms + t.health_ms) + t.stop_ms + 4 * t.command_ms) };
      const pending = this.plans.pendingCpfChanges<CpfPlanBody>(inst.name);
      const first = await this.startAndCheck(inst, ctl, finishing, 3);
      steps.push(...first.steps);
      this.d.audit.record({ ...auditBase, kind: 'start', actor: by, outcome: first.healthy ? 'healthy' : 'unhealthy', details: { checks: first.checks } });
      if (first.healthy) {
        for (const p of pending) this.plans.update(p.id, { activated: true });
        const result = {
          outcome: 'restarted' as const,
          instance: inst.name,
          plan_id: planId,
          approved_by: by,
          healthy: true,
          state: first.state,
          checks: first.checks,
          steps,
          activated_cpf_changes: pending.map((p) => p.id),
          rolled_back: false,
          log_entries: await this.logSince(inst, logStart),
        };
        this.plans.update(planId, { status: 'applied', outcome: { outcome: 'restarted' } });
        this.d.audit.record({ ...auditBase, kind: 'restart', actor: by, outcome: 'restarted', details: { plan_id: planId, activated: result.activated_cpf_changes } });
        this.count('restart', 'restarted');
        run.progress({ done: 6, total: 6, message: 'healthy' });
        return result;
      }
      if (pending.length === 0) {
        return fail('UPSTREAM_REJECTED', `${inst.name} did not come up healthy after the restart (${first.problem}). No CPF change made through Shield is pending, so nothing was rolled back.`, {
          checks: first.checks,
          state: first.state,
        });
      }

      // 5. roll back the CPF change(s) this restart was activating, then start again.
      run.progress({ done: 5, total: 6, message: 'rolling back the CPF change and starting again' });
      const rollback = await this.rollbackPending(inst, ctl, pending, finishing, by);
      steps.push(...rollback.steps);
      const second = rollback.ok ? await this.startAndCheck(inst, ctl, finishing, 5) : undefined;
      if (second) steps.push(...second.steps.map((s) => ({ ...s, step: `${s.step} (after rollback)` })));
      this.d.audit.record({ ...auditBase, kind: 'start', actor: by, outcome: second?.healthy ? 'healthy_after_rollback' : 'unhealthy_after_rollback', details: { checks: second?.checks } });
      const report = {
        first_attempt: { problem: first.problem, checks: first.checks, state: first.state },
        rollback: { plans: pending.map((p) => p.id), restored: rollback.ok, backups: rollback.backups },
        second_attempt: second ? { healthy: second.healthy, problem: second.problem, checks: second.checks, state: second.state } : null,
        rolled_back: rollback.ok,
        healthy: second?.healthy ?? false,
      };
      return fail(
        'UPSTREAM_REJECTED',
        `${inst.name} did not come up with the new configuration (${first.problem}). ` +
          (rollback.ok
            ? `The CPF change (${pending.map((p) => p.id).join(', ')}) was rolled back and the instance ${second?.healthy ? 'started healthy with the previous configuration' : `still did not come up (${second?.problem})`}.`
            : 'The CPF change could not be rolled back; an operator must restore it.'),
        report,
      );
    });
  }

  /** Approval of a plan per the instance's policy (auto, a human via the client, or an operator). */
  private approve(inst: ResolvedInstance, planId: string, planHash: string, action: 'cpf_change' | 'restart', summary: string, run: RemediationRun) {
    return obtainApproval(
      {
        policy: inst.policy,
        instance: inst.name,
        planId,
        planHash,
        action,
        summary,
        jobId: run.jobId,
        requester: run.actor,
        signal: run.signal,
        setStatus: run.setStatus,
        askHuman: run.askHuman,
        onDecision: (a, o) => this.count(a, o),
      },
      this.approvals,
      this.d.audit,
      { ttlMs: this.d.config.approval_ttl_s * 1000, pollMs: this.d.config.approval_poll_ms },
    );
  }

  private async startAndCheck(inst: ResolvedInstance, ctl: IrisControl, run: RemediationRun, stepNo: number) {
    const steps: Array<{ step: string; ok: boolean; detail: string }> = [];
    run.progress({ done: stepNo, total: 6, message: `starting ${inst.irisName}` });
    const r = await ctl.start(inst.timeouts.start_ms, run.signal);
    const checks = { qlist: false, tcp: false, http: null as boolean | null };
    if (r.timedOut || r.code !== 0) {
      const q = await this.qlist(inst, run.signal).catch(() => undefined);
      const problem = r.timedOut ? `start did not finish within ${inst.timeouts.start_ms} ms` : `start failed (exit ${r.code}): ${r.stdout.trim().split('\n').pop() ?? ''}`;
      steps.push({ step: 'start', ok: false, detail: problem });
      return { healthy: false, problem, checks, state: q?.stateText ?? null, steps };
    }
    steps.push({ step: 'start', ok: true, detail: 'start command finished' });
    run.progress({ done: stepNo + 1, total: 6, message: 'health checks' });
    const deadline = Date.now() + inst.timeouts.health_ms;
    let q: QlistEntry | undefined;
    for (;;) {
      q = await this.qlist(inst, run.signal).catch(() => undefined);
      checks.qlist = q?.state === 'running' && q.health === 'ok';
      const port = inst.superserverPort;
      checks.tcp = checks.qlist ? await tcpCheck('127.0.0.1', port, Math.min(2000, inst.timeouts.health_ms)) : false;
      if (inst.webPort && inst.httpCheckPath) checks.http = checks.tcp ? await httpCheck('127.0.0.1', inst.webPort, inst.httpCheckPath, 2000) : false;
      if (checks.qlist && checks.tcp && checks.http !== false) break;
      if (Date.now() >= deadline || run.signal.aborted) break;
      // An abort only cuts the wait short: the loop then makes its last round and reports what it saw.
      await wait(inst.timeouts.health_poll_ms, run.signal).catch(() => undefined);
    }
    const healthy = checks.qlist && checks.tcp && checks.http !== false;
    const problem = healthy
      ? ''
      : !checks.qlist
        ? `qlist says "${q?.stateText ?? 'nothing'}" with health "${q?.health ?? '?'}" after ${inst.timeouts.health_ms} ms`
        : !checks.tcp
          ? `superserver port ${inst.superserverPort} does not accept connections`
          : `HTTP check ${inst.httpCheckPath} failed`;
    steps.push({ step: 'health', ok: healthy, detail: healthy ? 'qlist running+ok, superserver accepts TCP' + (checks.http ? ', HTTP ok' : '') : problem });
    return { healthy, problem, checks, state: q?.stateText ?? null, steps };
  }

  /** Bring the instance down (stop, else force), restore the backups of pending plans newest first. */
  private async rollbackPending(inst: ResolvedInstance, ctl: IrisControl, pending: Array<PlanRow<CpfPlanBody>>, run: RemediationRun, by: string) {
    const steps: Array<{ step: string; ok: boolean; detail: string }> = [];
    const backups: string[] = [];
    const q = await this.qlist(inst, run.signal).catch(() => undefined);
    if (q?.state === 'running') {
      const r = await ctl.stop(inst.timeouts.stop_ms, run.signal);
      let after = await this.qlist(inst, run.signal).catch(() => undefined);
      if (r.timedOut || after?.state !== 'down') {
        await ctl.force(inst.timeouts.command_ms, run.signal);
        after = await this.qlist(inst, run.signal).catch(() => undefined);
      }
      if (after?.state !== 'down') {
        // Never rewrite iris.cpf under a running instance.
        steps.push({ step: 'stop before rollback', ok: false, detail: `still ${after?.stateText ?? 'in an unknown state'}; iris.cpf not restored` });
        return { ok: false, steps, backups };
      }
      steps.push({ step: 'stop before rollback', ok: true, detail: 'down' });
    }
    let ok = true;
    for (const p of pending) {
      const backup = (p.outcome as { backup?: string } | null)?.backup;
      const current = await readCpf(inst.cpfPath);
      if (!backup || !existsSync(backup) || current.sha !== p.body.new_sha256) {
        ok = false;
        steps.push({ step: 'rollback', ok: false, detail: `plan ${p.id}: ${!backup || !existsSync(backup) ? 'backup missing' : 'iris.cpf changed since it was applied'}; not restored` });
        this.d.audit.record({ kind: 'rollback', actor: 'system', tool: 'restart_instance', target: inst.name, job_id: run.jobId, plan_hash: p.plan_hash, outcome: 'refused', details: { plan_id: p.id } });
        this.count('rollback', 'refused');
        break;
      }
      await restoreCpf(inst.cpfPath, backup);
      const restored = (await readCpf(inst.cpfPath)).sha === p.body.file_sha256;
      ok &&= restored;
      backups.push(backup);
      this.plans.update(p.id, { status: 'rolled_back', activated: true });
      steps.push({ step: 'rollback', ok: restored, detail: `plan ${p.id}: restored ${backup}` });
      this.d.audit.record({ kind: 'rollback', actor: by, tool: 'restart_instance', target: inst.name, job_id: run.jobId, plan_hash: p.plan_hash, outcome: restored ? 'restored' : 'failed', details: { plan_id: p.id, backup } });
      this.count('rollback', restored ? 'restored' : 'failed');
      if (!restored) break;
    }
    return { ok, steps, backups };
  }

  private async logSince(inst: ResolvedInstance, offset: number): Promise<LogEntry[]> {
    const { text } = await readLogTail(inst.logPath, this.d.config.max_log_bytes, offset).catch(() => ({ text: '' }));
    return errorsFirst(parseMessagesLog(text)).slice(0, 200);
  }
}

function cpfSummary(b: CpfPlanBody, planId: string): string {
  const lines = b.changes.map((c) => `[${c.section}] ${c.parameter}: ${c.old ?? '(absent)'} -> ${c.new}${c.unit ? ` ${c.unit}` : ''}`);
  return [
    `Apply iris.cpf change on ${b.instance} (plan ${planId}), requested by ${b.requested_by}.`,
    `Reason: ${b.reason}`,
    ...lines,
    `Restart required: ${b.restart_required ? 'yes' : 'no'}`,
    '',
    b.diff,
  ].join('\n');
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
