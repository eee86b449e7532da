// Role checks on every protected route: the real unified app (createApp) with the real auth, real
// sessions from logins at a real OpenID provider, walked over the route→role table. The table is
// checked against the app's own routes first, so a new /api route without a role fails here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createFileEventStore } from '../lib/event-store.ts';
import { createLogger } from '../lib/log.ts';
import { createMemoryKube } from '../lib/memory-kube.ts';
import { ROLES, ROUTE_ACCESS, type Role, type RouteRule } from '../lib/roles.ts';
import { createUploadStore } from '../uploads/store.ts';
import { createMemoryCore } from '../webhooks/store.ts';
import type { Auth } from './index.ts';
import { rolesFor } from './roles.ts';
import type { Browser } from './testing/browser.ts';
import { ACCOUNTS, loginAs, ROLE_ENV, type Stack, startStack } from './testing/harness.ts';

const workspace = mkdtempSync(join(tmpdir(), 'ai-agents-auth-roles-'));
let stack: Stack;
let apiRoutes: string[] = [];

function unifiedApp(auth: Auth): Hono {
  const config = loadConfig({
    WORKSPACE_DIR: workspace,
    NAMESPACE: 'ai-agents',
    LOG_LEVEL: 'error',
    INGEST_TOKEN_SECRET: 'ingest-secret-for-auth-tests-0123456789',
  });
  const app = createApp({
    config,
    kube: createMemoryKube('ai-agents'),
    events: createFileEventStore(workspace),
    auth: { routes: auth.routes, requireRole: auth.requireRole },
    log: createLogger('error', () => {}),
    uploads: createUploadStore({ dir: join(workspace, 'uploads'), maxBytes: 1024 * 1024 }),
    webhookCore: createMemoryCore(),
  });
  apiRoutes = app.routes
    .filter((r) => r.path.startsWith('/api/') && !r.path.startsWith('/api/auth') && r.method !== 'ALL')
    .map((r) => `${r.method} ${r.path.replace(/\/$/, '')}`);
  return app;
}

/** One logged-in browser per account, each holding a real session from the provider. */
const sessions = new Map<string, Browser>();
// The accounts, by the role their groups map to (nobody: groups that map to no role).
const PEOPLE = { admin: 'alice', operator: 'oscar', viewer: 'vera', none: 'nobody' } as const;

beforeAll(async () => {
  stack = await startStack({}, unifiedApp);
  for (const account of Object.values(PEOPLE)) sessions.set(account, await loginAs(stack, account));
});
afterAll(async () => {
  await stack?.close();
  rmSync(workspace, { recursive: true, force: true });
});

function concretePath(rule: RouteRule): string {
  return rule.path.replace(':kind', 'models').replace(/:[a-zA-Z]+/g, 'no-such-thing');
}

async function call(rule: RouteRule, browser?: Browser): Promise<Response> {
  const url = `${stack.app.origin}${concretePath(rule)}`;
  const init: RequestInit = { method: rule.method };
  if (rule.method !== 'GET' && rule.method !== 'DELETE') {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = '{}';
  }
  return browser ? browser.fetch(url, init) : fetch(url, { ...init, redirect: 'manual' });
}

describe('route → role table', () => {
  test('every /api route of the app has a row in the table, and every row a route', () => {
    expect(apiRoutes.length).toBeGreaterThan(0);
    const table = ROUTE_ACCESS.map((r) => `${r.method} ${r.path}`);
    expect([...new Set(apiRoutes)].sort()).toEqual([...new Set(table)].sort());
  });

  test('the test accounts map to the roles the table is walked with', () => {
    const config = {
      roleGroups: {
        admin: ROLE_ENV.AUTH_ADMIN_GROUPS!.split(',').map((s) => s.trim()),
        operator: ROLE_ENV.AUTH_OPERATOR_GROUPS!.split(',').map((s) => s.trim()),
        viewer: ROLE_ENV.AUTH_VIEWER_GROUPS!.split(',').map((s) => s.trim()),
      },
      defaultRole: undefined,
    };
    expect(rolesFor(ACCOUNTS.alice!.groups, config)).toEqual(['viewer', 'operator', 'admin']);
    expect(rolesFor(ACCOUNTS.oscar!.groups, config)).toEqual(['viewer', 'operator']);
    expect(rolesFor(ACCOUNTS.vera!.groups, config)).toEqual(['viewer']);
    expect(rolesFor(ACCOUNTS.nobody!.groups, config)).toEqual([]);
  });

  const protectedRules = ROUTE_ACCESS.filter((r) => r.access !== 'public' && r.access !== 'self');
  test.each(protectedRules.map((r) => [`${r.method} ${r.path}`, r] as const))('%s', async (_name, rule) => {
    const need = rule.access as Role;
    const anonymous = await call(rule);
    expect(anonymous.status, 'anonymous').toBe(401);
    const body = (await anonymous.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.requestId).toBeTruthy();

    for (const [who, account] of Object.entries(PEOPLE)) {
      const res = await call(rule, sessions.get(account));
      const text = await res.text();
      const allowed = who !== 'none' && ROLES.indexOf(who as Role) >= ROLES.indexOf(need);
      if (allowed) {
        // Let through to the handler: whatever it answers for a made-up id, it is not an auth refusal.
        expect([401, 403], `${who} → ${res.status} ${text.slice(0, 200)}`).not.toContain(res.status);
      } else {
        expect(res.status, `${who} → ${text.slice(0, 200)}`).toBe(403);
        expect(JSON.parse(text).error.code).toBe('forbidden');
      }
    }
  });

  test('self-authenticated routes take an API key or a session, and refuse anonymous callers', async () => {
    for (const rule of ROUTE_ACCESS.filter((r) => r.access === 'self')) {
      const res = await call(rule);
      expect(res.status, `${rule.method} ${rule.path}`).toBe(401);
      const viaKey = await fetch(`${stack.app.origin}${concretePath(rule)}`, {
        method: rule.method,
        headers: { 'X-API-Key': 'not-a-valid-key-at-all' },
      });
      expect(((await viaKey.json()) as { error: { message: string } }).error.message).toBe(
        'the API key is not valid',
      );
    }
  });

  test('public routes are not behind the session gate (they check their own API key or token)', async () => {
    for (const rule of ROUTE_ACCESS.filter((r) => r.access === 'public')) {
      const res = await call(rule);
      const body = (await res.json()) as { error?: { message: string } };
      expect(res.status, `${rule.method} ${rule.path}`).not.toBe(403);
      expect(body.error?.message, `${rule.method} ${rule.path}`).not.toBe('login required');
    }
  });

  test('/api/auth/me is for any logged-in user (no role needed), 401 otherwise', async () => {
    const anon = await fetch(`${stack.app.origin}/api/auth/me`);
    expect(anon.status).toBe(401);
    const nobody = await sessions.get('nobody')!.fetch(`${stack.app.origin}/api/auth/me`);
    expect(nobody.status).toBe(200);
    expect(await nobody.json()).toMatchObject({ user: { sub: 'nobody' }, roles: [] });
  });
});
