// Operator endpoints on the HTTP server: remediation approvals decided by a person holding the
// operator scope. No MCP tool can reach these, so a model still cannot approve its own plan.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../../app.js';
import { principalOf } from '../../auth/principal.js';
import { recordOperatorDecision } from '../../providers/iris/approval.js';
import { readBody } from './guards.js';
import { sendJson } from './respond.js';
import type { HttpAuthenticator, Route } from './types.js';

const PREFIX = '/admin/approvals';
const DECISION = /^\/admin\/approvals\/(job_[A-Za-z0-9_-]{16,64})\/(approve|deny)$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { 'cache-control': 'no-store' });
}

async function readJson(req: IncomingMessage, limit = 16_384): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(req, limit);
  if (raw === 'too_large') return undefined;
  if (raw.length === 0) return {};
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** POST /admin/approvals/<job_id>/approve|deny, on behalf of `operator`. */
async function decide(app: App, req: IncomingMessage, res: ServerResponse, jobId: string, verb: string, operator: string): Promise<void> {
  const body = await readJson(req);
  if (!body) return json(res, 400, { error: 'the body must be a JSON object (at most 16 KiB)' });
  const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim().slice(0, 2000) : null;
  const decision = verb === 'approve' ? 'approved' : 'denied';
  if (decision === 'denied' && !reason) return json(res, 400, { error: 'a denial needs a reason (it is recorded and shown to the agent)' });
  const by = `operator:${operator}`;
  const out = recordOperatorDecision(app.services.remediation.approvals, app.services.audit, { jobId, decision, by, reason, via: 'http' });
  if (!out.ok) json(res, out.row ? 409 : 404, { error: out.reason });
  else json(res, 200, { decision, job_id: jobId, plan_id: out.row.plan_id, instance: out.row.instance, by });
}

/** GET /admin/approvals and the decisions under it; answered here, whatever the outcome. */
export function adminRoute(app: App, authenticator: HttpAuthenticator | undefined): Route {
  return async (req, res, url) => {
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
    if (url.pathname === PREFIX && req.method === 'GET') {
      const now = new Date().toISOString();
      json(res, 200, { pending: app.services.remediation.approvals.listPending().filter((r) => r.expires_at > now) });
      return true;
    }
    const m = DECISION.exec(url.pathname);
    if (!m || req.method !== 'POST') json(res, 404, { error: `use GET ${PREFIX} or POST ${PREFIX}/<job_id>/approve|deny` });
    else await decide(app, req, res, m[1]!, m[2]!, principal.id);
    return true;
  };
}
