// A faithful local double of Jira (Cloud REST v3 with ADF, or Data Center REST v2 with wiki
// markup) and of Atlassian's OAuth token endpoint, on 127.0.0.1, with fault injection and a
// search index that lags behind writes, as Cloud's /search/jql does.
import { randomBytes } from 'node:crypto';
import { LoopbackServer, basicCredentials, bearer, type LoggedRequest, type Reply } from '../loopback.js';
import { OpenApiCheck, sharedSpecPath, type OpenApiIssue } from '../openapi.js';

/** Atlassian's OpenAPI, read from ../shared (never copied into the project). */
export const JIRA_OPENAPI_PATH = sharedSpecPath('jira-cloud-platform-openapi-2022.json');

export interface JiraIssue {
  id: string;
  key: string;
  fields: Record<string, unknown>;
  created: number;
}

export interface JiraFakeOptions {
  deployment?: 'cloud' | 'data_center';
  projects?: string[];
  issueTypes?: string[];
  priorities?: string[];
  /** A new issue appears in search results only this long after creation, in ms. */
  searchLagMs?: number;
  auth?:
    | { type: 'basic'; email: string; apiToken: string }
    | { type: 'pat'; token: string }
    | { type: 'oauth'; clientId: string; clientSecret: string; refreshToken: string; tokenTtlS?: number };
  /** Atlassian's OpenAPI file: request bodies of POST /issue are validated against it when present. */
  openApiPath?: string;
}

const DESCRIPTION_LIMIT = 32_767;
const ADF_BLOCKS = new Set(['paragraph', 'heading', 'bulletList', 'orderedList', 'listItem', 'codeBlock', 'blockquote', 'rule', 'panel', 'table', 'mediaSingle']);
const ADF_INLINE = new Set(['text', 'hardBreak', 'mention', 'emoji', 'inlineCard']);
const ADF_MARKS = new Set(['strong', 'em', 'code', 'link', 'strike', 'underline', 'subsup', 'textColor']);

/** Structural ADF check: a doc of version 1 whose nodes and marks are known and well-formed. */
export function adfProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const d = doc as { type?: unknown; version?: unknown; content?: unknown };
  if (typeof doc !== 'object' || doc === null || d.type !== 'doc' || d.version !== 1 || !Array.isArray(d.content)) return ['Operation value must be an Atlassian Document (see the Atlassian Document Format)'];
  const walk = (n: unknown, path: string): void => {
    const node = n as { type?: string; content?: unknown; text?: unknown; marks?: unknown; attrs?: Record<string, unknown> };
    if (typeof node !== 'object' || node === null || typeof node.type !== 'string') return void problems.push(`${path}: not a node`);
    if (!ADF_BLOCKS.has(node.type) && !ADF_INLINE.has(node.type)) return void problems.push(`${path}: unknown node type ${node.type}`);
    if (node.type === 'text') {
      if (typeof node.text !== 'string' || node.text.length === 0) problems.push(`${path}: text nodes need non-empty text`);
      if (node.marks !== undefined) {
        if (!Array.isArray(node.marks)) problems.push(`${path}: marks must be a list`);
        else {
          for (const m of node.marks as Array<{ type?: string; attrs?: { href?: unknown } }>) {
            if (!m.type || !ADF_MARKS.has(m.type)) problems.push(`${path}: unknown mark ${String(m.type)}`);
            if (m.type === 'link' && typeof m.attrs?.href !== 'string') problems.push(`${path}: link without href`);
          }
          const types = (node.marks as Array<{ type?: string }>).map((m) => m.type);
          if (types.includes('code') && types.some((t) => t !== 'code' && t !== 'link')) problems.push(`${path}: code mark combined with ${types.join(',')}`);
        }
      }
    }
    if (node.type === 'heading' && !(Number(node.attrs?.level) >= 1 && Number(node.attrs?.level) <= 6)) problems.push(`${path}: heading level`);
    if ((node.type === 'bulletList' || node.type === 'orderedList') && Array.isArray(node.content)) {
      (node.content as Array<{ type?: string }>).forEach((c, i) => c.type !== 'listItem' && problems.push(`${path}.content[${i}]: lists hold listItems`));
    }
    if (node.content !== undefined) {
      if (!Array.isArray(node.content)) problems.push(`${path}: content must be a list`);
      else (node.content as unknown[]).forEach((c, i) => walk(c, `${path}.content[${i}]`));
    }
  };
  (d.content as unknown[]).forEach((c, i) => walk(c, `content[${i}]`));
  return problems;
}

/**
 * Jira's answer to a body its contract refuses: 400 with the problems keyed by field (`fields.x`
 * reported as `x`, as Jira keys field errors); a problem with the body as a whole goes to errorMessages.
 */
export function jiraSpecErrors(issues: OpenApiIssue[]): { errorMessages: string[]; errors: Record<string, string> } {
  const errorMessages: string[] = [];
  const errors: Record<string, string> = {};
  for (const i of issues) {
    const key = i.path.replace(/^fields\./, '');
    if (!key) errorMessages.push(i.message);
    else errors[key] ??= i.message;
  }
  return { errorMessages, errors };
}

export class JiraFake extends LoopbackServer<'create' | 'lookup'> {
  readonly issues: JiraIssue[] = [];
  private counter = 0;
  private readonly checker: OpenApiCheck | undefined;
  private readonly accessTokens = new Map<string, number>();
  private validRefresh: string | undefined;
  tokenRefreshes = 0;
  readonly openApiLoaded: boolean;

  constructor(private readonly options: JiraFakeOptions = {}) {
    super({ defaultTarget: 'create', jsonContentType: 'application/json;charset=UTF-8' });
    this.checker = OpenApiCheck.load(options.openApiPath)?.prepare('post', '/rest/api/3/issue');
    this.openApiLoaded = !!this.checker;
    if (options.auth?.type === 'oauth') this.validRefresh = options.auth.refreshToken;
  }

  private get cloud(): boolean {
    return (this.options.deployment ?? 'cloud') === 'cloud';
  }

  expireTokens(): void {
    this.accessTokens.clear();
  }

  /** The refresh token in circulation stops working (consent revoked). */
  revokeRefreshToken(): void {
    this.validRefresh = undefined;
  }

  /** The refresh token currently valid (rotated on every use). */
  get currentRefreshToken(): string | undefined {
    return this.validRefresh;
  }

  protected override errorReply(status: number, message?: string): Reply {
    return { status, body: { errorMessages: [message ?? (status === 429 ? 'Rate limit exceeded.' : `HTTP ${status}`)], errors: {} } };
  }

  protected override targetOf(req: LoggedRequest, url: URL): 'create' | 'lookup' | undefined {
    if (/^\/rest\/api\/[23]\/issue$/.test(url.pathname) && req.method === 'POST') return 'create';
    if (/^\/rest\/api\/[23]\/search/.test(url.pathname)) return 'lookup';
    return undefined;
  }

  private authorised(req: LoggedRequest): boolean {
    const a = this.options.auth;
    if (!a) return true;
    const h = req.headers.authorization;
    if (a.type === 'basic') {
      const c = basicCredentials(h);
      return !!c && c[0] === a.email && c[1] === a.apiToken;
    }
    if (a.type === 'pat') return bearer(h) === a.token;
    const t = bearer(h);
    return !!t && (this.accessTokens.get(t) ?? 0) > Date.now();
  }

  protected override handle(req: LoggedRequest, url: URL): Reply {
    const p = url.pathname;
    if (p === '/oauth/token' && req.method === 'POST') return this.token(req);
    if (!this.authorised(req)) return { status: 401, body: { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} } };
    const api = this.cloud ? '/rest/api/3' : '/rest/api/2';
    if (p === `${api}/issue` && req.method === 'POST') return this.create(req, api);
    if (this.cloud && p === '/rest/api/3/search/jql') return this.search(url, false);
    if (!this.cloud && p === '/rest/api/2/search') return this.search(url, true);
    if (/^\/rest\/api\/[23]\/search$/.test(p)) return { status: 410, body: { errorMessages: ['The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.'], errors: {} } };
    const m = new RegExp(`^${api}/issue/([A-Z][A-Z0-9_]+-\\d+|\\d+)$`).exec(p);
    if (m && req.method === 'GET') {
      const issue = this.issues.find((i) => i.key === m[1] || i.id === m[1]);
      if (!issue) return { status: 404, body: { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} } };
      return { status: 200, body: this.present(issue, api) };
    }
    return { status: 404, body: { errorMessages: [`No resource ${p}`], errors: {} } };
  }

  private create(req: LoggedRequest, api: string): Reply {
    if (typeof req.body !== 'object' || req.body === null) return { status: 400, body: { errorMessages: ['Unexpected character: invalid JSON'], errors: {} } };
    // The published contract of POST /rest/api/3/issue (Data Center's v2 takes the same body shape).
    const problems = this.checker?.validate('post', '/rest/api/3/issue', req.body) ?? [];
    if (problems.length) return { status: 400, body: jiraSpecErrors(problems) };
    const fields = ((req.body as { fields?: Record<string, unknown> }).fields ?? {}) as Record<string, unknown>;
    const errors: Record<string, string> = {};
    const projectKey = (fields.project as { key?: unknown } | undefined)?.key;
    if (typeof projectKey !== 'string' || !(this.options.projects ?? ['OPS']).includes(projectKey)) errors.project = 'valid project is required';
    if (typeof fields.summary !== 'string' || fields.summary.trim() === '') errors.summary = 'You must specify a summary of the issue.';
    else if (fields.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    else if (/[\r\n]/.test(fields.summary)) errors.summary = 'The summary is invalid because it contains newline characters.';
    const it = (fields.issuetype as { name?: unknown } | undefined)?.name;
    if (typeof it !== 'string' || !(this.options.issueTypes ?? ['Task', 'Bug', 'Story', 'Incident']).includes(it)) errors.issuetype = 'Specify a valid issue type';
    if (fields.priority !== undefined) {
      const pn = (fields.priority as { name?: unknown }).name;
      if (typeof pn !== 'string' || !(this.options.priorities ?? ['Highest', 'High', 'Medium', 'Low', 'Lowest']).includes(pn)) errors.priority = `Specify the Priority (name) in the string format`;
    }
    if (fields.labels !== undefined) {
      if (!Array.isArray(fields.labels) || fields.labels.some((l) => typeof l !== 'string' || /\s/.test(l) || l.length > 255)) errors.labels = 'The label must not contain spaces.';
    }
    if (fields.description !== undefined) {
      if (this.cloud) {
        const problems = adfProblems(fields.description);
        if (problems.length) errors.description = problems.join('; ');
        else if (JSON.stringify(fields.description).length > DESCRIPTION_LIMIT) errors.description = `The entered text is too long. It exceeds the allowed limit of 32,767 characters.`;
      } else if (typeof fields.description !== 'string') errors.description = 'Operation value must be a string';
      else if (fields.description.length > DESCRIPTION_LIMIT) errors.description = 'The entered text is too long. It exceeds the allowed limit of 32,767 characters.';
    }
    for (const k of Object.keys(fields)) {
      if (!['project', 'summary', 'issuetype', 'priority', 'labels', 'description', 'components', 'assignee'].includes(k)) {
        errors[k] = `Field '${k}' cannot be set. It is not on the appropriate screen, or unknown.`;
      }
    }
    if (Object.keys(errors).length) return { status: 400, body: { errorMessages: [], errors } };
    this.counter++;
    const issue: JiraIssue = { id: String(10_000 + this.counter), key: `${projectKey as string}-${this.counter}`, fields, created: Date.now() };
    this.issues.push(issue);
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${this.baseUrl}${api}/issue/${issue.id}` } };
  }

  /** Supports the JQL Shield sends: labels = "x" (optionally with ORDER BY). */
  private search(url: URL, dc: boolean): Reply {
    const jql = url.searchParams.get('jql') ?? '';
    const m = /^labels\s*=\s*"?([^"\s]+)"?(\s+ORDER BY .*)?$/i.exec(jql.trim());
    if (!m) return { status: 400, body: { errorMessages: [`Error in the JQL Query: ${jql}`], errors: {} } };
    const visibleBefore = Date.now() - (this.options.searchLagMs ?? 0);
    const api = dc ? '/rest/api/2' : '/rest/api/3';
    const hits = this.issues.filter((i) => i.created <= visibleBefore && Array.isArray(i.fields.labels) && (i.fields.labels as string[]).includes(m[1]!));
    const max = Number(url.searchParams.get('maxResults') ?? 50);
    const issues = hits.slice(0, max).map((i) => this.present(i, api));
    return { status: 200, body: dc ? { startAt: 0, maxResults: max, total: hits.length, issues } : { issues, isLast: true } };
  }

  private present(i: JiraIssue, api: string): Record<string, unknown> {
    return {
      id: i.id,
      key: i.key,
      self: `${this.baseUrl}${api}/issue/${i.id}`,
      fields: { ...i.fields, status: { name: 'To Do' }, created: new Date(i.created).toISOString().replace('Z', '+0000') },
    };
  }

  private token(req: LoggedRequest): Reply {
    const a = this.options.auth;
    const b = (req.body ?? {}) as Record<string, string>;
    if (!a || a.type !== 'oauth') return { status: 404, body: {} };
    if (b.client_id !== a.clientId || b.client_secret !== a.clientSecret) return { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } };
    if (b.grant_type !== 'refresh_token' || !b.refresh_token || b.refresh_token !== this.validRefresh) {
      return { status: 403, body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } };
    }
    this.tokenRefreshes++;
    // Rotating refresh tokens: the one just used is dead now.
    this.validRefresh = `rt-${randomBytes(16).toString('hex')}`;
    const access = `at-${randomBytes(16).toString('hex')}`;
    const ttl = a.tokenTtlS ?? 3600;
    this.accessTokens.set(access, Date.now() + ttl * 1000);
    return { status: 200, body: { access_token: access, refresh_token: this.validRefresh, expires_in: ttl, scope: 'read:jira-work write:jira-work offline_access', token_type: 'Bearer' } };
  }
}
