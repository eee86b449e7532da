// Kept apart from store.ts so that importing it does not load @kubernetes/client-node.
import type { WebhookCore } from './store.ts';

/** A WebhookCore whose real client is built on first use (keeps process start fast). */
export function lazyWebhookCore(load: () => Promise<WebhookCore>): WebhookCore {
  let core: Promise<WebhookCore> | undefined;
  const get = () => {
    core ??= load().catch((err) => {
      core = undefined; // try again on the next call
      throw err;
    });
    return core;
  };
  return {
    getSecretValue: async (name, key) => (await get()).getSecretValue(name, key),
    getConfigMap: async (name) => (await get()).getConfigMap(name),
    createConfigMap: async (body) => (await get()).createConfigMap(body),
    patchConfigMap: async (name, patch) => (await get()).patchConfigMap(name, patch),
  };
}
