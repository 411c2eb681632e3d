// Credentials for ServiceNow and Jira: Basic, bearer PAT, ServiceNow OAuth (password and
// client_credentials grants) and Atlassian OAuth 2.0 3LO with rotating, persisted refresh tokens.
import type { KeyLock } from './key-lock.js';
import { ShieldError } from '../../errors.js';
import type { Db } from '../../store/sqlite.js';
import type { HttpClient, HttpResponse } from './http.js';

export interface AuthProvider {
  /** The Authorization header value for the next request (may fetch a token). */
  header(signal: AbortSignal): Promise<string>;
  /** A 401 said the credential expired: forget it. Returns false when nothing can be refreshed. */
  invalidate(): boolean;
}

/**
 * One request with the current credential, sent a second time straight away if a 401 says a
 * refreshable credential expired. A 401 means the request was not processed, and the remedy is a new
 * credential, not a pause: this is re-authentication, not a retry (those are upstream/retry.ts).
 * Any status comes back as the response.
 */
export async function sendAuthorized(
  http: HttpClient,
  auth: AuthProvider,
  method: 'GET' | 'POST',
  path: string,
  json: unknown,
  signal: AbortSignal,
): Promise<HttpResponse> {
  const send = async (): Promise<HttpResponse> =>
    http.send(method, path, { headers: { authorization: await auth.header(signal) }, signal, ...(json !== undefined ? { json } : {}) });
  const res = await send();
  return res.status === 401 && auth.invalidate() ? send() : res;
}

const missing = (what: string, env: string): ShieldError =>
  new ShieldError('FORBIDDEN', `${what} is not configured: set the environment variable ${env}.`, {
    retryable: false,
    hint: `An operator must set ${env} in the server's environment and restart it.`,
  });

export class StaticAuth implements AuthProvider {
  constructor(private readonly value: string) {}
  async header(): Promise<string> {
    return this.value;
  }
  invalidate(): boolean {
    return false;
  }
}

export function basicAuth(user: string | undefined, secret: string | undefined, userKey: string, secretEnv: string): AuthProvider {
  if (!user) throw new ShieldError('FORBIDDEN', `${userKey} is not configured.`, { retryable: false, hint: `Set ${userKey} in the configuration.` });
  if (!secret) throw missing('The password or API token', secretEnv);
  return new StaticAuth(`Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`);
}

export function bearerAuth(token: string | undefined, env: string): AuthProvider {
  if (!token) throw missing('The personal access token', env);
  return new StaticAuth(`Bearer ${token}`);
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number | string;
  error?: string;
  error_description?: string;
}

/** Caches an access token until shortly before it expires; concurrent callers share one fetch. */
abstract class CachedTokenAuth implements AuthProvider {
  private token: string | undefined;
  private expiresAt = 0;
  private inflight: Promise<string> | undefined;
  /** Token fetches made (observable in tests: concurrent calls must share one). */
  fetches = 0;

  constructor(protected readonly skewMs: number) {}

  protected abstract fetchToken(signal: AbortSignal): Promise<TokenAnswer>;

  async header(signal: AbortSignal): Promise<string> {
    if (this.token && Date.now() < this.expiresAt - this.skewMs) return `Bearer ${this.token}`;
    this.inflight ??= (async () => {
      try {
        this.fetches++;
        const t = await this.fetchToken(signal);
        if (!t.access_token) throw new ShieldError('UPSTREAM_REJECTED', 'The token endpoint answered without an access_token.', { retryable: false });
        this.token = t.access_token;
        this.expiresAt = Date.now() + Number(t.expires_in ?? 1800) * 1000;
        return t.access_token;
      } finally {
        this.inflight = undefined;
      }
    })();
    return `Bearer ${await this.inflight}`;
  }

  invalidate(): boolean {
    this.token = undefined;
    this.expiresAt = 0;
    return true;
  }
}

export interface ServiceNowOAuthOptions {
  http: HttpClient;
  grant: 'password' | 'client_credentials';
  clientId: string | undefined;
  clientSecret: string | undefined;
  clientSecretEnv: string;
  username?: string | undefined;
  password?: string | undefined;
  passwordEnv: string;
  skewMs: number;
}

/** POST /oauth_token.do, form-encoded; a refresh_token, when given, is used before the full grant. */
export class ServiceNowOAuth extends CachedTokenAuth {
  private refreshToken: string | undefined;
  constructor(private readonly o: ServiceNowOAuthOptions) {
    super(o.skewMs);
    if (!o.clientId) throw new ShieldError('FORBIDDEN', 'itsm.servicenow.auth.client_id is not configured.', { retryable: false });
    if (!o.clientSecret) throw missing('The OAuth client secret', o.clientSecretEnv);
    if (o.grant === 'password' && (!o.username || !o.password)) throw missing('The OAuth username/password', o.passwordEnv);
  }

  protected async fetchToken(signal: AbortSignal): Promise<TokenAnswer> {
    const base = { client_id: this.o.clientId!, client_secret: this.o.clientSecret! };
    if (this.refreshToken) {
      const r = await this.o.http.send('POST', '/oauth_token.do', { form: { ...base, grant_type: 'refresh_token', refresh_token: this.refreshToken }, signal });
      if (r.status === 200) return this.keep(r.body as TokenAnswer);
      this.refreshToken = undefined;
    }
    const form: Record<string, string> =
      this.o.grant === 'password'
        ? { ...base, grant_type: 'password', username: this.o.username!, password: this.o.password! }
        : { ...base, grant_type: 'client_credentials' };
    const r = await this.o.http.send('POST', '/oauth_token.do', { form, signal });
    if (r.status !== 200) {
      const b = (r.body ?? {}) as TokenAnswer;
      throw new ShieldError('FORBIDDEN', `ServiceNow refused the OAuth ${this.o.grant} grant (${r.status} ${b.error ?? ''}).`.replace(' )', ')'), {
        retryable: false,
        status: r.status >= 500 ? r.status : 400,
        hint: 'Check the OAuth client and credentials configured for ServiceNow.',
      });
    }
    return this.keep(r.body as TokenAnswer);
  }

  private keep(t: TokenAnswer): TokenAnswer {
    if (t.refresh_token) this.refreshToken = t.refresh_token;
    return t;
  }
}

/** Refresh tokens persisted in the embedded store (Atlassian rotates them on every use). */
/** Rotated refresh tokens: persisted before use, shared by every replica that refreshes them. */
export interface TokenStore {
  get(name: string): Promise<string | undefined>;
  put(name: string, token: string): Promise<void>;
}

export class SqliteTokenStore implements TokenStore {
  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS itsm_oauth_tokens (name TEXT PRIMARY KEY, refresh_token TEXT NOT NULL, updated_at TEXT NOT NULL)`);
  }
  async get(name: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT refresh_token FROM itsm_oauth_tokens WHERE name = ?').get(name) as { refresh_token: string } | undefined)?.refresh_token;
  }
  async put(name: string, token: string): Promise<void> {
    this.db
      .prepare('INSERT INTO itsm_oauth_tokens (name, refresh_token, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET refresh_token = excluded.refresh_token, updated_at = excluded.updated_at')
      .run(name, token, new Date().toISOString());
  }
}

export interface AtlassianOAuthOptions {
  http: HttpClient;
  tokenUrl: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  clientSecretEnv: string;
  /** Used only until the store holds a rotated token. */
  initialRefreshToken: string | undefined;
  refreshTokenEnv: string;
  store: TokenStore;
  /** Serialises refreshes across processes: a rotated token must not be spent twice. */
  lock: KeyLock;
  skewMs: number;
}

export class AtlassianOAuth extends CachedTokenAuth {
  private static readonly KEY = 'jira';
  constructor(private readonly o: AtlassianOAuthOptions) {
    super(o.skewMs);
    if (!o.clientId) throw new ShieldError('FORBIDDEN', 'itsm.jira.auth.client_id is not configured.', { retryable: false });
    if (!o.clientSecret) throw missing('The OAuth client secret', o.clientSecretEnv);
  }

  protected fetchToken(signal: AbortSignal): Promise<TokenAnswer> {
    return this.o.lock.run(`oauth:${AtlassianOAuth.KEY}`, () => this.refresh(signal));
  }

  private async refresh(signal: AbortSignal): Promise<TokenAnswer> {
    // Read under the lock: another process may have rotated the token a moment ago.
    const refresh = (await this.o.store.get(AtlassianOAuth.KEY)) ?? this.o.initialRefreshToken;
    if (!refresh) throw missing('The OAuth refresh token', this.o.refreshTokenEnv);
    const r = await this.o.http.send('POST', this.o.tokenUrl, {
      json: { grant_type: 'refresh_token', client_id: this.o.clientId, client_secret: this.o.clientSecret, refresh_token: refresh },
      signal,
    });
    const b = (r.body ?? {}) as TokenAnswer;
    if (r.status !== 200) {
      if (b.error === 'invalid_grant' || r.status === 403) {
        throw new ShieldError('FORBIDDEN', 'Jira refused the stored OAuth refresh token (invalid_grant): Shield must be re-authorized.', {
          retryable: false,
          status: 400,
          hint: `An operator must re-authorize Shield with Atlassian (OAuth 3LO consent, offline_access) and set ${this.o.refreshTokenEnv} to the new refresh token.`,
        });
      }
      throw new ShieldError('UPSTREAM_UNAVAILABLE', `The Atlassian token endpoint answered ${r.status}.`, { status: r.status });
    }
    // Rotation: the old refresh token is dead from now on, so persist the new one before using it.
    if (b.refresh_token) await this.o.store.put(AtlassianOAuth.KEY, b.refresh_token);
    return b;
  }
}
