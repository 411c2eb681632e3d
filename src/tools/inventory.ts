// The explicit inventory: every tool, in one list; filtering is computed from the declarations.
import type { Config } from '../config/schema.js';
import type { AnyTool } from './define-tool.js';
import { renderTemplateTool } from './itsm/render-template.js';
import { listTemplatesTool } from './itsm/list-templates.js';
import { createTicketTool } from './itsm/create-ticket.js';
import { getTicketTool } from './itsm/get-ticket.js';
import { getJobStatusTool } from './jobs/get-job-status.js';
import { cancelJobTool } from './jobs/cancel-job.js';
import { applyCpfChangeTool } from './remediation/apply-cpf-change.js';
import { restartInstanceTool } from './remediation/restart-instance.js';
import { readMessagesLogTool } from './remediation/read-messages-log.js';
import { listInstancesTool } from './remediation/list-instances.js';
import { crawlWebTool } from './knowledge/crawl-web.js';
import { qdrantFindTool } from './knowledge/qdrant-find.js';

export const ALL_TOOLS: readonly AnyTool[] = [
  // itsm
  renderTemplateTool,
  listTemplatesTool,
  createTicketTool,
  getTicketTool,
  // knowledge
  crawlWebTool,
  qdrantFindTool,
  // jobs
  getJobStatusTool,
  cancelJobTool,
  // remediation
  applyCpfChangeTool,
  restartInstanceTool,
  readMessagesLogTool,
  listInstancesTool,
];

/** The tools this configuration exposes: enabled toolsets, and only read-only ones in read-only mode. */
export function selectTools(config: Pick<Config, 'tools'>, all: readonly AnyTool[] = ALL_TOOLS): AnyTool[] {
  const enabled = new Set(config.tools.enabled_toolsets);
  return all.filter((t) => enabled.has(t.toolset) && (!config.tools.read_only || t.annotations.readOnlyHint));
}
