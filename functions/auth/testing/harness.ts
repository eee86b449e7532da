// Test harness: the auth module inside a small Hono app served over real HTTP on 127.0.0.1 (so the
// peer address comes from the socket, as in production), next to a real OpenID provider.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Hono } from 'hono';
import { type Env, loadAuthConfig } from '../config.ts';
import { type Auth, createAuth } from '../index.ts';
import { SESSION_COOKIE } from '../tokens.ts';
import { Browser } from './browser.ts';
import { ACCOUNTS, driveLogin, JWT_SECRET, ROLE_ENV, testApp } from './fixtures.ts';
import { startTestProvider, type TestProvider } from './provider.ts';

export { ACCOUNTS, JWT_SECRET, ROLE_ENV, TEST_ROUTES, type TestRoute, testApp } from './fixtures.ts';

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
export function loginUntilCallback(
  stack: Stack,
  browser: Browser,
  account: string,
  returnTo = '/',
): Promise<URL> {
  return driveLogin(browser, stack.app.origin, stack.redirectUri, account, returnTo);
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
