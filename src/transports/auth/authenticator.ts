// Builds the HTTP transport's authenticator from config: none (loopback only unless forced),
// static bearer tokens or OAuth JWTs, scope checks, the per-principal rate limit and the RFC 9728
// metadata route. The raw token stops here: handlers get a Principal, providers never see it.
import { isIPv4 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ConfigError } from '../../config/load.js';
import { DEFAULT_RATE_LIMIT, type AuthConfig } from '../../config/sections/auth.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { principalExtra, type Principal } from '../../auth/principal.js';
import type { AnyTool } from '../../tools/define-tool.js';
import { jsonRpcError } from '../http/respond.js';
import type { HttpAuthenticator } from '../http/types.js';
import { StaticTokenVerifier } from './bearer.js';
import { JwtVerifier, TokenRejected } from './jwt.js';
import { metadataRoute, resourceMetadataUrl, wwwAuthenticate, type Challenge } from './metadata.js';
import { TokenBucketLimiter } from './rate-limit.js';
import { hasToolScope, scopeFilter, toolScopes } from './scopes.js';

export interface HttpAuth {
  /** Undefined when there is nothing to check (mode none without a rate limit). */
  authenticator: HttpAuthenticator | undefined;
  /** For CreateServerOptions.visibleTools. */
  visibleTools: (principal: Principal | null, tools: readonly AnyTool[]) => readonly AnyTool[];
}

export interface HttpAuthOptions {
  logger: Logger;
  /** Clock of the rate limiter, in ms. */
  now?: () => number;
  /** Used to discover the issuer's metadata. */
  fetch?: typeof fetch;
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

/** Refuses to serve unauthenticated on an address others can reach, unless forced. */
export function assertAuthBinding(config: Pick<Config, 'auth' | 'server'>): void {
  if (config.auth.mode !== 'none' || isLoopbackHost(config.server.host) || config.auth.allow_unauthenticated_remote) return;
  throw new ConfigError([
    `auth.mode: none is only allowed on a loopback address, and server.host is ${config.server.host}; ` +
      'set auth.mode to bearer or oauth, bind to 127.0.0.1, or set auth.allow_unauthenticated_remote: true ' +
      'if something in front of this server authenticates every request',
  ]);
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Spends one request of `key`'s allowance; false (and the 429 written) when it has run out. */
type Admit = (key: string, res: ServerResponse) => boolean;

/** Writes a 401/403 with its Bearer challenge; null, for the authenticator to return. */
type Refuse = (res: ServerResponse, status: 401 | 403, message: string, challenge: Challenge) => null;

/** A verified token's principal and AuthInfo fields, or null once the refusal is written. */
type Verify = (token: string, res: ServerResponse) => Promise<(Omit<AuthInfo, 'token'> & { principal: Principal }) | null>;

export function createHttpAuth(config: Pick<Config, 'auth' | 'server'>, options: HttpAuthOptions): HttpAuth {
  assertAuthBinding(config);
  const log = options.logger.child({ component: 'auth', mode: config.auth.mode });
  const visibleTools = scopeFilter(config.auth);
  const admit = admission(config.auth, log, options.now);
  if (config.auth.mode === 'none') return { visibleTools, authenticator: admit ? anonymousAuthenticator(admit) : undefined };
  return { visibleTools, authenticator: tokenAuthenticator(config, options, log, admit) };
}

/** The per-key rate limit: auth.rate_limit, else the default for token modes; undefined when off. */
function admission(auth: AuthConfig, log: Logger, now: (() => number) | undefined): Admit | undefined {
  const limit = auth.rate_limit ?? (auth.mode === 'none' ? false : DEFAULT_RATE_LIMIT);
  if (!limit) return undefined;
  const limiter = new TokenBucketLimiter({ ratePerS: limit.requests_per_s, burst: limit.burst, ...(now ? { now } : {}) });
  return (key, res) => {
    const r = limiter.take(key);
    if (r.ok) return true;
    log.debug({ key, retry_after_s: r.retryAfterS }, 'rate limited');
    jsonRpcError(res, 429, `Too many requests; retry after ${r.retryAfterS} s`, { 'retry-after': String(r.retryAfterS) });
    return false;
  };
}

/** Mode none with a rate limit: callers are told apart by address only. */
function anonymousAuthenticator(admit: Admit): HttpAuthenticator {
  return {
    authenticate: async (req, res) => {
      if (!admit(`ip:${req.socket.remoteAddress ?? 'unknown'}`, res)) return null;
      // No principal: the server treats the caller like stdio (all tools, no ownership).
      return { token: '', clientId: 'anonymous', scopes: [], extra: {} };
    },
  };
}

/** Bearer and oauth modes: a valid token (401), a tool-granting scope (403), then the rate limit (429). */
function tokenAuthenticator(config: Pick<Config, 'auth' | 'server'>, options: HttpAuthOptions, log: Logger, admit: Admit | undefined): HttpAuthenticator {
  const auth = config.auth;
  const oauth = auth.mode === 'oauth' ? auth.oauth : undefined;
  const metadataUrl = oauth ? resourceMetadataUrl(oauth.resource) : undefined;
  const refuse: Refuse = (res, status, message, challenge) => {
    jsonRpcError(res, status, message, {
      'www-authenticate': wwwAuthenticate({ ...challenge, ...(metadataUrl ? { resourceMetadata: metadataUrl } : {}) }),
    });
    return null;
  };
  const verify = tokenVerifier(auth, options, log, refuse);
  const needed = toolScopes(auth).join(' ');

  const authenticator: HttpAuthenticator = {
    authenticate: async (req: IncomingMessage, res: ServerResponse) => {
      const header = req.headers.authorization;
      if (header === undefined) return refuse(res, 401, 'Unauthorized: a bearer token is required', {});
      const token = BEARER.exec(header)?.[1];
      if (!token) return refuse(res, 401, 'Unauthorized: malformed Authorization header', { error: 'invalid_request', description: 'expected Authorization: Bearer <token>' });
      const v = await verify(token, res);
      if (!v) return null;
      if (!hasToolScope(v.scopes, auth)) {
        log.debug({ principal: v.principal.id }, 'insufficient scope');
        return refuse(res, 403, `Forbidden: the token carries none of the scopes ${needed}`, {
          error: 'insufficient_scope',
          description: `one of these scopes is required: ${needed}`,
          scope: needed,
        });
      }
      if (admit && !admit(`principal:${v.principal.id}`, res)) return null;
      const { principal, ...info } = v;
      // token left empty on purpose: nothing past this point needs it, so nothing can forward it.
      return { ...info, token: '', extra: principalExtra(principal) };
    },
  };
  if (oauth) authenticator.route = metadataRoute(auth, config.server);
  return authenticator;
}

/** Static tokens (bearer mode) or JWTs checked against the issuer's keys (oauth mode). */
function tokenVerifier(auth: AuthConfig, options: HttpAuthOptions, log: Logger, refuse: Refuse): Verify {
  if (auth.mode === 'bearer') {
    const staticTokens = new StaticTokenVerifier(auth);
    return async (token, res) => {
      const principal = staticTokens.verify(token);
      if (!principal) return refuse(res, 401, 'Unauthorized: unknown token', { error: 'invalid_token', description: 'unknown token' });
      return { principal, clientId: principal.id, scopes: principal.scopes };
    };
  }
  const oauth = auth.oauth!;
  const jwt = new JwtVerifier({ oauth, operatorScope: auth.operator_scope, ...(options.fetch ? { fetch: options.fetch } : {}) });
  return async (token, res) => {
    try {
      const v = await jwt.verify(token);
      return { principal: v.principal, clientId: v.clientId, scopes: v.scopes, expiresAt: v.expiresAt, resource: new URL(oauth.resource) };
    } catch (err) {
      if (err instanceof TokenRejected && err.kind === 'invalid_token') {
        log.debug({ reason: err.message }, 'token rejected');
        return refuse(res, 401, `Unauthorized: ${err.message}`, { error: 'invalid_token', description: err.message });
      }
      // The issuer's keys are out of reach: not the client's fault, so no re-authentication.
      log.warn({ err: (err as Error).cause ?? err }, 'cannot verify tokens');
      jsonRpcError(res, 503, 'Authorization server unavailable', { 'retry-after': '5' });
      return null;
    }
  };
}
