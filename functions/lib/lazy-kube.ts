// A Kube whose implementation loads on first use (or when warm() is called). The real client,
// @kubernetes/client-node, is thousands of modules; loading it after the server listens keeps
// process start → /ready short, and calls made meanwhile simply wait for it.
import type { Kube } from './kube.ts';

export interface LazyKube extends Kube {
  /** Starts loading now; resolves when the client is ready. */
  warm(): Promise<void>;
}

export function lazyKube(namespace: string, load: () => Promise<Kube>): LazyKube {
  let client: Promise<Kube> | undefined;
  const get = () => {
    // a failed load is forgotten, so the next call tries again (a kubeconfig mounted late, …)
    client ??= load().catch((err) => {
      client = undefined;
      throw err;
    });
    return client;
  };
  return {
    namespace,
    async warm() {
      await get();
    },
    list: async (kind, opts) => (await get()).list(kind, opts),
    get: async (kind, name) => (await get()).get(kind, name),
    create: async (kind, body) => (await get()).create(kind, body),
    replace: async (kind, name, body) => (await get()).replace(kind, name, body),
    patch: async (kind, name, patch) => (await get()).patch(kind, name, patch),
    patchStatus: async (kind, name, patch) => (await get()).patchStatus(kind, name, patch),
    delete: async (kind, name) => (await get()).delete(kind, name),
    listSecrets: async (selector) => (await get()).listSecrets(selector),
    reviewToken: async (token, audiences) => (await get()).reviewToken(token, audiences),
    getPod: async (name) => (await get()).getPod(name),
  } as LazyKube;
}
