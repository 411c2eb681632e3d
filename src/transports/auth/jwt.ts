// OAuth 2.1 resource server side: verifies JWT access tokens against the issuer's JWKS (issuer,
// audience = our resource URI, expiry, allowed algorithms) and turns the claims into a Principal.
import type { createRemoteJWKSet, JWTPayload } from 'jose';
import { lazyModule } from '../../lazy.js';

const jose = lazyModule<typeof import('jose')>('jose');
import type { AuthConfig } from '../../config/sections/auth.js';
import type { Principal } from '../../auth/principal.js';

type OAuthConfig = NonNullable<AuthConfig['oauth']>;

/** Why a token was not accepted: the token's fault (401) or the key source's (503). */
export class TokenRejected extends Error {
  readonly kind: 'invalid_token' | 'unavailable';
  constructor(kind: 'invalid_token' | 'unavailable', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenRejected';
    this.kind = kind;
  }
}

export interface VerifiedToken {
  principal: Principal;
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** `scope` (RFC 9068, space-separated) or `scp` (array or string, as some issuers send). */
export function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string' && s !== '');
  return [];
}

// jose codes that mean the keys could not be had, as opposed to a bad token.
const UNAVAILABLE_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

export interface JwtVerifierOptions {
  oauth: OAuthConfig;
  operatorScope: string;
  fetch?: typeof fetch;
}

export class JwtVerifier {
  private readonly oauth: OAuthConfig;
  private readonly operatorScope: string;
  private readonly fetch: typeof fetch;
  private jwks?: Promise<ReturnType<typeof createRemoteJWKSet>>;

  constructor(options: JwtVerifierOptions) {
    this.oauth = options.oauth;
    this.operatorScope = options.operatorScope;
    this.fetch = options.fetch ?? fetch;
  }

  async verify(token: string): Promise<VerifiedToken> {
    const jwks = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jose().jwtVerify(token, jwks, {
        issuer: this.oauth.issuer,
        audience: this.oauth.resource,
        algorithms: this.oauth.algorithms,
        requiredClaims: ['exp'],
        clockTolerance: this.oauth.clock_tolerance_s,
      }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || UNAVAILABLE_CODES.has(code)) {
        throw new TokenRejected('unavailable', 'the authorization server keys could not be fetched', { cause: err });
      }
      throw new TokenRejected('invalid_token', describe(code), { cause: err });
    }
    const id = payload[this.oauth.principal_claim];
    if (typeof id !== 'string' || id === '') throw new TokenRejected('invalid_token', `the token has no ${this.oauth.principal_claim} claim`);
    const scopes = scopesOf(payload);
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : id;
    return {
      principal: { id, scopes, operator: scopes.includes(this.operatorScope) },
      clientId,
      scopes,
      expiresAt: payload.exp as number,
    };
  }

  /** The issuer's key set: from config, or found in its metadata once (retried after a failure). */
  private keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.jwks ??= this.jwksUri().then((uri) =>
      jose().createRemoteJWKSet(new URL(uri), { timeoutDuration: this.oauth.fetch_timeout_ms }),
    );
    return this.jwks.catch((err: unknown) => {
      this.jwks = undefined;
      throw new TokenRejected('unavailable', 'the authorization server metadata could not be fetched', { cause: err });
    });
  }

  private async jwksUri(): Promise<string> {
    if (this.oauth.jwks_uri) return this.oauth.jwks_uri;
    const issuer = new URL(this.oauth.issuer);
    const path = issuer.pathname === '/' ? '' : issuer.pathname.replace(/\/$/, '');
    // RFC 8414 puts the well-known segment before the issuer's path; OpenID Connect appends it.
    const candidates = [
      `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
      `${this.oauth.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
    ];
    const failures: string[] = [];
    for (const url of candidates) {
      try {
        const res = await this.fetch(url, { signal: AbortSignal.timeout(this.oauth.fetch_timeout_ms), redirect: 'error', headers: { accept: 'application/json' } });
        if (res.status !== 200) {
          failures.push(`${url}: HTTP ${res.status}`);
          continue;
        }
        const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
        // RFC 8414 §3.3: metadata for another issuer must not be used.
        if (meta.issuer !== this.oauth.issuer) throw new Error(`${url}: issuer ${String(meta.issuer)} is not ${this.oauth.issuer}`);
        if (typeof meta.jwks_uri !== 'string') throw new Error(`${url}: no jwks_uri`);
        return meta.jwks_uri;
      } catch (err) {
        failures.push(`${url}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no authorization server metadata: ${failures.join('; ')}`);
  }
}

function describe(code: string): string {
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'the token is not for this resource or issuer, or a required claim is missing';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm this server does not accept';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature does not verify';
    default:
      return 'the token is malformed';
  }
}
