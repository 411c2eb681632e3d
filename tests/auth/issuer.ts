// A local authorization server double: an ES256 key pair whose public half is served as a JWKS
// (with RFC 8414 metadata) on 127.0.0.1, and a signer for access tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  /** Requests served, by path. */
  hits: Map<string, number>;
  sign(claims: JWTPayload, options?: { audience?: string; issuer?: string; expiresIn?: string | number; key?: 'own' | 'foreign'; subject?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const hits = new Map<string, number>();
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else if (path === '/.well-known/oauth-authorization-server') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token` }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keyOf = (k: 'own' | 'foreign' | undefined): CryptoKey => (k === 'foreign' ? foreign.privateKey : privateKey);
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    hits,
    sign: async (claims, o = {}) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(o.issuer ?? issuer)
        .setSubject(o.subject ?? 'alice')
        .setIssuedAt()
        .setExpirationTime(o.expiresIn ?? '5m');
      if (o.audience !== undefined) jwt.setAudience(o.audience);
      return jwt.sign(keyOf(o.key));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
