// The auth seam. The auth helper (functions/auth/) supplies `requireRole`; this file owns the
// table saying which role every /api route needs, and a gate that enforces it. An /api route
// missing from the table is refused (fail closed), and a unit test walks the app's routes
// against the table, so a route cannot be added without deciding who may call it.
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type RequireRole = (role: Role) => MiddlewareHandler;

/** Whoever the auth middleware let in (set by requireRole's implementation). */
export interface AuthUser {
  sub: string;
  name?: string;
  email?: string;
  roles: Role[];
}

declare module 'hono' {
  interface ContextVariableMap {
    user?: AuthUser;
  }
}

export const roleAtLeast = (have: readonly Role[], need: Role): boolean =>
  have.some((r) => ROLES.indexOf(r) >= ROLES.indexOf(need));

/**
 * `public`: anyone (the route checks an API key, a job token or a signature itself);
 * `self`: the route authenticates itself with an API key OR a session (uploads);
 * a role: the gate requires a session with at least that role.
 */
export type Access = Role | 'public' | 'self';

export interface RouteRule {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  access: Access;
}

/** Every /api route of the unified app and who may call it. */
export const ROUTE_ACCESS: readonly RouteRule[] = [
  { method: 'POST', path: '/api/jobs/submit', access: 'public' },
  { method: 'POST', path: '/api/events/ingest', access: 'public' },
  { method: 'POST', path: '/api/jobs', access: 'operator' },
  { method: 'GET', path: '/api/jobs', access: 'viewer' },
  { method: 'GET', path: '/api/jobs/:id', access: 'viewer' },
  { method: 'GET', path: '/api/jobs/:id/prompt', access: 'viewer' },
  { method: 'GET', path: '/api/jobs/:id/events', access: 'viewer' },
  { method: 'POST', path: '/api/jobs/:id/cancel', access: 'operator' },
  { method: 'POST', path: '/api/jobs/:id/retry', access: 'operator' },
  { method: 'DELETE', path: '/api/jobs/:id', access: 'operator' },
  { method: 'GET', path: '/api/resources/:kind', access: 'viewer' },
  { method: 'POST', path: '/api/resources/:kind', access: 'admin' },
  { method: 'GET', path: '/api/resources/:kind/:name', access: 'viewer' },
  { method: 'PUT', path: '/api/resources/:kind/:name', access: 'admin' },
  { method: 'DELETE', path: '/api/resources/:kind/:name', access: 'admin' },
  { method: 'GET', path: '/api/resources/agents/:name/preview', access: 'viewer' },
  { method: 'GET', path: '/api/stats/timeseries', access: 'viewer' },
  { method: 'GET', path: '/api/stats/summary', access: 'viewer' },
  // uploads: an operator session or a submit API key (functions/uploads/auth.ts)
  { method: 'POST', path: '/api/uploads', access: 'self' },
  { method: 'GET', path: '/api/uploads/:id', access: 'self' },
  { method: 'DELETE', path: '/api/uploads/:id', access: 'self' },
  // webhooks check their own signature; the ledger routes apply requireRole themselves
  { method: 'POST', path: '/api/webhooks/:source', access: 'public' },
  { method: 'GET', path: '/api/webhooks/:source/deliveries', access: 'viewer' },
  { method: 'POST', path: '/api/webhooks/:source/deliveries/:id/replay', access: 'operator' },
];

/** Prefixes whose owners do their own authentication (login flow, HMAC-signed webhooks). */
export const SELF_AUTHENTICATED_PREFIXES = ['/api/auth/', '/api/webhooks/'] as const;

interface CompiledRule extends RouteRule {
  re: RegExp;
  specificity: number;
}

function compile(rule: RouteRule): CompiledRule {
  const parts = rule.path.split('/').filter(Boolean);
  const re = new RegExp(`^/${parts.map((p) => (p.startsWith(':') ? '[^/]+' : escapeRe(p))).join('/')}/?$`);
  return { ...rule, re, specificity: parts.filter((p) => !p.startsWith(':')).length };
}
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The methods the table has for a path (an answer to a request with another one: 405, Allow). */
export function methodsFor(rules: readonly RouteRule[]): (path: string) => string[] {
  const compiled = rules.map(compile);
  return (path) => [...new Set(compiled.filter((r) => r.re.test(path)).map((r) => r.method))].sort();
}

/** The rule for a request: the most specific matching path wins (`/submit` over `/:id`). */
export function accessFor(
  rules: readonly RouteRule[],
): (method: string, path: string) => RouteRule | undefined {
  const compiled = rules.map(compile).sort((a, b) => b.specificity - a.specificity);
  return (method, path) => {
    const m = method === 'HEAD' ? 'GET' : method;
    return compiled.find((r) => r.method === m && r.re.test(path));
  };
}

/**
 * Middleware for /api/*: public routes pass, protected ones run requireRole(role), and anything
 * not in the table is refused. requireRole is called once per role, up front.
 */
export function routeGate(
  requireRole: RequireRole,
  rules: readonly RouteRule[] = ROUTE_ACCESS,
): MiddlewareHandler {
  const lookup = accessFor(rules);
  const allowed = methodsFor(rules);
  const byRole = new Map(ROLES.map((r) => [r, requireRole(r)] as const));
  return async function routeGateMiddleware(c, next) {
    const path = c.req.path;
    if (SELF_AUTHENTICATED_PREFIXES.some((p) => path.startsWith(p))) return next();
    const rule = lookup(c.req.method, path);
    if (!rule) {
      // a path the API has, asked with a method it does not take: 405 and what it takes
      const methods = allowed(path);
      if (methods.length > 0) {
        const allow = methods.includes('GET') ? [...methods, 'HEAD'].sort() : methods;
        throw new ApiError('method_not_allowed', `${c.req.method} is not allowed on ${path}`, {
          headers: { Allow: allow.join(', ') },
        });
      }
      throw new ApiError('not_found', `no route for ${c.req.method} ${path}`);
    }
    if (rule.access === 'public' || rule.access === 'self') return next();
    return byRole.get(rule.access)!(c, next);
  };
}
