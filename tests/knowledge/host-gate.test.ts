// Per-host politeness: the concurrency bound per host, the gap between request starts, cancellation of a waiting caller.
import { describe, expect, it } from 'vitest';
import { HostGate } from '../../src/providers/knowledge/crawl/host-gate.js';

const live = (): AbortSignal => new AbortController().signal;

describe('HostGate', () => {
  it('lets at most perHost requests in flight to one host; another host is not held up', async () => {
    const gate = new HostGate(2);
    const a = await gate.acquire('a.example', 0, live());
    await gate.acquire('a.example', 0, live());
    let third = false;
    const pending = gate.acquire('a.example', 0, live()).then((r) => {
      third = true;
      return r;
    });
    await gate.acquire('b.example', 0, live());
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    a();
    // Releasing twice frees one slot only.
    a();
    await pending;
    expect(third).toBe(true);
  });
  it('keeps the gap between two request starts on one host', async () => {
    const gate = new HostGate(4);
    const t0 = Date.now();
    (await gate.acquire('a.example', 150, live()))();
    (await gate.acquire('a.example', 150, live()))();
    // Timers never fire early by more than a millisecond; the upper bound is left to the machine.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(149);
  });
  it('a cancelled caller stops waiting for the gap at once, with CANCELLED', async () => {
    const gate = new HostGate(1);
    (await gate.acquire('a.example', 60_000, live()))();
    const ac = new AbortController();
    const waiting = gate.acquire('a.example', 0, ac.signal);
    const t0 = Date.now();
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
  it('a cancelled caller stops waiting for a slot, with CANCELLED', async () => {
    const gate = new HostGate(1);
    await gate.acquire('a.example', 0, live());
    const ac = new AbortController();
    const waiting = gate.acquire('a.example', 0, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
  });
  it('refuses at once when already cancelled', async () => {
    await expect(new HostGate(1).acquire('a.example', 0, AbortSignal.abort())).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
