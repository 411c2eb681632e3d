// The remediation service the tools use: instances, probes and logs, and the two workflows (iris.cpf
// change, restart) behind one facade. Domain code: no MCP SDK; tools adapt their job context to RemediationRun.
import type { RemediationConfig } from '../../config/sections/remediation.js';
import type { BreakerRegistry } from '../../breakers/registry.js';
import type { AuditLog } from '../../observability/audit.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Db } from '../../store/sqlite.js';
import { ParameterCatalog } from './catalog.js';
import { CpfChangeWorkflow, type CpfChangeInput, type CpfPlanBody } from './cpf-change.js';
import type { QlistEntry } from './control.js';
import { instanceNames, resolveInstance, type ResolvedInstance } from './instances.js';
import { filterEntries, parseMessagesLog, readLogTail, type LogEntry, type LogFilter } from './messages-log.js';
import { InstanceProbes, type ActiveUsers } from './probes.js';
import { RestartWorkflow, type RestartPlanBody } from './restart.js';
import { ApprovalStore, PlanStore, SqliteInstanceLock, type InstanceLock, type PlanRow } from './store.js';
import type { RemediationHooks, RemediationRun, WorkflowDeps } from './workflow.js';

export type { CpfChangeInput, CpfPlanBody, RestartPlanBody, RemediationHooks, RemediationRun };

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

export class RemediationService {
  readonly plans: PlanStore;
  readonly approvals: ApprovalStore;
  private readonly probes: InstanceProbes;
  private readonly cpf: CpfChangeWorkflow;
  private readonly restart: RestartWorkflow;
  private catalogCache: ParameterCatalog | undefined;

  constructor(private readonly d: RemediationDeps) {
    this.plans = new PlanStore(d.db);
    this.approvals = new ApprovalStore(d.db);
    this.probes = new InstanceProbes(d.breakers);
    const actions = d.metrics.counter('shield_remediation_actions_total', 'Remediation actions (plan, approve, apply, verify, rollback, restart) by outcome.', ['action', 'outcome']);
    const shared: WorkflowDeps = {
      config: d.config,
      plans: this.plans,
      approvals: this.approvals,
      lock: d.lock ?? new SqliteInstanceLock(d.db),
      audit: d.audit,
      probes: this.probes,
      hooks: d.hooks ?? {},
      count: (action, outcome) => actions.inc({ action, outcome }),
    };
    this.cpf = new CpfChangeWorkflow(shared, () => this.catalog);
    this.restart = new RestartWorkflow(shared);
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

  /** qlist through the instance's breaker. */
  async qlist(inst: ResolvedInstance, signal?: AbortSignal): Promise<QlistEntry | undefined> {
    return this.probes.qlist(inst, signal);
  }

  async activeUsers(inst: ResolvedInstance, signal?: AbortSignal): Promise<ActiveUsers> {
    return this.probes.activeUsers(inst, signal);
  }

  async readLog(inst: ResolvedInstance, filter: LogFilter): Promise<{ entries: LogEntry[]; scanned: number }> {
    const { text } = await readLogTail(inst.logPath, this.d.config.max_log_bytes);
    const all = parseMessagesLog(text);
    return { entries: filterEntries(all, filter), scanned: all.length };
  }

  async planCpfChange(name: string, changes: CpfChangeInput[], reason: string, actor: string): Promise<PlanRow<CpfPlanBody>> {
    return this.cpf.plan(this.instance(name), changes, reason, actor);
  }

  async applyCpfChange(name: string, planId: string, given: CpfChangeInput[] | undefined, run: RemediationRun): Promise<Record<string, unknown>> {
    return this.cpf.apply(this.instance(name), planId, given, run);
  }

  async planRestart(name: string, reason: string, acceptActiveUsers: boolean, actor: string, signal?: AbortSignal): Promise<PlanRow<RestartPlanBody>> {
    return this.restart.plan(this.instance(name), reason, acceptActiveUsers, actor, signal);
  }

  async applyRestart(name: string, planId: string, run: RemediationRun): Promise<Record<string, unknown>> {
    return this.restart.apply(this.instance(name), planId, run);
  }
}
