import type { MiddlewareHandler } from 'hono';

/** Roles of a logged-in user, lowest to highest: each role includes the ones before it. */
export type Role = 'viewer' | 'operator' | 'admin';

/** Middleware factory guarding a route: 401 without a session, 403 without the role. */
export type RequireRole = (role: Role) => MiddlewareHandler;
