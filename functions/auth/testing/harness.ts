// Test harness: the auth module inside a small Hono app served over real HTTP on 127.0.0.1 (so the
// peer address comes from the socket, as in production), next to a real OpenID provider.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { envelope, toApiError } from '../../lib/errors.ts';
import type { Role } from '../../lib/roles.ts';
import { type Env, loadAuthConfig } from '../config.ts';
import { type Auth, createAuth } from '../index.ts';
import { SESSION_COOKIE } from '../tokens.ts';
import { Browser } from './browser.ts';
import { startTestProvider, type TestAccount, type TestProvider } from './provider.ts';

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
      c.json({ ok: true, route: `${r.method} ${r.path}` }),
    );
  }
  app.notFound((c) => c.text('page', 200));
  return app;
}

export interface AppServer {
  origin: string;
  auth: Auth;
  /** Seconds added to the auth module's clock. */
  skew: { seconds: number };
  close(): Promise<void>;
}

export async function startApp(
  env: (origin: string) => Env | Promise<Env>,
  build: (auth: Auth) => Hono = testApp,
): Promise<AppServer> {
  let handler: (req: Request, env: unknown) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: (req, info) => handler(req, info), port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    );
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const skew = { seconds: 0 };
  let auth: Auth;
  try {
    auth = createAuth(loadAuthConfig(await env(origin)), {
      getPeerAddress: (c) => getConnInfo(c).remote.address,
      now: () => Date.now() + skew.seconds * 1000,
    });
  } catch (err) {
    await close();
    throw err;
  }
  const app = build(auth);
  handler = (req, env) => app.fetch(req, env as object);
  return { origin, auth, skew, close };
}

export interface Stack {
  app: AppServer;
  op: TestProvider;
  redirectUri: string;
  close(): Promise<void>;
}

/** The app with OIDC login against a fresh provider on loopback. */
export async function startStack(extraEnv: Env = {}, build: (auth: Auth) => Hono = testApp): Promise<Stack> {
  let op: TestProvider | undefined;
  const app = await startApp(async (origin) => {
    op = await startTestProvider({
      redirectUri: `${origin}/api/auth/callback`,
      postLogoutRedirectUri: `${origin}/`,
      accounts: ACCOUNTS,
    });
    return {
      JWT_SECRET,
      OIDC_ISSUER: op.issuer,
      OIDC_CLIENT_ID: op.clientId,
      OIDC_CLIENT_SECRET: op.clientSecret,
      OIDC_REDIRECT_URI: `${origin}/api/auth/callback`,
      ...ROLE_ENV,
      ...extraEnv,
    };
  }, build);
  const provider = op!;
  return {
    app,
    op: provider,
    redirectUri: `${app.origin}/api/auth/callback`,
    close: async () => {
      await app.close();
      await provider.close();
    },
  };
}

/**
 * Drives a login through the provider's forms up to (not including) the app's callback, and returns
 * the callback URL the provider redirected to. The browser then holds the app's login-flow cookie.
 */
export async function loginUntilCallback(
  stack: Stack,
  browser: Browser,
  account: string,
  returnTo = '/',
): Promise<URL> {
  const stopBefore = (u: URL) => u.href.startsWith(stack.redirectUri);
  let page = await browser.navigate(
    `${stack.app.origin}/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`,
    {},
    { stopBefore },
  );
  for (let step = 0; step < 4 && page.status !== 0; step++) {
    if (page.status !== 200)
      throw new Error(`unexpected ${page.status} at ${page.url.href}: ${page.body.slice(0, 300)}`);
    const fields: Record<string, string> = page.body.includes('name="password"')
      ? { login: account, password: ACCOUNTS[account]?.password ?? '' }
      : {};
    page = await browser.submit(page, fields, { stopBefore });
  }
  if (page.status !== 0) throw new Error(`login did not reach the callback: ${page.url.href}`);
  return page.url;
}

/** A full login (provider forms, callback); returns the browser with its session cookie. */
export async function loginAs(stack: Stack, account: string, browser = new Browser()): Promise<Browser> {
  const callback = await loginUntilCallback(stack, browser, account);
  const res = await browser.fetch(callback);
  await res.body?.cancel();
  if (res.status !== 302 || !browser.cookie(SESSION_COOKIE)) {
    throw new Error(`callback answered ${res.status} without a session`);
  }
  return browser;
}
