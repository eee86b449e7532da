// Builds the production app from the environment: config (fails with every problem listed), the
// real Kube client (in-cluster ServiceAccount or KUBECONFIG; loaded lazily, see lib/lazy-clients.ts),
// the file event log, and the real auth. Runtime-neutral: main.node.ts and main.deno.ts pass the
// env and how to find the peer address.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Context } from 'hono';
import { type App, createApp } from './app.ts';
import { createAuth, loadAuthConfig } from './auth/index.ts';
import { type Config, loadConfig } from './config.ts';
import { createFileEventStore } from './lib/event-store.ts';
import { lazyClients } from './lib/lazy-clients.ts';
import type { LazyKube } from './lib/lazy-kube.ts';
import { createLogger, type Logger } from './lib/log.ts';
import { loadStatsConfig } from './stats/config.ts';
import { loadUploadsConfig } from './uploads/config.ts';
import { createUploadStore } from './uploads/store.ts';

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
  const { kube, webhookCore } = lazyClients(config.namespace, runtime.kubeConfig);
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
