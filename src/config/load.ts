// loadConfig: config/default.json (the shipped ticket templates), then each --config file merged
// over it, validated once by the schema, which supplies every default setting.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** config/ beside src/ and dist/: the shipped ticket templates and the IRIS parameter catalog. */
export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config');
export const DEFAULT_CONFIG_FILE = resolve(CONFIG_DIR, 'default.json');

/** Keys that were renamed: a file using the old name fails with the new one. */
const RENAMED_KEYS: Record<string, string> = {
  'server.metrics.port': 'server.metrics_port',
  'jobs.inline_budget_ms': 'jobs.default_inline_budget_ms',
  'jobs.ttl_hours': 'jobs.ttl_s',
};

/** A key whose name says it holds a secret must name an environment variable instead. */
const SECRET_KEY = /(password|secret|api_?key|token)$/i;

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface LoadConfigOptions {
  /** Files merged in order over config/default.json. */
  files?: string[];
  /** Extra objects merged after the files (tests, CLI flags). */
  overrides?: unknown[];
  /** Skip config/default.json: no shipped templates (settings still get the schema's defaults). */
  skipDefaults?: boolean;
}

type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid JSON (${(err as Error).message})`]);
  }
}

function checkKeys(value: unknown, path: string[], issues: string[], file: string): void {
  if (!isPlainObject(value)) {
    if (Array.isArray(value)) value.forEach((v, i) => checkKeys(v, [...path, String(i)], issues, file));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const keyPath = [...path, k];
    const dotted = keyPath.join('.');
    const renamed = RENAMED_KEYS[dotted];
    if (renamed) issues.push(`${file}: ${dotted}: this key was renamed to ${renamed}`);
    // Templates are ticket text, not settings: a field called "token" there is not a secret.
    if (path[0] !== 'templates' && SECRET_KEY.test(k) && typeof v === 'string' && v !== '') {
      issues.push(`${file}: ${dotted}: secrets are not read from files; set an environment variable and name it in ${k}_env`);
    }
    checkKeys(v, keyPath, issues, file);
  }
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${[...issue.path, k].join('.')}: unknown key`).join('; ');
  }
  return `${key}: ${issue.message}`;
}

/** Pure apart from reading the named files; never reads the environment itself. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const sources: Array<{ name: string; data: unknown }> = [];
  if (!options.skipDefaults) sources.push({ name: DEFAULT_CONFIG_FILE, data: readJsonFile(DEFAULT_CONFIG_FILE) });
  for (const f of options.files ?? []) sources.push({ name: f, data: readJsonFile(resolve(f)) });
  (options.overrides ?? []).forEach((o, i) => sources.push({ name: `override#${i}`, data: o }));

  const issues: string[] = [];
  let merged: unknown = {};
  for (const s of sources) {
    if (!isPlainObject(s.data)) {
      issues.push(`${s.name}: the top level must be a JSON object`);
      continue;
    }
    checkKeys(s.data, [], issues, s.name);
    merged = deepMerge(merged, s.data);
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(formatIssue));
  return parsed.data;
}

/** Secrets: read from the injected environment by the name a config key gives. */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}
