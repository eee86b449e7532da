// The real Kube: @kubernetes/client-node with whatever identity the KubeConfig carries (in the
// cluster, the functions' ServiceAccount; in integration tests, a TokenRequest token for it).
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { customObjectPath, type Kind } from '../../api/v1alpha1/index.ts';
import { type Kube, type KubeObject, kubeErrorFromStatus, type ListResult, type SecretData } from './kube.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function wrap(err: unknown): never {
  if (err instanceof ApiException) {
    const e = kubeErrorFromStatus(err.code, err.body);
    const retryAfter = Number(err.headers?.['retry-after']);
    throw Number.isFinite(retryAfter) && e.retryAfterSeconds === undefined
      ? Object.assign(e, { retryAfterSeconds: retryAfter })
      : e;
  }
  throw err;
}

function decode(b64: string): string {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function createKubeClient(kc: KubeConfig, namespace: string): Kube {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const at = (kind: Kind) => ({ ...customObjectPath(kind), namespace });
  return {
    namespace,
    async list<T extends KubeObject>(
      kind: Kind,
      opts: { labelSelector?: string; limit?: number; continue?: string } = {},
    ) {
      try {
        const res = (await custom.listNamespacedCustomObject({
          ...at(kind),
          ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
          ...(opts.limit ? { limit: opts.limit } : {}),
          ...(opts.continue ? { _continue: opts.continue } : {}),
        })) as { items: T[]; metadata?: { continue?: string } };
        const out: ListResult<T> = { items: res.items };
        if (res.metadata?.continue) out.continue = res.metadata.continue;
        return out;
      } catch (e) {
        return wrap(e);
      }
    },
    async get<T extends KubeObject>(kind: Kind, name: string) {
      try {
        return (await custom.getNamespacedCustomObject({ ...at(kind), name })) as T;
      } catch (e) {
        return wrap(e);
      }
    },
    async create<T extends KubeObject>(kind: Kind, body: KubeObject) {
      try {
        return (await custom.createNamespacedCustomObject({ ...at(kind), body })) as T;
      } catch (e) {
        return wrap(e);
      }
    },
    async replace<T extends KubeObject>(kind: Kind, name: string, body: KubeObject) {
      try {
        return (await custom.replaceNamespacedCustomObject({ ...at(kind), name, body })) as T;
      } catch (e) {
        return wrap(e);
      }
    },
    async patch<T extends KubeObject>(kind: Kind, name: string, patch: unknown) {
      try {
        return (await custom.patchNamespacedCustomObject(
          { ...at(kind), name, body: patch },
          mergePatch,
        )) as T;
      } catch (e) {
        return wrap(e);
      }
    },
    async patchStatus<T extends KubeObject>(kind: Kind, name: string, patch: unknown) {
      try {
        return (await custom.patchNamespacedCustomObjectStatus(
          { ...at(kind), name, body: patch },
          mergePatch,
        )) as T;
      } catch (e) {
        return wrap(e);
      }
    },
    async delete(kind: Kind, name: string) {
      try {
        await custom.deleteNamespacedCustomObject({ ...at(kind), name, propagationPolicy: 'Background' });
      } catch (e) {
        wrap(e);
      }
    },
    async listSecrets(labelSelector: string): Promise<SecretData[]> {
      try {
        const res = await core.listNamespacedSecret({ namespace, labelSelector });
        return res.items.map((s) => ({
          name: s.metadata?.name ?? '',
          data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, decode(v)])),
        }));
      } catch (e) {
        return wrap(e);
      }
    },
  };
}
