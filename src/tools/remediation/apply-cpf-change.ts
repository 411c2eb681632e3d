// apply_cpf_change: plan an iris.cpf edit (diff, checksum, expiry), then apply exactly that plan
// after approval, with a backup, an atomic write, read-back verification and rollback.
import { z } from 'zod';
import { ShieldError } from '../../errors.js';
import { defineJobTool } from '../define-tool.js';
import { instanceNameSchema, planIdSchema, runContext } from './shared.js';

const changeSchema = z
  .object({
    section: z.string().min(1).max(64).describe('CPF section without brackets, e.g. config'),
    parameter: z.string().min(1).max(64).describe('Parameter name, e.g. gmheap'),
    value: z.union([z.string().max(512), z.number()]).transform(String).describe('New value as it will be written'),
    expected_current: z.union([z.string().max(512), z.number()]).transform(String).optional().describe('Refuse (CONFLICT) unless the current value is this'),
  })
  .strict();

const changeOut = z.object({ section: z.string(), parameter: z.string(), old: z.string().nullable(), new: z.string(), unit: z.string(), restart_required: z.boolean() });

export const applyCpfChangeTool = defineJobTool({
  name: 'apply_cpf_change',
  title: 'Plan or apply an iris.cpf change',
  description:
    'Change parameters in an IRIS instance\'s iris.cpf, safely, in two calls. 1) Without plan_id: returns a plan (unified diff, file ' +
    'sha256, restart_required, notes, expires_at, plan_id) and changes nothing. 2) With plan_id: applies exactly that plan once a human ' +
    'approves it (per the instance policy; you cannot approve it yourself). The job may wait in awaiting_approval: poll get_job_status. ' +
    'The apply fails with CONFLICT if the file changed since the plan. Only catalogued parameters can change.',
  toolset: 'remediation',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  input: z
    .object({
      instance: instanceNameSchema,
      changes: z.array(changeSchema).min(1).max(20).optional().describe('Required to make a plan; optional when applying (must then match the plan)'),
      reason: z.string().min(3).max(1000).describe('Why the change is needed (shown to the approver, audited)'),
      plan_id: planIdSchema.optional().describe('Apply this plan (from a previous call without plan_id)'),
    })
    .refine((a) => a.plan_id !== undefined || (a.changes?.length ?? 0) > 0, { message: 'give changes to make a plan, or plan_id to apply one', path: ['changes'] }),
  result: z.object({
    mode: z.enum(['plan', 'apply']),
    outcome: z.enum(['planned', 'applied']),
    instance: z.string(),
    plan_id: z.string(),
    changes: z.array(changeOut),
    restart_required: z.boolean(),
    plan_hash: z.string().optional(),
    diff: z.string().optional(),
    file_sha256: z.string().optional(),
    notes: z.array(z.string()).optional(),
    expires_at: z.string().optional(),
    policy: z.string().optional(),
    approved_by: z.string().optional(),
    backup: z.string().nullable().optional(),
    verified: z.boolean().optional(),
    rolled_back: z.boolean().optional(),
    next_step: z.string().optional(),
  }),
  resumable: true,
  inlineBudgetMs: 30_000,
  run: async (args, ctx) => {
    const svc = ctx.services.remediation;
    const run = runContext(ctx);
    if (args.plan_id === undefined) {
      if (!args.changes) throw new ShieldError('INVALID_INPUT', 'changes are required to make a plan.');
      const row = await svc.planCpfChange(args.instance, args.changes, args.reason, run.actor);
      const b = row.body;
      return {
        mode: 'plan' as const,
        outcome: 'planned' as const,
        instance: b.instance,
        plan_id: row.id,
        plan_hash: row.plan_hash,
        changes: b.changes,
        diff: b.diff,
        file_sha256: b.file_sha256,
        restart_required: b.restart_required,
        notes: b.notes,
        expires_at: row.expires_at,
        policy: svc.instance(args.instance).policy,
        next_step: `Call apply_cpf_change again with plan_id ${row.id} to apply it; a human approves it per policy.`,
      };
    }
    const out = await svc.applyCpfChange(args.instance, args.plan_id, args.changes, run);
    return { mode: 'apply' as const, ...(out as Record<string, unknown>) } as never;
  },
});
