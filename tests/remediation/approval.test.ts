// Approval per policy (src/providers/iris/approval.ts) without a protocol: auto and plan_only decide at
// once; under confirm the job waits for an operator, and a cancel ends that wait at once, not a poll later.
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/observability/audit.js';
import { obtainApproval, type ApprovalRequest } from '../../src/providers/iris/approval.js';
import { ApprovalStore } from '../../src/providers/iris/store.js';
import { openDatabase } from '../../src/store/sqlite.js';

const db = openDatabase({ dataDir: ':memory:', file: 'unused' });
afterAll(() => db.close());
const store = new ApprovalStore(db);
const audit = new AuditLog(db, undefined);

let n = 0;
function request(policy: ApprovalRequest['policy'], signal: AbortSignal, statuses: string[] = []): ApprovalRequest {
  n++;
  return {
    policy,
    instance: 'iris1',
    planId: `plan_test${n}`,
    planHash: `hash${n}`,
    action: 'cpf_change',
    summary: 'Apply iris.cpf change',
    jobId: `job_approval_${n}`,
    requester: 'local',
    signal,
    setStatus: async (s) => void statuses.push(s),
  };
}

describe('obtainApproval', () => {
  it('approves at once under auto, and refuses under plan_only', async () => {
    const live = new AbortController().signal;
    await expect(obtainApproval(request('auto', live), store, audit, { ttlMs: 60_000, pollMs: 50 })).resolves.toEqual({ by: 'policy:auto', via: 'policy' });
    await expect(obtainApproval(request('plan_only', live), store, audit, { ttlMs: 60_000, pollMs: 50 })).rejects.toMatchObject({ code: 'POLICY_DENIED' });
  });

  it('under confirm waits in awaiting_approval until an operator decides', async () => {
    const statuses: string[] = [];
    const req = request('confirm', new AbortController().signal, statuses);
    const approval = obtainApproval(req, store, audit, { ttlMs: 60_000, pollMs: 50 });
    await expect.poll(() => statuses, { timeout: 10_000 }).toEqual(['awaiting_approval']);
    expect(store.decide(req.jobId, 'approved', 'operator:olivia', null).ok).toBe(true);
    await expect(approval).resolves.toEqual({ by: 'operator:olivia', via: 'operator' });
    expect(statuses).toEqual(['awaiting_approval', 'running']);
  });

  it('a cancel ends the wait for an operator at once, with the cancel as the reason', async () => {
    const statuses: string[] = [];
    const cancel = new AbortController();
    // One poll a minute: only a cancellable wait can end this within the test.
    const approval = obtainApproval(request('confirm', cancel.signal, statuses), store, audit, { ttlMs: 600_000, pollMs: 60_000 });
    await expect.poll(() => statuses, { timeout: 10_000 }).toEqual(['awaiting_approval']);
    const started = Date.now();
    cancel.abort(new Error('cancelled by the test'));
    await expect(approval).rejects.toThrow('cancelled by the test');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
