// Breaker events -> metrics and logs, as a separate listener (the breaker knows neither).
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BREAKER_EVENTS, type Breaker, type BreakerRegistry } from './registry.js';

const STATE_VALUE = { close: 0, halfOpen: 1, open: 2 } as const;

export function observeBreakers(registry: BreakerRegistry, metrics: Metrics, logger: Logger): void {
  const attach = (b: Breaker): void => {
    metrics.breakerState.set({ breaker: b.name }, 0);
    for (const event of BREAKER_EVENTS) {
      (b.circuit as unknown as NodeJS.EventEmitter).on(event, () => {
        metrics.breakerEvents.inc({ breaker: b.name, event });
        if (event === 'open' || event === 'halfOpen' || event === 'close') {
          metrics.breakerState.set({ breaker: b.name }, STATE_VALUE[event]);
          logger.warn({ breaker: b.name, event }, `circuit breaker ${b.name}: ${event}`);
        } else if (event === 'success') {
          metrics.upstreamUp.set({ upstream: b.name }, 1);
        } else if (event === 'failure' || event === 'timeout') {
          metrics.upstreamUp.set({ upstream: b.name }, 0);
        }
      });
    }
  };
  for (const b of registry.list()) attach(b);
  registry.on('created', attach);
  // A dropped breaker takes its series with it, so label cardinality stays bounded too.
  registry.on('evicted', (b: Breaker) => {
    metrics.breakerState.remove({ breaker: b.name });
    metrics.upstreamUp.remove({ upstream: b.name });
    for (const event of BREAKER_EVENTS) metrics.breakerEvents.remove({ breaker: b.name, event });
  });
}
