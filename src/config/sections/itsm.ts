// Configuration of the ticket platforms (ServiceNow, Jira, the local desk): connections, auth
// (secrets only through *_env names), field rules, retries and timeouts.
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** One validation rule for one platform-native field (see docs/itsm.md). */
export const fieldRuleSchema = z
  .object({
    required: z.boolean().optional(),
    /** string (the default), string_array, or integer (a whole number, also as a numeric string). */
    type: z.enum(['string', 'string_array', 'integer']).optional(),
    max_length: z.number().int().positive().optional(),
    enum: z.array(z.string()).min(1).optional(),
    /** A JavaScript regular expression every value (each item of an array) must match. */
    pattern: z.string().optional(),
  })
  .strict();

export type FieldRule = z.infer<typeof fieldRuleSchema>;

const rulesSchema = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), fieldRuleSchema).default({});

export const itsmSection = z
  .object({
    default_platform: z.enum(['local', 'servicenow', 'jira']).default('local'),
    /** Retry policy for ServiceNow and Jira (the local desk never retries). */
    retry: z
      .object({
        /** Attempts in total, the first one included. */
        max_attempts: z.number().int().min(1).max(10).default(3),
        /** Delay before the first retry, in ms; also the floor for Retry-After: 0. */
        base_delay_ms: z.number().int().min(1).default(500),
        multiplier: z.number().min(1).default(2),
        /** Largest computed back-off, in ms. */
        max_delay_ms: z.number().int().min(1).default(10_000),
        /** Random spread as a fraction of the delay (0.2 = plus or minus 20%). */
        jitter: z.number().min(0).max(1).default(0.2),
        /** Longest upstream-requested wait (Retry-After, X-RateLimit-Reset) we honour in-job, in ms. */
        max_retry_after_ms: z.number().int().min(0).default(30_000),
      })
      .strict()
      .prefault({}),
    timeouts: z
      .object({
        /** TCP/TLS connect, in ms. */
        connect_ms: z.number().int().positive().default(5_000),
        /** Until the response headers arrive, in ms. */
        headers_ms: z.number().int().positive().default(8_000),
        /** Whole request including the body, in ms (keep below the breaker's timeout_ms). */
        total_ms: z.number().int().positive().default(9_000),
      })
      .strict()
      .prefault({}),
    /** Extra or overriding field rules per platform, merged over the built-in ones. */
    fields: z
      .object({ servicenow: rulesSchema, jira: rulesSchema, local: rulesSchema })
      .strict()
      .prefault({}),
    local: z
      .object({
        enabled: z.boolean().default(true),
        prefix: z.string().regex(/^[A-Z]{2,8}$/).default('LOC'),
        default_priority: z.enum(['P1', 'P2', 'P3', 'P4']).default('P3'),
        /** Time to resolve per priority, in minutes (the SLA due time of a new ticket). */
        sla_minutes: z
          .object({
            P1: z.number().int().positive().default(60),
            P2: z.number().int().positive().default(240),
            P3: z.number().int().positive().default(1440),
            P4: z.number().int().positive().default(4320),
          })
          .strict()
          .prefault({}),
        /** Base of the ticket URLs returned (an operator page may serve them later). */
        url_base: z.string().default('shield://local-desk/tickets/'),
      })
      .strict()
      .prefault({}),
    servicenow: z
      .object({
        enabled: z.boolean().default(false),
        /** https://<instance>.service-now.com */
        instance_url: z.string().url().optional(),
        table: z.string().regex(/^[a-z][a-z0-9_]*$/).default('incident'),
        /** Table API version: v2 answers an empty query with [] rather than 404. */
        api_version: z.enum(['v1', 'v2']).default('v2'),
        description_max_chars: z.number().int().positive().default(4000),
        auth: z
          .object({
            type: z.enum(['basic', 'oauth_password', 'oauth_client_credentials']).default('basic'),
            username: z.string().optional(),
            password_env: envName.default('SERVICENOW_PASSWORD'),
            client_id: z.string().optional(),
            client_secret_env: envName.default('SERVICENOW_CLIENT_SECRET'),
            /** Refresh a cached token this long before it expires, in ms. */
            expiry_skew_ms: z.number().int().min(0).default(30_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    jira: z
      .object({
        enabled: z.boolean().default(false),
        /** cloud: REST v3 with ADF descriptions; data_center: REST v2 with wiki markup. */
        deployment: z.enum(['cloud', 'data_center']).default('cloud'),
        /** https://<site>.atlassian.net, the Data Center base, or https://api.atlassian.com/ex/jira/<cloudId> for OAuth. */
        base_url: z.string().url().optional(),
        /** For OAuth 3LO: used to build base_url when base_url is not set. */
        cloud_id: z.string().optional(),
        project_key: z.string().regex(/^[A-Z][A-Z0-9_]+$/).optional(),
        default_issuetype: z.string().default('Task'),
        description_max_chars: z.number().int().positive().default(32_767),
        /**
         * Jira search is eventually consistent: after an ambiguous failure the lookup searches
         * again for up to this long before it concludes the issue was not created, in ms.
         */
        lookup_settle_ms: z.number().int().min(0).default(5_000),
        lookup_poll_ms: z.number().int().positive().default(500),
        auth: z
          .object({
            type: z.enum(['basic', 'pat', 'oauth']).default('basic'),
            /** Cloud: the Atlassian account email used with the API token. */
            email: z.string().optional(),
            api_token_env: envName.default('JIRA_API_TOKEN'),
            pat_env: envName.default('JIRA_PAT'),
            client_id: z.string().optional(),
            client_secret_env: envName.default('JIRA_CLIENT_SECRET'),
            /** Initial refresh token; rotated tokens are persisted in the store afterwards. */
            refresh_token_env: envName.default('JIRA_REFRESH_TOKEN'),
            token_url: z.string().url().default('https://auth.atlassian.com/oauth/token'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type ItsmConfig = z.infer<typeof itsmSection>;
