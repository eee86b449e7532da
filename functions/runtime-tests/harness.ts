// Builds the unified app for the behavioural suite: the real app, an in-memory Kube, the real file
// event log in a fresh temporary folder, the test auth, and captured log lines.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestKey, mintIngestToken } from '../../api/v1alpha1/ingest-token.ts';
import { type App, createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { sha256, toHex } from '../lib/api-keys.ts';
import { createFileEventStore } from '../lib/event-store.ts';
import { createLogger } from '../lib/log.ts';
import { createMemoryKube, type MemoryKube } from '../lib/memory-kube.ts';
import { asUser, testRequireRole } from '../testing/auth.ts';
import { createUploadStore } from '../uploads/store.ts';
import { createMemoryCore } from '../webhooks/store.ts';

export const STATIC_KEY = 'alice-key-0123456789abcdef';
export const INGEST_SECRET = 'ingest-secret-for-tests-0123456789abcdef';
export const json = { 'content-type': 'application/json' };

export interface Harness {
  app: App;
  kube: MemoryKube;
  logs: string[];
  workspace: string;
  req(path: string, init?: RequestInit & { role?: 'viewer' | 'operator' | 'admin' }): Promise<Response>;
  submit(body: unknown, headers?: Record<string, string>): Promise<Response>;
  ingestToken(request: string, opts?: { uid?: string; namespace?: string }): Promise<string>;
  ingest(token: string, body: unknown): Promise<Response>;
  addKeySecret(name: string, caller: string, keys: string[]): Promise<void>;
}

export function harness(env: Record<string, string> = {}): Harness {
  const workspace = mkdtempSync(join(tmpdir(), 'ai-agents-fn-'));
  const logs: string[] = [];
  const config = loadConfig({
    SUBMIT_API_KEYS: `alice:${STATIC_KEY}`,
    INGEST_TOKEN_SECRET: INGEST_SECRET,
    WORKSPACE_DIR: workspace,
    NAMESPACE: 'ai-agents',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const kube = createMemoryKube(config.namespace);
  const app = createApp({
    config,
    kube,
    events: createFileEventStore(workspace),
    auth: { requireRole: testRequireRole },
    log: createLogger('debug', (l) => logs.push(l)),
    eventStream: { pollMs: 10, phaseCheckMs: 20, keepaliveMs: 60_000 },
    uploads: createUploadStore({ dir: join(workspace, 'uploads'), maxBytes: 1024 * 1024 }),
    webhookCore: createMemoryCore(),
  });
  const h: Harness = {
    app,
    kube,
    logs,
    workspace,
    req(path, init = {}) {
      const { role, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (role) for (const [k, v] of Object.entries(asUser(role))) headers.set(k, v);
      return Promise.resolve(app.request(path, { ...rest, headers }));
    },
    submit(body, headers = {}) {
      return h.req('/api/jobs/submit', {
        method: 'POST',
        headers: { authorization: `Bearer ${STATIC_KEY}`, ...json, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async ingestToken(request, opts = {}) {
      let uid = opts.uid;
      if (!uid) uid = (await kube.get('InferenceRequest', request)).metadata.uid!;
      return mintIngestToken(
        ingestKey(INGEST_SECRET),
        { namespace: opts.namespace ?? config.namespace, request, uid },
        new Date(Date.now() + 3600_000),
      );
    },
    ingest(token, body) {
      return h.req('/api/events/ingest', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...json },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async addKeySecret(name, caller, keys) {
      const data: Record<string, string> = { caller };
      for (const [i, k] of keys.entries()) data[i === 0 ? 'sha256' : `sha256.${i}`] = toHex(await sha256(k));
      kube.secrets.push({ name, labels: { 'labrats.work/api-key': 'true' }, data });
    },
  };
  return h;
}

export const at = (seq: number, type = 'message', extra: Record<string, unknown> = {}) => ({
  seq,
  type,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq % 60)).toISOString(),
  ...extra,
});

/** Parses an SSE body into events (id, event, data). */
export function parseSse(text: string): { id?: string; event?: string; data?: string }[] {
  const out: { id?: string; event?: string; data?: string }[] = [];
  for (const block of text.split('\n\n')) {
    const ev: { id?: string; event?: string; data?: string } = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || !line.includes(':')) continue;
      const i = line.indexOf(':');
      const k = line.slice(0, i);
      const v = line.slice(i + 1).replace(/^ /, '');
      if (k === 'id' || k === 'event') ev[k] = v;
      if (k === 'data') ev.data = ev.data === undefined ? v : `${ev.data}\n${v}`;
    }
    if (ev.event || ev.data !== undefined) out.push(ev);
  }
  return out;
}

export const validSubmit = { agent: 'developer', prompt: 'Add a health check.' };
