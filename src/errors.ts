// The one error type for expected failures: a stable code the model (and callers) branch on.

export const ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'VALIDATION_FAILED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_REJECTED',
  'POLICY_DENIED',
  'APPROVAL_REQUIRED',
  'URL_NOT_ALLOWED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'CANCELLED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Default recovery hints, written for the model that reads them. */
const DEFAULT_HINTS: Record<ErrorCode, string> = {
  INVALID_INPUT: 'Fix the arguments named in details and call again.',
  NOT_FOUND: 'Check the identifier; list the available items first if unsure.',
  CONFLICT: 'The target changed since it was read or planned: re-read it and plan again.',
  VALIDATION_FAILED: 'Correct every field listed in details and call again.',
  UPSTREAM_UNAVAILABLE: 'The upstream is unavailable; retry after retry_after_s seconds.',
  UPSTREAM_TIMEOUT: 'The upstream did not answer in time; retry later.',
  UPSTREAM_RATE_LIMITED: 'The upstream is rate limiting; retry after retry_after_s seconds.',
  UPSTREAM_REJECTED: 'The upstream refused the request; correct it using details and do not retry unchanged.',
  POLICY_DENIED: 'Policy forbids this action; ask a human operator.',
  APPROVAL_REQUIRED: 'A human operator must approve this plan before it can be applied.',
  URL_NOT_ALLOWED: 'Use a public http(s) URL within the allowed domains.',
  FORBIDDEN: 'The caller lacks the permission for this; ask an operator for access.',
  RATE_LIMITED: 'Too many requests or jobs from this caller; retry after retry_after_s seconds.',
  CANCELLED: 'The operation was cancelled; start it again if it is still needed.',
  INTERNAL: 'An internal error occurred; retry once, then report it with the trace_id.',
};

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_RATE_LIMITED',
  'RATE_LIMITED',
  'INTERNAL',
]);

export interface ShieldErrorOptions {
  hint?: string;
  retryable?: boolean;
  retryAfterS?: number;
  details?: unknown;
  cause?: unknown;
  /** HTTP status of the upstream answer, when there was one (breakers use it). */
  status?: number;
}

/** Structured error as it travels to clients (results, job records). */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint: string;
  retryable: boolean;
  retry_after_s?: number;
  details?: unknown;
}

export class ShieldError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly retryable: boolean;
  readonly retryAfterS: number | undefined;
  readonly details: unknown;
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options: ShieldErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShieldError';
    this.code = code;
    this.hint = options.hint ?? DEFAULT_HINTS[code];
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.retryAfterS = options.retryAfterS;
    this.details = options.details;
    this.status = options.status;
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message, hint: this.hint, retryable: this.retryable };
    if (this.retryAfterS !== undefined) info.retry_after_s = this.retryAfterS;
    if (this.details !== undefined) info.details = this.details;
    return info;
  }
}

export function isShieldError(err: unknown): err is ShieldError {
  return err instanceof ShieldError;
}

/** Expected failures keep their code; anything else is a bug, reported without its internals. */
export function toErrorInfo(err: unknown, traceId?: string): ErrorInfo {
  if (err instanceof ShieldError) return err.toInfo();
  return {
    code: 'INTERNAL',
    message: traceId ? `Internal error (trace_id ${traceId}).` : 'Internal error.',
    hint: DEFAULT_HINTS.INTERNAL,
    retryable: true,
  };
}

/** Rebuild a ShieldError from stored info (a job record's error). */
export function fromErrorInfo(info: ErrorInfo): ShieldError {
  return new ShieldError(info.code, info.message, {
    hint: info.hint,
    retryable: info.retryable,
    ...(info.retry_after_s !== undefined ? { retryAfterS: info.retry_after_s } : {}),
    ...(info.details !== undefined ? { details: info.details } : {}),
  });
}
