// The restart's health step (checkHealth in src/providers/iris/restart-steps.ts) against the emulator:
// healthy, unhealthy after health_ms, and a wait between polls that an abort cuts short.
// The whole restart, step by step, is tested end to end in restart.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerRegistry } from '../../src/breakers/registry.js';
import type { QlistEntry } from '../../src/providers/iris/control.js';
import { resolveInstance } from '../../src/providers/iris/instances.js';
import { InstanceProbes } from '../../src/providers/iris/probes.js';
import { checkHealth } from '../../src/providers/iris/restart-steps.js';
import { testConfig } from '../helpers/app.js';
import { cleanupInstances, ensureBuilt, makeInstance, remediationConfig, startEmulator, type TestInstance } from './helpers.js';

let up: TestInstance;
let down: TestInstance;
let breakers: BreakerRegistry;

beforeAll(async () => {
  ensureBuilt();
  up = await makeInstance('health-up');
  down = await makeInstance('health-down', { timeouts: { health_ms: 600 } });
  startEmulator(up.dir);
  breakers = new BreakerRegistry(testConfig().breakers);
});
afterAll(() => {
  breakers.shutdown();
  cleanupInstances();
});

const resolved = (i: TestInstance) => resolveInstance(testConfig(remediationConfig([up, down])).remediation, i.name);

describe('checkHealth', () => {
  it('a running instance is healthy: qlist running + ok, and the superserver accepts TCP', async () => {
    const h = await checkHealth(new InstanceProbes(breakers), resolved(up), AbortSignal.timeout(30_000));
    expect(h).toMatchObject({ healthy: true, problem: '', checks: { qlist: true, tcp: true, http: null } });
    expect(h.state).toMatch(/^running/);
  });

  it('a down instance is unhealthy once health_ms has passed, with what qlist said', async () => {
    const h = await checkHealth(new InstanceProbes(breakers), resolved(down), AbortSignal.timeout(30_000));
    expect(h).toMatchObject({ healthy: false, checks: { qlist: false, tcp: false } });
    expect(h.problem).toMatch(/^qlist says "down.*" with health ".*" after 600 ms$/);
  });

  it('an abort cuts the wait between polls short; the loop makes its last round and reports', async () => {
    const inst = { ...resolved(down), timeouts: { ...resolved(down).timeouts, health_ms: 120_000, health_poll_ms: 60_000 } };
    let rounds = 0;
    const downEntry = { name: 'IRIS', state: 'down', stateText: 'down, last used ...', health: '' } as QlistEntry;
    const probes = { qlist: async () => (rounds++, downEntry) } as unknown as InstanceProbes;
    const abort = new AbortController();
    const started = Date.now();
    const check = checkHealth(probes, inst, abort.signal);
    await expect.poll(() => rounds).toBe(1);
    abort.abort(new Error('finishing deadline'));
    const h = await check;
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(rounds).toBe(2);
    expect(h).toMatchObject({ healthy: false, state: 'down, last used ...' });
    expect(h.problem).toContain('after 120000 ms');
  });
});
