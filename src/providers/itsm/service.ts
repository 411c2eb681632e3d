// The ticket service: platform selection, templates or explicit fields -> native fields,
// validation, the exact upstream request, idempotency keys, and the ITSM metrics.
import { createHash } from 'node:crypto';
import { ShieldError } from '../../errors.js';
import type { ItsmConfig } from '../../config/sections/itsm.js';
import type { BreakerRegistry } from '../../breakers/registry.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Db } from '../../store/sqlite.js';
import { secretFromEnv } from '../../config/load.js';
import { AtlassianOAuth, ServiceNowOAuth, SqliteTokenStore, basicAuth, bearerAuth, type AuthProvider, type TokenStore } from './auth.js';
import { LocalKeyLock, type KeyLock } from './key-lock.js';
import { completeTemplateFields, mapNeutral, rulesFor, validateFields, type NeutralFields, type ValidationIssue } from './fields.js';
import { HttpClient } from './http.js';
import { JiraProvider } from './jira.js';
import { LocalDesk } from './local.js';
import { SqliteTicketLedger, type RemoteDeps, type TicketLedger } from './remote.js';
import { ServiceNowProvider } from './servicenow.js';
import { PLATFORMS, type Platform, type TemplateCatalog, type VariableValue } from './templates.js';
import type { CreateOutcome, TicketProvider, TicketView, UpstreamRequest } from './types.js';

export interface CreateTicketInput {
  platform?: Platform | undefined;
  template?: string | undefined;
  variables?: Record<string, VariableValue> | undefined;
  fields?: NeutralFields | undefined;
  idempotency_key?: string | undefined;
}

export interface PreparedTicket {
  platform: Platform;
  /** Native fields after mapping and validation. */
  fields: Record<string, unknown>;
  request: UpstreamRequest;
  upstreamKey: string;
  ignored: string[];
}

export interface ItsmServiceOptions {
  config: ItsmConfig;
  env: NodeJS.ProcessEnv;
  db: Db;
  breakers: BreakerRegistry;
  metrics: Metrics;
  logger: Logger;
  templates: TemplateCatalog;
  /** State several replicas must share (Redis); the embedded store when absent. */
  shared?: { ledger: TicketLedger; keyLock: KeyLock; tokens: TokenStore };
}

/** The key as it travels upstream: stable, short, free of characters labels and queries reject. */
export function upstreamKeyOf(platform: Platform, key: string): string {
  return `shield-${createHash('sha256').update(`${platform}\0${key}`).digest('hex').slice(0, 32)}`;
}

export class ItsmService {
  readonly ledger: TicketLedger;
  private readonly providers = new Map<Platform, TicketProvider>();
  private readonly clients: HttpClient[] = [];
  private readonly keyLock: KeyLock;
  private readonly tokens: TokenStore;
  private readonly creations;
  private readonly duration;
  private readonly retries;
  private readonly validationErrors;

  constructor(private readonly o: ItsmServiceOptions) {
    this.ledger = o.shared?.ledger ?? new SqliteTicketLedger(o.db);
    this.keyLock = o.shared?.keyLock ?? new LocalKeyLock();
    this.tokens = o.shared?.tokens ?? new SqliteTokenStore(o.db);
    this.creations = o.metrics.counter('shield_itsm_ticket_creation_total', 'create_ticket outcomes per platform (created, existing, or the error code).', ['platform', 'outcome']);
    this.duration = o.metrics.histogram('shield_itsm_ticket_creation_duration_seconds', 'Time to create (or find) a ticket, retries included, in seconds.', ['platform']);
    this.retries = o.metrics.counter('shield_itsm_ticket_retry_attempts_total', 'Create requests retried after a failure.', ['platform']);
    this.validationErrors = o.metrics.counter('shield_itsm_validation_errors_total', 'Fields that failed validation before sending.', ['platform', 'field']);
  }

  get config(): ItsmConfig {
    return this.o.config;
  }

  enabledPlatforms(): Platform[] {
    return PLATFORMS.filter((p) => this.o.config[p].enabled);
  }

  /** The provider of an enabled platform, built on first use (so a bad secret fails that call only). */
  provider(platform: Platform): TicketProvider {
    const existing = this.providers.get(platform);
    if (existing) return existing;
    if (!this.o.config[platform].enabled) {
      throw this.validationFailure(platform, [{ field: 'platform', code: 'invalid_platform', message: `${platform} is not enabled; enabled: ${this.enabledPlatforms().join(', ') || 'none'}` }]);
    }
    const p = this.build(platform);
    this.providers.set(platform, p);
    return p;
  }

  private build(platform: Platform): TicketProvider {
    const { config, env, db, breakers } = this.o;
    if (platform === 'local') return new LocalDesk(db, config.local);
    const timeouts = { connectMs: config.timeouts.connect_ms, headersMs: config.timeouts.headers_ms, totalMs: config.timeouts.total_ms };
    const r = config.retry;
    const deps: RemoteDeps = {
      breakers,
      ledger: this.ledger,
      policy: { maxAttempts: r.max_attempts, baseDelayMs: r.base_delay_ms, multiplier: r.multiplier, maxDelayMs: r.max_delay_ms, jitter: r.jitter, maxRetryAfterMs: r.max_retry_after_ms },
      onRetry: () => this.retries.inc({ platform }),
    };
    if (platform === 'servicenow') {
      const c = config.servicenow;
      if (!c.instance_url) throw notConfigured('itsm.servicenow.instance_url');
      const http = this.client(c.instance_url, timeouts);
      const a = c.auth;
      const auth: AuthProvider =
        a.type === 'basic'
          ? basicAuth(a.username, secretFromEnv(env, a.password_env), 'itsm.servicenow.auth.username', a.password_env)
          : new ServiceNowOAuth({
              http,
              grant: a.type === 'oauth_password' ? 'password' : 'client_credentials',
              clientId: a.client_id,
              clientSecret: secretFromEnv(env, a.client_secret_env),
              clientSecretEnv: a.client_secret_env,
              username: a.username,
              password: secretFromEnv(env, a.password_env),
              passwordEnv: a.password_env,
              skewMs: a.expiry_skew_ms,
            });
      return new ServiceNowProvider(c, http, auth, deps);
    }
    const c = config.jira;
    const base = c.base_url ?? (c.cloud_id ? `https://api.atlassian.com/ex/jira/${c.cloud_id}` : undefined);
    if (!base) throw notConfigured('itsm.jira.base_url');
    if (!c.project_key) throw notConfigured('itsm.jira.project_key');
    const http = this.client(base, timeouts);
    const a = c.auth;
    const auth: AuthProvider =
      a.type === 'basic'
        ? basicAuth(a.email, secretFromEnv(env, a.api_token_env), 'itsm.jira.auth.email', a.api_token_env)
        : a.type === 'pat'
          ? bearerAuth(secretFromEnv(env, a.pat_env), a.pat_env)
          : new AtlassianOAuth({
              http,
              tokenUrl: a.token_url,
              clientId: a.client_id,
              clientSecret: secretFromEnv(env, a.client_secret_env),
              clientSecretEnv: a.client_secret_env,
              initialRefreshToken: secretFromEnv(env, a.refresh_token_env),
              refreshTokenEnv: a.refresh_token_env,
              store: this.tokens,
              lock: this.keyLock,
              skewMs: 30_000,
            });
    return new JiraProvider(c, http, auth, deps);
  }

  private client(base: string, timeouts: ConstructorParameters<typeof HttpClient>[1]): HttpClient {
    const c = new HttpClient(base, timeouts);
    this.clients.push(c);
    return c;
  }

  private validationFailure(platform: Platform | string, issues: ValidationIssue[]): ShieldError {
    for (const i of issues) this.validationErrors.inc({ platform, field: i.field.replace(/\[\d+\]$/, '') });
    return new ShieldError('VALIDATION_FAILED', `The ticket is not valid for ${platform}: ${issues.map((i) => `${i.field} (${i.code})`).join(', ')}.`, {
      details: { platform, errors: issues },
    });
  }

  /** Everything before sending: the same code path serves dry_run and the real call. */
  prepare(input: CreateTicketInput, defaultKey: string): PreparedTicket {
    const platform = input.platform ?? this.o.config.default_platform;
    const provider = this.provider(platform);
    const defaults = { jiraIssueType: this.o.config.jira.default_issuetype, jiraProject: this.o.config.jira.project_key, localPriority: this.o.config.local.default_priority };
    let fields: Record<string, unknown>;
    let ignored: string[] = [];
    if (input.template) {
      const rendered = this.o.templates.render(input.template, platform, input.variables ?? {});
      fields = completeTemplateFields(platform, rendered.fields, defaults);
      // Explicit fields given with a template override the rendered ones.
      if (input.fields) {
        // No defaults here: only what the caller set explicitly may override the template.
        const m = mapNeutral(platform, input.fields, { jiraIssueType: '', localPriority: '' });
        for (const [k, v] of Object.entries(m.fields)) if (v !== undefined && v !== '') fields[k] = v;
        ignored = m.ignored;
      }
    } else {
      const m = mapNeutral(platform, input.fields ?? {}, defaults);
      fields = m.fields;
      ignored = m.ignored;
    }
    const issues = validateFields(platform, fields, rulesFor(platform, this.o.config.fields[platform]));
    if (issues.length > 0) throw this.validationFailure(platform, issues);
    const upstreamKey = upstreamKeyOf(platform, input.idempotency_key ?? defaultKey);
    return { platform, fields, request: provider.buildRequest(fields, upstreamKey), upstreamKey, ignored };
  }

  async create(prepared: PreparedTicket, ctx: { signal: AbortSignal; logger: Logger; jobId: string; attempt: number; callerKey: boolean }): Promise<CreateOutcome> {
    const { platform } = prepared;
    const started = process.hrtime.bigint();
    let outcome = 'error';
    try {
      // Two calls with one key run one after the other (across replicas on Redis), so the second
      // finds the first in the ledger.
      const result = await this.keyLock.run(`${platform}:${prepared.upstreamKey}`, () =>
        this.provider(platform).create(prepared.request, prepared.upstreamKey, {
          signal: ctx.signal,
          logger: ctx.logger,
          jobId: ctx.jobId,
          lookupFirst: ctx.callerKey || ctx.attempt > 1,
          resumed: ctx.attempt > 1,
        }),
      );
      outcome = result.created ? 'created' : 'existing';
      return result;
    } catch (err) {
      outcome = err instanceof ShieldError ? err.code : 'INTERNAL';
      throw err;
    } finally {
      this.creations.inc({ platform, outcome });
      this.duration.observe({ platform }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  async get(platform: Platform, id: string, signal: AbortSignal): Promise<TicketView> {
    return this.provider(platform).get(id, signal);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
  }
}

function notConfigured(key: string): ShieldError {
  return new ShieldError('FORBIDDEN', `${key} is not configured.`, { retryable: false, hint: `An operator must set ${key} in the configuration.` });
}
