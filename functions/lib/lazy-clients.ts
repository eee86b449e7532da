// The Kubernetes clients of a function process, built on first use from one KubeConfig (in the
// cluster, the ServiceAccount; else KUBECONFIG): the custom-resource Kube and the webhooks'
// Secrets/ConfigMaps core. Nothing of @kubernetes/client-node loads until then, so a process
// listens and answers its probes first (process start → /ready, DESIGN.md §5).
import type { KubeConfig } from '@kubernetes/client-node';
import { lazyWebhookCore } from '../webhooks/lazy-core.ts';
import { createWebhookCore, type WebhookCore } from '../webhooks/store.ts';
import { type LazyKube, lazyKube } from './lazy-kube.ts';

export interface LazyClients {
  kube: LazyKube;
  webhookCore: WebhookCore;
}

/** Clients for `namespace`; `kubeConfig` (tests) instead of the default one. */
export function lazyClients(namespace: string, kubeConfig?: KubeConfig): LazyClients {
  let loaded: Promise<KubeConfig> | undefined;
  const loadKubeConfig = () =>
    (loaded ??= (async () => {
      if (kubeConfig) return kubeConfig;
      const { KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return kc;
    })().catch((err) => {
      loaded = undefined; // a kubeconfig mounted late: the next call tries again
      throw err;
    }));
  const kube = lazyKube(namespace, async () => {
    const [kc, { createKubeClient }] = await Promise.all([loadKubeConfig(), import('./kube-client.ts')]);
    return createKubeClient(kc, namespace);
  });
  const webhookCore = lazyWebhookCore(async () => createWebhookCore(await loadKubeConfig(), namespace));
  return { kube, webhookCore };
}
