// list_templates: the configured ticket templates with their platforms and variables.
import { z } from 'zod';
import { defineTool } from '../define-tool.js';
import { PLATFORMS } from '../../providers/itsm/templates.js';

export const listTemplatesTool = defineTool({
  name: 'list_templates',
  title: 'List ticket templates',
  description: 'List the ticket templates this server knows, with the platforms each supports and the variables each needs (required or optional, with defaults).',
  toolset: 'itsm',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({}),
  output: z.object({
    templates: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        platforms: z.array(z.enum(PLATFORMS)),
        variables: z.array(z.object({ name: z.string(), description: z.string(), required: z.boolean(), default: z.string().optional() })),
      }),
    ),
  }),
  handler: async (_args, ctx) => ({ templates: ctx.services.templates.list() }),
});
