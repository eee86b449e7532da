// A stand-in for the real auth (functions/auth/) in tests: the caller names itself and its role in
// `X-Test-User: <sub>:<role>`. Never mounted by main.*.ts.
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../lib/errors.ts';
import { type RequireRole, ROLES, type Role, roleAtLeast } from '../lib/roles.ts';

export const TEST_USER_HEADER = 'X-Test-User';

export const testRequireRole: RequireRole = (role: Role): MiddlewareHandler =>
  async function requireTestRole(c, next) {
    const raw = c.req.header(TEST_USER_HEADER);
    const [sub, have] = (raw ?? '').split(':');
    if (!sub || !have || !(ROLES as readonly string[]).includes(have)) {
      throw new ApiError('unauthorized', 'login required');
    }
    if (!roleAtLeast([have as Role], role)) throw new ApiError('forbidden', `this needs the ${role} role`);
    c.set('user', { sub, roles: [have as Role] });
    await next();
  };

export const asUser = (role: Role, sub = `test-${role}`) => ({ [TEST_USER_HEADER]: `${sub}:${role}` });
