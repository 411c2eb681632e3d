// One prom-client registry per process (per app in tests) holding every shield_ metric.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new Registry();
  readonly toolCalls: Counter<'tool' | 'outcome'>;
  readonly toolDuration: Histogram<'tool'>;
  readonly breakerState: Gauge<'breaker'>;
  readonly breakerEvents: Counter<'breaker' | 'event'>;
  readonly upstreamUp: Gauge<'upstream'>;
  readonly jobsTotal: Counter<'tool' | 'status'>;
  readonly jobsInFlight: Gauge<'tool'>;
  readonly templateErrors: Counter<'template'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'shield_process_' });
    this.toolCalls = this.counter('shield_tool_calls_total', 'Tool calls by outcome (ok, error code).', ['tool', 'outcome']);
    this.toolDuration = this.histogram('shield_tool_duration_seconds', 'Tool call duration in seconds.', ['tool']);
    this.breakerState = this.gauge('shield_circuit_breaker_state', 'Breaker state: 0 closed, 1 half-open, 2 open.', ['breaker']);
    this.breakerEvents = this.counter('shield_circuit_breaker_events_total', 'Breaker events by kind.', ['breaker', 'event']);
    this.upstreamUp = this.gauge('shield_upstream_up', '1 when the last call to the upstream succeeded.', ['upstream']);
    this.jobsTotal = this.counter('shield_jobs_total', 'Jobs reaching a status.', ['tool', 'status']);
    this.jobsInFlight = this.gauge('shield_jobs_in_flight', 'Jobs running in this process.', ['tool']);
    this.templateErrors = this.counter('shield_itsm_template_rendering_errors_total', 'Template renderings that failed validation.', ['template']);
  }

  /** Idempotent factories: domains declare their metrics where they use them. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets = LATENCY_BUCKETS): Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Histogram<L>;
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
