// The local origin: static dashboard with SPA fallback, /api proxied with streaming, and the
// printed sign-in link turned into a session the functions' own auth accepts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, loadAuthConfig } from '../../functions/auth/index.ts';
import { createWebServer, LOCAL_ADMIN_GROUP } from './web.ts';

const JWT_SECRET = 'j'.repeat(48);
const CODE = 'the-printed-code-0123456789';
let ui: string;
let api: Server;
let web: Server;
let base: string;
const port = (s: Server) => (s.address() as AddressInfo).port;

beforeAll(async () => {
  ui = mkdtempSync(path.join(tmpdir(), 'platform-web-'));
  mkdirSync(path.join(ui, 'assets'));
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><div id="app"></div>');
  writeFileSync(path.join(ui, 'assets', 'app-123.js'), 'console.log(1)');
  writeFileSync(path.join(path.dirname(ui), 'secret.txt'), 'outside');
  // a stand-in API that streams: the first chunk must arrive before the response ends
  api = createServer((req, res) => {
    if (req.url === '/api/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      req.socket.once('close', () => res.end());
      return;
    }
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () =>
      res
        .writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' })
        .end(
          JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null }),
        ),
    );
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  web = createWebServer({ uiDir: ui, apiPort: port(api), jwtSecret: JWT_SECRET, loginCode: CODE });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${port(web)}`;
});

afterAll(async () => {
  web.closeAllConnections();
  api.closeAllConnections();
  await new Promise((r) => web.close(r));
  await new Promise((r) => api.close(r));
  rmSync(ui, { recursive: true, force: true });
});

describe('local origin', () => {
  it('serves the build, long-caches hashed assets and falls back to index.html for app routes', async () => {
    const index = await fetch(`${base}/`);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(await index.text()).toContain('<div id="app">');
    const asset = await fetch(`${base}/assets/app-123.js`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await (await fetch(`${base}/jobs/ir-1`)).text()).toContain('<div id="app">');
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    // a raw path (fetch would normalise it) that decodes to ../secret.txt
    const outside = await new Promise<string>((resolve, reject) => {
      httpGet({ host: '127.0.0.1', port: port(web), path: '/..%2fsecret.txt' }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(outside).toContain('<div id="app">');
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
  });

  it('proxies /api with method, body, headers and status, and streams', async () => {
    const res = await fetch(`${base}/api/jobs/submit?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(await res.json()).toEqual({
      method: 'POST',
      url: '/api/jobs/submit?x=1',
      body: '{"a":1}',
      auth: 'Bearer k',
    });
    const controller = new AbortController();
    const stream = await fetch(`${base}/api/stream`, { signal: controller.signal });
    const reader = stream.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: one\n\n');
    controller.abort();
  });

  it('turns the printed code into an admin session the functions accept; a wrong code gets nothing', async () => {
    expect((await fetch(`${base}/local-login?code=nope`, { redirect: 'manual' })).status).toBe(403);
    expect((await fetch(`${base}/local-login`, { redirect: 'manual' })).status).toBe(403);
    const res = await fetch(`${base}/local-login?code=${CODE}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    // the functions' own auth, configured as the platform configures it
    const auth = createAuth(loadAuthConfig({ JWT_SECRET, AUTH_ADMIN_GROUPS: LOCAL_ADMIN_GROUP }));
    const { Hono } = await import('hono');
    const app = new Hono();
    app.get('/api/jobs', auth.requireRole('admin'), (c) => c.json({ user: c.get('user') }));
    const cookie = setCookie.split(';')[0]!;
    const ok = await app.request('/api/jobs', { headers: { cookie } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { user: { sub: string; roles: string[] } }).user).toMatchObject({
      sub: 'local-admin',
      roles: expect.arrayContaining(['admin']),
    });
    expect((await app.request('/api/jobs')).status).toBe(401);
  });

  it('answers the dashboard sign-in button with how to sign in locally', async () => {
    const res = await fetch(`${base}/api/auth/login?returnTo=/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/local-login?code=');
  });
});
