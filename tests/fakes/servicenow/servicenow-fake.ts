// A faithful local double of the ServiceNow Table API (+ /oauth_token.do) on 127.0.0.1, with
// fault injection. Shared by the tests and the bench.
import { randomBytes } from 'node:crypto';
import { LoopbackServer, basicCredentials, bearer, type LoggedRequest, type Reply } from '../loopback.js';

export type SnRecord = Record<string, string>;

export interface ServiceNowFakeOptions {
  auth?:
    | { type: 'basic'; username: string; password: string }
    | { type: 'oauth'; clientId: string; clientSecret: string; username?: string; password?: string; tokenTtlS?: number };
  /** Reference fields (returned as {link, value} unless excluded). */
  referenceFields?: string[];
}

const TABLE_PATH = /^\/api\/now\/(v[12]\/)?table\/([a-z_][a-z0-9_]*)(?:\/([0-9a-f]{32}))?$/;
const WRITABLE_SYSTEM = new Set(['sys_id']);

const snError = (message: string, detail: string): unknown => ({ error: { message, detail }, status: 'failure' });
const glideDate = (d: Date): string => d.toISOString().slice(0, 19).replace('T', ' ');

export class ServiceNowFake extends LoopbackServer<'create' | 'lookup'> {
  /** Committed records per table. */
  readonly tables = new Map<string, SnRecord[]>();
  /** Fields some record has (queries on others are ignored, as upstream does). */
  private readonly knownFields = new Set(['correlation_id', 'number', 'sys_id', 'short_description', 'state']);
  private seq = 10_000;
  private readonly accessTokens = new Map<string, number>();
  private readonly refreshTokens = new Set<string>();
  tokenGrants = 0;
  credentialsRevoked = false;

  constructor(private readonly options: ServiceNowFakeOptions = {}) {
    super({ defaultTarget: 'create', jsonContentType: 'application/json;charset=UTF-8' });
  }

  records(table = 'incident'): SnRecord[] {
    return this.tables.get(table) ?? [];
  }

  /** Every access token answers 401 from now on (refresh tokens still work). */
  expireTokens(): void {
    this.accessTokens.clear();
  }

  /** Refresh tokens and the password/client grant stop working. */
  revokeCredentials(): void {
    this.refreshTokens.clear();
    this.credentialsRevoked = true;
  }

  protected override errorReply(status: number, message?: string): Reply {
    if (status === 429) return { status, body: snError('Rate limit exceeded', 'Too many requests; rate limit rule matched') };
    return { status, body: snError(message ?? `HTTP ${status}`, status >= 500 ? 'The instance could not process the request' : '') };
  }

  protected override targetOf(req: LoggedRequest): 'create' | 'lookup' | undefined {
    if (!TABLE_PATH.test(req.path.split('?')[0]!)) return undefined;
    return req.method === 'POST' ? 'create' : 'lookup';
  }

  private authorised(req: LoggedRequest): boolean {
    const a = this.options.auth;
    if (!a) return true;
    const h = req.headers.authorization;
    if (a.type === 'basic') {
      const c = basicCredentials(h);
      return !!c && c[0] === a.username && c[1] === a.password && !this.credentialsRevoked;
    }
    const t = bearer(h);
    return !!t && (this.accessTokens.get(t) ?? 0) > Date.now();
  }

  protected override handle(req: LoggedRequest, url: URL): Reply {
    if (req.path.startsWith('/oauth_token.do') && req.method === 'POST') return this.token(req);
    const m = TABLE_PATH.exec(url.pathname);
    if (!m) return { status: 400, body: snError('Requested URI does not represent any resource', url.pathname) };
    if (!this.authorised(req)) return { status: 401, body: snError('User Not Authenticated', 'Required to provide Auth information') };
    const v2 = m[1] === 'v2/';
    const table = m[2]!;
    const excludeRefs = url.searchParams.get('sysparm_exclude_reference_link') === 'true';
    if (req.method === 'POST') {
      if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
        return { status: 400, body: snError('Exception while reading request', 'The payload is not valid JSON.') };
      }
      const rec = this.insert(table, req.body as Record<string, unknown>);
      return {
        status: 201,
        headers: { location: `${this.baseUrl}/api/now/table/${table}/${rec.sys_id}` },
        body: { result: this.present(rec, excludeRefs) },
      };
    }
    if (req.method === 'GET') {
      const rows = this.records(table);
      if (m[3]) {
        const r = rows.find((x) => x.sys_id === m[3]);
        return r ? { status: 200, body: { result: this.present(r, excludeRefs) } } : { status: 404, body: snError('No Record found', "Record doesn't exist or ACL restricts the record retrieval") };
      }
      const matched = this.query(rows, url.searchParams.get('sysparm_query') ?? '');
      const offset = Number(url.searchParams.get('sysparm_offset') ?? 0);
      const limit = Number(url.searchParams.get('sysparm_limit') ?? 10_000);
      const page = matched.slice(offset, offset + limit).map((r) => this.present(r, excludeRefs));
      // v1 answers an empty match with 404, v2 with 200 and [].
      if (page.length === 0 && !v2) return { status: 404, body: snError('No Record found', "Record doesn't exist or ACL restricts the record retrieval") };
      return { status: 200, headers: { 'x-total-count': String(matched.length) }, body: { result: page } };
    }
    return { status: 405, body: snError('Method not Supported', `${req.method} is not supported`) };
  }

  private insert(table: string, body: Record<string, unknown>): SnRecord {
    const now = new Date();
    const rec: SnRecord = {};
    for (const [k, v] of Object.entries(body)) {
      // sys_* fields cannot be set; every field is stored as a string.
      if (k.startsWith('sys_') && !WRITABLE_SYSTEM.has(k)) continue;
      rec[k] = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    this.seq++;
    Object.assign(rec, {
      sys_id: randomBytes(16).toString('hex'),
      number: `INC${String(this.seq).padStart(7, '0')}`,
      state: '1',
      sys_created_on: glideDate(now),
      sys_updated_on: glideDate(now),
      sys_created_by: 'shield',
    });
    const u = Number(rec.urgency ?? 3);
    const i = Number(rec.impact ?? 3);
    rec.urgency ??= '3';
    rec.impact ??= '3';
    rec.priority = String(Math.min(5, Math.max(1, (Number.isFinite(u) ? u : 3) + (Number.isFinite(i) ? i : 3) - 1)));
    const rows = this.tables.get(table) ?? [];
    rows.push(rec);
    for (const f of Object.keys(rec)) this.knownFields.add(f);
    this.tables.set(table, rows);
    return rec;
  }

  private present(r: SnRecord, excludeRefs: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { ...r };
    for (const f of this.options.referenceFields ?? ['assignment_group', 'caller_id']) {
      if (out[f] && !excludeRefs) out[f] = { link: `${this.baseUrl}/api/now/table/sys_user_group/${randomBytes(16).toString('hex')}`, value: out[f] };
    }
    return out;
  }

  /** field=value^field2!=x^ORfield3LIKEy; unknown fields are silently ignored, as upstream does. */
  private query(rows: SnRecord[], q: string): SnRecord[] {
    if (!q) return rows;
    // Terms are parsed once per query; fields no record has are ignored (a typo matches everything).
    const terms = q
      .split('^')
      .filter((t) => t && !t.startsWith('ORDERBY'))
      .map((t) => /^(?:OR)?([a-z_][a-z0-9_]*)(!=|LIKE|=)(.*)$/.exec(t))
      .filter((m): m is RegExpExecArray => m !== null && this.knownFields.has(m[1]!))
      .map((m) => ({ field: m[1]!, op: m[2]!, value: m[3]! }));
    return rows.filter((r) =>
      terms.every(({ field, op, value }) => {
        const v = r[field] ?? '';
        return op === '=' ? v === value : op === '!=' ? v !== value : v.includes(value);
      }),
    );
  }

  private token(req: LoggedRequest): Reply {
    const a = this.options.auth;
    const f = (req.body ?? {}) as Record<string, string>;
    const deny = (error: string): Reply => ({ status: 401, body: { error, error_description: 'access_denied' } });
    if (!a || a.type !== 'oauth') return { status: 400, body: { error: 'server_error' } };
    if (f.client_id !== a.clientId || f.client_secret !== a.clientSecret) return deny('invalid_client');
    if (f.grant_type === 'refresh_token') {
      if (!f.refresh_token || !this.refreshTokens.has(f.refresh_token)) return deny('invalid_grant');
    } else if (f.grant_type === 'password') {
      if (this.credentialsRevoked || f.username !== a.username || f.password !== a.password) return deny('invalid_grant');
    } else if (f.grant_type === 'client_credentials') {
      if (this.credentialsRevoked) return deny('invalid_grant');
    } else return { status: 400, body: { error: 'unsupported_grant_type' } };
    this.tokenGrants++;
    const access = randomBytes(24).toString('base64url');
    const refresh = randomBytes(24).toString('base64url');
    const ttl = a.tokenTtlS ?? 1800;
    this.accessTokens.set(access, Date.now() + ttl * 1000);
    this.refreshTokens.add(refresh);
    return { status: 200, body: { access_token: access, refresh_token: refresh, scope: 'useraccount', token_type: 'Bearer', expires_in: ttl } };
  }
}
