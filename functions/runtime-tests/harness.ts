// Builds the unified app for the behavioural suite: the real app, an in-memory Kube, the real file
// event log in a fresh temporary folder, the test auth, and captured log lines.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_ANNOTATIONS } from '../../api/v1alpha1/executor-contract.ts';
import { INGEST_AUDIENCE, ingestKey, mintIngestToken } from '../../api/v1alpha1/ingest-token.ts';
import { childName } from '../../api/v1alpha1/names.ts';
import { type App, createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { sha256, toHex } from '../lib/api-keys.ts';
import { createFileEventStore, type LogState } from '../lib/event-store.ts';
import type { KubeObject } from '../lib/kube.ts';
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
  /** An executor pod of `request`'s run Job and its ServiceAccount token, known to the memory Kube. */
  executorToken(request: string, opts?: ExecutorPodOptions): Promise<{ token: string; pod: KubeObject }>;
  ingest(token: string, body: unknown): Promise<Response>;
  addKeySecret(name: string, caller: string, keys: string[]): Promise<void>;
  /** What the event log of request `name` (as it now is, by uid) holds. */
  logState(name: string): Promise<LogState>;
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
    async executorToken(request, opts = {}) {
      const uid = (await kube.get('InferenceRequest', request)).metadata.uid!;
      const pod = executorPod(request, uid, opts);
      kube.pods.set(pod.metadata.name, pod);
      const token = fakeServiceAccountToken();
      kube.tokens.set(token, {
        audiences: opts.audiences ?? [INGEST_AUDIENCE],
        user: executorUser(opts.namespace ?? config.namespace, pod),
      });
      return { token, pod };
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
    async logState(name) {
      const uid = (await kube.get('InferenceRequest', name)).metadata.uid ?? '';
      return app.services.events.state({ namespace: config.namespace, request: name, uid });
    },
  };
  return h;
}

export interface ExecutorPodOptions {
  /** The ServiceAccount's namespace (default: the functions'). */
  namespace?: string;
  /** The audiences the token is issued for (default: the ingest audience). */
  audiences?: string[];
  /** The name of the Job owning the pod (default: the request's run Job). */
  jobName?: string;
  /** Leave out the RUN_ANNOTATIONS. */
  noAnnotations?: boolean;
}

let podSerial = 0;

/** An executor pod as its Job's template makes it: run annotations, owned by the run Job. */
export function executorPod(request: string, requestUid: string, opts: ExecutorPodOptions = {}): KubeObject {
  const jobName = opts.jobName ?? childName(request, 'run');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${jobName}-${(++podSerial).toString(36).padStart(5, '0')}`,
      uid: crypto.randomUUID(),
      ...(opts.noAnnotations
        ? {}
        : { annotations: { [RUN_ANNOTATIONS.request]: request, [RUN_ANNOTATIONS.requestUid]: requestUid } }),
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: crypto.randomUUID(), controller: true },
      ],
    },
  };
}

/** The user a TokenReview reports for a pod-bound token of the executors' ServiceAccount. */
export function executorUser(namespace: string, pod: KubeObject) {
  return {
    username: `system:serviceaccount:${namespace}:ai-agents-executor`,
    uid: crypto.randomUUID(),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    extra: {
      'authentication.kubernetes.io/pod-name': [pod.metadata.name],
      'authentication.kubernetes.io/pod-uid': [pod.metadata.uid!],
    },
  };
}

const b64url = (v: unknown) =>
  btoa(JSON.stringify(v)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

/**
 * A token shaped like a projected ServiceAccount token (RS256 header, ingest audience, expiry): only
 * the memory Kube's TokenReview decides whether it is valid, as only the apiserver would.
 */
export function fakeServiceAccountToken(
  claims: { aud?: string[]; exp?: number } = {},
  alg = 'RS256',
): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    aud: claims.aud ?? [INGEST_AUDIENCE],
    exp: claims.exp ?? now + 3600,
    iat: now,
    iss: 'https://kubernetes.default.svc',
    jti: crypto.randomUUID(),
    sub: 'system:serviceaccount:ai-agents:ai-agents-executor',
  };
  return `${b64url({ alg, kid: 'test' })}.${b64url(payload)}.${b64url('signature')}`;
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
