// restart_instance (src/providers/iris/restart.ts, restart-steps.ts), read_messages_log and
// list_instances end to end against the emulator: healthy restart, active users, a stop slower than
// its timeout, and a failed start with CPF rollback.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/providers/iris/cpf.js';
import { setFaults } from '../../src/providers/iris/emulator/state.js';
import { connectClient, makeApp, testConfig } from '../helpers/app.js';
import { call, cleanupInstances, ensureBuilt, errOf, makeInstance, qlistState, remediationConfig, startEmulator, waitJob, type TestInstance } from './helpers.js';

let healthy: TestInstance;
let busy: TestInstance;
let slowStop: TestInstance;
let badCpf: TestInstance;
let slowStart: TestInstance;

beforeAll(async () => {
  ensureBuilt();
  healthy = await makeInstance('healthy', { history: ['gmheap', 'license'] });
  busy = await makeInstance('busy', { faults: { active_users: [{ pid: 4242, user: 'alice', namespace: 'USER', client: '10.0.0.7' }] } });
  slowStop = await makeInstance('slowstop', { faults: { stop_delay_ms: 4000 }, timeouts: { stop_ms: 600 } });
  badCpf = await makeInstance('badcpf', { faults: { reject_cpf: [{ section: 'config', parameter: 'gmheap', value: '65536' }], log_on_start: [] } });
  slowStart = await makeInstance('slowstart', { faults: { start_delay_ms: 1200 } });
  for (const i of [healthy, busy, slowStop, badCpf, slowStart]) startEmulator(i.dir);
});
afterAll(() => cleanupInstances());

async function session(instances: TestInstance[]) {
  const app = await makeApp({ config: testConfig(remediationConfig(instances)) });
  const client = await connectClient(app);
  return { app, client, close: async () => (await client.close(), await app.close()) };
}

async function planAndRestart(client: Awaited<ReturnType<typeof session>>['client'], instance: string, accept = false) {
  const plan = await call(client, 'restart_instance', { instance, reason: 'activate configuration', accept_active_users: accept });
  expect(plan.isError).toBe(false);
  return { plan: plan.handle.result!, apply: await call(client, 'restart_instance', { instance, reason: 'go ahead', plan_id: plan.handle.result!.plan_id }) };
}

describe('read_messages_log and list_instances', () => {
  it('lists instances with their qlist state and reads filtered log entries', async () => {
    const s = await session([healthy]);
    const list = await s.client.callTool({ name: 'list_instances', arguments: {} });
    expect((list.structuredContent as { instances: Array<Record<string, unknown>> }).instances).toEqual([
      expect.objectContaining({ name: 'healthy', kind: 'emulated', iris_name: 'IRIS', policy: 'auto', health: 'ok', state: expect.stringMatching(/^running, since /) }),
    ]);
    const log = (await s.client.callTool({ name: 'read_messages_log', arguments: { instance: 'healthy', min_severity: 2 } })).structuredContent as {
      entries: Array<{ severity: number; category: string; text: string }>;
    };
    expect(log.entries.map((e) => e.text)).toEqual([expect.stringContaining('License limit exceeded'), expect.stringContaining('gmheap exhausted')]);
    const utility = (await s.client.callTool({ name: 'read_messages_log', arguments: { instance: 'healthy', category: 'Utility', limit: 1 } })).structuredContent as {
      entries: Array<{ category: string }>;
    };
    expect(utility.entries).toHaveLength(1);
    expect(utility.entries[0]!.category).toBe('Utility.Event');
    const bad = await s.client.callTool({ name: 'read_messages_log', arguments: { instance: '../etc' } });
    expect(bad.isError).toBe(true);
    await s.close();
  });
});

describe('restart_instance', () => {
  it('plans (state, users, steps, timeouts) then restarts healthy, reporting the log entries', async () => {
    const s = await session([healthy]);
    const { plan, apply } = await planAndRestart(s.client, 'healthy');
    expect(plan).toMatchObject({ mode: 'plan', state: { status: 'running', health: 'ok' }, active_users: { known: true, count: 0 } });
    expect((plan.steps as Array<{ step: string; timeout_ms?: number }>).map((x) => x.step)).toEqual(['check_active_users', 'stop', 'start', 'health', 'report']);
    expect(apply.handle.job.status).toBe('succeeded');
    const r = apply.handle.result!;
    expect(r).toMatchObject({ outcome: 'restarted', healthy: true, checks: { qlist: true, tcp: true }, rolled_back: false });
    const texts = (r.log_entries as Array<{ text: string }>).map((e) => e.text);
    expect(texts).toEqual(expect.arrayContaining([expect.stringContaining('shutdown complete'), 'Enabling logons']));
    expect(qlistState(healthy.dir)).toMatch(/^running/);
    await s.close();
  });

  it('refuses while users are active unless the plan accounted for them', async () => {
    const s = await session([busy]);
    const first = await planAndRestart(s.client, 'busy');
    expect(first.plan.active_users).toMatchObject({ count: 1, users: ['4242^alice^USER^10.0.0.7'] });
    expect((first.plan.notes as string[]).join(' ')).toContain('will be refused');
    const e = errOf(first.apply);
    expect(e.code).toBe('POLICY_DENIED');
    expect(e.details).toMatchObject({ active_users: ['4242^alice^USER^10.0.0.7'] });
    const since = qlistState(busy.dir);
    expect(since).toMatch(/^running/);

    const second = await planAndRestart(s.client, 'busy', true);
    expect(second.apply.handle.result).toMatchObject({ outcome: 'restarted', healthy: true });
    expect(qlistState(busy.dir)).not.toBe(since);
    await s.close();
  });

  it('does not start when the stop does not finish within the shutdown timeout', async () => {
    const s = await session([slowStop]);
    const { apply } = await planAndRestart(s.client, 'slowstop');
    const e = errOf(apply);
    expect(e.code).toBe('UPSTREAM_TIMEOUT');
    expect(e.message).toContain('NOT started again');
    const steps = e.details!.steps as Array<{ step: string; ok: boolean }>;
    expect(steps.map((x) => `${x.step}:${x.ok}`)).toEqual(['check_active_users:true', 'stop:false']);
    expect(qlistState(slowStop.dir)).toMatch(/^running/);
    const log = readFileSync(join(slowStop.dir, 'mgr', 'messages.log'), 'utf8');
    expect(log.match(/Starting IRIS/g)).toHaveLength(1);
    await s.close();
  });

  it('rolls back a CPF change applied through Shield when the instance does not start, and starts again', async () => {
    const s = await session([badCpf]);
    const original = readFileSync(join(badCpf.dir, 'iris.cpf'));
    const plan = await call(s.client, 'apply_cpf_change', { instance: 'badcpf', changes: [{ section: 'config', parameter: 'gmheap', value: '65536' }], reason: 'more heap' });
    const applied = await call(s.client, 'apply_cpf_change', { instance: 'badcpf', plan_id: plan.handle.result!.plan_id, reason: 'apply' });
    expect(applied.handle.result).toMatchObject({ outcome: 'applied', restart_required: true });
    const cpfPlanId = plan.handle.result!.plan_id;

    const { plan: rplan, apply } = await planAndRestart(s.client, 'badcpf');
    expect((rplan.pending_cpf_changes as Array<{ plan_id: string }>).map((p) => p.plan_id)).toEqual([cpfPlanId]);
    expect((rplan.steps as Array<{ step: string }>).map((x) => x.step)).toContain('rollback_on_failure');
    const e = errOf(apply);
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.message).toContain('rolled back');
    expect(e.details).toMatchObject({
      rolled_back: true,
      healthy: true,
      first_attempt: { problem: expect.stringContaining("Invalid value '65536' for gmheap") },
      rollback: { plans: [cpfPlanId], restored: true },
      second_attempt: { healthy: true },
    });
    const entries = e.details!.log_entries as Array<{ severity: number; text: string }>;
    expect(entries[0]!.severity).toBe(3);
    expect(entries.map((x) => x.severity)).toEqual([...entries.map((x) => x.severity)].sort((a, b) => b - a));
    expect(sha256(readFileSync(join(badCpf.dir, 'iris.cpf')))).toBe(sha256(original));
    expect(qlistState(badCpf.dir)).toMatch(/^running/);
    const kinds = s.app.services.audit.list({ target: 'badcpf', limit: 100 }).map((a) => `${a.kind}:${a.outcome}`);
    expect(kinds).toEqual(expect.arrayContaining(['rollback:restored', 'start:unhealthy', 'start:healthy_after_rollback']));

    // The rolled-back change is no longer pending: the next restart plan has nothing to roll back.
    const next = await call(s.client, 'restart_instance', { instance: 'badcpf', reason: 'check' });
    expect(next.handle.result!.pending_cpf_changes).toEqual([]);
    await s.close();
  });

  it('reports an instance that starts but stays unhealthy', async () => {
    const sick = await makeInstance('sick', { timeouts: { health_ms: 600 } });
    startEmulator(sick.dir);
    setFaults(sick.dir, { start_unhealthy: true });
    const s = await session([sick]);
    const { apply } = await planAndRestart(s.client, 'sick');
    const e = errOf(apply);
    expect(e.code).toBe('UPSTREAM_REJECTED');
    expect(e.message).toContain('did not come up healthy');
    expect(e.details).toMatchObject({ checks: { qlist: false, tcp: false } });
    await s.close();
  });
});

describe('restart_instance and cancellation', () => {
  it('a cancel after the stop does not leave the instance down: start and health checks run to their end', async () => {
    const app = await makeApp({ config: testConfig(remediationConfig([slowStart]), { jobs: { tools: { restart_instance: { inline_budget_ms: 0 } } } }) });
    const client = await connectClient(app);
    try {
      const plan = await call(client, 'restart_instance', { instance: 'slowstart', reason: 'activate configuration' });
      if (!plan.handle) throw new Error(plan.text);
      // The plan is a job too: follow it to its result.
      const planned = plan.handle.result ? plan.handle : await waitJob(client, plan.handle.job.id);
      const apply = await call(client, 'restart_instance', { instance: 'slowstart', reason: 'go ahead', plan_id: planned.result!.plan_id });
      if (!apply.handle) throw new Error(apply.text);
      const id = apply.handle.job.id;
      const deadline = Date.now() + 15_000;
      for (;;) {
        const r = (await client.callTool({ name: 'get_job_status', arguments: { job_id: id } })).structuredContent as { job: { progress?: { message?: string } } };
        if (r.job.progress?.message?.startsWith('starting')) break;
        if (Date.now() > deadline) throw new Error('the restart never reached its start step');
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(qlistState(slowStart.dir)).toMatch(/^down/);
      await client.callTool({ name: 'cancel_job', arguments: { job_id: id } });
      const done = await waitJob(client, id);
      expect(done.job.status).toBe('succeeded');
      expect(qlistState(slowStart.dir)).toMatch(/^running/);
    } finally {
      await client.close();
      await app.close();
    }
  });
});
