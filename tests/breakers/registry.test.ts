import { afterEach, describe, expect, it } from 'vitest';
import { BreakerRegistry } from '../../src/breakers/registry.js';
import { observeBreakers } from '../../src/breakers/observe.js';
import { ShieldError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';

const policy = {
  timeout_ms: 200,
  error_threshold_percent: 50,
  volume_threshold: 2,
  reset_timeout_ms: 150,
  rolling_window_ms: 1000,
  rolling_buckets: 10,
};

const fail = (status?: number) => async (): Promise<never> => {
  throw Object.assign(new Error(`upstream ${status ?? 'down'}`), status ? { status } : {});
};
const ok = async (): Promise<string> => 'ok';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metricValue(m: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values as Array<{ labels: Record<string, string>; value: number }> | undefined)?.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  )?.value;
}

let registry: BreakerRegistry;
afterEach(() => registry?.shutdown());

function setup() {
  registry = new BreakerRegistry({ defaults: policy, upstreams: { slow: { timeout_ms: 50 } } });
  const metrics = new Metrics();
  observeBreakers(registry, metrics, createLogger({ level: 'silent' }));
  return metrics;
}

describe('BreakerRegistry', () => {
  it('walks closed -> open -> half-open -> closed, reported through events as metrics', async () => {
    const metrics = setup();
    const b = registry.get('servicenow');
    expect(b.state).toBe('closed');
    await expect(registry.run('servicenow', fail(503))).rejects.toThrow('upstream 503');
    await expect(registry.run('servicenow', fail(503))).rejects.toThrow('upstream 503');
    expect(b.state).toBe('open');
    expect(await metricValue(metrics, 'shield_circuit_breaker_state', { breaker: 'servicenow' })).toBe(2);

    // Open: fails fast without calling the upstream, with a retry hint.
    let called = false;
    const err = await registry
      .run('servicenow', async () => {
        called = true;
        return 'x';
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(ShieldError);
    expect((err as ShieldError).code).toBe('UPSTREAM_UNAVAILABLE');
    expect((err as ShieldError).retryAfterS).toBeGreaterThanOrEqual(1);

    await sleep(policy.reset_timeout_ms + 50);
    expect(b.state).toBe('halfOpen');
    expect(await metricValue(metrics, 'shield_circuit_breaker_state', { breaker: 'servicenow' })).toBe(1);

    await expect(registry.run('servicenow', ok)).resolves.toBe('ok');
    expect(b.state).toBe('closed');
    expect(await metricValue(metrics, 'shield_circuit_breaker_state', { breaker: 'servicenow' })).toBe(0);
    for (const event of ['open', 'halfOpen', 'close', 'reject', 'failure', 'success']) {
      expect(await metricValue(metrics, 'shield_circuit_breaker_events_total', { breaker: 'servicenow', event })).toBeGreaterThanOrEqual(1);
    }
  });

  it('a failed trial in half-open opens the breaker again', async () => {
    setup();
    const b = registry.get('jira');
    await registry.run('jira', fail(500)).catch(() => undefined);
    await registry.run('jira', fail(500)).catch(() => undefined);
    await sleep(policy.reset_timeout_ms + 50);
    expect(b.state).toBe('halfOpen');
    await registry.run('jira', fail(502)).catch(() => undefined);
    expect(b.state).toBe('open');
  });

  it('4xx other than 408/429 do not count as failures; 408 and 429 do', async () => {
    setup();
    const b = registry.get('qdrant');
    for (const s of [400, 401, 403, 404, 409, 422]) await registry.run('qdrant', fail(s)).catch(() => undefined);
    expect(b.state).toBe('closed');
    const other = registry.get('ollama');
    await registry.run('ollama', fail(429)).catch(() => undefined);
    await registry.run('ollama', fail(408)).catch(() => undefined);
    expect(other.state).toBe('open');
  });

  it('times out slow calls as UPSTREAM_TIMEOUT and aborts their signal', async () => {
    setup();
    let aborted = false;
    const err = await registry
      .run('slow', (signal) => {
        signal.addEventListener('abort', () => (aborted = true));
        return sleep(500).then(() => 'late');
      })
      .catch((e: unknown) => e);
    expect((err as ShieldError).code).toBe('UPSTREAM_TIMEOUT');
    await sleep(20);
    expect(aborted).toBe(true);
  });

  it('applies per-upstream policy overrides and prefix fallbacks', () => {
    registry = new BreakerRegistry({ defaults: policy, upstreams: { host: { timeout_ms: 77 }, 'host:a.example': { volume_threshold: 9 } } });
    expect(registry.policyFor('host:b.example').timeout_ms).toBe(77);
    expect(registry.policyFor('host:a.example')).toMatchObject({ timeout_ms: 77, volume_threshold: 9 });
    expect(registry.policyFor('ollama').timeout_ms).toBe(policy.timeout_ms);
  });

  it('a caller that aborts gets CANCELLED, which does not count against the upstream', async () => {
    setup();
    const b = registry.get('ollama');
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const p = registry.run('ollama', (signal) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')))), ac.signal);
      ac.abort();
      expect(((await p.catch((e: unknown) => e)) as ShieldError).code).toBe('CANCELLED');
    }
    expect(b.state).toBe('closed');
  });
});

describe('on-demand breakers are capped', () => {
  it('drops the least recently used closed host breaker and its metric series; open ones stay', async () => {
    registry = new BreakerRegistry({ defaults: policy, upstreams: {} }, { maxDynamic: 3 });
    const metrics = new Metrics();
    observeBreakers(registry, metrics, createLogger({ level: 'silent' }));
    await registry.run('host:a', ok);
    await registry.run('host:b', fail(500)).catch(() => undefined);
    await registry.run('host:b', fail(500)).catch(() => undefined);
    expect(registry.get('host:b').state).toBe('open');
    await registry.run('host:c', ok);
    await registry.run('host:a', ok); // a is now more recent than c
    await registry.run('host:d', ok); // evicts c: least recently used and closed
    await registry.run('servicenow', ok); // fixed names are not counted
    expect(registry.list().map((b) => b.name).sort()).toEqual(['host:a', 'host:b', 'host:d', 'servicenow']);
    const text = await metrics.text();
    expect(text).not.toContain('breaker="host:c"');
    expect(text).toContain('shield_circuit_breaker_state{breaker="host:b"} 2');
  });
});
