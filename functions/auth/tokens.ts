// The two signed cookies: `auth_token` (the session, HS256 JWT) and `auth_flow` (state, nonce and
// PKCE verifier of one login in progress). Both are HS256 with JWT_SECRET, told apart by `typ` and
// audience so one can never be used as the other; verification pins the algorithm.
import { jwtVerify, SignJWT } from 'jose';

export const SESSION_COOKIE = 'auth_token';
export const FLOW_COOKIE = 'auth_flow';
export const ISSUER = 'ai-agents';
const SESSION_AUDIENCE = 'ai-agents';
const SESSION_TYP = 'JWT';
const FLOW_AUDIENCE = 'ai-agents/login';
const FLOW_TYP = 'auth-flow+jwt';
export const FLOW_TTL_SECONDS = 600;

export interface SessionUser {
  sub: string;
  name?: string;
  email?: string;
  groups: string[];
}

export interface SessionClaims extends SessionUser {
  /** Issued at (s): the last refresh. */
  iat: number;
  /** Expiry (s): min(last activity + idle, login + max). */
  exp: number;
  /** Login time (s): the absolute lifetime counts from here. */
  auth_time: number;
  jti: string;
}

export interface FlowClaims {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

export async function signSession(secret: Uint8Array, c: SessionClaims): Promise<string> {
  const payload: Record<string, unknown> = { groups: c.groups, auth_time: c.auth_time };
  if (c.name !== undefined) payload.name = c.name;
  if (c.email !== undefined) payload.email = c.email;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: SESSION_TYP })
    .setIssuer(ISSUER)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(c.sub)
    .setJti(c.jti)
    .setIssuedAt(c.iat)
    .setExpirationTime(c.exp)
    .sign(secret);
}

/** The session's claims, or undefined for anything not a valid, unexpired session token. */
export async function verifySession(
  secret: Uint8Array,
  token: string,
  nowSeconds: number,
  maxSeconds: number,
): Promise<SessionClaims | undefined> {
  try {
    const { payload: p } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: SESSION_AUDIENCE,
      typ: SESSION_TYP,
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      clockTolerance: 0,
    });
    const { sub, exp, iat, jti } = p;
    if (typeof sub !== 'string' || !sub || typeof exp !== 'number' || typeof iat !== 'number')
      return undefined;
    if (typeof jti !== 'string' || typeof p.auth_time !== 'number') return undefined;
    // The absolute lifetime holds even if a token was somehow minted with a later exp.
    if (nowSeconds >= p.auth_time + maxSeconds || iat > nowSeconds + 60) return undefined;
    if (!Array.isArray(p.groups) || !p.groups.every((g) => typeof g === 'string')) return undefined;
    const claims: SessionClaims = {
      sub,
      groups: p.groups as string[],
      iat,
      exp,
      auth_time: p.auth_time,
      jti,
    };
    if (typeof p.name === 'string') claims.name = p.name;
    if (typeof p.email === 'string') claims.email = p.email;
    return claims;
  } catch {
    return undefined;
  }
}

export async function signFlow(secret: Uint8Array, f: FlowClaims, nowSeconds: number): Promise<string> {
  return new SignJWT({ ...f })
    .setProtectedHeader({ alg: 'HS256', typ: FLOW_TYP })
    .setIssuer(ISSUER)
    .setAudience(FLOW_AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + FLOW_TTL_SECONDS)
    .sign(secret);
}

export async function verifyFlow(
  secret: Uint8Array,
  token: string,
  nowSeconds: number,
): Promise<FlowClaims | undefined> {
  try {
    const { payload: p } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: FLOW_AUDIENCE,
      typ: FLOW_TYP,
      currentDate: new Date(nowSeconds * 1000),
      requiredClaims: ['exp'],
    });
    const { state, nonce, verifier, returnTo } = p;
    if (typeof state !== 'string' || typeof nonce !== 'string' || typeof verifier !== 'string')
      return undefined;
    if (typeof returnTo !== 'string' || safeReturnTo(returnTo) !== returnTo) return undefined;
    return { state, nonce, verifier, returnTo };
  } catch {
    return undefined;
  }
}

/**
 * A same-origin path to send the browser back to after login, or undefined when `raw` points
 * anywhere else (absolute URL, scheme-relative `//host`, backslash tricks, control characters).
 */
export function safeReturnTo(raw: string): string | undefined {
  if (raw.length > 2048 || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\'))
    return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return undefined;
  const base = 'http://return-to.invalid';
  let u: URL;
  try {
    u = new URL(raw, base);
  } catch {
    return undefined;
  }
  if (u.origin !== base) return undefined;
  const path = `${u.pathname}${u.search}${u.hash}`;
  return path.startsWith('//') ? undefined : path;
}
