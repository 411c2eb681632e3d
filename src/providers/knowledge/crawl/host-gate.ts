// Per-host politeness: at most N requests in flight to one host and a minimum gap between their starts.
import { ShieldError } from '../../../errors.js';
import { wait } from '../../../upstream/retry.js';

interface HostState {
  active: number;
  /** Earliest start of the next request, epoch ms. */
  next: number;
  /** Callers waiting for a free slot, woken one at a time as slots are released. */
  waiters: Array<() => void>;
}

export class HostGate {
  private readonly hosts = new Map<string, HostState>();
  constructor(private readonly perHost: number) {}

  /** Wait for a slot on `host` and for the gap since the last start; returns the release. CANCELLED on abort. */
  async acquire(host: string, delayMs: number, signal: AbortSignal): Promise<() => void> {
    const state = this.stateOf(host);
    while (!signal.aborted) {
      if (state.active >= this.perHost) {
        await this.slotFreed(state, signal);
        continue;
      }
      const gap = state.next - Date.now();
      if (gap <= 0) return this.enter(state, delayMs);
      try {
        await wait(gap, signal);
      } catch (err) {
        // A cancelled wait ends the loop below with CANCELLED, whatever reason the signal carries.
        if (!signal.aborted) throw err;
      }
    }
    throw new ShieldError('CANCELLED', 'Crawl cancelled.');
  }

  private stateOf(host: string): HostState {
    let state = this.hosts.get(host);
    if (!state) this.hosts.set(host, (state = { active: 0, next: 0, waiters: [] }));
    return state;
  }

  private enter(state: HostState, delayMs: number): () => void {
    state.active++;
    state.next = Date.now() + delayMs;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.active--;
      state.waiters.shift()?.();
    };
  }

  private slotFreed(state: HostState, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const onAbort = (): void => resolve();
      state.waiters.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
