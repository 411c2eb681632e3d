// apply_cpf_change (src/providers/iris/cpf-change.ts) end to end through a real MCP client against
// emulated instances: plans, apply, conflicts, policy, validation, and approval by elicitation, by
// the operator CLI, denied, expired. A kill mid-write is crash.test.ts.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { sha256 } from '../../src/providers/iris/cpf.js';
import { connectClient, makeApp, testConfig } from '../helpers/app.js';
import { ROOT, call, cleanupInstances, errOf, ensureBuilt, makeInstance, remediationConfig, waitJob, type TestInstance } from './helpers.js';

const run = promisify(execFile);
const cpfOf = (i: TestInstance): string => readFileSync(join(i.dir, 'iris.cpf'), 'utf8');
const gmheapChange = (value: string | number) => [{ section: 'config', parameter: 'gmheap', value }];

let auto: TestInstance;
let confirm: TestInstance;
let planOnly: TestInstance;
let shortTtl: TestInstance;
let dataDir: string;

beforeAll(async () => {
  ensureBuilt();
  auto = await makeInstance('auto1', { policy: 'auto' });
  confirm = await makeInstance('confirm1', { policy: 'confirm' });
  planOnly = await makeInstance('planonly', { policy: 'plan_only' });
  shortTtl = await makeInstance('shortttl', { policy: 'confirm' });
  dataDir = mkdtempSync(join(tmpdir(), 'shield-remediation-data-'));
});
afterAll(() => {
  cleanupInstances();
  rmSync(dataDir, { recursive: true, force: true });
});

async function appWith(instances: TestInstance[], extra: Record<string, unknown> = {}, store?: string) {
  const config = testConfig(remediationConfig(instances, extra), ...(store ? [{ store: { data_dir: store } }] : []));
  return makeApp({ config });
}

describe('apply_cpf_change: plan then apply', () => {
  it('plans without changing anything, then applies exactly the plan with a backup and verification', async () => {
    const app = await appWith([auto]);
    const client = await connectClient(app);
    const before = cpfOf(auto);
    const plan = await call(client, 'apply_cpf_change', { instance: 'auto1', changes: gmheapChange(65536), reason: 'gmheap exhausted in messages.log' });
    expect(plan.isError).toBe(false);
    const p = plan.handle.result!;
    expect(p).toMatchObject({ mode: 'plan', outcome: 'planned', restart_required: true, file_sha256: sha256(Buffer.from(before)) });
    expect(p.diff).toContain('-gmheap=37568\n+gmheap=65536');
    expect(p.plan_id).toMatch(/^plan_/);
    expect(Date.parse(p.expires_at as string)).toBeGreaterThan(Date.now());
    expect(cpfOf(auto)).toBe(before);

    const applied = await call(client, 'apply_cpf_change', { instance: 'auto1', plan_id: p.plan_id, reason: 'apply it' });
    expect(applied.handle.job.status).toBe('succeeded');
    const r = applied.handle.result!;
    expect(r).toMatchObject({ mode: 'apply', outcome: 'applied', verified: true, rolled_back: false, restart_required: true, approved_by: 'policy:auto' });
    const after = cpfOf(auto);
    expect(after).toBe(before.replace('gmheap=37568\r\n', 'gmheap=65536\r\n'));
    expect(readFileSync(r.backup as string, 'utf8')).toBe(before);
    expect(readdirSync(auto.dir).filter((f) => f.includes('shield-tmp'))).toEqual([]);

    // A used plan cannot be applied again.
    const again = await call(client, 'apply_cpf_change', { instance: 'auto1', plan_id: p.plan_id, reason: 'again' });
    expect(errOf(again).code).toBe('CONFLICT');

    const kinds = app.services.audit.list({ target: 'auto1', limit: 50 }).map((a) => `${a.kind}:${a.outcome}`);
    expect(kinds).toEqual(expect.arrayContaining(['plan:planned', 'approval:approved', 'verification:ok', 'apply:applied']));
    const metrics = await app.services.metrics.text();
    expect(metrics).toMatch(/shield_remediation_actions_total\{action="apply",outcome="applied"\} 1/);
    await client.close();
    await app.close();
  });

  it('refuses a stale plan with CONFLICT and writes nothing', async () => {
    const app = await appWith([auto]);
    const client = await connectClient(app);
    const plan = await call(client, 'apply_cpf_change', { instance: 'auto1', changes: [{ section: 'config', parameter: 'routines', value: 128 }], reason: 'more routine cache' });
    const edited = cpfOf(auto).replace('errlog=500', 'errlog=501');
    writeFileSync(join(auto.dir, 'iris.cpf'), edited);
    const res = await call(client, 'apply_cpf_change', { instance: 'auto1', plan_id: plan.handle.result!.plan_id, reason: 'apply' });
    expect(errOf(res).code).toBe('CONFLICT');
    expect(cpfOf(auto)).toBe(edited);
    await client.close();
    await app.close();
  });

  it.each([
    ['an unknown parameter', [{ section: 'config', parameter: 'turbo', value: '1' }], 'POLICY_DENIED'],
    ['a parameter agents may not change', [{ section: 'Startup', parameter: 'DefaultPort', value: '1973' }], 'POLICY_DENIED'],
    ['a value out of range', gmheapChange(100), 'VALIDATION_FAILED'],
    ['a wrong expected_current', [{ section: 'config', parameter: 'gmheap', value: '70000', expected_current: '1' }], 'CONFLICT'],
  ])('refuses %s at plan time', async (_label, changes, code) => {
    const app = await appWith([auto]);
    const client = await connectClient(app);
    const before = cpfOf(auto);
    const res = await call(client, 'apply_cpf_change', { instance: 'auto1', changes, reason: 'try it' });
    const err = errOf(res);
    expect(err.code).toBe(code);
    if (code === 'VALIDATION_FAILED') expect(err.message).toContain('16384 to 1073741760');
    expect(cpfOf(auto)).toBe(before);
    await client.close();
    await app.close();
  });

  it('refuses unknown instances, and applying under plan_only', async () => {
    const app = await appWith([planOnly]);
    const client = await connectClient(app);
    expect(errOf(await call(client, 'apply_cpf_change', { instance: 'nope', changes: gmheapChange(65536), reason: 'x' + 'yz' })).code).toBe('NOT_FOUND');
    const plan = await call(client, 'apply_cpf_change', { instance: 'planonly', changes: gmheapChange(65536), reason: 'plan it' });
    expect(plan.isError).toBe(false);
    const res = await call(client, 'apply_cpf_change', { instance: 'planonly', plan_id: plan.handle.result!.plan_id, reason: 'apply' });
    expect(errOf(res).code).toBe('POLICY_DENIED');
    expect(cpfOf(planOnly)).not.toContain('gmheap=65536');
    await client.close();
    await app.close();
  });
});

describe('apply_cpf_change: human approval under confirm', () => {
  it('asks through elicitation; approve applies, decline denies', async () => {
    const app = await appWith([confirm]);
    const client = await connectClient(app, { elicitation: {} });
    const answers: Array<'approve' | 'deny' | 'decline'> = ['deny', 'approve'];
    const seen: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.push((req.params as { message: string }).message);
      const a = answers.shift();
      if (a === 'decline') return { action: 'decline' };
      return { action: 'accept', content: { decision: a!, reason: a === 'deny' ? 'not in business hours' : 'ok' } };
    });
    const p1 = await call(client, 'apply_cpf_change', { instance: 'confirm1', changes: gmheapChange(65536), reason: 'first try' });
    const denied = await call(client, 'apply_cpf_change', { instance: 'confirm1', plan_id: p1.handle.result!.plan_id, reason: 'apply' });
    expect(errOf(denied).code).toBe('POLICY_DENIED');
    expect(errOf(denied).message).toContain('not in business hours');
    expect(cpfOf(confirm)).toContain('gmheap=37568');
    expect(seen[0]).toContain('-gmheap=37568');

    const p2 = await call(client, 'apply_cpf_change', { instance: 'confirm1', changes: gmheapChange(65536), reason: 'second try' });
    const ok = await call(client, 'apply_cpf_change', { instance: 'confirm1', plan_id: p2.handle.result!.plan_id, reason: 'apply' });
    expect(ok.handle.job.status).toBe('succeeded');
    expect(ok.handle.result!.approved_by).toBe('human:local');
    expect(cpfOf(confirm)).toContain('gmheap=65536');
    const kinds = app.services.audit.list({ target: 'confirm1' }).map((a) => `${a.kind}:${a.outcome}`);
    expect(kinds).toEqual(expect.arrayContaining(['denial:denied', 'approval:approved']));
    await client.close();
    await app.close();
  });

  it('without elicitation waits in awaiting_approval until the operator CLI approves or denies; no argument approves', async () => {
    const app = await appWith([confirm], {}, dataDir);
    const client = await connectClient(app);
    const cli = (...args: string[]) => run(process.execPath, [join(ROOT, 'dist', 'main.js'), ...args, '--data-dir', dataDir], { env: { ...process.env, SHIELD_OPERATOR: 'olivia' } });

    const p = await call(client, 'apply_cpf_change', { instance: 'confirm1', changes: [{ section: 'config', parameter: 'routines', value: '96' }], reason: 'cache' });
    const pending = await call(client, 'apply_cpf_change', { instance: 'confirm1', plan_id: p.handle.result!.plan_id, reason: 'apply', approved: true, approve: true });
    expect(pending.handle.job.status).toBe('awaiting_approval');
    expect(cpfOf(confirm)).toContain('routines=80');
    const listed = await cli('approvals');
    expect(listed.stdout).toContain(pending.handle.job.id);
    expect(listed.stdout).toContain('+routines=96');
    const approved = await cli('approve', pending.handle.job.id);
    expect(approved.stdout).toContain('approved');
    const done = await waitJob(client, pending.handle.job.id);
    expect(done.job.status).toBe('succeeded');
    expect(done.result!.approved_by).toBe('operator:olivia');
    expect(cpfOf(confirm)).toContain('routines=96');
    // The decision cannot be taken twice.
    await expect(cli('deny', pending.handle.job.id, '--reason', 'late')).rejects.toThrow();

    const p2 = await call(client, 'apply_cpf_change', { instance: 'confirm1', changes: [{ section: 'config', parameter: 'routines', value: '112' }], reason: 'cache' });
    const pending2 = await call(client, 'apply_cpf_change', { instance: 'confirm1', plan_id: p2.handle.result!.plan_id, reason: 'apply' });
    expect(pending2.handle.job.status).toBe('awaiting_approval');
    await expect(cli('deny', pending2.handle.job.id)).rejects.toThrow(/--reason/);
    await cli('deny', pending2.handle.job.id, '--reason', 'change freeze');
    const denied = await waitJob(client, pending2.handle.job.id);
    expect(denied.job.status).toBe('failed');
    expect(denied.error).toMatchObject({ code: 'POLICY_DENIED' });
    expect(denied.error!.message).toContain('change freeze');
    expect(cpfOf(confirm)).toContain('routines=96');
    const audit = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('"actor":"operator:olivia"');
    await client.close();
    await app.close();
  });

  it('expires an approval nobody gives', async () => {
    const app = await appWith([shortTtl], { approval_ttl_s: 1 });
    const client = await connectClient(app);
    const p = await call(client, 'apply_cpf_change', { instance: 'shortttl', changes: gmheapChange(65536), reason: 'nobody answers' });
    const pending = await call(client, 'apply_cpf_change', { instance: 'shortttl', plan_id: p.handle.result!.plan_id, reason: 'apply' });
    expect(pending.handle.job.status).toBe('awaiting_approval');
    const done = await waitJob(client, pending.handle.job.id);
    expect(done.job.status).toBe('failed');
    expect(done.error!.code).toBe('APPROVAL_REQUIRED');
    expect(cpfOf(shortTtl)).toContain('gmheap=37568');
    expect(app.services.audit.list({ kind: 'approval_expired' })).toHaveLength(1);
    await client.close();
    await app.close();
  });
});
