// OIDC login against a real OpenID provider (oidc-provider on 127.0.0.1): the whole flow through
// HTTP redirects and the provider's login and consent forms, the session cookie, logout, and every
// way a login or a session must be refused without a session being made.
import { base64url, decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Browser } from './testing/browser.ts';
import { JWT_SECRET, loginAs, loginUntilCallback, type Stack, startStack } from './testing/harness.ts';
import { FLOW_COOKIE, SESSION_COOKIE, signFlow, signSession } from './tokens.ts';

const IDLE = 600;
const MAX = 1800;
const secret = new TextEncoder().encode(JWT_SECRET);
const HOST = '127.0.0.1';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ AUTH_SESSION_IDLE_TIMEOUT: `${IDLE}s`, AUTH_SESSION_MAX_AGE: '30m' });
});
afterAll(async () => {
  await stack?.close();
});

const url = (path: string) => `${stack.app.origin}${path}`;

async function me(b: Browser): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await b.fetch(url('/api/auth/me'));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A browser holding only the given session cookie value. */
function withToken(token: string): Browser {
  const b = new Browser();
  b.setCookie({ name: SESSION_COOKIE, value: token, host: HOST });
  return b;
}

/** Asserts the protected route and `me` both refuse the browser, with the error envelope. */
async function expectNoSession(b: Browser): Promise<void> {
  const jobs = await b.fetch(url('/api/jobs'));
  expect(jobs.status).toBe(401);
  const body = (await jobs.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('unauthorized');
  expect((await me(b)).status).toBe(401);
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

describe('login through the provider', () => {
  test('redirects, provider login form, consent, callback: the cookie opens /api/jobs and me shows the user', async () => {
    const b = new Browser();
    const start = await b.fetch(url('/api/auth/login?returnTo=%2Fjobs%3Fphase%3DRunning'));
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('Location')!);
    expect(authorize.origin).toBe(stack.op.issuer);
    expect(authorize.searchParams.get('response_type')).toBe('code');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(authorize.searchParams.get('redirect_uri')).toBe(stack.redirectUri);
    const flow = b.cookie(FLOW_COOKIE)!;
    expect(flow).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/api/auth' });

    // The provider's own login form: a wrong password is refused there, the right one passes.
    let page = await b.navigate(authorize);
    expect(page.url.origin).toBe(stack.op.issuer);
    expect(page.body).toContain('name="password"');
    const wrong = await b.submit(page, { login: 'alice', password: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('Invalid username or password');
    page = await b.submit(page, { login: 'alice', password: 'alice-pw' });
    expect(page.body).toContain('Continue'); // consent
    page = await b.submit(page);

    // Back through the callback to the same-origin path asked for.
    expect(page.history.some((u) => u.href.startsWith(`${stack.redirectUri}?code=`))).toBe(true);
    expect(page.url.href).toBe(url('/jobs?phase=Running'));
    expect(b.cookie(FLOW_COOKIE)).toBeUndefined();

    const session = b.cookie(SESSION_COOKIE)!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
    expect(decodeProtectedHeader(session.value)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(session.value);
    expect(claims).toMatchObject({
      sub: 'alice',
      name: 'Alice Admin',
      email: 'alice@example.test',
      groups: ['platform-admins', 'staff'],
    });
    expect(claims.exp! - claims.iat!).toBe(IDLE);

    const jobs = await b.fetch(url('/api/jobs'));
    expect(jobs.status).toBe(200);
    expect(await jobs.json()).toEqual({
      ok: true,
      route: 'GET /api/jobs',
      // What requireRole hands the handlers (and the access log) as c.var.user.
      user: {
        sub: 'alice',
        name: 'Alice Admin',
        email: 'alice@example.test',
        roles: ['viewer', 'operator', 'admin'],
      },
    });

    expect(await me(b)).toEqual({
      status: 200,
      body: {
        user: {
          sub: 'alice',
          name: 'Alice Admin',
          email: 'alice@example.test',
          groups: ['platform-admins', 'staff'],
        },
        roles: ['viewer', 'operator', 'admin'],
        via: 'session',
      },
    });
  });

  test('logout clears the cookie, ends the session even for a kept copy, and logs out at the provider', async () => {
    const b = await loginAs(stack, 'oscar');
    const copy = b.cookie(SESSION_COOKIE)!.value;
    expect((await me(b)).status).toBe(200);

    // A cross-site POST cannot log anyone out.
    const forged = await b.fetch(url('/api/auth/logout'), {
      method: 'POST',
      headers: { Origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect((await me(b)).status).toBe(200);

    const res = await b.fetch(url('/api/auth/logout'), {
      method: 'POST',
      headers: { Accept: 'application/json', Origin: stack.app.origin },
    });
    expect(res.status).toBe(200);
    const { loggedOut, redirectTo } = (await res.json()) as { loggedOut: boolean; redirectTo: string };
    expect(loggedOut).toBe(true);
    const end = new URL(redirectTo);
    expect(`${end.origin}${end.pathname}`).toBe(`${stack.op.issuer}/session/end`);
    expect(end.searchParams.get('client_id')).toBe(stack.op.clientId);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.app.origin}/`);

    expect(b.cookie(SESSION_COOKIE)).toBeUndefined();
    await expectNoSession(b);
    await expectNoSession(withToken(copy));

    // RP-initiated logout: the provider asks, we confirm, it sends us back to the app.
    const confirm = await b.navigate(end);
    expect(confirm.url.origin).toBe(stack.op.issuer);
    const back = await b.submit(confirm, { logout: 'yes' });
    expect(back.url.href).toBe(`${stack.app.origin}/`);

    // The provider session is gone too: the next login asks for the password again.
    const again = await b.navigate(url('/api/auth/login'));
    expect(again.url.origin).toBe(stack.op.issuer);
    expect(again.body).toContain('name="password"');
  });

  test('an https request gets Secure cookies', async () => {
    // The auth routes alone, as a TLS-terminating deployment sees them (no plain-http loopback).
    const res = await stack.app.auth.routes.request('https://agents.example.test/login');
    expect(res.status).toBe(302);
    const setCookie = res.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/auth_flow=[^;]+;.*Secure/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
  });
});

describe('refused, with no session made', () => {
  test('tampered cookie (payload changed, or signature changed)', async () => {
    const b = await loginAs(stack, 'vera');
    const [header, payload, signature] = b.cookie(SESSION_COOKIE)!.value.split('.') as [
      string,
      string,
      string,
    ];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    claims.groups = ['platform-admins'];
    const escalated = `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    await expectNoSession(withToken(escalated));
    const admin = await withToken(escalated).fetch(url('/api/models/m1'), { method: 'PUT' });
    expect(admin.status).toBe(401);
    const flipped = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await expectNoSession(withToken(flipped));
  });

  test('expired token: minted in the past, and a real session left idle past its lifetime', async () => {
    const t = now();
    const expired = await signSession(secret, {
      sub: 'alice',
      groups: ['platform-admins'],
      iat: t - IDLE - 10,
      exp: t - 10,
      auth_time: t - IDLE - 10,
      jti: crypto.randomUUID(),
    });
    await expectNoSession(withToken(expired));

    const b = await loginAs(stack, 'alice');
    stack.app.skew.seconds = IDLE + 1;
    try {
      await expectNoSession(b);
    } finally {
      stack.app.skew.seconds = 0;
    }
  });

  test('alg: none', async () => {
    const t = now();
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const claims = {
      iss: 'ai-agents',
      aud: 'ai-agents',
      sub: 'alice',
      groups: ['platform-admins'],
      iat: t,
      exp: t + 300,
      auth_time: t,
      jti: crypto.randomUUID(),
    };
    await expectNoSession(withToken(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`));
    await expectNoSession(withToken(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}`));
    // Another HMAC algorithm with the right key is refused too: HS256 is pinned.
    const hs512 = await new SignJWT({ groups: ['platform-admins'], auth_time: t })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setIssuer('ai-agents')
      .setAudience('ai-agents')
      .setSubject('alice')
      .setJti(crypto.randomUUID())
      .setIssuedAt(t)
      .setExpirationTime(t + 300)
      .sign(secret);
    await expectNoSession(withToken(hs512));
  });

  test('token signed with another key', async () => {
    const t = now();
    const other = crypto.getRandomValues(new Uint8Array(48));
    const token = await signSession(other, {
      sub: 'alice',
      groups: ['platform-admins'],
      iat: t,
      exp: t + 300,
      auth_time: t,
      jti: crypto.randomUUID(),
    });
    await expectNoSession(withToken(token));
  });

  test('state mismatch', async () => {
    const b = new Browser();
    const callback = await loginUntilCallback(stack, b, 'alice');
    callback.searchParams.set('state', 'not-the-state-we-sent');
    const res = await b.fetch(callback);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; details: { reason: string } } };
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.details.reason).toMatch(/"state"/);
    expect(b.cookie(SESSION_COOKIE)).toBeUndefined();
    await expectNoSession(b);
  });

  test('issuer mismatch in the authorization response', async () => {
    const b = new Browser();
    const callback = await loginUntilCallback(stack, b, 'alice');
    expect(callback.searchParams.get('iss')).toBe(stack.op.issuer);
    callback.searchParams.set('iss', 'https://evil.example');
    const res = await b.fetch(callback);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { details: { reason: string } } };
    expect(body.error.details.reason).toMatch(/"iss"/);
    await expectNoSession(b);
  });

  test('nonce mismatch', async () => {
    const b = new Browser();
    const callback = await loginUntilCallback(stack, b, 'alice');
    // Same state and PKCE verifier, a nonce the provider never saw: the ID token's nonce won't match.
    const flow = decodeJwt(b.cookie(FLOW_COOKIE)!.value) as Record<string, string>;
    const forged = await signFlow(
      secret,
      { state: flow.state!, verifier: flow.verifier!, returnTo: flow.returnTo!, nonce: 'a-different-nonce' },
      now(),
    );
    b.setCookie({ name: FLOW_COOKIE, value: forged, host: HOST, path: '/api/auth' });
    const res = await b.fetch(callback);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { details: { reason: string } } };
    expect(body.error.details.reason).toMatch(/"nonce"/);
    await expectNoSession(b);
  });

  test('replayed authorization code (even with the original login-flow cookie)', async () => {
    const victim = new Browser();
    const callback = await loginUntilCallback(stack, victim, 'alice');
    const flow = victim.cookie(FLOW_COOKIE)!.value;
    const first = await victim.fetch(callback);
    expect(first.status).toBe(302);
    expect(victim.cookie(SESSION_COOKIE)).toBeDefined();

    const attacker = new Browser();
    attacker.setCookie({ name: FLOW_COOKIE, value: flow, host: HOST, path: '/api/auth' });
    const replay = await attacker.fetch(callback);
    expect(replay.status).toBe(401);
    const body = (await replay.json()) as { error: { details: { reason: string } } };
    expect(body.error.details.reason).toMatch(/invalid_grant/);
    expect(attacker.cookie(SESSION_COOKIE)).toBeUndefined();
    await expectNoSession(attacker);

    // And the same browser cannot run the callback twice: the flow cookie was single-use.
    const again = await victim.fetch(callback);
    expect(again.status).toBe(401);
  });

  test('callback without a login in progress', async () => {
    const b = new Browser();
    const res = await b.fetch(url('/api/auth/callback?code=abc&state=def'));
    expect(res.status).toBe(401);
    await expectNoSession(b);
  });

  test.each([
    'https://evil.example/',
    '//evil.example/path',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    'http:evil.example',
    '/\r\nSet-Cookie:x=y',
    '/\t/evil.example',
    'evil.example',
  ])('open-redirect returnTo %j', async (returnTo) => {
    const b = new Browser();
    const res = await b.fetch(url(`/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`));
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('bad_request');
    expect(b.cookie(FLOW_COOKIE)).toBeUndefined();
    await expectNoSession(b);
  });
});

describe('session lifetime', () => {
  test('sliding: activity refreshes the cookie, the absolute lifetime ends it anyway', async () => {
    const b = await loginAs(stack, 'vera');
    const first = decodeJwt(b.cookie(SESSION_COOKIE)!.value);
    const login = first.iat!;
    const at = async (offset: number) => {
      stack.app.skew.seconds = offset;
      const res = await b.fetch(url('/api/jobs'));
      await res.body?.cancel();
      return res.status;
    };
    try {
      // Each request inside the idle window slides it forward (exp = now + idle)…
      expect(await at(500)).toBe(200);
      expect(decodeJwt(b.cookie(SESSION_COOKIE)!.value).exp).toBeGreaterThanOrEqual(login + 500 + IDLE);
      expect(await at(1000)).toBe(200);
      expect(await at(1500)).toBe(200);
      // …but never past login + max: at 1500 + idle it would be 2100, it is capped at 1800.
      const capped = decodeJwt(b.cookie(SESSION_COOKIE)!.value);
      expect(capped.exp).toBeLessThanOrEqual(login + MAX + 1);
      expect(capped.auth_time).toBe(first.auth_time);
      expect(capped.jti).toBe(first.jti);
      stack.app.skew.seconds = MAX + 2;
      const late = await withToken(b.cookie(SESSION_COOKIE)?.value ?? '').fetch(url('/api/jobs'));
      expect(late.status).toBe(401);
      // A token minted with a later exp than the absolute lifetime allows is refused as well.
      const t = now();
      const stretched = await signSession(secret, {
        sub: 'vera',
        groups: ['readers'],
        iat: t + MAX,
        exp: t + MAX + IDLE,
        auth_time: t - 5,
        jti: crypto.randomUUID(),
      });
      stack.app.skew.seconds = MAX + 2;
      await expectNoSession(withToken(stretched));
    } finally {
      stack.app.skew.seconds = 0;
    }
  });
});
