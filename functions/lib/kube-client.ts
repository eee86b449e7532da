// The real Kube: JSON to the apiserver with whatever identity the KubeConfig carries (in the
// cluster, the functions' ServiceAccount; in integration tests, a TokenRequest token for it), over
// the KubeConfig's one pool of kept-alive connections (kube-http.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { customObjectPath, type Kind } from '../../api/v1alpha1/index.ts';
import type { Kube, KubeObject, ListResult, SecretData, TokenReviewStatus } from './kube.ts';
import { type KubeHttp, kubeHttpFor } from './kube-http.ts';

const MERGE_PATCH = 'application/merge-patch+json';

function decode(b64: string): string {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** A Kube over `kc`'s shared connection pool (or over `http`, when given). */
export function createKubeClient(kc: KubeConfig, namespace: string, http: KubeHttp = kubeHttpFor(kc)): Kube {
  const ns = encodeURIComponent(namespace);
  const collections = new Map<Kind, string>();
  const collection = (kind: Kind) => {
    let path = collections.get(kind);
    if (!path) {
      const { group, version, plural } = customObjectPath(kind);
      path = `/apis/${group}/${version}/namespaces/${ns}/${plural}`;
      collections.set(kind, path);
    }
    return path;
  };
  const object = (kind: Kind, name: string) => `${collection(kind)}/${encodeURIComponent(name)}`;
  return {
    namespace,
    async list<T extends KubeObject>(
      kind: Kind,
      opts: { labelSelector?: string; limit?: number; continue?: string } = {},
    ) {
      const res = await http.request<{ items: T[]; metadata?: { continue?: string } }>(
        'GET',
        collection(kind),
        {
          query: {
            ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
            ...(opts.limit ? { limit: opts.limit } : {}),
            ...(opts.continue ? { continue: opts.continue } : {}),
          },
        },
      );
      const out: ListResult<T> = { items: res.items };
      if (res.metadata?.continue) out.continue = res.metadata.continue;
      return out;
    },
    get: <T extends KubeObject>(kind: Kind, name: string) => http.request<T>('GET', object(kind, name)),
    create: <T extends KubeObject>(kind: Kind, body: KubeObject) =>
      http.request<T>('POST', collection(kind), { body }),
    replace: <T extends KubeObject>(kind: Kind, name: string, body: KubeObject) =>
      http.request<T>('PUT', object(kind, name), { body }),
    patch: <T extends KubeObject>(kind: Kind, name: string, patch: unknown) =>
      http.request<T>('PATCH', object(kind, name), { body: patch, contentType: MERGE_PATCH }),
    patchStatus: <T extends KubeObject>(kind: Kind, name: string, patch: unknown) =>
      http.request<T>('PATCH', `${object(kind, name)}/status`, { body: patch, contentType: MERGE_PATCH }),
    async delete(kind: Kind, name: string) {
      await http.request('DELETE', object(kind, name), { query: { propagationPolicy: 'Background' } });
    },
    async listSecrets(labelSelector: string): Promise<SecretData[]> {
      const res = await http.request<{
        items: { metadata?: { name?: string }; data?: Record<string, string> }[];
      }>('GET', `/api/v1/namespaces/${ns}/secrets`, { query: { labelSelector } });
      return res.items.map((s) => ({
        name: s.metadata?.name ?? '',
        data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, decode(v)])),
      }));
    },
    async reviewToken(token: string, audiences: string[]): Promise<TokenReviewStatus> {
      const res = await http.request<{ status?: TokenReviewStatus }>(
        'POST',
        '/apis/authentication.k8s.io/v1/tokenreviews',
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, audiences },
          },
        },
      );
      return res.status ?? {};
    },
    getPod: (name: string) =>
      http.request<KubeObject>('GET', `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(name)}`),
  };
}
