// A small JSON client for the Kubernetes API on top of client-node's authentication. The
// controller keeps plain JSON objects (no ObjectSerializer: timestamps stay strings, unknown
// fields survive), the same shape its watches deliver.
import { type HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';
import type { KubeObject, OwnerReference } from '../api/v1alpha1/kube-object.ts';

export type { KubeObject, OwnerReference };

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
  /** The KubeConfig, for watches. */
  readonly kc: KubeConfig;
}

export function createKubeClient(kc: KubeConfig, { timeoutMs = 30_000 } = {}): KubeClient {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');

  async function request<T>(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const url = new URL(server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method as HttpMethod);
    await kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      dispatcher: ctx.getDispatcher(),
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status >= 400) {
      let message = text.slice(0, 500);
      let reason: string | undefined;
      try {
        const status = JSON.parse(text) as { message?: string; reason?: string };
        message = status.message ?? message;
        reason = status.reason;
      } catch {
        // not a Status object
      }
      throw new KubeError(res.status, `${method} ${path}: ${res.status} ${message}`, reason);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    kc,
    request,
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
