// What the webhook receiver needs from Kubernetes beyond the functions' Kube (custom resources):
// the source's secret value and the delivery ledger's ConfigMap. Small on purpose, so the unified
// API and the per-source pods can back it with the same client, and unit tests with memory.
import type { KubeConfig } from '@kubernetes/client-node';
import type { WebhookSource } from '../../api/v1alpha1/index.ts';
import { isKubeError, type Kube, KubeError } from '../lib/kube.ts';
import { type KubeHttp, kubeHttpFor } from '../lib/kube-http.ts';

export interface ConfigMapObject {
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  data?: Record<string, string>;
  /** base64 values */
  binaryData?: Record<string, string>;
}

export interface WebhookCore {
  /** The decoded value of a Secret's key, or undefined when the Secret or key is missing. */
  getSecretValue(name: string, key: string): Promise<string | undefined>;
  getConfigMap(name: string): Promise<ConfigMapObject | undefined>;
  createConfigMap(body: ConfigMapObject): Promise<ConfigMapObject>;
  /** JSON merge patch; null values delete keys. */
  patchConfigMap(name: string, patch: unknown): Promise<ConfigMapObject>;
}

function decodeBase64(b64: string): string {
  const bin = atob(b64);
  return new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
}

const toObject = (cm: ConfigMapObject): ConfigMapObject => ({
  metadata: {
    name: cm.metadata?.name ?? '',
    ...(cm.metadata?.resourceVersion ? { resourceVersion: cm.metadata.resourceVersion } : {}),
    ...(cm.metadata?.labels ? { labels: cm.metadata.labels } : {}),
  },
  ...(cm.data ? { data: cm.data } : {}),
  ...(cm.binaryData ? { binaryData: cm.binaryData } : {}),
});

/** undefined for a 404, the value otherwise. */
async function unlessMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isKubeError(e, 404)) return undefined;
    throw e;
  }
}

/** The real WebhookCore: Secrets and ConfigMaps in one namespace, over `kc`'s shared connection pool. */
export function createWebhookCore(
  kc: KubeConfig,
  namespace: string,
  http: KubeHttp = kubeHttpFor(kc),
): WebhookCore {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
  const configMap = (name: string) => `${base}/configmaps/${encodeURIComponent(name)}`;
  return {
    async getSecretValue(name, key) {
      const s = await unlessMissing(
        http.request<{ data?: Record<string, string> }>('GET', `${base}/secrets/${encodeURIComponent(name)}`),
      );
      const v = s?.data?.[key];
      return v === undefined ? undefined : decodeBase64(v);
    },
    async getConfigMap(name) {
      const cm = await unlessMissing(http.request<ConfigMapObject>('GET', configMap(name)));
      return cm && toObject(cm);
    },
    async createConfigMap(body) {
      return toObject(await http.request<ConfigMapObject>('POST', `${base}/configmaps`, { body }));
    },
    async patchConfigMap(name, patch) {
      return toObject(
        await http.request<ConfigMapObject>('PATCH', configMap(name), {
          body: patch,
          contentType: 'application/merge-patch+json',
        }),
      );
    },
  };
}

/** An in-memory WebhookCore for unit tests (the integration tests use the real apiserver). */
export function createMemoryCore(): WebhookCore & {
  secrets: Map<string, Record<string, string>>;
  configMaps: Map<string, ConfigMapObject>;
} {
  const secrets = new Map<string, Record<string, string>>();
  const configMaps = new Map<string, ConfigMapObject>();
  let rv = 1;
  const merge = (target: unknown, patch: unknown): unknown => {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
    const out: Record<string, unknown> =
      target && typeof target === 'object' ? { ...(target as Record<string, unknown>) } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = merge(out[k], v);
    }
    return out;
  };
  return {
    secrets,
    configMaps,
    async getSecretValue(name, key) {
      return secrets.get(name)?.[key];
    },
    async getConfigMap(name) {
      const cm = configMaps.get(name);
      return cm ? structuredClone(cm) : undefined;
    },
    async createConfigMap(body) {
      if (configMaps.has(body.metadata.name)) {
        throw new KubeError(409, 'AlreadyExists', `configmaps "${body.metadata.name}" already exists`);
      }
      const cm = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(rv++) } });
      configMaps.set(body.metadata.name, cm);
      return structuredClone(cm);
    },
    async patchConfigMap(name, patch) {
      const cm = configMaps.get(name);
      if (!cm) throw new KubeError(404, 'NotFound', `configmaps "${name}" not found`);
      const next = merge(cm, patch) as ConfigMapObject;
      next.metadata.resourceVersion = String(rv++);
      configMaps.set(name, next);
      return structuredClone(next);
    },
  };
}

export interface SourceLookup {
  source: WebhookSource;
  secret: string | undefined;
}

/**
 * WebhookSource + secret lookups, cached for `ttlMs` (absences too) with concurrent lookups of
 * one name sharing a single read. A changed rule or rotated secret is seen within ttlMs.
 */
export function createSourceCache(
  kube: Pick<Kube, 'get'>,
  core: Pick<WebhookCore, 'getSecretValue'>,
  { ttlMs = 5000, now = Date.now }: { ttlMs?: number; now?: () => number } = {},
): { get(name: string): Promise<SourceLookup | undefined>; clear(): void } {
  const cache = new Map<string, { at: number; value: Promise<SourceLookup | undefined> }>();
  async function load(name: string): Promise<SourceLookup | undefined> {
    let source: WebhookSource;
    try {
      source = (await kube.get('WebhookSource', name)) as unknown as WebhookSource;
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
    const ref = source.spec.secretRef;
    const secret = await core.getSecretValue(ref.name, ref.key ?? 'secret');
    return { source, secret };
  }
  return {
    get(name) {
      const hit = cache.get(name);
      if (hit && now() - hit.at < ttlMs) return hit.value;
      const value = load(name);
      cache.set(name, { at: now(), value });
      // never cache a failure
      value.catch(() => cache.delete(name));
      if (cache.size > 1000) cache.delete(cache.keys().next().value!);
      return value;
    },
    clear: () => cache.clear(),
  };
}
