// Job visibility: a job is seen only by the principal that created it; operators see all.
import { ShieldError } from '../../errors.js';
import type { JobRecord } from '../../jobs/model.js';
import type { Principal } from '../define-tool.js';

export function canSee(principal: Principal | null, job: JobRecord): boolean {
  if (principal === null) return job.owner === null;
  return principal.operator || job.owner === principal.id;
}

/** Unknown and not-yours look the same, so ids cannot be probed. */
export function notFound(id: string): ShieldError {
  return new ShieldError('NOT_FOUND', `No job ${id}.`, { hint: 'Use the job id returned by the tool that started the job.' });
}
