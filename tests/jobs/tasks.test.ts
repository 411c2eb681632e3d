import { afterEach, describe, expect, it } from 'vitest';
import {
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskPayloadResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ALL_TOOLS } from '../../src/tools/inventory.js';
import type { App } from '../../src/app.js';
import { connectClient, makeApp } from '../helpers/app.js';
import { sleepJob } from '../helpers/test-tools.js';

const apps: App[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

async function setup() {
  const app = await makeApp({ tools: [...ALL_TOOLS, sleepJob] });
  apps.push(app);
  return { app, client: await connectClient(app) };
}

const callAsTask = (client: Client, args: Record<string, unknown>) =>
  client.request({ method: 'tools/call', params: { name: 'test_sleep', arguments: args, task: { ttl: 60_000 } } }, CreateTaskResultSchema);

describe('MCP Tasks served from the job store', () => {
  it('job tools declare taskSupport optional; inline tools do not', async () => {
    const { client } = await setup();
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'test_sleep')?.execution?.taskSupport).toBe('optional');
    expect(tools.find((t) => t.name === 'render_template')?.execution).toBeUndefined();
    expect(client.getServerCapabilities()?.tasks?.requests?.tools?.call).toBeDefined();
  });

  it('a task-augmented call returns the task at once; tasks/get, tasks/result and tasks/list follow it', async () => {
    const { client } = await setup();
    const created = await callAsTask(client, { ms: 150, steps: 3, label: 'task' });
    expect(created.task.status).toBe('working');
    expect(created.task.taskId).toMatch(/^job_/);
    expect(created.task.pollInterval).toBe(1000);
    const got = await client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema);
    expect(got.taskId).toBe(created.task.taskId);
    const result = (await client.request({ method: 'tasks/result', params: { taskId: created.task.taskId } }, GetTaskPayloadResultSchema)) as {
      structuredContent: { job: { status: string }; result: unknown };
      _meta: Record<string, unknown>;
    };
    expect(result.structuredContent.job.status).toBe('succeeded');
    expect(result.structuredContent.result).toEqual({ slept_ms: 150, label: 'task' });
    expect(result._meta['io.modelcontextprotocol/related-task']).toEqual({ taskId: created.task.taskId });
    const after = await client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema);
    expect(after.status).toBe('completed');
    const list = await client.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    expect(list.tasks.map((t) => t.taskId)).toContain(created.task.taskId);
  });

  it('tasks/cancel stops a working task; cancelling a finished one is an error', async () => {
    const { client } = await setup();
    const created = await callAsTask(client, { ms: 20_000, steps: 100 });
    const cancelled = await client.request({ method: 'tasks/cancel', params: { taskId: created.task.taskId } }, CancelTaskResultSchema);
    expect(cancelled.status).toBe('cancelled');
    await expect(client.request({ method: 'tasks/cancel', params: { taskId: created.task.taskId } }, CancelTaskResultSchema)).rejects.toThrow(/already cancelled/);
  });

  it('a failed job is a failed task whose result is the isError tool result', async () => {
    const { client } = await setup();
    const created = await callAsTask(client, { ms: 1, fail: 'expected' });
    const result = (await client.request({ method: 'tasks/result', params: { taskId: created.task.taskId } }, GetTaskPayloadResultSchema)) as { isError: boolean; content: Array<{ text: string }> };
    expect(result.isError).toBe(true);
    expect(JSON.parse(result.content[0]!.text).error.code).toBe('UPSTREAM_REJECTED');
    const got = await client.request({ method: 'tasks/get', params: { taskId: created.task.taskId } }, GetTaskResultSchema);
    expect(got.status).toBe('failed');
    expect(got.statusMessage).toMatch(/^UPSTREAM_REJECTED/);
  });

  it('invalid arguments and unknown tasks are protocol errors', async () => {
    const { client } = await setup();
    await expect(callAsTask(client, { ms: 'soon' })).rejects.toThrow(/Invalid arguments/);
    await expect(client.request({ method: 'tasks/get', params: { taskId: 'job_nope' } }, GetTaskResultSchema)).rejects.toThrow(/Task not found/);
    await expect(
      client.request({ method: 'tools/call', params: { name: 'render_template', arguments: {}, task: {} } }, CreateTaskResultSchema),
    ).rejects.toThrow(/does not support task execution/);
  });
});
