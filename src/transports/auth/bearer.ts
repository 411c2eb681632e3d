// Static bearer tokens: config holds only their SHA-256; a presented token is hashed and compared
// in constant time against every configured hash.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthConfig } from '../../config/sections/auth.js';
import type { Principal } from '../../auth/principal.js';

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface Entry {
  digest: Buffer;
  principal: Principal;
}

export class StaticTokenVerifier {
  private readonly entries: Entry[];

  constructor(config: Pick<AuthConfig, 'tokens' | 'operator_scope'>) {
    this.entries = config.tokens.map((t) => ({
      digest: Buffer.from(t.sha256, 'hex'),
      principal: { id: t.id, scopes: [...t.scopes], operator: t.operator || t.scopes.includes(config.operator_scope) },
    }));
  }

  /** The token's principal, or null. Every entry is compared, so timing does not tell which matched. */
  verify(token: string): Principal | null {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: Principal | null = null;
    for (const e of this.entries) {
      if (timingSafeEqual(digest, e.digest) && found === null) found = e.principal;
    }
    return found;
  }
}
