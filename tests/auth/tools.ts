// A fixed tool list for the auth tests (so sorted-name assertions do not move as the inventory
// grows), plus whoami, which reports the principal its handler was given.
import { z } from 'zod';
import { defineTool, type AnyTool } from '../../src/tools/define-tool.js';
import { renderTemplateTool } from '../../src/tools/itsm/render-template.js';
import { listTemplatesTool } from '../../src/tools/itsm/list-templates.js';
import { createTicketTool } from '../../src/tools/itsm/create-ticket.js';
import { getTicketTool } from '../../src/tools/itsm/get-ticket.js';
import { getJobStatusTool } from '../../src/tools/jobs/get-job-status.js';
import { cancelJobTool } from '../../src/tools/jobs/cancel-job.js';
import { crawlWebTool } from '../../src/tools/knowledge/crawl-web.js';
import { qdrantFindTool } from '../../src/tools/knowledge/qdrant-find.js';

export const whoamiTool = defineTool({
  name: 'whoami',
  title: 'Who am I (test)',
  description: 'Returns the principal the call was made as.',
  toolset: 'jobs',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({}),
  output: z.object({ id: z.string().nullable(), scopes: z.array(z.string()), operator: z.boolean() }),
  handler: async (_args, ctx) => ({ id: ctx.principal?.id ?? null, scopes: ctx.principal?.scopes ?? [], operator: ctx.principal?.operator ?? false }),
});

export const AUTH_TEST_TOOLS: readonly AnyTool[] = [
  renderTemplateTool,
  listTemplatesTool,
  createTicketTool,
  getTicketTool,
  crawlWebTool,
  qdrantFindTool,
  getJobStatusTool,
  cancelJobTool,
  whoamiTool,
];
