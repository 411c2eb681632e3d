// ServiceNow Table API provider: plain-text descriptions, correlation_id as the idempotency key.
import { ShieldError } from '../../errors.js';
import type { ItsmConfig } from '../../config/sections/itsm.js';
import { sendAuthorized, type AuthProvider } from './auth.js';
import { type HttpClient, HttpStatusError, TransportError, type HttpResponse } from './http.js';
import { renderDescription } from './markdown.js';
import { createExactlyOnce, type RemoteDeps, type RemoteOps } from './remote.js';
import type { CreateContext, CreateOutcome, TicketProvider, TicketView, UpstreamRequest } from './types.js';

type SnConfig = ItsmConfig['servicenow'];
type SnRecord = Record<string, unknown>;

const STATES: Record<string, string> = { '1': 'New', '2': 'In Progress', '3': 'On Hold', '6': 'Resolved', '7': 'Closed', '8': 'Canceled' };

/** Reference fields come as {link, value} unless sysparm_exclude_reference_link=true. */
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'object' && v !== null && 'value' in v ? String((v as { value: unknown }).value) : undefined);

export class ServiceNowProvider implements TicketProvider {
  readonly platform = 'servicenow' as const;
  private readonly tablePath: string;
  private readonly ops: RemoteOps;

  constructor(
    private readonly cfg: SnConfig,
    private readonly http: HttpClient,
    private readonly auth: AuthProvider,
    private readonly deps: RemoteDeps,
  ) {
    this.tablePath = `/api/now/${cfg.api_version === 'v2' ? 'v2/' : ''}table/${cfg.table}`;
    this.ops = {
      platform: 'servicenow',
      resetFormat: 'unix_seconds',
      send: (req, signal) => this.send(req, signal),
      lookup: (key, signal) => this.lookup(key, signal),
      rejection: (err) => {
        const e = ((err.body ?? {}) as { error?: { message?: string; detail?: string } }).error ?? {};
        const fields: Record<string, string> = {};
        // 400s name the offending field in detail, e.g. "Invalid value for field: urgency".
        const m = /field:?\s*([a-z_][a-z0-9_]*)/i.exec(e.detail ?? '');
        if (m) fields[m[1]!] = e.detail!;
        return { messages: [e.message, e.detail].filter((x): x is string => !!x), fields };
      },
    };
  }

  buildRequest(fields: Record<string, unknown>, upstreamKey: string): UpstreamRequest {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null && v !== '') body[k] = v;
    if (typeof fields.description === 'string') body.description = renderDescription(fields.description, 'plain', this.cfg.description_max_chars).value;
    if (typeof body.short_description === 'string') body.short_description = (renderDescription(body.short_description, 'plain', 10_000).value as string).replace(/\s+/g, ' ');
    body.correlation_id = upstreamKey;
    body.correlation_display = 'shield';
    return { method: 'POST', path: `${this.tablePath}?sysparm_exclude_reference_link=true`, body };
  }

  create(request: UpstreamRequest, upstreamKey: string, ctx: CreateContext): Promise<CreateOutcome> {
    return createExactlyOnce(this.ops, this.deps, request, upstreamKey, ctx);
  }

  async get(id: string, signal: AbortSignal): Promise<TicketView> {
    return this.deps.breakers.run(
      'servicenow',
      async (s) => {
        const q = /^[0-9a-f]{32}$/.test(id) ? `sys_id=${id}` : `number=${id}`;
        const res = await this.call('GET', `${this.tablePath}?sysparm_query=${encodeURIComponent(q)}&sysparm_limit=1&sysparm_exclude_reference_link=true`, undefined, s);
        const rec = this.firstRecord(res);
        if (!rec) throw new ShieldError('NOT_FOUND', `No ServiceNow ${this.cfg.table} record ${id}.`, { status: 404 });
        return this.view(rec);
      },
      signal,
    );
  }

  /** One request with auth (sendAuthorized); a non-2xx answer throws HttpStatusError. */
  private async call(method: 'GET' | 'POST', path: string, json: unknown, signal: AbortSignal): Promise<HttpResponse> {
    const res = await sendAuthorized(this.http, this.auth, method, path, json, signal);
    // v1 answers an empty query with 404 "No Record found": that is an empty result, not an error.
    if (method === 'GET' && res.status === 404 && this.cfg.api_version === 'v1' && path.includes('sysparm_query')) return { ...res, status: 200, body: { result: [] } };
    if (res.status < 200 || res.status >= 300) throw new HttpStatusError(method, path, res);
    return res;
  }

  private async send(req: UpstreamRequest, signal: AbortSignal): Promise<TicketView> {
    const res = await this.call('POST', req.path, req.body, signal);
    const rec = (res.body as { result?: SnRecord } | undefined)?.result;
    // The create may have been committed even though the answer is unusable: treat it like a lost
    // response, so the ticket is looked up before anything is sent again.
    if (!rec || typeof rec !== 'object' || !str(rec.sys_id)) throw new TransportError('reset', true, 'ServiceNow answered 201 without a record');
    return this.view(rec);
  }

  private async lookup(key: string, signal: AbortSignal): Promise<TicketView | undefined> {
    const q = encodeURIComponent(`correlation_id=${key}`);
    const res = await this.call('GET', `${this.tablePath}?sysparm_query=${q}&sysparm_limit=1&sysparm_exclude_reference_link=true`, undefined, signal);
    const rec = this.firstRecord(res);
    return rec ? this.view(rec) : undefined;
  }

  private firstRecord(res: HttpResponse): SnRecord | undefined {
    const result = (res.body as { result?: unknown } | undefined)?.result;
    return Array.isArray(result) && result.length > 0 ? (result[0] as SnRecord) : undefined;
  }

  private view(rec: SnRecord): TicketView {
    const sysId = str(rec.sys_id)!;
    const state = str(rec.state);
    const v: TicketView = {
      platform: 'servicenow',
      id: sysId,
      number: str(rec.number) ?? sysId,
      url: `${this.http.baseUrl}/nav_to.do?uri=${encodeURIComponent(`${this.cfg.table}.do?sys_id=${sysId}`)}`,
    };
    if (state) v.state = STATES[state] ?? state;
    const summary = str(rec.short_description);
    if (summary) v.summary = summary;
    const priority = str(rec.priority);
    if (priority) v.priority = priority;
    const created = str(rec.sys_created_on);
    if (created) v.created_at = `${created.replace(' ', 'T')}Z`;
    return v;
  }
}
