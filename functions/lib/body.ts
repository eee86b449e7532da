// Request-body helpers shared by the areas: a size limit answered with the 413 envelope, and
// zod validation answered with the 400 envelope (field paths in details).
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler, ValidationTargets } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { ApiError, validationHook } from './errors.ts';

export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new ApiError('payload_too_large', `request body is larger than ${maxBytes} bytes`, {
      details: { maxBytes },
    });
  };
  const streaming = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async function limitBody(c, next) {
    // A declared length (the server reads exactly that much) is judged up front, as bodyLimit
    // does, without touching the body: on Node the handler then reads it straight from the
    // socket instead of through a web stream built for every request.
    const headers = c.req.raw.headers;
    const declared = headers.get('content-length');
    if (declared !== null && !headers.has('transfer-encoding')) {
      if (Number.parseInt(declared, 10) > maxBytes) tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}

/** JSON bodies only: anything else is 415 before it is read. */
export const requireJson: MiddlewareHandler = async function requireJson(c, next) {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError('unsupported_media_type', 'request body must be application/json');
  }
  await next();
};

/**
 * A list's page size from the query: decimal digits only (not `0x10`, `1e2` or blank), 1 to `max`;
 * absent, `fallback`.
 */
export const pageLimit = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, `a whole number of items, 1 to ${max}`)
    .transform(Number)
    .pipe(z.int().min(1).max(max))
    .default(fallback);

export const validate = <T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) => zValidator(target, schema, validationHook);

/** A Kubernetes object name from a path parameter, or a 404 (nothing by that name can exist). */
export function objectNameParam(value: string | undefined, what: string): string {
  if (!value || value.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) {
    throw new ApiError('not_found', `${what} not found`);
  }
  return value;
}
