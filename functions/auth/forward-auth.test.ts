// Authelia ForwardAuth behind Traefik: Remote-User / Remote-Groups / Remote-Email / Remote-Name are
// believed only when TRUST_FORWARD_AUTH is on and the direct TCP peer (from the server's connection
// info, over real HTTP on 127.0.0.1) is inside TRUSTED_PROXIES. X-Forwarded-For changes nothing.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AppServer, JWT_SECRET, ROLE_ENV, startApp } from './testing/harness.ts';

const spoof = {
  'Remote-User': 'mallory',
  'Remote-Groups': 'platform-admins,staff',
  'Remote-Email': 'mallory@example.test',
  'Remote-Name': 'Mallory',
};

let trusted: AppServer;
let untrusted: AppServer;
let disabled: AppServer;
beforeAll(async () => {
  const base = { JWT_SECRET, ...ROLE_ENV };
  trusted = await startApp(() => ({
    ...base,
    TRUST_FORWARD_AUTH: 'true',
    TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1/32',
  }));
  untrusted = await startApp(() => ({
    ...base,
    TRUST_FORWARD_AUTH: 'true',
    TRUSTED_PROXIES: '10.0.0.0/8,fd00::/8',
  }));
  disabled = await startApp(() => ({ ...base, TRUST_FORWARD_AUTH: 'false', TRUSTED_PROXIES: '127.0.0.1' }));
});
afterAll(async () => {
  await Promise.all([trusted?.close(), untrusted?.close(), disabled?.close()]);
});

async function get(app: AppServer, path: string, headers: Record<string, string>, method = 'GET') {
  const res = await fetch(`${app.origin}${path}`, { method, headers });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    setCookie: res.headers.getSetCookie(),
  };
}

describe('ForwardAuth headers', () => {
  test('from an untrusted peer they are ignored, whatever X-Forwarded-For claims', async () => {
    const variants: Record<string, string>[] = [
      {},
      { 'X-Forwarded-For': '10.1.2.3' },
      { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '10.0.0.1' },
    ];
    for (const extra of variants) {
      const headers: Record<string, string> = { ...spoof, ...extra };
      expect((await get(untrusted, '/api/jobs', headers)).status).toBe(401);
      expect((await get(untrusted, '/api/models/m1', headers, 'PUT')).status).toBe(401);
      const me = await get(untrusted, '/api/auth/me', headers);
      expect(me.status).toBe(401);
      expect(me.body).toMatchObject({ error: { code: 'unauthorized' } });
    }
  });

  test('with TRUST_FORWARD_AUTH off they are ignored even from a listed proxy', async () => {
    expect((await get(disabled, '/api/jobs', spoof)).status).toBe(401);
    expect((await get(disabled, '/api/auth/me', spoof)).status).toBe(401);
  });

  test('from a trusted proxy they identify the user, with roles from Remote-Groups, and no cookie is issued', async () => {
    const me = await get(trusted, '/api/auth/me', spoof);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: {
        sub: 'mallory',
        name: 'Mallory',
        email: 'mallory@example.test',
        groups: ['platform-admins', 'staff'],
      },
      roles: ['viewer', 'operator', 'admin'],
      via: 'forward-auth',
    });
    expect(me.setCookie).toEqual([]);
    const admin = await get(trusted, '/api/models/m1', spoof, 'PUT');
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ user: { sub: 'mallory', roles: ['viewer', 'operator', 'admin'] } });
    expect(admin.setCookie).toEqual([]);

    const reader = { 'Remote-User': 'rita', 'Remote-Groups': 'readers' };
    expect((await get(trusted, '/api/jobs', reader)).status).toBe(200);
    expect((await get(trusted, '/api/jobs/run-1/cancel', reader, 'POST')).status).toBe(403);
    expect((await get(trusted, '/api/models/m1', reader, 'PUT')).body).toMatchObject({
      error: { code: 'forbidden' },
    });
  });

  test('a trusted proxy without Remote-User is no identity', async () => {
    expect((await get(trusted, '/api/jobs', { 'Remote-Groups': 'platform-admins' })).status).toBe(401);
    expect((await get(trusted, '/api/jobs', { ...spoof, 'Remote-User': '  ' })).status).toBe(401);
  });
});
