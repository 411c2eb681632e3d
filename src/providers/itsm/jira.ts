// Jira provider: Cloud REST v3 (ADF descriptions, /search/jql) or Data Center REST v2 (wiki
// markup, /search). The idempotency key travels as a label; search lags, so a ledger backs it.
import { ShieldError } from '../../errors.js';
import type { ItsmConfig } from '../../config/sections/itsm.js';
import { sendAuthorized, type AuthProvider } from './auth.js';
import { type HttpClient, HttpStatusError, type HttpResponse } from './http.js';
import { renderDescription } from './markdown.js';
import { createExactlyOnce, type RemoteDeps, type RemoteOps } from './remote.js';
import { wait } from '../../upstream/retry.js';
import type { CreateContext, CreateOutcome, TicketProvider, TicketView, UpstreamRequest } from './types.js';

type JiraConfig = ItsmConfig['jira'];

interface Issue {
  id: string;
  key: string;
  self?: string;
  fields?: { summary?: string; status?: { name?: string }; priority?: { name?: string }; created?: string };
}

export class JiraProvider implements TicketProvider {
  readonly platform = 'jira' as const;
  private readonly api: string;
  private readonly ops: RemoteOps;

  constructor(
    private readonly cfg: JiraConfig,
    private readonly http: HttpClient,
    private readonly auth: AuthProvider,
    private readonly deps: RemoteDeps,
  ) {
    this.api = cfg.deployment === 'cloud' ? '/rest/api/3' : '/rest/api/2';
    this.ops = {
      platform: 'jira',
      resetFormat: 'iso8601',
      send: (req, signal) => this.send(req, signal),
      lookup: (key, signal, afterAmbiguous) => this.lookup(key, signal, afterAmbiguous),
      rejection: (err) => {
        const b = (err.body ?? {}) as { errorMessages?: unknown; errors?: unknown };
        const messages = Array.isArray(b.errorMessages) ? b.errorMessages.map(String) : [];
        const fields: Record<string, string> = {};
        if (b.errors && typeof b.errors === 'object') for (const [k, v] of Object.entries(b.errors)) fields[k] = String(v);
        return { messages, fields };
      },
    };
  }

  buildRequest(fields: Record<string, unknown>, upstreamKey: string): UpstreamRequest {
    const f: Record<string, unknown> = {};
    if (fields.project) f.project = { key: fields.project };
    if (fields.summary !== undefined) f.summary = String(fields.summary);
    if (fields.issuetype) f.issuetype = { name: fields.issuetype };
    if (fields.priority) f.priority = { name: fields.priority };
    if (typeof fields.description === 'string' && fields.description !== '') {
      f.description = renderDescription(fields.description, this.cfg.deployment === 'cloud' ? 'adf' : 'wiki', this.cfg.description_max_chars).value;
    }
    const labels = Array.isArray(fields.labels) ? (fields.labels as string[]) : [];
    f.labels = [...new Set([...labels, upstreamKey])];
    return { method: 'POST', path: `${this.api}/issue`, body: { fields: f } };
  }

  create(request: UpstreamRequest, upstreamKey: string, ctx: CreateContext): Promise<CreateOutcome> {
    return createExactlyOnce(this.ops, this.deps, request, upstreamKey, ctx);
  }

  async get(id: string, signal: AbortSignal): Promise<TicketView> {
    if (!/^([A-Z][A-Z0-9_]+-\d+|\d+)$/.test(id)) throw new ShieldError('INVALID_INPUT', `${id} is not a Jira issue key (OPS-42) or id.`);
    return this.deps.breakers.run(
      'jira',
      async (s) => this.view((await this.call('GET', `${this.api}/issue/${id}?fields=summary,status,priority,created`, undefined, s)).body as Issue),
      signal,
    ).catch((err: unknown) => {
      if (err instanceof HttpStatusError && err.status === 404) throw new ShieldError('NOT_FOUND', `No Jira issue ${id}.`);
      throw err;
    });
  }

  /** One request with auth (sendAuthorized); a non-2xx answer throws HttpStatusError. */
  private async call(method: 'GET' | 'POST', path: string, json: unknown, signal: AbortSignal): Promise<HttpResponse> {
    const res = await sendAuthorized(this.http, this.auth, method, path, json, signal);
    if (res.status < 200 || res.status >= 300) throw new HttpStatusError(method, path, res);
    return res;
  }

  private async send(req: UpstreamRequest, signal: AbortSignal): Promise<TicketView> {
    const res = await this.call('POST', req.path, req.body, signal);
    const b = res.body as { id?: string; key?: string; self?: string };
    if (!b?.key || !b.id) throw new ShieldError('UPSTREAM_UNAVAILABLE', 'Jira answered 201 without an issue key.', { status: 502 });
    const fields = (req.body.fields ?? {}) as { summary?: string; priority?: { name?: string } };
    return this.view({ id: b.id, key: b.key, fields: { summary: fields.summary, status: { name: 'To Do' }, ...(fields.priority ? { priority: fields.priority } : {}) } });
  }

  private async searchOnce(key: string, signal: AbortSignal): Promise<TicketView | undefined> {
    const jql = `labels = "${key}" ORDER BY created ASC`;
    const path =
      this.cfg.deployment === 'cloud'
        ? `${this.api}/search/jql?jql=${encodeURIComponent(jql)}&fields=summary,status,priority,created&maxResults=1`
        : `${this.api}/search?jql=${encodeURIComponent(jql)}&fields=summary,status,priority,created&maxResults=1&startAt=0`;
    const res = await this.call('GET', path, undefined, signal);
    const issues = (res.body as { issues?: Issue[] } | undefined)?.issues ?? [];
    return issues[0] ? this.view(issues[0]) : undefined;
  }

  /**
   * Search is eventually consistent: after an ambiguous failure, an empty answer is trusted only
   * once it stayed empty for lookup_settle_ms.
   */
  private async lookup(key: string, signal: AbortSignal, afterAmbiguous: boolean): Promise<TicketView | undefined> {
    const deadline = Date.now() + (afterAmbiguous ? this.cfg.lookup_settle_ms : 0);
    for (let round = 0; round < 1000; round++) {
      const t = await this.searchOnce(key, signal);
      if (t || Date.now() + this.cfg.lookup_poll_ms > deadline) return t;
      await wait(this.cfg.lookup_poll_ms, signal);
    }
    return undefined;
  }

  private view(issue: Issue): TicketView {
    const base = this.http.baseUrl;
    const v: TicketView = { platform: 'jira', id: String(issue.id), number: issue.key, url: `${base}/browse/${issue.key}` };
    if (issue.fields?.status?.name) v.state = issue.fields.status.name;
    if (issue.fields?.summary) v.summary = issue.fields.summary;
    if (issue.fields?.priority?.name) v.priority = issue.fields.priority.name;
    if (issue.fields?.created) v.created_at = issue.fields.created;
    return v;
  }
}
