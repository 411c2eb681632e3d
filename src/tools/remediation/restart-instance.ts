// restart_instance: plan a graceful IRIS restart (state, active users, steps, timeouts), then carry
// it out after approval: stop quietly, start, health checks, CPF rollback if it does not come up.
import { z } from 'zod';
import { defineJobTool } from '../define-tool.js';
import { instanceNameSchema, logEntrySchema, planIdSchema, runContext } from './shared.js';

const step = z.object({ step: z.string(), detail: z.string(), ok: z.boolean().optional(), timeout_ms: z.number().optional() });

export const restartInstanceTool = defineJobTool({
  name: 'restart_instance',
  title: 'Plan or perform an IRIS instance restart',
  description:
    'Restart an IRIS instance gracefully, in two calls. 1) Without plan_id: returns a plan (current qlist state, active users, steps ' +
    'and timeouts) and does nothing. 2) With plan_id: after human approval per the instance policy, stops it quietly (never starts it ' +
    'if the stop fails), starts it, checks health (qlist running+ok, superserver TCP, optional HTTP) and reports the messages.log ' +
    'entries written meanwhile, errors first. If it does not come up after a CPF change applied through Shield, that change is rolled ' +
    'back and the instance started again. Refused while users are active unless the plan was made with accept_active_users.',
  toolset: 'remediation',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  input: z.object({
    instance: instanceNameSchema,
    reason: z.string().min(3).max(1000).describe('Why the restart is needed (shown to the approver, audited)'),
    plan_id: planIdSchema.optional().describe('Carry out this plan (from a previous call without plan_id)'),
    accept_active_users: z.boolean().default(false).describe('When planning: the restart may disconnect the active users the plan lists'),
  }),
  result: z.object({
    mode: z.enum(['plan', 'apply']),
    outcome: z.enum(['planned', 'restarted']),
    instance: z.string(),
    plan_id: z.string(),
    steps: z.array(step),
    plan_hash: z.string().optional(),
    state: z.union([z.object({ status: z.string(), health: z.string(), text: z.string() }), z.string(), z.null()]).optional(),
    active_users: z.object({ known: z.boolean(), count: z.number(), users: z.array(z.string()) }).optional(),
    pending_cpf_changes: z.array(z.object({ plan_id: z.string() }).passthrough()).optional(),
    notes: z.array(z.string()).optional(),
    expires_at: z.string().optional(),
    policy: z.string().optional(),
    approved_by: z.string().optional(),
    healthy: z.boolean().optional(),
    checks: z.object({ qlist: z.boolean(), tcp: z.boolean(), http: z.boolean().nullable() }).optional(),
    activated_cpf_changes: z.array(z.string()).optional(),
    rolled_back: z.boolean().optional(),
    log_entries: z.array(logEntrySchema).optional(),
  }),
  resumable: false,
  inlineBudgetMs: 30_000,
  run: async (args, ctx) => {
    const svc = ctx.services.remediation;
    const run = runContext(ctx);
    if (args.plan_id === undefined) {
      const row = await svc.planRestart(args.instance, args.reason, args.accept_active_users, run.actor, ctx.signal);
      const b = row.body;
      return {
        mode: 'plan' as const,
        outcome: 'planned' as const,
        instance: b.instance,
        plan_id: row.id,
        plan_hash: row.plan_hash,
        state: b.state,
        active_users: b.active_users,
        pending_cpf_changes: b.pending_cpf_changes,
        steps: b.steps,
        notes: b.notes,
        expires_at: row.expires_at,
        policy: svc.instance(args.instance).policy,
      };
    }
    const out = await svc.applyRestart(args.instance, args.plan_id, run);
    return { mode: 'apply' as const, ...(out as Record<string, unknown>) } as never;
  },
});
