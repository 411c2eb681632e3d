// Builds the HTTP transport's authenticator from config: none (loopback only unless forced),
// static bearer tokens or OAuth JWTs, scope checks, the per-principal rate limit and the RFC 9728
// metadata route. The raw token stops here: handlers get a Principal, providers never see it.
import { isIPv4 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ConfigError } from '../../config/load.js';
import { DEFAULT_RATE_LIMIT } from '../../config/sections/auth.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { principalExtra, type Principal } from '../../auth/principal.js';
import type { AnyTool } from '../../tools/define-tool.js';
import { jsonRpcError } from '../http/respond.js';
import type { HttpAuthenticator } from '../http/types.js';
import { StaticTokenVerifier } from './bearer.js';
import { JwtVerifier, TokenRejected } from './jwt.js';
import { metadataPaths, protectedResourceMetadata, resourceMetadataUrl, wwwAuthenticate, type Challenge } from './metadata.js';
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

export function createHttpAuth(config: Pick<Config, 'auth' | 'server'>, options: HttpAuthOptions): HttpAuth {
  assertAuthBinding(config);
  const auth = config.auth;
  const log = options.logger.child({ component: 'auth', mode: auth.mode });
  const visibleTools = scopeFilter(auth);

  const limit = auth.rate_limit ?? (auth.mode === 'none' ? false : DEFAULT_RATE_LIMIT);
  const limiter = limit ? new TokenBucketLimiter({ ratePerS: limit.requests_per_s, burst: limit.burst, ...(options.now ? { now: options.now } : {}) }) : undefined;

  /** false (and the 429 written) when the key has run out of requests. */
  const admit = (key: string, res: ServerResponse): boolean => {
    const r = limiter?.take(key) ?? { ok: true };
    if (r.ok) return true;
    log.debug({ key, retry_after_s: r.retryAfterS }, 'rate limited');
    jsonRpcError(res, 429, `Too many requests; retry after ${r.retryAfterS} s`, { 'retry-after': String(r.retryAfterS) });
    return false;
  };

  if (auth.mode === 'none') {
    if (!limiter) return { authenticator: undefined, visibleTools };
    return {
      visibleTools,
      authenticator: {
        authenticate: async (req, res) => {
          if (!admit(`ip:${req.socket.remoteAddress ?? 'unknown'}`, res)) return null;
          // No principal: the server treats the caller like stdio (all tools, no ownership).
          return { token: '', clientId: 'anonymous', scopes: [], extra: {} };
        },
      },
    };
  }

  const oauth = auth.mode === 'oauth' ? auth.oauth : undefined;
  const metadataUrl = oauth ? resourceMetadataUrl(oauth.resource) : undefined;
  const prmPaths = oauth ? metadataPaths(oauth.resource, config.server.http.path) : new Set<string>();
  const needed = toolScopes(auth).join(' ');
  const staticTokens = auth.mode === 'bearer' ? new StaticTokenVerifier(auth) : undefined;
  const jwt = oauth ? new JwtVerifier({ oauth, operatorScope: auth.operator_scope, ...(options.fetch ? { fetch: options.fetch } : {}) }) : undefined;

  const refuse = (res: ServerResponse, status: 401 | 403, message: string, challenge: Challenge): null => {
    jsonRpcError(res, status, message, {
      'www-authenticate': wwwAuthenticate({ ...challenge, ...(metadataUrl ? { resourceMetadata: metadataUrl } : {}) }),
    });
    return null;
  };

  const verify = async (token: string, res: ServerResponse): Promise<(Omit<AuthInfo, 'token'> & { principal: Principal }) | null> => {
    if (staticTokens) {
      const principal = staticTokens.verify(token);
      if (!principal) {
        refuse(res, 401, 'Unauthorized: unknown token', { error: 'invalid_token', description: 'unknown token' });
        return null;
      }
      return { principal, clientId: principal.id, scopes: principal.scopes };
    }
    try {
      const v = await jwt!.verify(token);
      return { principal: v.principal, clientId: v.clientId, scopes: v.scopes, expiresAt: v.expiresAt, resource: new URL(oauth!.resource) };
    } catch (err) {
      if (err instanceof TokenRejected && err.kind === 'invalid_token') {
        log.debug({ reason: err.message }, 'token rejected');
        refuse(res, 401, `Unauthorized: ${err.message}`, { error: 'invalid_token', description: err.message });
        return null;
      }
      // The issuer's keys are out of reach: not the client's fault, so no re-authentication.
      log.warn({ err: (err as Error).cause ?? err }, 'cannot verify tokens');
      jsonRpcError(res, 503, 'Authorization server unavailable', { 'retry-after': '5' });
      return null;
    }
  };

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
        jsonRpcError(res, 403, `Forbidden: the token carries none of the scopes ${needed}`, {
          'www-authenticate': wwwAuthenticate({
            error: 'insufficient_scope',
            description: `one of these scopes is required: ${needed}`,
            scope: needed,
            ...(metadataUrl ? { resourceMetadata: metadataUrl } : {}),
          }),
        });
        return null;
      }
      if (!admit(`principal:${v.principal.id}`, res)) return null;
      const { principal, ...info } = v;
      // token left empty on purpose: nothing past this point needs it, so nothing can forward it.
      return { ...info, token: '', extra: principalExtra(principal) };
    },
  };

  if (oauth) {
    const document = JSON.stringify(protectedResourceMetadata(auth, config.server.name));
    authenticator.route = (req, res, url) => {
      if (!prmPaths.has(url.pathname)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        jsonRpcError(res, 405, 'Method not allowed', { allow: 'GET, HEAD' });
        return true;
      }
      // Public metadata that browser-based clients fetch cross-origin.
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'max-age=3600' });
      res.end(req.method === 'HEAD' ? undefined : document);
      return true;
    };
  }

  return { authenticator, visibleTools };
}
