// Configuration of IRIS instances, the CPF parameter catalog and approval policy.
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

export const APPROVAL_POLICIES = ['off', 'plan_only', 'confirm', 'auto'] as const;
export type ApprovalPolicy = (typeof APPROVAL_POLICIES)[number];

/** Every time limit of one instance's control operations, in ms. */
const timeoutsSchema = z
  .object({
    /** qlist, the active-users probe and other quick commands. */
    command_ms: z.number().int().positive().default(15_000),
    /** `iris stop <inst> quietly` must finish within this. */
    stop_ms: z.number().int().positive().default(300_000),
    /** `iris start <inst>` must finish within this. */
    start_ms: z.number().int().positive().default(300_000),
    /** After start: qlist running+ok, TCP and HTTP checks must all pass within this. */
    health_ms: z.number().int().positive().default(120_000),
    /** Interval between health probes. */
    health_poll_ms: z.number().int().positive().default(1000),
  })
  .strict()
  .prefault({});

const common = {
  /** Instance name as `iris qlist` prints it (defaults to the config key upper-cased). */
  iris_name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/).optional(),
  /** off | plan_only | confirm | auto; null inherits remediation.default_policy. */
  policy: z.enum(APPROVAL_POLICIES).nullable().default(null),
  superserver_port: port,
  /** Private web server port; null when there is none. */
  web_port: port.nullable().default(null),
  /** Optional HTTP health check path on the web port (e.g. /api/mgmnt/); null skips it. */
  http_check_path: z.string().startsWith('/').nullable().default(null),
  /**
   * Active-users probe: argv run with execFile (no shell); prints one line per active user.
   * null: emulated instances use the emulator's own probe, real instances report "unknown".
   */
  active_users_command: z.array(z.string().min(1)).min(1).nullable().default(null),
  timeouts: timeoutsSchema,
  description: z.string().default(''),
};

const irisInstance = z
  .object({
    kind: z.literal('iris'),
    install_dir: z.string().min(1),
    /** Default <install_dir>/iris.cpf. */
    cpf_path: z.string().min(1).optional(),
    /** Default <install_dir>/bin/iris. */
    iris_command: z.string().min(1).optional(),
    /** Default <install_dir>/mgr/messages.log. */
    messages_log: z.string().min(1).optional(),
    ...common,
  })
  .strict();

const emulatedInstance = z
  .object({
    kind: z.literal('emulated'),
    /** Directory the emulator manages (iris.cpf, mgr/messages.log, state and faults). */
    state_dir: z.string().min(1),
    ...common,
  })
  .strict();

export const instanceSchema = z.discriminatedUnion('kind', [irisInstance, emulatedInstance]);
export type InstanceConfig = z.infer<typeof instanceSchema>;

export const parameterSpecSchema = z
  .object({
    section: z.string().min(1),
    name: z.string().min(1),
    type: z.enum(['int', 'int_list', 'bool', 'enum', 'string']),
    unit: z.string().default(''),
    /** Inclusive bounds for int (and each element of int_list). */
    min: z.number().optional(),
    max: z.number().optional(),
    /** Values accepted besides the range (e.g. gmheap 0 = automatic). */
    also_allowed: z.array(z.string()).default([]),
    /** int_list: number of elements. */
    list_length: z.number().int().positive().optional(),
    /** enum: the allowed values. */
    values: z.array(z.string()).optional(),
    /** string: a regex the value must match. */
    pattern: z.string().optional(),
    restart_required: z.boolean(),
    agent_may_change: z.boolean(),
    description: z.string().default(''),
  })
  .strict();
export type ParameterSpec = z.infer<typeof parameterSpecSchema>;

export const remediationSection = z
  .object({
    /** Policy of instances that do not set their own. */
    default_policy: z.enum(APPROVAL_POLICIES).default('confirm'),
    /** Catalog file: a name is looked up in config/, a path is used as given. */
    catalog_file: z.string().default('iris-parameters.json'),
    /** Extra or overriding catalog entries (matched on section + name). */
    parameters: z.array(parameterSpecSchema).default([]),
    /** A plan can be applied for this long after it was made, in seconds. */
    plan_ttl_s: z.number().int().positive().default(900),
    /** A pending approval (elicitation or operator CLI) expires after this, in seconds. */
    approval_ttl_s: z.number().int().positive().default(600),
    /** How often a job waiting for an operator looks at the store, in ms. */
    approval_poll_ms: z.number().int().positive().default(1000),
    /** Shield backups kept beside iris.cpf per instance (oldest deleted first). */
    backup_retention: z.number().int().min(1).default(10),
    /** Most bytes read from the end of messages.log per call. */
    max_log_bytes: z.number().int().positive().default(8 * 1024 * 1024),
    instances: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'instance names: lower case, digits, _ and -'), instanceSchema).default({}),
  })
  .strict()
  .prefault({});

export type RemediationConfig = z.infer<typeof remediationSection>;
