// What monitoring reads: /healthz (the process answers), /readyz (it takes MCP traffic) and
// /metrics (Prometheus text, operators only when authentication is on).
import type { App } from '../../app.js';
import { principalOf } from '../../auth/principal.js';
import { jsonRpcError, sendJson } from './respond.js';
import type { HttpAuthenticator, Route } from './types.js';

export const healthz: Route = (req, res, url) => {
  if (url.pathname !== '/healthz' || req.method !== 'GET') return false;
  sendJson(res, 200, { status: 'ok' });
  return true;
};

export function readyz(app: App): Route {
  return (req, res, url) => {
    if (url.pathname !== '/readyz' || req.method !== 'GET') return false;
    sendJson(res, app.ready ? 200 : 503, { ready: app.ready });
    return true;
  };
}

export function metrics(app: App, authenticator: HttpAuthenticator | undefined): Route {
  return async (req, res, url) => {
    if (url.pathname !== '/metrics' || req.method !== 'GET') return false;
    // With authentication on, metrics (tool names, hosts, instances) are for operators only.
    if (authenticator) {
      const auth = await authenticator.authenticate(req, res);
      if (!auth) return true;
      if (!principalOf(auth)?.operator) {
        jsonRpcError(res, 403, 'Forbidden: /metrics needs the operator scope');
        return true;
      }
    }
    const text = await app.services.metrics.text();
    res.writeHead(200, { 'content-type': app.services.metrics.contentType });
    res.end(text);
    return true;
  };
}
