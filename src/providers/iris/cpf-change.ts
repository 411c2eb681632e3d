// apply_cpf_change's workflow: plan an iris.cpf edit (diff, checksums, notes), then apply exactly
// that plan: approval, backup, atomic write, read-back verification, and rollback on failure.
import { existsSync } from 'node:fs';
import { ShieldError } from '../../errors.js';
import type { ParameterSpec } from '../../config/sections/remediation.js';
import type { ParameterCatalog } from './catalog.js';
import { CpfDocument, sha256, unifiedDiff } from './cpf.js';
import { backupCpf, pruneBackups, readCpf, removeStaleTemps, restoreCpf, writeCpfAtomically } from './cpf-file.js';
import type { ResolvedInstance } from './instances.js';
import type { PlanRow } from './store.js';
import { approvePlan, loadPlan, planExpiry, refuseWhenOff, withInstanceLock, type RemediationRun, type WorkflowDeps } from './workflow.js';

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

type PlannedChange = CpfPlanBody['changes'][number];
type CheckedChange = { c: CpfChangeInput; spec: ParameterSpec; value: string };

export class CpfChangeWorkflow {
  constructor(
    private readonly d: WorkflowDeps,
    private readonly catalog: () => ParameterCatalog,
  ) {}

  // --- plan ------------------------------------------------------------------------------------

  async plan(inst: ResolvedInstance, changes: CpfChangeInput[], reason: string, actor: string): Promise<PlanRow<CpfPlanBody>> {
    refuseWhenOff(inst);
    const checked = this.checkAgainstCatalog(changes);
    const { text, sha } = await readCpf(inst.cpfPath);
    const { newText, out, notes } = editForPlan(inst, text, checked);
    if (newText === text) throw new ShieldError('VALIDATION_FAILED', `Nothing to change: every parameter already has the requested value on ${inst.name}.`, { details: { changes: out } });
    const restartRequired = out.some((c) => c.restart_required && c.old !== c.new);
    if (restartRequired) {
      notes.push(`IRIS reads these parameters at start-up: the change takes effect after restart_instance on ${inst.name}. If the instance then fails to start, Shield rolls this change back and starts it again.`);
    } else {
      notes.push('These parameters apply without a restart once IRIS activates the file; Shield does not activate it (no activation command is configured), so restart_instance activates it.');
    }
    notes.push(`Applying requires approval per the instance policy (${inst.policy}); a timestamped backup is written beside iris.cpf first.`);
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
    const row = this.d.plans.insert({ instance: inst.name, action: 'cpf_change', plan_hash: planHash, body, expires_at: planExpiry(this.d.config) });
    this.d.audit.record({ kind: 'plan', actor, tool: 'apply_cpf_change', target: inst.name, plan_hash: planHash, outcome: 'planned', details: { plan_id: row.id, reason, changes: out } });
    this.d.count('plan', 'planned');
    return row;
  }

  /** Only catalogued parameters, with values in range, each once. */
  private checkAgainstCatalog(changes: CpfChangeInput[]): CheckedChange[] {
    const seen = new Set<string>();
    return changes.map((c) => {
      const { spec, value } = this.catalog().check(c.section, c.parameter, c.value);
      const k = `${spec.section}/${spec.name}`.toLowerCase();
      if (seen.has(k)) throw new ShieldError('INVALID_INPUT', `[${spec.section}] ${spec.name} appears twice in changes.`);
      seen.add(k);
      return { c, spec, value };
    });
  }

  // --- apply -----------------------------------------------------------------------------------

  async apply(inst: ResolvedInstance, planId: string, given: CpfChangeInput[] | undefined, run: RemediationRun): Promise<Record<string, unknown>> {
    const plan = loadPlan<CpfPlanBody>(this.d.plans, planId, 'cpf_change', inst.name, run.jobId);
    if (given?.length && !sameChanges(given, plan.body.changes)) {
      throw new ShieldError('CONFLICT', `The changes given differ from plan ${planId}.`, { hint: 'Pass only plan_id (and instance) to apply a plan exactly as planned, or plan again.' });
    }
    if (plan.status === 'applied' && plan.job_id === run.jobId) return plan.outcome as Record<string, unknown>;
    return withInstanceLock(this.d.lock, inst, run, async () => {
      const resuming = plan.status === 'applying' && plan.job_id === run.jobId;
      const approvedBy = resuming ? this.resume(inst, plan, run) : await this.approveAndTake(inst, plan, run);
      return this.write(inst, planId, plan.body, approvedBy, resuming, run);
    });
  }

  /** Checksum, approval, checksum again, then take the plan; returns who approved. */
  private async approveAndTake(inst: ResolvedInstance, plan: PlanRow<CpfPlanBody>, run: RemediationRun): Promise<string> {
    const planId = plan.id;
    const current = await readCpf(inst.cpfPath);
    if (current.sha !== plan.body.file_sha256) throw this.stale(inst, planId, 'before approval');
    run.progress({ done: 1, total: 5, message: 'waiting for approval' });
    let approvedBy: string;
    try {
      approvedBy = (await approvePlan(this.d, inst, plan, cpfSummary(plan.body, planId), run)).by;
    } catch (err) {
      if (err instanceof ShieldError && err.code === 'POLICY_DENIED' && (inst.policy === 'off' || inst.policy === 'plan_only')) {
        this.d.audit.record({ ...this.auditOf(inst, run, plan.plan_hash), kind: 'denial', actor: 'policy', outcome: 'denied', details: { policy: inst.policy } });
        this.d.count('apply', 'policy_denied');
      }
      throw err;
    }
    // The file may have changed while a human was reading the plan.
    const again = await readCpf(inst.cpfPath);
    if (again.sha !== plan.body.file_sha256) throw this.stale(inst, planId, 'after approval');
    if (!this.d.plans.update(planId, { status: 'applying', job_id: run.jobId }, ['planned'])) {
      throw new ShieldError('CONFLICT', `Plan ${planId} was taken by another job while this one waited.`);
    }
    return approvedBy;
  }

  /** The same job after a restart of the server: approval was given before; returns who gave it. */
  private resume(inst: ResolvedInstance, plan: PlanRow<CpfPlanBody>, run: RemediationRun): string {
    run.logger.warn({ plan_id: plan.id }, 'resuming a CPF apply interrupted by a restart');
    this.d.audit.record({ ...this.auditOf(inst, run, plan.plan_hash), kind: 'apply', actor: 'system', outcome: 'resumed', details: { attempt: run.attempt } });
    return this.d.approvals.get(run.jobId)?.decided_by ?? (inst.policy === 'auto' ? 'policy:auto' : 'unknown');
  }

  /** Backup, atomic write, read-back; any failure restores the backup. Resumable after a crash. */
  private async write(inst: ResolvedInstance, planId: string, body: CpfPlanBody, approvedBy: string, resuming: boolean, run: RemediationRun): Promise<Record<string, unknown>> {
    const removed = await removeStaleTemps(inst.cpfPath);
    if (removed) run.logger.warn({ removed }, 'removed temp files left by an interrupted write');
    const prior = (this.d.plans.get<CpfPlanBody>(planId)!.outcome ?? {}) as { backup?: string };
    const current = await readCpf(inst.cpfPath);
    let backup = prior.backup && existsSync(prior.backup) ? prior.backup : undefined;
    if (current.sha === body.new_sha256 && resuming) {
      // The rename landed before the crash: only verification is left.
      run.logger.info('the planned content is already in place; verifying');
    } else if (current.sha === body.file_sha256) {
      backup = await this.backupAndReplace(inst, planId, body, current.text, backup, run);
    } else {
      this.d.plans.update(planId, { status: 'failed' });
      throw this.stale(inst, planId, resuming ? 'while the server was down' : 'before writing');
    }
    const sha = await this.verify(inst, planId, body, backup, run);
    return this.finish(inst, planId, body, approvedBy, backup, sha, run);
  }

  /** A backup first (kept across a resume), then the planned content replaces the file atomically. */
  private async backupAndReplace(inst: ResolvedInstance, planId: string, body: CpfPlanBody, text: string, prior: string | undefined, run: RemediationRun): Promise<string> {
    let backup = prior;
    if (!backup) {
      backup = await backupCpf(inst.cpfPath, planId);
      this.d.plans.update(planId, { outcome: { backup } });
    }
    run.progress({ done: 2, total: 5, message: `backup written: ${backup}` });
    let doc = CpfDocument.parse(text);
    for (const c of body.changes) if (c.old !== c.new) doc = doc.with(c.section, c.parameter, c.new);
    const next = doc.toString();
    if (sha256(Buffer.from(next, 'utf8')) !== body.new_sha256) {
      throw new ShieldError('INTERNAL', 'The edit no longer reproduces the planned content.');
    }
    const pauseAt = this.d.hooks.pauseAt;
    try {
      await writeCpfAtomically(inst.cpfPath, next, pauseAt ? () => pauseAt('after_temp_write', run.signal) : undefined);
      await pauseAt?.('after_rename', run.signal);
    } catch (err) {
      if (run.signal.aborted) throw err;
      return this.rollBack(inst, planId, body, backup, `write failed: ${(err as Error).message}`, run);
    }
    run.progress({ done: 3, total: 5, message: 'new iris.cpf in place' });
    return backup;
  }

  /** Read-back verification: the bytes are the planned ones and every value parses back. Returns the file's sha256. */
  private async verify(inst: ResolvedInstance, planId: string, body: CpfPlanBody, backup: string | undefined, run: RemediationRun): Promise<string> {
    const after = await readCpf(inst.cpfPath);
    const doc = CpfDocument.parse(after.text);
    const mismatches = body.changes.filter((c) => doc.get(c.section, c.parameter) !== c.new).map((c) => `[${c.section}] ${c.parameter}`);
    const verified = after.sha === body.new_sha256 && mismatches.length === 0 && after.text === doc.toString();
    this.d.audit.record({ ...this.auditOf(inst, run), kind: 'verification', actor: 'system', outcome: verified ? 'ok' : 'failed', details: { plan_id: planId, sha256: after.sha, mismatches } });
    this.d.count('verify', verified ? 'ok' : 'failed');
    if (!verified) {
      return this.rollBack(inst, planId, body, backup, `read-back verification failed (${mismatches.join(', ') || 'checksum differs'})`, run);
    }
    run.progress({ done: 4, total: 5, message: 'verified' });
    return after.sha;
  }

  private async finish(inst: ResolvedInstance, planId: string, body: CpfPlanBody, approvedBy: string, backup: string | undefined, sha: string, run: RemediationRun): Promise<Record<string, unknown>> {
    const pruned = await pruneBackups(inst.cpfPath, this.d.config.backup_retention);
    const result = {
      outcome: 'applied' as const,
      instance: inst.name,
      plan_id: planId,
      approved_by: approvedBy,
      changes: body.changes,
      backup: backup ?? null,
      file_sha256: sha,
      verified: true,
      rolled_back: false,
      restart_required: body.restart_required,
      next_step: body.restart_required ? `Call restart_instance for ${inst.name} to make the change take effect.` : 'No restart is needed for these parameters.',
      pruned_backups: pruned.length,
    };
    this.d.plans.update(planId, { status: 'applied', activated: !body.restart_required, outcome: result });
    this.d.audit.record({ ...this.auditOf(inst, run), kind: 'apply', actor: approvedBy, outcome: 'applied', details: { plan_id: planId, backup, restart_required: body.restart_required } });
    this.d.count('apply', 'applied');
    run.progress({ done: 5, total: 5, message: 'applied' });
    return result;
  }

  /** Put the backup back and fail with UPSTREAM_REJECTED saying whether the file is as it was. */
  private async rollBack(inst: ResolvedInstance, planId: string, body: CpfPlanBody, backup: string | undefined, why: string, run: RemediationRun): Promise<never> {
    let restored = false;
    if (backup) {
      await restoreCpf(inst.cpfPath, backup);
      restored = (await readCpf(inst.cpfPath)).sha === body.file_sha256;
    }
    this.d.plans.update(planId, { status: 'rolled_back', activated: true, outcome: { backup, rolled_back: restored, why } });
    this.d.audit.record({ kind: 'rollback', actor: 'system', tool: 'apply_cpf_change', target: inst.name, job_id: run.jobId, outcome: restored ? 'restored' : 'failed', details: { plan_id: planId, backup, why } });
    this.d.count('rollback', restored ? 'restored' : 'failed');
    throw new ShieldError('UPSTREAM_REJECTED', `Applying plan ${planId} to ${inst.name} failed (${why}); ${restored ? 'the backup was restored (rolled_back)' : 'the backup could not be restored'}.`, {
      details: { rolled_back: restored, backup, reason: why },
      hint: restored ? 'The file is as it was before; investigate the cause before planning again.' : 'Restore iris.cpf from the named backup by hand.',
    });
  }

  private stale(inst: ResolvedInstance, planId: string, when: string): ShieldError {
    this.d.count('apply', 'conflict');
    this.d.audit.record({ kind: 'apply', actor: 'system', tool: 'apply_cpf_change', target: inst.name, outcome: 'conflict', details: { plan_id: planId, when } });
    return new ShieldError('CONFLICT', `iris.cpf of ${inst.name} changed since plan ${planId} was made (checksum differs ${when}); nothing was written.`, {
      hint: 'Plan again from the current file.',
    });
  }

  /** The audit fields of this apply; the write's own entries (verification, applied) carry no plan hash. */
  private auditOf(inst: ResolvedInstance, run: RemediationRun, planHash?: string) {
    return { tool: 'apply_cpf_change', target: inst.name, ...(planHash !== undefined ? { plan_hash: planHash } : {}), job_id: run.jobId };
  }
}

/** The planned edit: each change applied to the document, with what was there before and notes. */
function editForPlan(inst: ResolvedInstance, text: string, checked: CheckedChange[]): { newText: string; out: PlannedChange[]; notes: string[] } {
  let doc = CpfDocument.parse(text);
  const out: PlannedChange[] = [];
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
  return { newText: doc.toString(), out, notes };
}

/** The changes an apply call repeats are exactly the plan's (order aside). */
function sameChanges(given: CpfChangeInput[], planned: PlannedChange[]): boolean {
  return (
    given.length === planned.length &&
    given.every((g) => planned.some((c) => c.section.toLowerCase() === g.section.toLowerCase() && c.parameter.toLowerCase() === g.parameter.toLowerCase() && c.new === g.value.trim()))
  );
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
