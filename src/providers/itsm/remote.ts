// Exactly-once creation against a remote platform: a ledger of created tickets, a look-up after
// every ambiguous failure before the next try, and retries that respect the upstream's pacing.
import { ShieldError } from '../../errors.js';
import type { BreakerRegistry } from '../../breakers/registry.js';
import type { Db } from '../../store/sqlite.js';
import { HttpStatusError, TransportError } from './http.js';
import { nextDelay, wait, upstreamDelayMs, RETRYABLE_STATUSES, type ResetFormat, type RetryPolicy } from '../../upstream/retry.js';
import type { CreateContext, CreateOutcome, Platform, RetryInfo, TicketView, UpstreamRequest } from './types.js';

/** Tickets Shield created, by platform and upstream idempotency key (Jira search lags; this does not). */
/**
 * Tickets created per (platform, key): the first place a repeated key is looked for, and the only
 * one that sees a ticket Jira search does not show yet. Shared across replicas on Redis.
 */
export interface TicketLedger {
  get(platform: Platform, key: string): Promise<{ ticket: TicketView; jobId: string | null } | undefined>;
  /** Record a ticket; the first record of a key wins. */
  put(platform: Platform, key: string, ticket: TicketView, jobId: string): Promise<void>;
}

export class SqliteTicketLedger implements TicketLedger {
  private readonly select;
  private readonly insert;
  constructor(db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS itsm_ledger (
      platform TEXT NOT NULL, upstream_key TEXT NOT NULL, ticket TEXT NOT NULL, job_id TEXT, created_at TEXT NOT NULL,
      PRIMARY KEY (platform, upstream_key))`);
    this.select = db.prepare<[string, string], { ticket: string; job_id: string | null }>('SELECT ticket, job_id FROM itsm_ledger WHERE platform = ? AND upstream_key = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO itsm_ledger (platform, upstream_key, ticket, job_id, created_at) VALUES (?, ?, ?, ?, ?)');
  }
  async get(platform: Platform, key: string): Promise<{ ticket: TicketView; jobId: string | null } | undefined> {
    const row = this.select.get(platform, key);
    return row ? { ticket: JSON.parse(row.ticket) as TicketView, jobId: row.job_id } : undefined;
  }
  async put(platform: Platform, key: string, ticket: TicketView, jobId: string): Promise<void> {
    this.insert.run(platform, key, JSON.stringify(ticket), jobId, new Date().toISOString());
  }
}

export interface RemoteOps {
  platform: 'servicenow' | 'jira';
  resetFormat: ResetFormat;
  /** One create request. Throws HttpStatusError / TransportError / ShieldError. */
  send(request: UpstreamRequest, signal: AbortSignal): Promise<TicketView>;
  /** Find the ticket carrying the key upstream; `afterAmbiguous` may wait out search lag. */
  lookup(upstreamKey: string, signal: AbortSignal, afterAmbiguous: boolean): Promise<TicketView | undefined>;
  /** Upstream field errors of a 4xx body, in a platform-neutral shape. */
  rejection(err: HttpStatusError): { messages: string[]; fields: Record<string, string> };
}

export interface RemoteDeps {
  breakers: BreakerRegistry;
  ledger: TicketLedger;
  policy: RetryPolicy;
  /** Counts each retry (shield_itsm_ticket_retry_attempts_total). */
  onRetry: () => void;
  random?: () => number;
}

interface Failure {
  line: string;
  ambiguous: boolean;
  hintMs?: number | undefined;
  /** What the job ends with if this is the last failure. */
  final: ShieldError;
  /** Do not retry at all (breaker open, cancelled, rejected). */
  fatal: boolean;
}

function classify(ops: RemoteOps, err: unknown): Failure {
  const name = ops.platform;
  if (err instanceof HttpStatusError) {
    const hintMs = upstreamDelayMs(err.headers, ops.resetFormat);
    if (RETRYABLE_STATUSES.has(err.status)) {
      const rateLimited = err.status === 429;
      const retryAfterS = hintMs !== undefined ? Math.max(1, Math.ceil(hintMs / 1000)) : undefined;
      return {
        line: `HTTP ${err.status}${hintMs !== undefined ? ` (asked to wait ${hintMs} ms)` : ''}`,
        // A 5xx may come after the ticket was committed; 408/429 mean the request was not processed.
        ambiguous: err.status >= 500,
        hintMs,
        fatal: false,
        final: new ShieldError(rateLimited ? 'UPSTREAM_RATE_LIMITED' : err.status === 408 || err.status === 504 ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', `${name} answered ${err.status}.`, {
          status: err.status,
          ...(retryAfterS !== undefined ? { retryAfterS } : {}),
        }),
      };
    }
    const rej = ops.rejection(err);
    const detail = [...rej.messages, ...Object.entries(rej.fields).map(([f, m]) => `${f}: ${m}`)].join('; ');
    return {
      line: `HTTP ${err.status}`,
      ambiguous: false,
      fatal: true,
      final: new ShieldError('UPSTREAM_REJECTED', `${name} rejected the ticket (${err.status})${detail ? `: ${detail}` : ''}.`, {
        status: err.status,
        retryable: false,
        details: { status: err.status, messages: rej.messages, field_errors: rej.fields },
        ...(err.status === 401 || err.status === 403 ? { hint: `Check the ${name} credentials and their permissions; an operator may need to fix them.` } : {}),
      }),
    };
  }
  if (err instanceof TransportError) {
    if (err.kind === 'cancelled') return { line: err.message, ambiguous: err.ambiguous, fatal: true, final: new ShieldError('CANCELLED', `Call to ${name} was cancelled.`) };
    return {
      line: err.message,
      ambiguous: err.ambiguous,
      fatal: false,
      final: new ShieldError(err.kind === 'timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', `${name}: ${err.message}`),
    };
  }
  if (err instanceof ShieldError) {
    // The breaker timed the call out: it may still complete upstream.
    if (err.code === 'UPSTREAM_TIMEOUT') return { line: err.message, ambiguous: true, fatal: false, final: err };
    return { line: `${err.code}: ${err.message}`, ambiguous: false, fatal: true, final: err };
  }
  // A bug, not an upstream answer: report it as INTERNAL (its message stays in the logs).
  return {
    line: 'internal error',
    ambiguous: true,
    fatal: true,
    final: new ShieldError('INTERNAL', `Internal error while creating the ${name} ticket.`, { cause: err, retryable: false }),
  };
}

function withRetryInfo(err: ShieldError, retry: RetryInfo): ShieldError {
  const details = { ...(typeof err.details === 'object' && err.details !== null ? err.details : {}), retry };
  return new ShieldError(err.code, err.message, {
    hint: err.hint,
    retryable: err.retryable,
    details,
    cause: err,
    ...(err.retryAfterS !== undefined ? { retryAfterS: err.retryAfterS } : {}),
    ...(err.status !== undefined ? { status: err.status } : {}),
  });
}

/**
 * The create loop. Invariant: a new create request is sent only when no earlier request of this
 * key can have produced a ticket, i.e. after every ambiguous failure a look-up came back empty.
 */
export async function createExactlyOnce(ops: RemoteOps, deps: RemoteDeps, request: UpstreamRequest, key: string, ctx: CreateContext): Promise<CreateOutcome> {
  const { breakers, ledger, policy } = deps;
  const retry: RetryInfo = { attempts: 0, delays_ms: [], errors: [] };
  const name = ops.platform;
  const found = async (ticket: TicketView, created: boolean): Promise<CreateOutcome> => {
    await ledger.put(name, key, ticket, ctx.jobId);
    return { ticket, created, retry };
  };
  const lookup = (afterAmbiguous: boolean): Promise<TicketView | undefined> => breakers.run(name, (s) => ops.lookup(key, s, afterAmbiguous), ctx.signal);

  const known = await ledger.get(name, key);
  if (known) return { ticket: known.ticket, created: known.jobId === ctx.jobId, retry };

  // needLookup: a ticket with this key may exist upstream, so the next step must be a look-up.
  let needLookup = ctx.lookupFirst;
  let sent = false;
  for (let round = 1; ; round++) {
    let failure: Failure;
    let phase: 'look-up' | 'create' = 'look-up';
    try {
      if (needLookup) {
        const t = await lookup(sent);
        // Found before we sent anything: an earlier call's ticket (ours only if this job is resumed).
        if (t) return found(t, sent || ctx.resumed);
        needLookup = false;
      }
      phase = 'create';
      retry.attempts++;
      sent = true;
      const ticket = await breakers.run(name, (s) => ops.send(request, s), ctx.signal);
      return found(ticket, true);
    } catch (err) {
      failure = classify(ops, err);
    }
    // A look-up that failed leaves the question open; a create that failed ambiguously opens it.
    needLookup = phase === 'look-up' || failure.ambiguous;
    retry.errors.push(phase === 'look-up' ? `look-up: ${failure.line}` : failure.line);
    ctx.logger.warn({ platform: name, round, phase, error: failure.line, ambiguous: failure.ambiguous }, 'ticket request failed');
    const decision = failure.fatal ? ({ retry: false } as const) : nextDelay(policy, round + 1, failure.hintMs, deps.random);
    if (!decision.retry) {
      if (phase === 'create' && failure.ambiguous && failure.final.code !== 'CANCELLED') {
        // Last chance to find a ticket the final attempt may have created, so none is lost.
        const t = await lookup(true).catch(() => undefined);
        if (t) return found(t, true);
      }
      let final = failure.final;
      if ('reason' in decision && decision.reason === 'wait_too_long') {
        final = new ShieldError('UPSTREAM_RATE_LIMITED', `${name} asked to wait ${Math.ceil(decision.waitMs! / 1000)} s, longer than the configured maximum.`, {
          retryAfterS: Math.ceil(decision.waitMs! / 1000),
        });
      }
      retry.final_error = final.message;
      // The key is kept: a later call with the same idempotency_key looks up before creating.
      throw withRetryInfo(final, retry);
    }
    retry.delays_ms.push(decision.delayMs);
    deps.onRetry();
    await wait(decision.delayMs, ctx.signal).catch(() => {
      throw withRetryInfo(new ShieldError('CANCELLED', `Creating the ${name} ticket was cancelled.`), retry);
    });
  }
}
