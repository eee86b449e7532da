// Fixtures shared by the Node tests and the runtime suite (Node and Deno): web APIs only here.
import { Hono } from 'hono';
import { envelope, toApiError } from '../../lib/errors.ts';
import type { Role } from '../../lib/roles.ts';
import type { Env } from '../config.ts';
import type { Auth } from '../index.ts';
import type { Browser } from './browser.ts';

export interface TestAccount {
  password: string;
  name: string;
  email: string;
  groups: string[];
}

export const JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';

export const ACCOUNTS: Record<string, TestAccount> = {
  alice: {
    password: 'alice-pw',
    name: 'Alice Admin',
    email: 'alice@example.test',
    groups: ['platform-admins', 'staff'],
  },
  oscar: { password: 'oscar-pw', name: 'Oscar Operator', email: 'oscar@example.test', groups: ['ops'] },
  vera: { password: 'vera-pw', name: 'Vera Viewer', email: 'vera@example.test', groups: ['readers'] },
  nobody: { password: 'nobody-pw', name: 'No Body', email: 'nobody@example.test', groups: ['unrelated'] },
};

export const ROLE_ENV: Env = {
  AUTH_ADMIN_GROUPS: 'platform-admins',
  AUTH_OPERATOR_GROUPS: 'ops, release-managers',
  AUTH_VIEWER_GROUPS: 'readers',
};

/** A stand-in API: the same guard the functions put on their routes. */
export interface TestRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  role: Role;
}

export const TEST_ROUTES: readonly TestRoute[] = [
  { method: 'GET', path: '/api/jobs', role: 'viewer' },
  { method: 'POST', path: '/api/jobs/run-1/cancel', role: 'operator' },
  { method: 'PUT', path: '/api/models/m1', role: 'admin' },
];

/** The auth routes, and each test route behind requireRole(role) answering 200 when let through. */
export function testApp(auth: Auth): Hono {
  const app = new Hono();
  app.onError((err, c) => envelope(c, toApiError(err)));
  app.route('/api/auth', auth.routes);
  for (const r of TEST_ROUTES) {
    app.on(r.method, r.path, auth.requireRole(r.role), (c) =>
      c.json({ ok: true, route: `${r.method} ${r.path}`, user: c.get('user') ?? null }),
    );
  }
  app.notFound((c) => c.text('page', 200));
  return app;
}

/**
 * Drives a login through the provider's forms up to (not including) the app's callback, and returns
 * the callback URL the provider redirected to. The browser then holds the app's login-flow cookie.
 */
export async function driveLogin(
  browser: Browser,
  appOrigin: string,
  redirectUri: string,
  account: string,
  returnTo = '/',
): Promise<URL> {
  const stopBefore = (u: URL) => u.href.startsWith(redirectUri);
  let page = await browser.navigate(
    `${appOrigin}/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`,
    {},
    { stopBefore },
  );
  for (let step = 0; step < 4 && page.status !== 0; step++) {
    if (page.status !== 200) {
      throw new Error(`unexpected ${page.status} at ${page.url.href}: ${page.body.slice(0, 300)}`);
    }
    const fields: Record<string, string> = page.body.includes('name="password"')
      ? { login: account, password: ACCOUNTS[account]?.password ?? '' }
      : {};
    page = await browser.submit(page, fields, { stopBefore });
  }
  if (page.status !== 0) throw new Error(`login did not reach the callback: ${page.url.href}`);
  return page.url;
}
