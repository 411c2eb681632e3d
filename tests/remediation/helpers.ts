// Helpers for the remediation tests: a fresh build of the emulator, free ports, emulated instances
// in temp dirs, and waiting for jobs through the real MCP client.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createEmulatorState, emulatorMain, killEmulator, type CreateStateOptions } from '../../src/providers/iris/emulator/state.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The emulator and dist/main.js run from dist/: rebuild when src/ is newer (once, across workers). */
export function ensureBuilt(): void {
  const main = emulatorMain();
  const fresh = (): boolean => existsSync(main) && existsSync(join(ROOT, 'dist', 'main.js')) && statSync(main).mtimeMs >= Math.max(newestMtime(join(ROOT, 'src', 'providers', 'iris')), newestMtime(join(ROOT, 'src', 'tools', 'remediation')), statSync(join(ROOT, 'src', 'cli', 'approvals.ts')).mtimeMs);
  if (fresh()) return;
  const lock = join(tmpdir(), 'shield-remediation-build.lock');
  for (let i = 0; i < 600; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (fresh()) return;
      execFileSync('sleep', ['0.1']);
    }
  }
  try {
    if (fresh()) return;
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' });
    } catch {
      /* type errors elsewhere still emit JavaScript */
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface TestInstance {
  dir: string;
  name: string;
  port: number;
  config: Record<string, unknown>;
}

const dirs: string[] = [];

/** An emulated instance (down) in a temp dir, and its config entry. */
export async function makeInstance(name: string, opts: Partial<CreateStateOptions> & { policy?: string; timeouts?: Record<string, number> } = {}): Promise<TestInstance> {
  const dir = mkdtempSync(join(tmpdir(), `shield-iris-${name}-`));
  dirs.push(dir);
  const port = await freePort();
  createEmulatorState(dir, { superserverPort: port, ...opts });
  return {
    dir,
    name,
    port,
    config: {
      kind: 'emulated',
      state_dir: dir,
      superserver_port: port,
      policy: opts.policy ?? 'auto',
      timeouts: { command_ms: 5000, stop_ms: 5000, start_ms: 8000, health_ms: 3000, health_poll_ms: 100, ...opts.timeouts },
    },
  };
}

/** Kill every emulator daemon these tests started and remove their dirs. */
export function cleanupInstances(): void {
  for (const d of dirs.splice(0)) {
    killEmulator(d);
    rmSync(d, { recursive: true, force: true });
  }
}

export function startEmulator(dir: string): void {
  execFileSync(process.execPath, [emulatorMain(), '--state-dir', dir, 'start', 'IRIS'], { stdio: 'ignore' });
}

export function qlistState(dir: string): string {
  return execFileSync(process.execPath, [emulatorMain(), '--state-dir', dir, 'qlist', 'IRIS'], { encoding: 'utf8' }).split('^')[3] ?? '';
}

export function remediationConfig(instances: TestInstance[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    remediation: { approval_poll_ms: 50, instances: Object.fromEntries(instances.map((i) => [i.name, i.config])), ...extra },
    jobs: { tools: { apply_cpf_change: { inline_budget_ms: 20_000 }, restart_instance: { inline_budget_ms: 25_000 } } },
  };
}

export interface Handle {
  job: { id: string; status: string };
  result?: Record<string, unknown> & { plan_id?: string };
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; handle: Handle; text: string }> {
  const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; structuredContent?: unknown; content: Array<{ text?: string }> };
  return { isError: Boolean(r.isError), handle: r.structuredContent as Handle, text: r.content[0]?.text ?? '' };
}

/** Poll get_job_status until the job leaves queued/running (and, unless told, awaiting_approval). */
export async function waitJob(client: Client, id: string, opts: { until?: string[]; timeoutMs?: number } = {}): Promise<Handle> {
  const until = opts.until ?? ['succeeded', 'failed', 'cancelled', 'interrupted'];
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const r = (await client.callTool({ name: 'get_job_status', arguments: { job_id: id } })) as unknown as { structuredContent: Handle };
    if (until.includes(r.structuredContent.job.status)) return r.structuredContent;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${r.structuredContent.job.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export { ROOT, emulatorMain };

/** The error of a failed call made with `call` (the job's error, or the wrapper's). */
export function errOf(r: { isError: boolean; text: string }): { code: string; message: string; details?: Record<string, unknown> } {
  if (!r.isError) throw new Error(`expected an error, got ${r.text.slice(0, 400)}`);
  return (JSON.parse(r.text) as { error: { code: string; message: string; details?: Record<string, unknown> } }).error;
}
