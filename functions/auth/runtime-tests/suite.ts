// The auth module's behaviour under each runtime: the same cases run by vitest (Node) and by
// `deno test` (Deno). Web APIs only. The OpenID provider is real (oidc-provider, started by the Node
// side); the app is reached in-process with app.request, the provider over HTTP.
import { SignJWT } from 'jose';
import { equal, includes, ok } from '../../runtime-tests/assert.ts';
import { AuthConfigError, type Env, loadAuthConfig } from '../config.ts';
import { type Auth, createAuth } from '../index.ts';
import { Browser } from '../testing/browser.ts';
import { driveLogin, JWT_SECRET, ROLE_ENV, testApp } from '../testing/fixtures.ts';
import { SESSION_COOKIE, signSession } from '../tokens.ts';

/** The provider the Node side started, and the app origin its client is registered for. */
export interface SuiteProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  appOrigin: string;
}

type Case = () => Promise<void>;

const secret = new TextEncoder().encode(JWT_SECRET);
const nowS = () => Math.floor(Date.now() / 1000);

interface Rig {
  auth: Auth;
  request(path: string, init?: RequestInit): Promise<Response>;
  browser(): Browser;
  /** The direct peer address the fake runtime reports. */
  peer: { address: string | undefined };
}

function rig(env: Env, appOrigin = 'http://localhost:8787'): Rig {
  const peer = { address: undefined as string | undefined };
  const auth = createAuth(loadAuthConfig({ JWT_SECRET, ...ROLE_ENV, ...env }), {
    getPeerAddress: () => peer.address,
  });
  const app = testApp(auth);
  const local = (url: URL, init: RequestInit) =>
    url.origin === appOrigin ? Promise.resolve(app.request(url.href, init)) : undefined;
  return {
    auth,
    peer,
    request: (path, init) => Promise.resolve(app.request(`${appOrigin}${path}`, init)),
    browser: () => new Browser(local),
  };
}

async function session(groups: string[], opts: { key?: Uint8Array; exp?: number } = {}): Promise<string> {
  const t = nowS();
  return signSession(opts.key ?? secret, {
    sub: 'sam',
    groups,
    iat: t,
    exp: opts.exp ?? t + 300,
    auth_time: t,
    jti: crypto.randomUUID(),
  });
}

const cookie = (token: string) => ({ headers: { Cookie: `${SESSION_COOKIE}=${token}` } });

export function authSuite(op: SuiteProvider): Record<string, Case> {
  const suite: Record<string, Case> = {};
  const test = (name: string, fn: Case) => {
    suite[name] = fn;
  };
  const oidcEnv: Env = {
    OIDC_ISSUER: op.issuer,
    OIDC_CLIENT_ID: op.clientId,
    OIDC_CLIENT_SECRET: op.clientSecret,
    OIDC_REDIRECT_URI: `${op.appOrigin}/api/auth/callback`,
  };

  test('auth: full OIDC login at the real provider, me, protected route, logout', async () => {
    const r = rig(oidcEnv, op.appOrigin);
    const b = r.browser();
    const callback = await driveLogin(b, op.appOrigin, `${op.appOrigin}/api/auth/callback`, 'oscar', '/jobs');
    const res = await b.fetch(callback);
    equal(res.status, 302, 'callback status');
    equal(res.headers.get('Location'), '/jobs', 'returnTo');
    ok(b.cookie(SESSION_COOKIE), 'session cookie set');
    const me = await b.fetch(`${op.appOrigin}/api/auth/me`);
    equal(me.status, 200, 'me');
    includes(await me.json(), {
      user: { sub: 'oscar', email: 'oscar@example.test' },
      roles: ['viewer', 'operator'],
    });
    equal(
      (await b.fetch(`${op.appOrigin}/api/jobs/run-1/cancel`, { method: 'POST' })).status,
      200,
      'operator route',
    );
    equal((await b.fetch(`${op.appOrigin}/api/models/m1`, { method: 'PUT' })).status, 403, 'admin route');
    const out = await b.fetch(`${op.appOrigin}/api/auth/logout`, { method: 'POST' });
    equal(out.status, 200, 'logout');
    ok(!b.cookie(SESSION_COOKIE), 'cookie cleared');
    equal((await b.fetch(`${op.appOrigin}/api/auth/me`)).status, 401, 'me after logout');
  });

  test('auth: state mismatch at the callback makes no session', async () => {
    const r = rig(oidcEnv, op.appOrigin);
    const b = r.browser();
    const callback = await driveLogin(b, op.appOrigin, `${op.appOrigin}/api/auth/callback`, 'vera');
    callback.searchParams.set('state', 'forged');
    equal((await b.fetch(callback)).status, 401, 'callback');
    ok(!b.cookie(SESSION_COOKIE), 'no session cookie');
  });

  test('auth: a valid session opens the route its role allows, 403 above it', async () => {
    const r = rig({});
    const viewer = await session(['readers']);
    equal((await r.request('/api/jobs', cookie(viewer))).status, 200, 'viewer GET');
    const denied = await r.request('/api/jobs/run-1/cancel', { method: 'POST', ...cookie(viewer) });
    equal(denied.status, 403, 'viewer POST cancel');
    includes(await denied.json(), { error: { code: 'forbidden' } });
  });

  test('auth: tampered, alg none, other key and expired tokens are refused with 401', async () => {
    const r = rig({});
    const good = await session(['platform-admins']);
    const [h, p, s] = good.split('.') as [string, string, string];
    const t = nowS();
    const none = `${btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '')}.${p}.`;
    const hs384 = await new SignJWT({ groups: ['platform-admins'], auth_time: t })
      .setProtectedHeader({ alg: 'HS384', typ: 'JWT' })
      .setIssuer('ai-agents')
      .setAudience('ai-agents')
      .setSubject('sam')
      .setJti('j')
      .setIssuedAt(t)
      .setExpirationTime(t + 60)
      .sign(secret);
    const bad = {
      tampered: `${h}.${p.slice(0, -2)}${p.endsWith('A') ? 'BB' : 'AA'}.${s}`,
      none,
      hs384,
      otherKey: await session(['platform-admins'], { key: crypto.getRandomValues(new Uint8Array(32)) }),
      expired: await session(['platform-admins'], { exp: t - 1 }),
    };
    equal((await r.request('/api/models/m1', { method: 'PUT', ...cookie(good) })).status, 200, 'good token');
    for (const [name, token] of Object.entries(bad)) {
      const res = await r.request('/api/models/m1', { method: 'PUT', ...cookie(token) });
      equal(res.status, 401, name);
      includes(await res.json(), { error: { code: 'unauthorized' } }, name);
    }
  });

  test('auth: Remote-User only from a trusted peer', async () => {
    const r = rig({ TRUST_FORWARD_AUTH: 'true', TRUSTED_PROXIES: '10.42.0.0/16' });
    const headers = { 'Remote-User': 'mallory', 'Remote-Groups': 'platform-admins' };
    r.peer.address = '192.0.2.10';
    equal(
      (await r.request('/api/jobs', { headers: { ...headers, 'X-Forwarded-For': '10.42.0.5' } })).status,
      401,
    );
    r.peer.address = '10.42.3.4';
    const me = await r.request('/api/auth/me', { headers });
    equal(me.status, 200, 'trusted me');
    includes(await me.json(), {
      user: { sub: 'mallory' },
      roles: ['viewer', 'operator', 'admin'],
      via: 'forward-auth',
    });
  });

  test('auth: start-up refuses a short JWT_SECRET and half-configured OIDC', async () => {
    for (const env of [{ JWT_SECRET: 'short' }, { JWT_SECRET, OIDC_ISSUER: op.issuer }]) {
      let error: unknown;
      try {
        loadAuthConfig(env);
      } catch (err) {
        error = err;
      }
      ok(error instanceof AuthConfigError, `refused: ${JSON.stringify(env)}`);
    }
  });

  return suite;
}
