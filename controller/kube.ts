// A small JSON client for the Kubernetes API over one pool of kept-alive connections (see
// kube-access.ts). The controller keeps plain JSON objects (no ObjectSerializer: timestamps stay
// strings, unknown fields survive), the same shape its watches deliver.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeObject, OwnerReference } from '../api/v1alpha1/kube-object.ts';
import type { KubeAccess } from './kube-access.ts';

export type { KubeAccess, KubeObject, OwnerReference };

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

/** An API error with the HTTP status and the apiserver's Status reason. */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string | undefined;
  constructor(code: number, message: string, reason?: string) {
    super(message);
    this.name = 'KubeError';
    this.code = code;
    this.reason = reason;
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeError && e.code === 404;
export const isConflict = (e: unknown) =>
  e instanceof KubeError && e.code === 409 && e.reason !== 'AlreadyExists';
export const isAlreadyExists = (e: unknown) =>
  e instanceof KubeError && e.code === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown) => e instanceof KubeError && e.code === 410;

export type Query = Record<string, string | number | boolean | undefined>;

/** Where a resource lives: `/api/v1` or `/apis/<group>/<version>` plus the plural. */
export interface ResourcePath {
  prefix: string;
  plural: string;
}

export const RESOURCES = {
  pods: { prefix: '/api/v1', plural: 'pods' },
  secrets: { prefix: '/api/v1', plural: 'secrets' },
  configmaps: { prefix: '/api/v1', plural: 'configmaps' },
  serviceaccounts: { prefix: '/api/v1', plural: 'serviceaccounts' },
  pvcs: { prefix: '/api/v1', plural: 'persistentvolumeclaims' },
  jobs: { prefix: '/apis/batch/v1', plural: 'jobs' },
  leases: { prefix: '/apis/coordination.k8s.io/v1', plural: 'leases' },
  inferencerequests: { prefix: '/apis/labrats.work/v1alpha1', plural: 'inferencerequests' },
  aimodels: { prefix: '/apis/labrats.work/v1alpha1', plural: 'aimodels' },
  aiagents: { prefix: '/apis/labrats.work/v1alpha1', plural: 'aiagents' },
  aiconfigs: { prefix: '/apis/labrats.work/v1alpha1', plural: 'aiconfigs' },
  aiinstructions: { prefix: '/apis/labrats.work/v1alpha1', plural: 'aiinstructions' },
} as const satisfies Record<string, ResourcePath>;

/** Collection path, namespaced or (namespace undefined) across all namespaces. */
export function collectionPath(r: ResourcePath, namespace?: string): string {
  return namespace ? `${r.prefix}/namespaces/${namespace}/${r.plural}` : `${r.prefix}/${r.plural}`;
}

export function objectPath(r: ResourcePath, namespace: string, name: string, sub?: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}${sub ? `/${sub}` : ''}`;
}

export const FIELD_MANAGER = 'ai-agents-controller';

export interface KubeClient {
  request<T>(
    method: string,
    path: string,
    opts?: { query?: Query; body?: unknown; contentType?: string },
  ): Promise<T>;
  get<T = KubeObject>(r: ResourcePath, namespace: string, name: string): Promise<T>;
  list<T = KubeObject>(r: ResourcePath, namespace: string | undefined, query?: Query): Promise<ObjectList<T>>;
  create<T = KubeObject>(r: ResourcePath, namespace: string, body: unknown): Promise<T>;
  replace<T = KubeObject>(
    r: ResourcePath,
    namespace: string,
    name: string,
    body: unknown,
    sub?: string,
  ): Promise<T>;
  mergePatch<T = KubeObject>(r: ResourcePath, namespace: string, name: string, body: unknown): Promise<T>;
  delete(
    r: ResourcePath,
    namespace: string,
    name: string,
    propagationPolicy?: 'Background' | 'Foreground',
  ): Promise<void>;
  /**
   * Streams a watch: one callback per event until the server ends it (resolves), an error or
   * `idleMs` without a byte (rejects), or the signal (resolves).
   */
  watch(
    path: string,
    query: Query,
    onEvent: (e: { type: string; object: unknown }) => void,
    signal: AbortSignal,
    idleMs: number,
  ): Promise<void>;
  readonly access: KubeAccess;
}

function kubeError(method: string, path: string, status: number, text: string): KubeError {
  let message = text.slice(0, 500);
  let reason: string | undefined;
  try {
    const st = JSON.parse(text) as { message?: string; reason?: string };
    message = st.message ?? message;
    reason = st.reason;
  } catch {
    // not a Status object
  }
  return new KubeError(status, `${method} ${path}: ${status} ${message}`, reason);
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

export function createKubeClient(access: KubeAccess, { timeoutMs = 30_000 } = {}): KubeClient {
  const send = access.server.startsWith('https:') ? httpsRequest : httpRequest;

  function url(path: string, query?: Query): URL {
    const u = new URL(access.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  async function request<T>(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { ...(await access.headers()), accept: 'application/json' };
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (payload !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url(path, opts.query), { method, headers, agent: access.agent }, (res) => {
        readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
    if (status >= 400) throw kubeError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async function watch(
    path: string,
    query: Query,
    onEvent: (e: { type: string; object: unknown }) => void,
    signal: AbortSignal,
    idleMs: number,
  ): Promise<void> {
    const headers = { ...(await access.headers()), accept: 'application/json' };
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return resolve();
      let settled = false;
      const done = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const req = send(
        url(path, { ...query, watch: true }),
        { method: 'GET', headers, agent: access.agent },
        (res) => {
          if (res.statusCode !== 200) {
            readBody(res).then((text) => done(kubeError('GET', path, res.statusCode ?? 0, text)), done);
            return;
          }
          res.setEncoding('utf8');
          let buffered = '';
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let nl = buffered.indexOf('\n');
            while (nl >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line) {
                try {
                  onEvent(JSON.parse(line) as { type: string; object: unknown });
                } catch (e) {
                  // a bad line, or the handler refused the event: end this watch with that error
                  done(e);
                  req.destroy();
                  return;
                }
              }
              nl = buffered.indexOf('\n');
            }
          });
          res.on('end', () => done());
          res.on('error', done);
          res.on('close', () =>
            done(res.complete ? undefined : new Error(`watch ${path}: connection closed`)),
          );
        },
      );
      const onAbort = () => req.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(idleMs, () =>
        req.destroy(new Error(`watch ${path}: nothing received for ${idleMs} ms`)),
      );
      req.on('error', done);
      req.end();
    });
  }

  return {
    access,
    request,
    watch,
    get: (r, ns, name) => request('GET', objectPath(r, ns, name)),
    list: (r, ns, query) => request('GET', collectionPath(r, ns), { query }),
    create: (r, ns, body) =>
      request('POST', collectionPath(r, ns), { body, query: { fieldManager: FIELD_MANAGER } }),
    replace: (r, ns, name, body, sub) =>
      request('PUT', objectPath(r, ns, name, sub), { body, query: { fieldManager: FIELD_MANAGER } }),
    mergePatch: (r, ns, name, body) =>
      request('PATCH', objectPath(r, ns, name), {
        body,
        contentType: 'application/merge-patch+json',
        query: { fieldManager: FIELD_MANAGER },
      }),
    async delete(r, ns, name, propagationPolicy = 'Background') {
      await request('DELETE', objectPath(r, ns, name), { body: { propagationPolicy } });
    },
  };
}

export const keyOf = (o: { metadata: { namespace?: string; name: string } }) =>
  `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The controller ownerReference of an object, if any. */
export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}
