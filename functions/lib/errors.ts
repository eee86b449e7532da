// One error envelope for every error the functions answer:
//   {"error": {"code": "...", "message": "...", "details": ..., "requestId": "..."}}
// Handlers throw ApiError; app.onError turns it (and anything else) into the envelope; the zod
// validator hook turns issues into the same shape with field paths.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Logger } from './log.ts';

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_body: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  already_finished: 409,
  request_ended: 409,
  sequence_gap: 409,
  idempotency_key_reused: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  upstream_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;
export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown; requestId?: string };
}

export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly headers: Record<string, string>;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(ERROR_STATUS[code], { message, cause: opts.cause });
    this.code = code;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }
}

export interface FieldIssue {
  path: string;
  message: string;
  code?: string;
}

/** zod issues → `[{path: "repository.url", message}]` (path "" for the whole body). */
export function fieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.slice(0, 50).map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
    code: i.code,
  }));
}

export function invalidBody(error: z.core.$ZodError, what = 'request body'): ApiError {
  const details = fieldIssues(error);
  // the first issue in the message too: a client that shows only the message still says which field
  const first = details[0];
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  const summary = first ? `: ${first.path ? `${first.path}: ` : ''}${first.message}${more}` : '';
  return new ApiError('invalid_body', `${what} is invalid${summary}`, { details });
}

/** The @hono/zod-validator hook: every validation failure becomes the envelope. */
export function validationHook(result: { success: boolean; error?: unknown; target: string }): void {
  if (!result.success) {
    throw invalidBody(
      result.error as z.core.$ZodError,
      result.target === 'json' ? 'request body' : result.target,
    );
  }
}

export function envelope(c: Context, err: ApiError): Response {
  const body: ErrorBody = {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
      requestId: c.get('requestId'),
    },
  };
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(body, err.status as ContentfulStatusCode);
}

const STATUS_CODE: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  502: 'upstream_error',
  503: 'upstream_unavailable',
};

/** Any thrown value → ApiError (HTTPExceptions from Hono's middleware keep their status). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = STATUS_CODE[err.status] ?? (err.status >= 500 ? 'internal' : 'bad_request');
    const message = err.status === 401 ? 'authentication required' : err.message || code.replaceAll('_', ' ');
    const apiErr = new ApiError(code, message, { cause: err });
    const res = err.getResponse();
    const wwwAuth = res.headers.get('WWW-Authenticate');
    if (wwwAuth) apiErr.headers['WWW-Authenticate'] = wwwAuth;
    return apiErr;
  }
  return new ApiError('internal', 'internal error', { cause: err });
}

export function errorHandler(log: Logger): ErrorHandler {
  return (err, c) => {
    const apiErr = toApiError(err);
    if (apiErr.status >= 500) {
      log.error('request failed', {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        code: apiErr.code,
        error: describe(apiErr.cause ?? err),
      });
    }
    return envelope(c, apiErr);
  };
}

export const notFoundHandler: NotFoundHandler = (c) =>
  envelope(c, new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`));

/** A loggable description of an error: name and message, never request data. */
export function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 500);
  return String(err).slice(0, 500);
}
