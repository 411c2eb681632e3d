// Command-line parsing for `shield-mcp`: options, subcommands and the help text.
import { parseArgs } from 'node:util';

export const HELP = `Usage: shield-mcp [serve] [options]
       shield-mcp <command> [arguments] [options]

Serve MCP (default command):
  --transport stdio|http   Transport to serve (default: stdio, or server.transport in config)
  --config FILE            Config file merged over config/default.json; repeat to layer several
  --host H                 HTTP bind address (default 127.0.0.1)
  --port P                 HTTP port (default 8787; 0 picks a free port)
  --data-dir DIR           Directory of the embedded store (default ./data)
  --log-level LEVEL        trace|debug|info|warn|error|fatal|silent (default info)

Other commands:
  tools                    Print the tool inventory as JSON (after config filtering)
  check-config             Validate the configuration and exit (non-zero when invalid)
  approvals                List remediation jobs awaiting a human decision (same --data-dir)
  approve <job_id>         Approve the plan a remediation job is waiting on
  deny <job_id> --reason R Deny it, with the reason recorded in the audit log
  hash-token               Read a token on stdin and print its SHA-256 for auth.tokens

  --reason R               With deny: why the plan is denied

General:
  -h, --help               Show this help
  -v, --version            Print the version

Secrets (ServiceNow, Jira, Qdrant, tokens) are read only from environment variables named in the
config (keys ending in _env). Logs are JSON lines on stderr; on stdio, stdout carries only MCP.
`;

export interface ParsedArgs {
  command: string;
  positionals: string[];
  transport?: 'stdio' | 'http';
  configFiles: string[];
  host?: string;
  port?: number;
  dataDir?: string;
  logLevel?: string;
  reason?: string;
  help: boolean;
  version: boolean;
}

export class UsageError extends Error {}

export function parseCli(argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        transport: { type: 'string' },
        config: { type: 'string', multiple: true },
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        reason: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const [command = 'serve', ...positionals] = parsed.positionals;
  if (v.transport !== undefined && v.transport !== 'stdio' && v.transport !== 'http') {
    throw new UsageError(`--transport must be stdio or http, not ${v.transport}`);
  }
  let port: number | undefined;
  if (v.port !== undefined) {
    port = Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, not ${v.port}`);
  }
  return {
    command,
    positionals,
    ...(v.transport ? { transport: v.transport } : {}),
    configFiles: v.config ?? [],
    ...(v.host ? { host: v.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(v['data-dir'] ? { dataDir: v['data-dir'] } : {}),
    ...(v['log-level'] ? { logLevel: v['log-level'] } : {}),
    ...(v.reason ? { reason: v.reason } : {}),
    help: v.help ?? false,
    version: v.version ?? false,
  };
}

/** CLI flags as a config layer merged after the files. */
export function flagOverrides(a: ParsedArgs): Record<string, unknown> {
  const server: Record<string, unknown> = {};
  if (a.transport) server.transport = a.transport;
  if (a.host) server.host = a.host;
  if (a.port !== undefined) server.port = a.port;
  const out: Record<string, unknown> = {};
  if (Object.keys(server).length) out.server = server;
  if (a.dataDir) out.store = { data_dir: a.dataDir };
  if (a.logLevel) out.logging = { level: a.logLevel };
  return out;
}
