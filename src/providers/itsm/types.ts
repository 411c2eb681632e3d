// The small interface every ticket platform implements, and the shapes that cross it.
import type { Logger } from '../../observability/logger.js';
import type { Platform } from './templates.js';

export type { Platform };

/** A ticket as Shield reports it, whatever the platform. */
export interface TicketView {
  platform: Platform;
  /** sys_id (ServiceNow), issue id (Jira), number (local). */
  id: string;
  /** INC0010023, OPS-42, LOC-000123. */
  number: string;
  url: string;
  state?: string;
  summary?: string;
  priority?: string;
  created_at?: string;
  sla_due_at?: string;
}

/** What to send: the platform's request, exactly as it will go on the wire. */
export interface UpstreamRequest {
  method: 'POST' | 'INSERT';
  /** Path below the platform base URL (or the local table). */
  path: string;
  body: Record<string, unknown>;
}

export interface RetryInfo {
  attempts: number;
  delays_ms: number[];
  /** One line per failed attempt, oldest first. */
  errors: string[];
  final_error?: string;
}

export interface CreateOutcome {
  ticket: TicketView;
  created: boolean;
  retry: RetryInfo;
}

export interface CreateContext {
  signal: AbortSignal;
  logger: Logger;
  jobId: string;
  /** Look the key up before the first request (a caller-supplied key, or a resumed job). */
  lookupFirst: boolean;
  /** True when this job ran before (a resume): a ticket found is ours, so created stays true. */
  resumed: boolean;
}

export interface TicketProvider {
  readonly platform: Platform;
  /** Native fields (validated) -> the exact upstream request, carrying the idempotency key. */
  buildRequest(fields: Record<string, unknown>, upstreamKey: string): UpstreamRequest;
  create(request: UpstreamRequest, upstreamKey: string, ctx: CreateContext): Promise<CreateOutcome>;
  get(id: string, signal: AbortSignal): Promise<TicketView>;
}
