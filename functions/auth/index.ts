// Login and access control for the API.
//
//   const auth = createAuth(loadAuthConfig(env), { getPeerAddress: (c) => getConnInfo(c).remote.address });
//   app.route('/api/auth', auth.routes);               // GET login, GET callback, POST logout, GET me
//   app.get('/api/jobs', auth.requireRole('viewer'), …);
//
// Identity comes from, in order: Authelia ForwardAuth headers (only when TRUST_FORWARD_AUTH is on and
// the direct peer is inside TRUSTED_PROXIES), then the `auth_token` session cookie that the OIDC
// callback issues. The module uses only web APIs (fetch, Web Crypto via jose/openid-client), so it
// runs unchanged on Node and Deno; the runtime supplies the peer address.
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type * as OidcClient from 'openid-client';
import { ApiError } from '../lib/errors.ts';
import { setResponseHeader } from '../lib/response-header.ts';
import type { AuthUser, RequireRole, Role } from '../lib/roles.ts';
import { isTrustedPeer } from './cidr.ts';
import { type AuthConfig, isLoopbackHost } from './config.ts';
import { ROLE_ORDER, rolesFor } from './roles.ts';
import {
  FLOW_COOKIE,
  FLOW_TTL_SECONDS,
  SESSION_COOKIE,
  type SessionClaims,
  type SessionUser,
  safeReturnTo,
  signFlow,
  signSession,
  verifyFlow,
  verifySession,
} from './tokens.ts';

export type { AuthConfig } from './config.ts';
export { AuthConfigError, loadAuthConfig } from './config.ts';
export type { SessionUser } from './tokens.ts';

export interface Identity {
  user: SessionUser;
  roles: Role[];
  via: 'session' | 'forward-auth';
  /** The verified session token's claims (via = 'session'). */
  session?: SessionClaims;
}

export interface AuthLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface AuthRuntime {
  /** The direct TCP peer of the request (Hono's getConnInfo for the runtime). Required for ForwardAuth. */
  getPeerAddress?: (c: Context) => string | undefined;
  /** Where `routes` is mounted; the login-flow cookie is scoped to it. */
  basePath?: string;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  log?: AuthLogger;
  /** Timeout for requests to the OpenID provider, seconds. */
  providerTimeoutSeconds?: number;
}

export interface Auth {
  /** Mount at `basePath` (default /api/auth): GET login, GET callback, POST logout, GET me. */
  routes: Hono;
  /** 401 without a valid session or trusted ForwardAuth identity, 403 without the role (or a higher one). */
  requireRole: RequireRole;
  /** Identifies the caller when it can and keeps the session sliding; never rejects. */
  authenticate: MiddlewareHandler;
  /** The identity the middleware resolved for this request (null: anonymous). */
  identityOf: (c: Context) => Promise<Identity | null>;
}

/** Session groups kept in the cookie at most; past that only the groups that map to roles are kept. */
const MAX_COOKIE_GROUPS = 64;
const MAX_REVOKED = 10_000;

/** The discovered provider, with openid-client itself: it loads with the first login, not at start. */
interface Provider {
  oidcClient: typeof OidcClient;
  cfg: OidcClient.Configuration;
}
let oidcClientModule: Promise<typeof OidcClient> | undefined;
const loadOidcClient = () => (oidcClientModule ??= import('openid-client'));

interface RequestState {
  identity: Promise<Identity | null>;
  refreshHandled: boolean;
  loggedOut: boolean;
}

export function createAuth(config: AuthConfig, runtime: AuthRuntime = {}): Auth {
  const basePath = runtime.basePath ?? '/api/auth';
  const nowMs = runtime.now ?? Date.now;
  const nowS = () => Math.floor(nowMs() / 1000);
  const log = runtime.log;
  const getPeer = runtime.getPeerAddress;
  if (config.trustForwardAuth && !getPeer) {
    throw new Error(
      'TRUST_FORWARD_AUTH is on but the runtime gave no getPeerAddress: the trusted-proxy check needs the connection info',
    );
  }
  const refreshAfter = Math.max(1, Math.min(Math.floor(config.sessionIdleSeconds / 4), 900));
  const states = new WeakMap<Request, RequestState>();
  /** Session ids (jti) logged out in this process, until their absolute expiry. */
  const revoked = new Map<string, number>();

  const oidc = config.oidc;
  let discovered: Promise<Provider> | undefined;
  function provider(): Promise<Provider> {
    if (!oidc) return Promise.reject(new Error('OIDC is not configured'));
    if (!discovered) {
      const insecure =
        oidc.issuer.protocol === 'http:' && (oidc.allowHttp || isLoopbackHost(oidc.issuer.hostname));
      discovered = loadOidcClient()
        .then(async (oidcClient) => {
          const cfg = await oidcClient.discovery(
            oidc.issuer,
            oidc.clientId,
            {
              client_secret: oidc.clientSecret,
              redirect_uris: [oidc.redirectUri.href],
              response_types: ['code'],
            },
            oidcClient.ClientSecretBasic(oidc.clientSecret),
            {
              timeout: runtime.providerTimeoutSeconds ?? 10,
              ...(insecure ? { execute: [oidcClient.allowInsecureRequests] } : {}),
            },
          );
          return { oidcClient, cfg };
        })
        .catch((err: unknown) => {
          discovered = undefined; // try again on the next login
          throw err;
        });
    }
    return discovered;
  }

  function cookieSecure(c: Context): boolean {
    if (config.cookieSecure !== undefined) return config.cookieSecure;
    const url = new URL(c.req.url);
    return !(url.protocol === 'http:' && isLoopbackHost(url.hostname));
  }

  function forwardAuthIdentity(c: Context): Identity | null {
    if (!config.trustForwardAuth || !getPeer) return null;
    // The direct peer only: X-Forwarded-For is whatever the client wrote unless a trusted proxy wrote it,
    // and the proxy that sets Remote-User is the one talking to us.
    if (!isTrustedPeer(getPeer(c), config.trustedProxies)) return null;
    const sub = c.req.header('Remote-User')?.trim();
    if (!sub) return null;
    const groups = (c.req.header('Remote-Groups') ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    const user: SessionUser = { sub, groups };
    const email = c.req.header('Remote-Email')?.trim();
    const name = c.req.header('Remote-Name')?.trim();
    if (email) user.email = email;
    if (name) user.name = name;
    return { user, roles: rolesFor(groups, config), via: 'forward-auth' };
  }

  async function sessionIdentity(c: Context): Promise<Identity | null> {
    const token = getCookie(c, SESSION_COOKIE);
    if (!token) return null;
    const claims = await verifySession(config.secret, token, nowS(), config.sessionMaxSeconds);
    if (!claims || revoked.has(claims.jti)) return null;
    const user: SessionUser = { sub: claims.sub, groups: claims.groups };
    if (claims.name !== undefined) user.name = claims.name;
    if (claims.email !== undefined) user.email = claims.email;
    return { user, roles: rolesFor(claims.groups, config), via: 'session', session: claims };
  }

  function stateOf(c: Context): RequestState {
    let st = states.get(c.req.raw);
    if (!st) {
      st = {
        identity: Promise.resolve(forwardAuthIdentity(c)).then((id) => id ?? sessionIdentity(c)),
        refreshHandled: false,
        loggedOut: false,
      };
      states.set(c.req.raw, st);
    }
    return st;
  }

  const identityOf = (c: Context) => stateOf(c).identity;

  async function issueSession(c: Context, user: SessionUser, authTime: number, jti: string): Promise<void> {
    const now = nowS();
    const exp = Math.min(now + config.sessionIdleSeconds, authTime + config.sessionMaxSeconds);
    const token = await signSession(config.secret, { ...user, iat: now, exp, auth_time: authTime, jti });
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      secure: cookieSecure(c),
      sameSite: 'Lax',
      path: '/',
      maxAge: Math.max(0, exp - now),
    });
  }

  function clearSession(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: cookieSecure(c), httpOnly: true, sameSite: 'Lax' });
  }

  /** Runs the handler, then slides the session forward once per request when it is due. */
  async function withRefresh(c: Context, next: () => Promise<void>): Promise<void> {
    const st = stateOf(c);
    if (st.refreshHandled) return next();
    st.refreshHandled = true;
    await next();
    const id = await st.identity;
    const s = id?.session;
    if (!s || st.loggedOut || c.res.status >= 500) return;
    const now = nowS();
    if (now - s.iat < refreshAfter) return;
    if (Math.min(now + config.sessionIdleSeconds, s.auth_time + config.sessionMaxSeconds) <= s.exp) return;
    await issueSession(c, id.user, s.auth_time, s.jti);
  }

  /** Publishes the identity as `c.var.user` (logging, handlers that record who acted). */
  function expose(c: Context, id: Identity): void {
    const user: AuthUser = { sub: id.user.sub, roles: id.roles };
    if (id.user.name !== undefined) user.name = id.user.name;
    if (id.user.email !== undefined) user.email = id.user.email;
    c.set('user', user);
  }

  const authenticate: MiddlewareHandler = async function authenticate(c, next) {
    const id = await identityOf(c);
    if (id) expose(c, id);
    await withRefresh(c, next);
  };

  const requireRole: RequireRole = (role: Role) => {
    if (!ROLE_ORDER.includes(role)) throw new TypeError(`requireRole: unknown role "${String(role)}"`);
    return async function requireRoleMiddleware(c, next) {
      const id = await identityOf(c);
      if (!id)
        throw new ApiError('unauthorized', 'login required', { headers: { 'Cache-Control': 'no-store' } });
      if (!id.roles.includes(role)) {
        throw new ApiError('forbidden', `this needs the ${role} role`, {
          details: { required: role, roles: id.roles },
        });
      }
      expose(c, id);
      await withRefresh(c, next);
    };
  };

  function revoke(jti: string, until: number): void {
    const now = nowS();
    if (revoked.size >= MAX_REVOKED) {
      for (const [k, exp] of revoked) if (exp <= now) revoked.delete(k);
      if (revoked.size >= MAX_REVOKED) revoked.delete(revoked.keys().next().value!);
    }
    revoked.set(jti, until);
  }

  function groupsForCookie(groups: string[]): string[] {
    if (groups.length <= MAX_COOKIE_GROUPS) return groups;
    const mapped = new Set(Object.values(config.roleGroups).flat());
    return groups.filter((g) => mapped.has(g)).slice(0, MAX_COOKIE_GROUPS);
  }

  const routes = new Hono();
  routes.use('*', async (c, next) => {
    await next();
    setResponseHeader(c, 'Cache-Control', 'no-store');
  });

  routes.get('/login', async (c) => {
    if (!oidc) throw new ApiError('not_found', 'OIDC login is not configured');
    const returnTo = safeReturnTo(c.req.query('returnTo') ?? '/');
    if (!returnTo) throw new ApiError('bad_request', 'returnTo must be a path on this site');
    let cfg: OidcClient.Configuration;
    let oidcClient: typeof OidcClient;
    try {
      ({ cfg, oidcClient } = await provider());
    } catch (err) {
      log?.warn('OIDC discovery failed', { issuer: oidc.issuer.href, error: describe(err) });
      throw new ApiError('upstream_unavailable', 'the OpenID provider is unreachable', { cause: err });
    }
    const verifier = oidcClient.randomPKCECodeVerifier();
    const state = oidcClient.randomState();
    const nonce = oidcClient.randomNonce();
    const url = oidcClient.buildAuthorizationUrl(cfg, {
      response_type: 'code',
      redirect_uri: oidc.redirectUri.href,
      scope: oidc.scopes,
      code_challenge: await oidcClient.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const flow = await signFlow(config.secret, { state, nonce, verifier, returnTo }, nowS());
    setCookie(c, FLOW_COOKIE, flow, {
      httpOnly: true,
      secure: cookieSecure(c),
      sameSite: 'Lax',
      path: basePath,
      maxAge: FLOW_TTL_SECONDS,
    });
    return c.redirect(url.href, 302);
  });

  routes.get('/callback', async (c) => {
    if (!oidc) throw new ApiError('not_found', 'OIDC login is not configured');
    const flowToken = getCookie(c, FLOW_COOKIE);
    // The flow cookie is single-use, whatever happens next.
    deleteCookie(c, FLOW_COOKIE, {
      path: basePath,
      secure: cookieSecure(c),
      httpOnly: true,
      sameSite: 'Lax',
    });
    const flow = flowToken ? await verifyFlow(config.secret, flowToken, nowS()) : undefined;
    if (!flow) {
      throw new ApiError('unauthorized', 'login failed: no login in progress (or it expired); start again', {
        details: { reason: 'missing or invalid login-flow cookie' },
      });
    }
    let cfg: OidcClient.Configuration;
    let oidcClient: typeof OidcClient;
    try {
      ({ cfg, oidcClient } = await provider());
    } catch (err) {
      throw new ApiError('upstream_unavailable', 'the OpenID provider is unreachable', { cause: err });
    }
    // The redirect URI as registered (behind a proxy the request URL is an internal one) + the response.
    const current = new URL(oidc.redirectUri);
    current.search = new URL(c.req.url).search;
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidcClient.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token in the token response');
      claims = { ...idClaims };
      if (cfg.serverMetadata().userinfo_endpoint && tokens.access_token) {
        const info = await oidcClient.fetchUserInfo(cfg, tokens.access_token, idClaims.sub);
        claims = { ...idClaims, ...info, sub: idClaims.sub };
      }
    } catch (err) {
      log?.warn('login refused', { reason: describe(err) });
      throw new ApiError('unauthorized', 'login failed', { details: { reason: describe(err) } });
    }
    const user = userFromClaims(claims, oidc.groupsClaim);
    user.groups = groupsForCookie(user.groups);
    await issueSession(c, user, nowS(), crypto.randomUUID());
    log?.info('login', { sub: user.sub, roles: rolesFor(user.groups, config) });
    return c.redirect(flow.returnTo, 302);
  });

  routes.post('/logout', async (c) => {
    if (c.req.header('Sec-Fetch-Site') === 'cross-site' || !sameOrigin(c)) {
      throw new ApiError('forbidden', 'cross-site logout refused');
    }
    const st = stateOf(c);
    st.loggedOut = true;
    const id = await st.identity;
    if (id?.session) revoke(id.session.jti, id.session.auth_time + config.sessionMaxSeconds);
    clearSession(c);
    let redirectTo = '/';
    if (oidc && id?.via === 'session') {
      try {
        const { cfg, oidcClient } = await provider();
        if (cfg.serverMetadata().end_session_endpoint) {
          redirectTo = oidcClient.buildEndSessionUrl(cfg, {
            client_id: oidc.clientId,
            post_logout_redirect_uri: oidc.postLogoutRedirectUri.href,
          }).href;
        }
      } catch (err) {
        log?.warn('RP-initiated logout skipped: provider unreachable', { error: describe(err) });
      }
    }
    if (id) log?.info('logout', { sub: id.user.sub });
    const accept = c.req.header('Accept') ?? '';
    if (accept.includes('text/html') && !accept.includes('application/json'))
      return c.redirect(redirectTo, 303);
    return c.json({ loggedOut: true, redirectTo });
  });

  routes.use('/me', authenticate);
  routes.get('/me', async (c) => {
    const id = await identityOf(c);
    if (!id) throw new ApiError('unauthorized', 'login required');
    const { sub, name, email, groups } = id.user;
    return c.json({
      user: { sub, name: name ?? null, email: email ?? null, groups },
      roles: id.roles,
      via: id.via,
    });
  });

  function sameOrigin(c: Context): boolean {
    const origin = c.req.header('Origin');
    if (!origin || origin === 'null') return origin === undefined;
    const allowed = new Set([new URL(c.req.url).origin]);
    if (oidc) allowed.add(oidc.redirectUri.origin);
    return allowed.has(origin);
  }

  return { routes, requireRole, authenticate, identityOf };
}

function userFromClaims(claims: Record<string, unknown>, groupsClaim: string): SessionUser {
  const sub = String(claims.sub);
  const raw = claims[groupsClaim];
  const groups = Array.isArray(raw)
    ? raw.filter((g): g is string => typeof g === 'string')
    : typeof raw === 'string'
      ? raw
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean)
      : [];
  const user: SessionUser = { sub, groups };
  const name = claims.name ?? claims.preferred_username;
  if (typeof name === 'string' && name) user.name = name;
  if (typeof claims.email === 'string' && claims.email) user.email = claims.email;
  return user;
}

/** A loggable reason: each error in the cause chain (openid-client wraps the specific check). */
function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const { code, error, error_description } = e as {
      code?: unknown;
      error?: unknown;
      error_description?: unknown;
    };
    let part = `${typeof code === 'string' && depth === 0 ? `${code}: ` : ''}${e.message}`;
    if (typeof error === 'string')
      part += ` (${error}${typeof error_description === 'string' ? `: ${error_description}` : ''})`;
    if (!parts.includes(part)) parts.push(part);
    e = e.cause;
  }
  if (parts.length === 0) parts.push(String(err));
  return parts.join(' <- ').slice(0, 400);
}
