// The gates both workflows share (src/providers/iris/workflow.ts): which plans may be applied, and one
// remediation per instance, with a lock taken over only from a holder that finished or is unknown.
import { afterAll, describe, expect, it } from 'vitest';
import { ShieldError } from '../../src/errors.js';
import type { ResolvedInstance } from '../../src/providers/iris/instances.js';
import { PlanStore, SqliteInstanceLock } from '../../src/providers/iris/store.js';
import { loadPlan, withInstanceLock, type RemediationRun } from '../../src/providers/iris/workflow.js';
import { openDatabase } from '../../src/store/sqlite.js';

const db = openDatabase({ dataDir: ':memory:', file: 'unused' });
afterAll(() => db.close());
const plans = new PlanStore(db);

const later = (): string => new Date(Date.now() + 60_000).toISOString();
const plan = (o: { instance?: string; action?: 'cpf_change' | 'restart'; expires_at?: string } = {}) =>
  plans.insert({ instance: o.instance ?? 'iris1', action: o.action ?? 'cpf_change', plan_hash: 'h', body: {}, expires_at: o.expires_at ?? later() });

/** The one field the lock reads; the rest of an instance does not matter here. */
const inst = (name: string) => ({ name }) as ResolvedInstance;

function runOf(jobId: string, statuses: Record<string, string> = {}): RemediationRun {
  return {
    jobId,
    attempt: 1,
    actor: 'local',
    signal: new AbortController().signal,
    logger: undefined as never,
    progress: () => undefined,
    setStatus: async () => undefined,
    jobStatus: async (id) => statuses[id],
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ShieldError ? err.code : `not a ShieldError: ${String(err)}`;
  }
  return undefined;
}

describe('loadPlan', () => {
  it.each([
    ['an unknown plan', () => 'plan_doesnotexist00', 'NOT_FOUND'],
    ['a plan of the other kind', () => plan({ action: 'restart' }).id, 'NOT_FOUND'],
    ['a plan for another instance', () => plan({ instance: 'iris2' }).id, 'CONFLICT'],
    ['an expired plan', () => plan({ expires_at: new Date(Date.now() - 1000).toISOString() }).id, 'CONFLICT'],
    [
      'a plan another job took',
      () => {
        const p = plan();
        plans.update(p.id, { status: 'applying', job_id: 'job_other' });
        return p.id;
      },
      'CONFLICT',
    ],
  ])('refuses %s', (_label, idOf, code) => {
    const id = idOf();
    expect(codeOf(() => loadPlan(plans, id, 'cpf_change', 'iris1', 'job_me'))).toBe(code);
  });

  it('gives a fresh plan, and gives the job that took a plan its plan back (resumed after a restart)', () => {
    const fresh = plan();
    expect(loadPlan(plans, fresh.id, 'cpf_change', 'iris1', 'job_me').status).toBe('planned');
    // Expiry guards what has not started yet; a plan this job already took is finished, not refused.
    const taken = plan({ expires_at: new Date(Date.now() - 1000).toISOString() });
    plans.update(taken.id, { status: 'applying', job_id: 'job_me' });
    expect(loadPlan(plans, taken.id, 'cpf_change', 'iris1', 'job_me')).toMatchObject({ status: 'applying', job_id: 'job_me' });
  });
});

describe('withInstanceLock', () => {
  const lock = new SqliteInstanceLock(db);

  it('admits one remediation per instance: a second job gets CONFLICT naming the holder', async () => {
    let release!: () => void;
    const holding = withInstanceLock(lock, inst('one'), runOf('job_a', { job_a: 'running' }), () => new Promise<string>((r) => (release = () => r('done'))));
    await expect.poll(() => lock.holder('one')).toBe('job_a');
    const second = withInstanceLock(lock, inst('one'), runOf('job_b', { job_a: 'running' }), async () => 'ran');
    await expect(second).rejects.toMatchObject({ code: 'CONFLICT', details: { holder_job_id: 'job_a' } });
    // Another instance is not blocked.
    expect(await withInstanceLock(lock, inst('two'), runOf('job_b'), async () => 'ran')).toBe('ran');
    release();
    expect(await holding).toBe('done');
    expect(await lock.holder('one')).toBeUndefined();
  });

  it.each([
    ['finished', { job_dead: 'succeeded' }],
    ['interrupted with its process', { job_dead: 'interrupted' }],
    ['unknown to the job store', {}],
  ])('takes the lock over from a holder that %s', async (_label, statuses: Record<string, string>) => {
    await lock.acquire('three', 'job_dead', async () => false);
    expect(await withInstanceLock(lock, inst('three'), runOf('job_new', statuses), async () => lock.holder('three'))).toBe('job_new');
    expect(await lock.holder('three')).toBeUndefined();
  });

  it('releases the lock when the work fails', async () => {
    await expect(withInstanceLock(lock, inst('four'), runOf('job_a'), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.holder('four')).toBeUndefined();
  });
});
