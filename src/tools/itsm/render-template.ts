// render_template: fill a ticket template's {variables} for one platform; report missing/unused.
import { z } from 'zod';
import { defineTool } from '../define-tool.js';
import { PLATFORMS } from '../../providers/itsm/templates.js';

export const variablesSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _'), z.union([z.string().max(32_768), z.number(), z.boolean()]))
  .default({})
  .describe('Values for the template placeholders, e.g. {"service": "payments"}.');

export const renderTemplateTool = defineTool({
  name: 'render_template',
  title: 'Render a ticket template',
  description:
    'Fill a configured ticket template with variables for one platform (servicenow, jira or local) and return the ' +
    'rendered ticket fields plus the variables that were missing or unused. Nothing is created. Use list_templates ' +
    'to see the templates and their variables; pass the same template and variables to create_ticket to open the ticket.',
  toolset: 'itsm',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({
    template: z.string().min(1).max(64).describe('Template name, e.g. "outage".'),
    platform: z.enum(PLATFORMS).describe('Platform whose field layout to render.'),
    variables: variablesSchema,
  }),
  output: z.object({
    template: z.string(),
    platform: z.enum(PLATFORMS),
    fields: z.record(z.string(), z.unknown()).describe('The rendered fields, in the platform\'s own field names.'),
    missing: z.array(z.string()).describe('Optional placeholders that had no value (rendered empty).'),
    unused: z.array(z.string()).describe('Variables given that the template does not use.'),
  }),
  handler: async (args, ctx) => ctx.services.templates.render(args.template, args.platform, args.variables),
});
