// Demo: an emulated IRIS instance whose messages.log shows gmheap exhaustion; the agent reads the
// log, plans a gmheap increase, shows the diff, applies it (demo policy auto), restarts the
// instance, shows it healthy, and the emulator is stopped at the end.
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEmulatorState, emulatorCommand, killEmulator } from '../src/providers/iris/emulator/state.js';
import type { DemoModule } from './transcript.js';

const run = promisify(execFile);
let stateDir: string | undefined;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

const sc = (r: { structuredContent?: Record<string, unknown> }): Record<string, unknown> => r.structuredContent ?? {};
const result = (r: { structuredContent?: Record<string, unknown> }): Record<string, unknown> => (sc(r).result ?? {}) as Record<string, unknown>;

export const remediationDemo: DemoModule = {
  name: 'remediation',
  async setup(workDir) {
    stateDir = join(workDir, 'iris-demo');
    mkdirSync(stateDir, { recursive: true });
    const port = await freePort();
    createEmulatorState(stateDir, { superserverPort: port, gmheap: 37568, history: ['gmheap'] });
    const [cmd, ...prefix] = emulatorCommand(stateDir);
    await run(cmd!, [...prefix, 'start', 'IRIS']);
    const dir = stateDir;
    return {
      config: {
        remediation: {
          instances: {
            demo: {
              kind: 'emulated',
              state_dir: dir,
              superserver_port: port,
              // confirm (the default): the human is asked through MCP elicitation; the demo client plays
              // the operator. Clients without elicitation leave the job awaiting `shield-mcp approve`.
              policy: 'confirm',
              description: 'Emulated IRIS instance for the demo',
              timeouts: { stop_ms: 20_000, start_ms: 20_000, health_ms: 10_000, health_poll_ms: 200 },
            },
          },
        },
      },
      cleanup: async () => killEmulator(dir),
    };
  },
  async run(client, t) {
    t.step('IRIS: list_instances shows the emulated instance running');
    await t.call(client, 'list_instances', {});

    t.step('read_messages_log: severe entries (severity >= 2) of the demo instance');
    const log = sc(await t.call(client, 'read_messages_log', { instance: 'demo', min_severity: 2, limit: 5 }));
    const entries = (log.entries ?? []) as Array<{ text: string; time: string | null }>;
    const gm = entries.find((e) => /gmheap/i.test(e.text));
    t.say(gm ? `-> found at ${gm.time}: ${gm.text.slice(0, 90)}...` : '-> no gmheap error found');

    t.step('apply_cpf_change without plan_id: a plan to double gmheap (nothing is changed yet)');
    const plan = result(await t.call(client, 'apply_cpf_change', { instance: 'demo', changes: [{ section: 'config', parameter: 'gmheap', value: '75136', expected_current: '37568' }], reason: 'messages.log reports gmheap exhaustion' }));
    t.say('The diff a human would approve:');
    for (const line of String(plan.diff ?? '').trimEnd().split('\n')) t.say(`    ${line}`);

    t.step('apply_cpf_change with plan_id: a human approves through MCP elicitation, then backup, atomic write, read-back');
    const applied = result(await t.call(client, 'apply_cpf_change', { instance: 'demo', plan_id: plan.plan_id, reason: 'apply the approved plan' }));
    t.say(`-> ${String(applied.outcome)}; backup ${String(applied.backup)}; restart required: ${String(applied.restart_required)}`);

    t.step('restart_instance: the plan (state, active users, steps, timeouts), then the restart');
    const rplan = result(await t.call(client, 'restart_instance', { instance: 'demo', reason: 'activate the new gmheap' }));
    const restarted = await t.call(client, 'restart_instance', { instance: 'demo', reason: 'activate the new gmheap', plan_id: rplan.plan_id });
    const r = result(restarted);
    t.say(`-> ${String(r.outcome ?? 'failed')}, healthy: ${String(r.healthy)}; checks ${JSON.stringify(r.checks ?? {})}`);

    t.step('list_instances: running and ok with the new configuration');
    await t.call(client, 'list_instances', {});

    if (stateDir) {
      const [cmd, ...prefix] = emulatorCommand(stateDir);
      await run(cmd!, [...prefix, 'stop', 'IRIS', 'quietly']).catch(() => undefined);
      t.say('The emulator was stopped (iris stop IRIS quietly).');
    }
  },
};
