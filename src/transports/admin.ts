// Operator endpoints on the HTTP server: remediation approvals decided by a person holding the
// operator scope. No MCP tool can reach these, so a model still cannot approve its own plan.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { recordOperatorDecision } from '../providers/iris/approval.js';
import { principalOf } from '../auth/principal.js';
import type { HttpAuthenticator } from './http.js';

const PREFIX = '/admin/approvals';
const DECISION = /^\/admin\/approvals\/(job_[A-Za-z0-9_-]{16,64})\/(approve|deny)$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage, limit = 16_384): Promise<Record<string, unknown> | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** True when the request was an admin request (answered here). */
export async function handleAdmin(app: App, authenticator: HttpAuthenticator | undefined, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) return false;
  // Without authentication there is no operator to recognise: the endpoints do not exist.
  if (!authenticator) {
    json(res, 404, { error: 'admin endpoints need auth.mode bearer or oauth' });
    return true;
  }
  const auth = await authenticator.authenticate(req, res);
  if (!auth) return true;
  const principal = principalOf(auth);
  if (!principal?.operator) {
    json(res, 403, { error: 'the operator scope is required' });
    return true;
  }
  const approvals = app.services.remediation.approvals;
  if (url.pathname === PREFIX && req.method === 'GET') {
    const now = new Date().toISOString();
    json(res, 200, { pending: approvals.listPending().filter((r) => r.expires_at > now) });
    return true;
  }
  const m = DECISION.exec(url.pathname);
  if (!m || req.method !== 'POST') {
    json(res, 404, { error: `use GET ${PREFIX} or POST ${PREFIX}/<job_id>/approve|deny` });
    return true;
  }
  const body = await readJson(req);
  if (!body) {
    json(res, 400, { error: 'the body must be a JSON object (at most 16 KiB)' });
    return true;
  }
  const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim().slice(0, 2000) : null;
  const decision = m[2] === 'approve' ? 'approved' : 'denied';
  if (decision === 'denied' && !reason) {
    json(res, 400, { error: 'a denial needs a reason (it is recorded and shown to the agent)' });
    return true;
  }
  const out = recordOperatorDecision(approvals, app.services.audit, { jobId: m[1]!, decision, by: `operator:${principal.id}`, reason, via: 'http' });
  if (!out.ok) json(res, out.row ? 409 : 404, { error: out.reason });
  else json(res, 200, { decision, job_id: m[1], plan_id: out.row.plan_id, instance: out.row.instance, by: `operator:${principal.id}` });
  return true;
}
