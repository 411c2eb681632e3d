// Job visibility: a job is seen only by the principal that created it; operators see all.
// One rule for every door to a job: get_job_status, cancel_job and the MCP tasks/* requests.
import type { Principal } from '../auth/principal.js';
import { ShieldError } from '../errors.js';
import type { JobRecord } from './model.js';

export function canSee(principal: Principal | null, job: JobRecord): boolean {
  if (principal === null) return job.owner === null;
  return principal.operator || job.owner === principal.id;
}

/** The store filter for the jobs `principal` may list: all of them for an operator, else its own. */
export function visibleOwner(principal: Principal | null): { owner?: string | null } {
  return principal?.operator ? {} : { owner: principal?.id ?? null };
}

/** Unknown and not-yours look the same, so ids cannot be probed. */
export function notFound(id: string): ShieldError {
  return new ShieldError('NOT_FOUND', `No job ${id}.`, { hint: 'Use the job id returned by the tool that started the job.' });
}
