// Start-up checks of the auth configuration, the CIDR matcher behind TRUSTED_PROXIES, and the
// token helpers: pure code, no provider needed.
import { describe, expect, test } from 'vitest';
import { cidrContains, isTrustedPeer, parseCidr, parseIp } from './cidr.ts';
import { AuthConfigError, type Env, loadAuthConfig } from './config.ts';
import { createAuth } from './index.ts';
import { safeReturnTo, signFlow, signSession, verifyFlow, verifySession } from './tokens.ts';

const SECRET = 'x'.repeat(32);
const OIDC: Env = {
  OIDC_ISSUER: 'https://id.example.test',
  OIDC_CLIENT_ID: 'ai-agents',
  OIDC_CLIENT_SECRET: 'client-secret',
  OIDC_REDIRECT_URI: 'https://agents.example.test/api/auth/callback',
};

function problems(env: Env): string[] {
  try {
    loadAuthConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthConfigError);
    return [...(err as AuthConfigError).problems];
  }
  throw new Error('expected the configuration to be refused');
}

describe('start-up errors', () => {
  test('JWT_SECRET missing', () => {
    const [p, ...rest] = problems({});
    expect(rest).toEqual([]);
    expect(p).toMatch(/^JWT_SECRET is not set.*at least 32 bytes/);
    expect(() => loadAuthConfig({})).toThrow(/auth configuration is invalid:\n {2}- JWT_SECRET is not set/);
  });

  test('JWT_SECRET shorter than 32 bytes (bytes, not characters)', () => {
    expect(problems({ JWT_SECRET: 'x'.repeat(31) })).toEqual([
      'JWT_SECRET is 31 bytes; it must be at least 32 bytes (e.g. `openssl rand -base64 48`)',
    ]);
    expect(loadAuthConfig({ JWT_SECRET: 'x'.repeat(32) }).secret.byteLength).toBe(32);
    // 16 two-byte characters are 32 bytes.
    expect(loadAuthConfig({ JWT_SECRET: 'é'.repeat(16) }).secret.byteLength).toBe(32);
  });

  test.each([
    [
      'only the issuer',
      { OIDC_ISSUER: OIDC.OIDC_ISSUER },
      ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_REDIRECT_URI'],
    ],
    ['no secret', { ...OIDC, OIDC_CLIENT_SECRET: '' }, ['OIDC_CLIENT_SECRET']],
    ['no redirect URI', { ...OIDC, OIDC_REDIRECT_URI: undefined }, ['OIDC_REDIRECT_URI']],
  ])('OIDC half-configured: %s', (_name, env, missing) => {
    const [p, ...rest] = problems({ JWT_SECRET: SECRET, ...env });
    expect(rest).toEqual([]);
    expect(p).toMatch(
      /^OIDC is half-configured: .* set but .* missing \(set all four for OIDC login, or none\)$/,
    );
    for (const name of missing) expect(p!.split(' but ')[1]).toContain(name);
  });

  test('OIDC all or nothing is accepted', () => {
    expect(loadAuthConfig({ JWT_SECRET: SECRET }).oidc).toBeUndefined();
    const cfg = loadAuthConfig({ JWT_SECRET: SECRET, ...OIDC });
    expect(cfg.oidc).toMatchObject({
      clientId: 'ai-agents',
      scopes: 'openid profile email groups',
      groupsClaim: 'groups',
    });
    expect(cfg.oidc?.postLogoutRedirectUri.href).toBe('https://agents.example.test/');
  });

  test('a plain-http issuer only on loopback unless allowed', () => {
    const env = { JWT_SECRET: SECRET, ...OIDC, OIDC_ISSUER: 'http://keycloak.internal' };
    expect(problems(env)[0]).toMatch(/plain http on a non-loopback host/);
    expect(loadAuthConfig({ ...env, OIDC_ALLOW_HTTP: 'true' }).oidc?.allowHttp).toBe(true);
    expect(loadAuthConfig({ ...env, OIDC_ISSUER: 'http://127.0.0.1:9000' }).oidc).toBeDefined();
  });

  test('ForwardAuth needs proxies, proxies must parse, lifetimes must make sense; all reported together', () => {
    const ps = problems({
      JWT_SECRET: 'short',
      OIDC_ISSUER: 'https://id.example.test',
      TRUST_FORWARD_AUTH: 'yes',
      AUTH_SESSION_IDLE_TIMEOUT: '2d',
      AUTH_SESSION_MAX_AGE: '1d',
      AUTH_DEFAULT_ROLE: 'root',
      COOKIE_SECURE: 'maybe',
    });
    expect(ps).toHaveLength(6);
    expect(ps.join('\n')).toMatch(/JWT_SECRET is 5 bytes/);
    expect(ps.join('\n')).toMatch(/OIDC is half-configured/);
    expect(ps.join('\n')).toMatch(/TRUST_FORWARD_AUTH=true needs TRUSTED_PROXIES/);
    expect(ps.join('\n')).toMatch(
      /AUTH_SESSION_IDLE_TIMEOUT \(172800s\) must not exceed AUTH_SESSION_MAX_AGE \(86400s\)/,
    );
    expect(ps.join('\n')).toMatch(/AUTH_DEFAULT_ROLE must be/);
    expect(ps.join('\n')).toMatch(/COOKIE_SECURE must be true or false/);
    expect(
      problems({ JWT_SECRET: SECRET, TRUST_FORWARD_AUTH: 'true', TRUSTED_PROXIES: '10.0.0.0/33' }),
    ).toEqual([
      'TRUSTED_PROXIES entry "10.0.0.0/33" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)',
    ]);
    expect(problems({ JWT_SECRET: SECRET, AUTH_SESSION_MAX_AGE: '-5' })[0]).toMatch(/positive duration/);
  });

  test('defaults and parsed values', () => {
    const cfg = loadAuthConfig({
      JWT_SECRET: SECRET,
      AUTH_ADMIN_GROUPS: 'admins, ops-leads',
      AUTH_SESSION_IDLE_TIMEOUT: '30m',
      TRUST_FORWARD_AUTH: 'true',
      TRUSTED_PROXIES: '10.42.0.0/16,fd00::/8, 192.168.1.7',
      COOKIE_SECURE: 'false',
    });
    expect(cfg.roleGroups).toEqual({ admin: ['admins', 'ops-leads'], operator: [], viewer: [] });
    expect(cfg.sessionIdleSeconds).toBe(1800);
    expect(cfg.sessionMaxSeconds).toBe(7 * 86400);
    expect(cfg.trustedProxies).toHaveLength(3);
    expect(cfg.cookieSecure).toBe(false);
    expect(cfg.defaultRole).toBeUndefined();
  });

  test('ForwardAuth without the runtime connection info refuses to start', () => {
    const cfg = loadAuthConfig({
      JWT_SECRET: SECRET,
      TRUST_FORWARD_AUTH: 'true',
      TRUSTED_PROXIES: '10.0.0.0/8',
    });
    expect(() => createAuth(cfg)).toThrow(/TRUST_FORWARD_AUTH is on but the runtime gave no getPeerAddress/);
    expect(() => createAuth(cfg, { getPeerAddress: () => '10.0.0.1' })).not.toThrow();
  });
});

describe('CIDR matching', () => {
  test.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['192.168.1.0/25', '192.168.1.127', true],
    ['192.168.1.0/25', '192.168.1.128', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['fd00::/8', 'fd12:3456::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['::1', '::1', true],
    ['::1', '[::1]', true],
    ['2001:db8::/32', '2001:db8:0:0:0:0:0:1', true],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['10.0.0.0/8', 'not-an-ip', false],
    ['10.0.0.0/8', '10.0.0.1.5', false],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    expect(cidrContains(parseCidr(cidr)!, ip)).toBe(expected);
  });

  test('bad input is rejected', () => {
    for (const bad of [
      '',
      '10.0.0.0/',
      '10.0.0/8',
      '256.0.0.1',
      '01.2.3.4',
      '1::2::3',
      '::/129',
      'a/b/c',
      '10.0.0.0/-1',
    ]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
    expect(parseIp('fe80::1%eth0')).toHaveLength(16);
    expect(isTrustedPeer(undefined, [parseCidr('0.0.0.0/0')!])).toBe(false);
  });
});

describe('tokens', () => {
  const key = new TextEncoder().encode(SECRET);
  const t = 1_900_000_000;

  test('a login-flow token is never a session, nor the reverse', async () => {
    const flow = await signFlow(key, { state: 's', nonce: 'n', verifier: 'v', returnTo: '/' }, t);
    expect(await verifySession(key, flow, t, 3600)).toBeUndefined();
    const session = await signSession(key, {
      sub: 'a',
      groups: [],
      iat: t,
      exp: t + 60,
      auth_time: t,
      jti: 'j',
    });
    expect(await verifyFlow(key, session, t)).toBeUndefined();
    expect(await verifySession(key, session, t, 3600)).toMatchObject({ sub: 'a', auth_time: t });
    expect(await verifyFlow(key, flow, t)).toEqual({ state: 's', nonce: 'n', verifier: 'v', returnTo: '/' });
    expect(await verifyFlow(key, flow, t + 601)).toBeUndefined();
  });

  test.each([
    ['/', '/'],
    ['/jobs?phase=Running#top', '/jobs?phase=Running#top'],
    ['/a/../b', '/b'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['https://evil.example', undefined],
    ['//evil.example', undefined],
    ['/\\evil.example', undefined],
    ['/\t/evil.example', undefined],
    ['/\r\nX: y', undefined],
    ['relative', undefined],
    ['', undefined],
  ])('safeReturnTo(%j) = %j', (raw, expected) => {
    expect(safeReturnTo(raw)).toBe(expected);
  });
});
