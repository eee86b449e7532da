// Auth configuration from the environment. Every problem is collected and reported at once, so a
// misconfigured deployment fails at start-up with one clear message instead of at the first login.
import type { Role } from '../lib/roles.ts';
import { type Cidr, parseCidr } from './cidr.ts';

export interface OidcConfig {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  redirectUri: URL;
  /** Where the provider sends the browser after RP-initiated logout (must be registered there). */
  postLogoutRedirectUri: URL;
  scopes: string;
  /** Claim in the ID token / userinfo holding the user's groups. */
  groupsClaim: string;
  /** Plain-http issuer: allowed for loopback issuers, elsewhere only with OIDC_ALLOW_HTTP=true. */
  allowHttp: boolean;
}

export interface AuthConfig {
  /** HS256 key for the session and login-flow cookies (≥ 32 bytes). */
  secret: Uint8Array;
  /** `undefined`: no OIDC login (ForwardAuth only, or nothing). */
  oidc: OidcConfig | undefined;
  /** Group names that grant each role (a user gets the highest role any of their groups grants). */
  roleGroups: Record<Role, readonly string[]>;
  /** Role for a user whose groups match nothing; `undefined`: no role (every protected route is 403). */
  defaultRole: Role | undefined;
  /** Seconds without a request after which the session ends (sliding). */
  sessionIdleSeconds: number;
  /** Seconds after login after which the session ends whatever the activity. */
  sessionMaxSeconds: number;
  /** Trust Authelia's Remote-* headers, only from peers inside trustedProxies. */
  trustForwardAuth: boolean;
  trustedProxies: readonly Cidr[];
  /** `undefined`: Secure unless the request is plain http to a loopback host. */
  cookieSecure: boolean | undefined;
}

export class AuthConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`auth configuration is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'AuthConfigError';
    this.problems = problems;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export const MIN_SECRET_BYTES = 32;
const OIDC_VARS = ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_REDIRECT_URI'] as const;
const DEFAULT_IDLE = 8 * 3600;
const DEFAULT_MAX = 7 * 24 * 3600;

/** Reads the auth settings; throws AuthConfigError listing every problem. */
export function loadAuthConfig(env: Env): AuthConfig {
  const problems: string[] = [];
  const val = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };

  const rawSecret = env.JWT_SECRET ?? '';
  const secret = new TextEncoder().encode(rawSecret);
  if (!rawSecret) {
    problems.push(
      `JWT_SECRET is not set: it signs the session cookie and must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 48\`)`,
    );
  } else if (secret.byteLength < MIN_SECRET_BYTES) {
    problems.push(
      `JWT_SECRET is ${secret.byteLength} bytes; it must be at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 48\`)`,
    );
  }

  let oidc: OidcConfig | undefined;
  const present = OIDC_VARS.filter((n) => val(n) !== undefined);
  if (present.length > 0 && present.length < OIDC_VARS.length) {
    const missing = OIDC_VARS.filter((n) => val(n) === undefined);
    problems.push(
      `OIDC is half-configured: ${present.join(', ')} set but ${missing.join(', ')} missing (set all four for OIDC login, or none)`,
    );
  } else if (present.length === OIDC_VARS.length) {
    const issuer = parseUrl('OIDC_ISSUER', val('OIDC_ISSUER')!, problems);
    const redirectUri = parseUrl('OIDC_REDIRECT_URI', val('OIDC_REDIRECT_URI')!, problems);
    const postLogout = val('OIDC_POST_LOGOUT_REDIRECT_URI');
    const postLogoutRedirectUri = postLogout
      ? parseUrl('OIDC_POST_LOGOUT_REDIRECT_URI', postLogout, problems)
      : redirectUri && new URL('/', redirectUri);
    const allowHttp = parseBool('OIDC_ALLOW_HTTP', val('OIDC_ALLOW_HTTP'), problems) ?? false;
    if (issuer && issuer.protocol === 'http:' && !isLoopbackHost(issuer.hostname) && !allowHttp) {
      problems.push(
        `OIDC_ISSUER ${issuer.href} is plain http on a non-loopback host; use https or set OIDC_ALLOW_HTTP=true`,
      );
    }
    const scopes = val('OIDC_SCOPES') ?? 'openid profile email groups';
    if (!scopes.split(/\s+/).includes('openid')) problems.push('OIDC_SCOPES must include "openid"');
    if (issuer && redirectUri && postLogoutRedirectUri) {
      oidc = {
        issuer,
        clientId: val('OIDC_CLIENT_ID')!,
        clientSecret: val('OIDC_CLIENT_SECRET')!,
        redirectUri,
        postLogoutRedirectUri,
        scopes,
        groupsClaim: val('OIDC_GROUPS_CLAIM') ?? 'groups',
        allowHttp,
      };
    }
  }

  const roleGroups: Record<Role, readonly string[]> = {
    admin: list(val('AUTH_ADMIN_GROUPS')),
    operator: list(val('AUTH_OPERATOR_GROUPS')),
    viewer: list(val('AUTH_VIEWER_GROUPS')),
  };
  let defaultRole: Role | undefined;
  const rawDefault = val('AUTH_DEFAULT_ROLE');
  if (rawDefault && rawDefault !== 'none') {
    if (rawDefault === 'viewer' || rawDefault === 'operator' || rawDefault === 'admin')
      defaultRole = rawDefault;
    else problems.push(`AUTH_DEFAULT_ROLE must be none, viewer, operator or admin (got "${rawDefault}")`);
  }

  const sessionIdleSeconds =
    parseDuration('AUTH_SESSION_IDLE_TIMEOUT', val('AUTH_SESSION_IDLE_TIMEOUT'), problems) ?? DEFAULT_IDLE;
  const sessionMaxSeconds =
    parseDuration('AUTH_SESSION_MAX_AGE', val('AUTH_SESSION_MAX_AGE'), problems) ?? DEFAULT_MAX;
  if (sessionIdleSeconds > sessionMaxSeconds) {
    problems.push(
      `AUTH_SESSION_IDLE_TIMEOUT (${sessionIdleSeconds}s) must not exceed AUTH_SESSION_MAX_AGE (${sessionMaxSeconds}s)`,
    );
  }

  const trustForwardAuth = parseBool('TRUST_FORWARD_AUTH', val('TRUST_FORWARD_AUTH'), problems) ?? false;
  const trustedProxies: Cidr[] = [];
  for (const entry of list(val('TRUSTED_PROXIES'))) {
    const cidr = parseCidr(entry);
    if (cidr) trustedProxies.push(cidr);
    else
      problems.push(
        `TRUSTED_PROXIES entry "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`,
      );
  }
  if (trustForwardAuth && trustedProxies.length === 0 && list(val('TRUSTED_PROXIES')).length === 0) {
    problems.push(
      'TRUST_FORWARD_AUTH=true needs TRUSTED_PROXIES: the CIDRs of the proxies (Traefik) allowed to set Remote-User',
    );
  }

  const cookieSecure = parseBool('COOKIE_SECURE', val('COOKIE_SECURE'), problems);

  if (problems.length > 0) throw new AuthConfigError(problems);
  return {
    secret,
    oidc,
    roleGroups,
    defaultRole,
    sessionIdleSeconds,
    sessionMaxSeconds,
    trustForwardAuth,
    trustedProxies,
    cookieSecure,
  };
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function list(v: string | undefined): string[] {
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

function parseUrl(name: string, v: string, problems: string[]): URL | undefined {
  try {
    const u = new URL(v);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    return u;
  } catch {
    problems.push(`${name} must be an absolute http(s) URL (got "${v}")`);
    return undefined;
  }
}

function parseBool(name: string, v: string | undefined, problems: string[]): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  problems.push(`${name} must be true or false (got "${v}")`);
  return undefined;
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "3600", "90s", "30m", "8h", "7d" → seconds. */
export function parseDuration(name: string, v: string | undefined, problems: string[]): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*([smhd]?)$/i.exec(v);
  const n = m ? Number(m[1]) * (UNIT[(m[2] || 's').toLowerCase()] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    problems.push(`${name} must be a positive duration like 3600, 30m, 8h or 7d (got "${v}")`);
    return undefined;
  }
  return n;
}
