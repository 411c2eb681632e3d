// One opossum breaker per upstream name, policies from config; knows nothing of metrics or logs.
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { ShieldError } from '../errors.js';
import type { BreakerPolicy } from '../config/schema.js';

export type BreakerState = 'closed' | 'halfOpen' | 'open';

/** The events observers may listen to (opossum's names). */
export const BREAKER_EVENTS = ['open', 'halfOpen', 'close', 'success', 'failure', 'timeout', 'reject'] as const;
export type BreakerEvent = (typeof BREAKER_EVENTS)[number];

type Action = (signal: AbortSignal) => Promise<unknown>;
type FireArgs = [Action, AbortSignal, AbortSignal | undefined];

/** HTTP status carried by an error, if any (ShieldError.status, undici/other `statusCode`/`status`). */
export function errorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const s = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  return s;
}

/**
 * True when an error says nothing about the upstream's health: a 4xx other than 408/429 is the
 * caller's mistake, and a caller's own cancellation is not the upstream failing.
 */
export function isNeutralError(err: unknown): boolean {
  if (err instanceof ShieldError && err.code === 'CANCELLED') return true;
  const status = errorStatus(err);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export class Breaker {
  readonly name: string;
  readonly policy: BreakerPolicy;
  readonly circuit: CircuitBreaker<FireArgs, unknown>;
  private openedAt = 0;

  constructor(name: string, policy: BreakerPolicy) {
    this.name = name;
    this.policy = policy;
    this.circuit = new CircuitBreaker<FireArgs, unknown>((action: Action, signal: AbortSignal) => action(signal), {
      name,
      timeout: policy.timeout_ms,
      errorThresholdPercentage: policy.error_threshold_percent,
      volumeThreshold: policy.volume_threshold,
      resetTimeout: policy.reset_timeout_ms,
      rollingCountTimeout: policy.rolling_window_ms,
      rollingCountBuckets: policy.rolling_buckets,
      // A filtered error counts as a success for the statistics (opossum emits 'success').
      // opossum passes the fire() arguments after the error; the third is the caller's signal.
      errorFilter: ((err: unknown, _action: Action, _signal: AbortSignal, callerSignal?: AbortSignal) =>
        callerSignal?.aborted === true || isNeutralError(err)) as (err: unknown) => boolean,
    });
    this.circuit.on('open', () => {
      this.openedAt = Date.now();
    });
  }

  get state(): BreakerState {
    if (this.circuit.opened) return 'open';
    if (this.circuit.halfOpen) return 'halfOpen';
    return 'closed';
  }

  /** Seconds until an open breaker lets a trial call through (at least 1). */
  retryAfterS(): number {
    const remaining = this.openedAt + this.policy.reset_timeout_ms - Date.now();
    return Math.max(1, Math.ceil(remaining / 1000));
  }

  /**
   * Run fn through the breaker. fn receives a signal that aborts when the caller aborts or the
   * policy timeout elapses, so the I/O itself stops rather than running on unobserved.
   */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>, callerSignal?: AbortSignal): Promise<T> {
    if (callerSignal?.aborted) throw new ShieldError('CANCELLED', `Call to ${this.name} cancelled before it started.`);
    const timeout = AbortSignal.timeout(this.policy.timeout_ms);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    try {
      return (await this.circuit.fire(fn as Action, signal, callerSignal)) as T;
    } catch (err) {
      throw this.translate(err, callerSignal);
    }
  }

  private translate(err: unknown, callerSignal?: AbortSignal): unknown {
    const code = (err as { code?: string } | null)?.code;
    if (code === 'EOPENBREAKER') {
      const retryAfterS = this.retryAfterS();
      return new ShieldError('UPSTREAM_UNAVAILABLE', `${this.name} is unavailable (circuit open after repeated failures).`, {
        retryAfterS,
        hint: `Do not retry ${this.name} before ${retryAfterS}s; the circuit will let a trial call through then.`,
        cause: err,
      });
    }
    if (code === 'ETIMEDOUT' && !(err instanceof ShieldError)) {
      return new ShieldError('UPSTREAM_TIMEOUT', `${this.name} did not answer within ${this.policy.timeout_ms} ms.`, { cause: err });
    }
    if (callerSignal?.aborted && !(err instanceof ShieldError)) {
      return new ShieldError('CANCELLED', `Call to ${this.name} was cancelled.`, { cause: err });
    }
    return err;
  }

  shutdown(): void {
    this.circuit.shutdown();
  }
}

export interface BreakerPolicies {
  defaults: BreakerPolicy;
  upstreams: Record<string, Partial<BreakerPolicy>>;
}

/**
 * Emits 'created' (breaker) so observers can attach to breakers made after they subscribed, and
 * 'evicted' (breaker) when one is dropped.
 *
 * Names with a prefix (`host:example.com`) are made on demand from values agents choose, so they
 * are capped: past `maxDynamic`, the least recently used closed one is dropped (open ones are kept,
 * so a failing host stays fenced off).
 */
export class BreakerRegistry extends EventEmitter {
  private readonly breakers = new Map<string, Breaker>();
  private readonly policies: BreakerPolicies;
  private readonly maxDynamic: number;
  private dynamicCount = 0;

  constructor(policies: BreakerPolicies, options: { maxDynamic?: number } = {}) {
    super();
    this.policies = policies;
    this.maxDynamic = options.maxDynamic ?? 256;
  }

  /** Policy for an upstream; "host:example.com" style names fall back to their prefix ("host"). */
  policyFor(name: string): BreakerPolicy {
    const prefix = name.includes(':') ? name.slice(0, name.indexOf(':')) : undefined;
    return {
      ...this.policies.defaults,
      ...(prefix ? this.policies.upstreams[prefix] : {}),
      ...this.policies.upstreams[name],
    };
  }

  get(name: string): Breaker {
    const dynamic = name.includes(':');
    let b = this.breakers.get(name);
    if (b) {
      if (dynamic) {
        // Most recently used last.
        this.breakers.delete(name);
        this.breakers.set(name, b);
      }
      return b;
    }
    if (dynamic && this.dynamicCount >= this.maxDynamic) this.evictOne();
    b = new Breaker(name, this.policyFor(name));
    this.breakers.set(name, b);
    if (dynamic) this.dynamicCount++;
    this.emit('created', b);
    return b;
  }

  private evictOne(): void {
    for (const [name, b] of this.breakers) {
      if (!name.includes(':') || b.state !== 'closed') continue;
      this.breakers.delete(name);
      this.dynamicCount--;
      b.shutdown();
      this.emit('evicted', b);
      return;
    }
  }

  run<T>(name: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.get(name).run(fn, signal);
  }

  list(): Breaker[] {
    return [...this.breakers.values()];
  }

  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
    this.dynamicCount = 0;
  }
}
