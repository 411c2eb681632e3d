// Config defaults are written once, in the schema: default.json holds only the shipped templates,
// and the resolved defaults are the ones that held when default.json repeated them (issue 9).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../../src/config/load.js';

const SHIPPED_TEMPLATES = ['change_request', 'iris_config_change', 'outage', 'rca_incident'];

/** Every setting and its default as resolved before the schema became their only home. */
const EFFECTIVE_DEFAULTS = {
  server: {
    name: 'shield-mcp',
    transport: 'stdio',
    host: '127.0.0.1',
    port: 8787,
    shutdown_timeout_ms: 10_000,
    http: {
      path: '/mcp',
      mode: 'stateful',
      allowed_origins: [],
      allowed_hosts: [],
      max_body_bytes: 1_048_576,
      session_idle_timeout_ms: 1_800_000,
      max_sessions: 1000,
    },
    metrics_port: null,
  },
  logging: { level: 'info' },
  store: { data_dir: './data', file: 'shield.db' },
  jobs: {
    backend: 'sqlite',
    redis: { url: 'redis://127.0.0.1:6379', prefix: 'shield', lock_duration_ms: 30_000, stalled_interval_ms: 30_000 },
    ttl_s: 604_800,
    cleanup_interval_ms: 600_000,
    poll_after_ms: 1000,
    default_inline_budget_ms: 2000,
    max_active_per_principal: 20,
    default_concurrency: 4,
    tools: {},
  },
  breakers: {
    defaults: {
      timeout_ms: 10_000,
      error_threshold_percent: 50,
      volume_threshold: 5,
      reset_timeout_ms: 30_000,
      rolling_window_ms: 10_000,
      rolling_buckets: 10,
    },
    max_dynamic: 256,
    upstreams: {},
  },
  tools: { enabled_toolsets: ['itsm', 'knowledge', 'jobs', 'remediation'], read_only: false },
  itsm: {
    default_platform: 'local',
    retry: { max_attempts: 3, base_delay_ms: 500, multiplier: 2, max_delay_ms: 10_000, jitter: 0.2, max_retry_after_ms: 30_000 },
    timeouts: { connect_ms: 5000, headers_ms: 8000, total_ms: 9000 },
    fields: { servicenow: {}, jira: {}, local: {} },
    local: {
      enabled: true,
      prefix: 'LOC',
      default_priority: 'P3',
      sla_minutes: { P1: 60, P2: 240, P3: 1440, P4: 4320 },
      url_base: 'shield://local-desk/tickets/',
    },
    servicenow: {
      enabled: false,
      table: 'incident',
      api_version: 'v2',
      description_max_chars: 4000,
      auth: { type: 'basic', password_env: 'SERVICENOW_PASSWORD', client_secret_env: 'SERVICENOW_CLIENT_SECRET', expiry_skew_ms: 30_000 },
    },
    jira: {
      enabled: false,
      deployment: 'cloud',
      default_issuetype: 'Task',
      description_max_chars: 32_767,
      lookup_settle_ms: 5000,
      lookup_poll_ms: 500,
      auth: {
        type: 'basic',
        api_token_env: 'JIRA_API_TOKEN',
        pat_env: 'JIRA_PAT',
        client_secret_env: 'JIRA_CLIENT_SECRET',
        refresh_token_env: 'JIRA_REFRESH_TOKEN',
        token_url: 'https://auth.atlassian.com/oauth/token',
      },
    },
  },
  knowledge: {
    store: 'embedded',
    default_collection: 'knowledge',
    crawler: {
      user_agent: 'ShieldBot/0.1 (+https://github.com/shield-mcp; polite crawler)',
      max_pages_cap: 500,
      max_depth_cap: 10,
      concurrency: 4,
      per_host_concurrency: 2,
      min_delay_ms: 1000,
      max_crawl_delay_ms: 30_000,
      fetch_timeout_ms: 10_000,
      max_response_bytes: 2_097_152,
      max_redirects: 5,
      robots_cache_ttl_s: 86_400,
      allowed_ports: [80, 443, 8080, 8443],
      allow_private_networks: false,
      allow_private_origins: [],
      use_sitemaps: true,
    },
    chunking: { max_chars: 1500, overlap_chars: 150, min_chars: 80 },
    embedder: { provider: 'none', url: 'http://127.0.0.1:11434', model: 'nomic-embed-text', batch_size: 32, retries: 2 },
    qdrant: { url: 'http://127.0.0.1:6333', upsert_batch: 64, timeout_ms: 10_000 },
    search: { max_limit: 20, response_budget_chars: 12_000 },
  },
  remediation: {
    default_policy: 'confirm',
    catalog_file: 'iris-parameters.json',
    parameters: [],
    plan_ttl_s: 900,
    approval_ttl_s: 600,
    approval_poll_ms: 1000,
    backup_retention: 10,
    max_log_bytes: 8_388_608,
    instances: {},
  },
  auth: {
    mode: 'none',
    allow_unauthenticated_remote: false,
    tokens: [],
    scopes: {
      'shield:read': { toolsets: ['itsm', 'knowledge', 'jobs', 'remediation'], read_only: true },
      'shield:itsm': { toolsets: ['itsm', 'jobs'], read_only: false },
      'shield:knowledge': { toolsets: ['knowledge', 'jobs'], read_only: false },
      'shield:remediation': { toolsets: ['remediation', 'jobs'], read_only: false },
      'shield:jobs': { toolsets: ['jobs'], read_only: false },
    },
    operator_scope: 'shield:operator',
  },
};

function withoutTemplates(config: object): object {
  const { templates: _templates, ...settings } = config as Record<string, unknown>;
  return settings;
}

describe('config defaults', () => {
  it('default.json holds data only: the shipped templates, no setting', () => {
    const shipped = JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(shipped)).toEqual(['templates']);
    expect(Object.keys(shipped.templates as object).sort()).toEqual(SHIPPED_TEMPLATES);
  });

  it('resolves every setting to the same value as before the schema owned them all', () => {
    const config = loadConfig();
    expect(withoutTemplates(config)).toEqual(EFFECTIVE_DEFAULTS);
    expect(Object.keys(config.templates).sort()).toEqual(SHIPPED_TEMPLATES);
  });

  it('skipDefaults drops the shipped templates and nothing else', () => {
    const bare = loadConfig({ skipDefaults: true });
    expect(bare.templates).toEqual({});
    expect(withoutTemplates(bare)).toEqual(EFFECTIVE_DEFAULTS);
  });

  it('a file that sets one field of a section gets the others from the schema', () => {
    const c = loadConfig({
      overrides: [
        {
          breakers: { defaults: { timeout_ms: 5000 }, upstreams: { jira: { timeout_ms: 20_000 } } },
          itsm: { local: { sla_minutes: { P1: 30 } } },
          server: { http: { mode: 'stateless' } },
        },
      ],
    });
    expect(c.breakers.defaults).toEqual({ ...EFFECTIVE_DEFAULTS.breakers.defaults, timeout_ms: 5000 });
    // An upstream override stays partial: unset fields fall back to defaults when the breaker is made.
    expect(c.breakers.upstreams).toEqual({ jira: { timeout_ms: 20_000 } });
    expect(c.itsm.local.sla_minutes).toEqual({ P1: 30, P2: 240, P3: 1440, P4: 4320 });
    expect(c.server.http).toEqual({ ...EFFECTIVE_DEFAULTS.server.http, mode: 'stateless' });
  });

  it('a file may change one field of a shipped template and keep the rest', () => {
    const c = loadConfig({ overrides: [{ templates: { outage: { platforms: { jira: { priority: 'High' } } } } }] });
    const shipped = loadConfig().templates.outage;
    expect(c.templates.outage?.platforms.jira).toEqual({ ...shipped?.platforms.jira, priority: 'High' });
    expect(c.templates.outage?.platforms.local).toEqual(shipped?.platforms.local);
  });

  // The README's configuration examples, each resolved over the defaults.
  it.each([
    ['HTTP replicas', { server: { transport: 'http', http: { mode: 'stateless' } }, jobs: { backend: 'redis' } }, {
      server: { transport: 'http', port: 8787, http: { mode: 'stateless', path: '/mcp' } },
      jobs: { backend: 'redis', redis: EFFECTIVE_DEFAULTS.jobs.redis },
    }],
    ['Qdrant with Ollama', { knowledge: { store: 'qdrant', embedder: { provider: 'ollama' } } }, {
      knowledge: { store: 'qdrant', embedder: { ...EFFECTIVE_DEFAULTS.knowledge.embedder, provider: 'ollama' }, qdrant: EFFECTIVE_DEFAULTS.knowledge.qdrant },
    }],
    ['ServiceNow', { itsm: { servicenow: { enabled: true, instance_url: 'https://x.service-now.com', auth: { username: 'u' } } } }, {
      itsm: { servicenow: { enabled: true, table: 'incident', api_version: 'v2', auth: { type: 'basic', username: 'u', password_env: 'SERVICENOW_PASSWORD' } } },
    }],
    ['Jira Cloud', { itsm: { default_platform: 'jira', jira: { enabled: true, base_url: 'https://x.atlassian.net', project_key: 'OPS' } } }, {
      itsm: { default_platform: 'jira', jira: { deployment: 'cloud', default_issuetype: 'Task', lookup_settle_ms: 5000, auth: { type: 'basic', api_token_env: 'JIRA_API_TOKEN' } } },
    }],
    ['bearer tokens', { auth: { mode: 'bearer', tokens: [{ id: 'ci', sha256: 'A'.repeat(64), scopes: ['shield:itsm'] }] } }, {
      auth: { mode: 'bearer', tokens: [{ id: 'ci', sha256: 'a'.repeat(64), scopes: ['shield:itsm'], operator: false }], operator_scope: 'shield:operator' },
    }],
    ['OAuth', { auth: { mode: 'oauth', oauth: { issuer: 'https://idp.example.com', resource: 'https://shield.example.com/mcp' } } }, {
      auth: { oauth: { algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], clock_tolerance_s: 30, principal_claim: 'sub', fetch_timeout_ms: 5000 } },
    }],
    ['IRIS instances', { remediation: { instances: { demo: { kind: 'emulated', state_dir: './data/iris', superserver_port: 51773 } } } }, {
      remediation: {
        default_policy: 'confirm',
        instances: {
          demo: {
            policy: null,
            web_port: null,
            http_check_path: null,
            active_users_command: null,
            description: '',
            timeouts: { command_ms: 15_000, stop_ms: 300_000, start_ms: 300_000, health_ms: 120_000, health_poll_ms: 1000 },
          },
        },
      },
    }],
  ])('%s', (_name, file, expected) => {
    expect(loadConfig({ overrides: [file] })).toMatchObject(expected);
  });
});

describe('src/config imports', () => {
  it('form no cycle', () => {
    const root = resolve(import.meta.dirname, '../../src/config');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(root, f));
    const importsOf = (file: string): string[] =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s*'(\.[^']+)'/gm)]
        .map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')))
        .filter((f) => f.startsWith(root));
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (file: string, path: string[]): void => {
      if (path.includes(file)) {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(root, f)).join(' -> '));
        return;
      }
      if (done.has(file)) return;
      for (const dep of importsOf(file)) visit(dep, [...path, file]);
      done.add(file);
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
