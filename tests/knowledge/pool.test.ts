// The crawl's worker pool: a queue that grows while workers run, the concurrency bound, stop conditions, the first error.
import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/providers/knowledge/crawl/pool.js';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('runPool', () => {
  it('runs items added while it works, never more than `concurrency` at once', async () => {
    const queue = [1];
    const done: number[] = [];
    let active = 0;
    let peak = 0;
    const end = await runPool<number>({
      concurrency: 3,
      signal: new AbortController().signal,
      done: () => false,
      next: () => queue.shift(),
      run: async (n) => {
        peak = Math.max(peak, ++active);
        await tick();
        // Each item adds two more until 20: idle workers must wait for these, not quit.
        if (n < 10) queue.push(n * 2, n * 2 + 1);
        done.push(n);
        active--;
      },
    });
    expect(end).toEqual({ failed: false });
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    expect(peak).toBe(3);
  });
  it('stops taking items once done() says so', async () => {
    const queue = [1, 2, 3, 4, 5];
    let taken = 0;
    await runPool<number>({ concurrency: 2, signal: new AbortController().signal, done: () => taken >= 2, next: () => queue.shift(), run: async () => void taken++ });
    expect(taken).toBe(2);
    expect(queue).toEqual([3, 4, 5]);
  });
  it('returns the first error and takes no further items', async () => {
    const queue = [1, 2, 3, 4];
    const seen: number[] = [];
    const end = await runPool<number>({
      concurrency: 1,
      signal: new AbortController().signal,
      done: () => false,
      next: () => queue.shift(),
      run: async (n) => {
        seen.push(n);
        if (n === 2) throw new Error('store down');
      },
    });
    expect(end).toMatchObject({ failed: true, error: { message: 'store down' } });
    expect(seen).toEqual([1, 2]);
  });
  it('ends when the signal aborts, also with workers idle', async () => {
    const ac = new AbortController();
    const queue = [1];
    const started = Date.now();
    const end = runPool<number>({
      concurrency: 2,
      signal: ac.signal,
      done: () => false,
      next: () => queue.shift(),
      run: async () => {
        await tick(20);
        ac.abort();
        await tick(20);
      },
    });
    await expect(end).resolves.toEqual({ failed: false });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
  it('ends at once with an empty queue', async () => {
    await expect(runPool<number>({ concurrency: 4, signal: new AbortController().signal, done: () => false, next: () => undefined, run: async () => undefined })).resolves.toEqual({ failed: false });
  });
});
