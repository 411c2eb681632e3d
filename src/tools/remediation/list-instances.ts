// list_instances: the configured IRIS instances, their policy and (optionally) their qlist state.
import { z } from 'zod';
import { toErrorInfo } from '../../errors.js';
import { defineTool } from '../define-tool.js';

export const listInstancesTool = defineTool({
  name: 'list_instances',
  title: 'List IRIS instances',
  description: 'List the IRIS instances Shield can act on, by name, with their approval policy, ports and (with include_state) their current qlist state and health.',
  toolset: 'remediation',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({ include_state: z.boolean().default(true).describe('Run iris qlist for each instance') }),
  output: z.object({
    instances: z.array(
      z.object({
        name: z.string(),
        kind: z.string(),
        iris_name: z.string(),
        description: z.string(),
        policy: z.string(),
        superserver_port: z.number(),
        web_port: z.number().nullable(),
        state: z.string().optional(),
        health: z.string().optional(),
        version: z.string().optional(),
        error: z.string().optional(),
      }),
    ),
  }),
  handler: async (args, ctx) => {
    const svc = ctx.services.remediation;
    const instances = await Promise.all(
      svc.instanceNames().map(async (name) => {
        const inst = svc.instance(name);
        const base = { name, kind: inst.kind, iris_name: inst.irisName, description: inst.description, policy: inst.policy, superserver_port: inst.superserverPort, web_port: inst.webPort };
        if (!args.include_state) return base;
        try {
          const q = await svc.qlist(inst, ctx.signal);
          return q ? { ...base, state: q.stateText, health: q.health, version: q.version } : { ...base, error: 'not listed by iris qlist' };
        } catch (err) {
          return { ...base, error: toErrorInfo(err).message };
        }
      }),
    );
    return { instances };
  },
});
