// The server killed in the middle of an apply (over stdio, SIGKILL at a pause point that only the test
// entry point paused-server.ts injects) never leaves a half-written iris.cpf, and the next start of the
// built product (dist/main.js) finishes the operation.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpfDocument, sha256 } from '../../src/providers/iris/cpf.js';
import { ROOT, call, cleanupInstances, ensureBuilt, makeInstance, waitJob, type TestInstance } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'shield-crash-'));
beforeAll(() => ensureBuilt());
afterAll(() => {
  cleanupInstances();
  rmSync(work, { recursive: true, force: true });
});

/** The built product, or (with a pause point) the same serve command run by the test entry point. */
async function spawnServer(configFile: string, dataDir: string, pause?: { point: string; marker: string }) {
  const flags = ['--config', configFile, '--data-dir', dataDir, '--log-level', 'warn'];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: pause ? ['--import', 'tsx', join(ROOT, 'tests', 'remediation', 'paused-server.ts'), pause.point, pause.marker, ...flags] : [join(ROOT, 'dist', 'main.js'), ...flags],
    cwd: ROOT,
    env: process.env as Record<string, string>,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'shield-crash-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function waitFor(file: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a server killed mid-apply', () => {
  it.each([
    ['after the temp file is written, before the rename', 'after_temp_write', 'original'],
    ['after the rename, before verification', 'after_rename', 'new'],
  ])('%s: iris.cpf is whole, and the next start finishes the apply', async (_label, point, fileAfterKill) => {
    const inst: TestInstance = await makeInstance(`crash-${point.replace(/_/g, '-')}`, { policy: 'auto' });
    const dataDir = join(work, point);
    const configFile = join(work, `${point}.json`);
    writeFileSync(configFile, JSON.stringify({ remediation: { instances: { [inst.name]: inst.config } }, jobs: { tools: { apply_cpf_change: { inline_budget_ms: 300 } } } }));
    const cpfPath = join(inst.dir, 'iris.cpf');
    const original = readFileSync(cpfPath, 'utf8');
    const marker = join(work, `${point}.paused`);

    const first = await spawnServer(configFile, dataDir, { point, marker });
    const plan = await call(first.client, 'apply_cpf_change', { instance: inst.name, changes: [{ section: 'config', parameter: 'gmheap', value: '131072' }], reason: 'crash test' });
    const planned = plan.handle.result!;
    const started = await call(first.client, 'apply_cpf_change', { instance: inst.name, plan_id: planned.plan_id, reason: 'apply' });
    const jobId = started.handle.job.id;
    await waitFor(marker);
    process.kill(first.transport.pid!, 'SIGKILL');
    await first.client.close().catch(() => undefined);

    // Never half-written: the file is exactly the old or exactly the new content.
    const afterKill = readFileSync(cpfPath, 'utf8');
    const expectedNew = original.replace('gmheap=37568\r\n', 'gmheap=131072\r\n');
    expect(afterKill).toBe(fileAfterKill === 'original' ? original : expectedNew);
    expect(sha256(Buffer.from(afterKill))).toBe(fileAfterKill === 'original' ? planned.file_sha256 : sha256(Buffer.from(expectedNew)));
    expect(CpfDocument.parse(afterKill).toString()).toBe(afterKill);
    if (point === 'after_temp_write') expect(readdirSync(inst.dir).some((f) => f.startsWith('iris.cpf.shield-tmp-'))).toBe(true);

    const second = await spawnServer(configFile, dataDir);
    const done = await waitJob(second.client, jobId, { timeoutMs: 60_000 });
    expect(done.job.status).toBe('succeeded');
    expect(done.result).toMatchObject({ outcome: 'applied', verified: true, rolled_back: false });
    expect(readFileSync(cpfPath, 'utf8')).toBe(expectedNew);
    expect(readdirSync(inst.dir).filter((f) => f.startsWith('iris.cpf.shield-tmp-'))).toEqual([]);
    expect(readFileSync(done.result!.backup as string, 'utf8')).toBe(original);
    await second.client.close();
  }, 120_000); // two server starts, one through tsx: generous on a loaded 2-core machine
});

describe('the pause points', () => {
  it('are injected by the test entry point only: product code reads no test setting from the environment', () => {
    const files = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => /SHIELD_TEST_/.test(readFileSync(join(ROOT, 'src', f), 'utf8')))).toEqual([]);
  });
});
