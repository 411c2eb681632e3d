// The contracts the HTTP transport's pieces share: routes, the authentication hook, the MCP server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** A request once authenticated: the SDK reads `auth` and hands it to handlers as authInfo. */
export type AuthedRequest = IncomingMessage & { auth?: AuthInfo };

/** One route: answers the request and returns true, or returns false to let the next one try. */
export type Route = (req: AuthedRequest, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

/** Inbound authentication hook: returns the caller, or writes the refusal itself and returns null. */
export interface HttpAuthenticator {
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<AuthInfo | null>;
  /** Extra routes (e.g. /.well-known/oauth-protected-resource); true when handled. */
  route?: Route;
}

/** What a transport connects to: the SDK's Server or McpServer both fit. */
export interface ConnectableServer {
  connect(transport: StreamableHTTPServerTransport): Promise<void>;
  close(): Promise<void>;
}
