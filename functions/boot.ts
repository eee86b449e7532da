// Builds the production app from the environment: config (fails with every problem listed), the
// real Kube client (in-cluster ServiceAccount or KUBECONFIG; loaded lazily, see lib/lazy-kube.ts),
// the file event log, and the real auth. Runtime-neutral: main.node.ts and main.deno.ts pass the
// env and how to find the peer address.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Context } from 'hono';
import { type App, createApp } from './app.ts';
import { createAuth, loadAuthConfig } from './auth/index.ts';
import { type Config, loadConfig } from './config.ts';
import { createFileEventStore } from './lib/event-store.ts';
import { type LazyKube, lazyKube } from './lib/lazy-kube.ts';
import { createLogger, type Logger } from './lib/log.ts';
import { loadStatsConfig } from './stats/config.ts';
import { loadUploadsConfig } from './uploads/config.ts';
import { createUploadStore } from './uploads/store.ts';
import { lazyWebhookCore } from './webhooks/lazy-core.ts';
import { createWebhookCore } from './webhooks/store.ts';

export interface Booted {
  app: App;
  config: Config;
  log: Logger;
  kube: LazyKube;
}

export function boot(
  env: Record<string, string | undefined>,
  runtime: { getPeerAddress?: (c: Context) => string | undefined; kubeConfig?: KubeConfig } = {},
): Booted {
  const config = loadConfig(env);
  const authConfig = loadAuthConfig(env);
  const stats = loadStatsConfig(env);
  const log = createLogger(config.logLevel, undefined, {
    service: 'ai-agents-functions',
    version: config.appVersion,
  });
  // one KubeConfig, loaded on first use, for the Kube client and the webhooks' Secrets/ConfigMaps
  let kubeConfig: Promise<KubeConfig> | undefined;
  const loadKubeConfig = () =>
    (kubeConfig ??= (async () => {
      if (runtime.kubeConfig) return runtime.kubeConfig;
      const { KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return kc;
    })());
  const kube = lazyKube(config.namespace, async () => {
    const [kc, { createKubeClient }] = await Promise.all([loadKubeConfig(), import('./lib/kube-client.ts')]);
    return createKubeClient(kc, config.namespace);
  });
  // store.ts is loaded with the app (the receiver needs it); the core waits for the KubeConfig
  const webhookCore = lazyWebhookCore(async () =>
    createWebhookCore(await loadKubeConfig(), config.namespace),
  );
  const auth = createAuth(authConfig, {
    ...(runtime.getPeerAddress ? { getPeerAddress: runtime.getPeerAddress } : {}),
    log,
  });
  const app = createApp({
    config,
    kube,
    events: createFileEventStore(config.workspaceDir),
    auth: { routes: auth.routes, requireRole: auth.requireRole },
    log,
    stats,
    uploads: createUploadStore(loadUploadsConfig(env)),
    webhookCore,
  });
  return { app, config, log, kube };
}
