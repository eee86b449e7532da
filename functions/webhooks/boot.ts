// Builds a per-source webhook pod's app from the environment (WEBHOOK_SOURCE_NAME set): the same
// config as the unified API (NAMESPACE, PORT, LOG_LEVEL, MAX_BODY_BYTES), plus WEBHOOK_PATH (the
// source's Ingress path, if not /api/webhooks/<source>) and WEBHOOK_SOURCE_CACHE_MS.
// Runtime-neutral: main.node.ts (and the functions' entries) serve what it returns.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Hono } from 'hono';
import { type Config, loadConfig } from '../config.ts';
import { lazyClients } from '../lib/lazy-clients.ts';
import type { LazyKube } from '../lib/lazy-kube.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { createWebhookOnlyApp } from './app.ts';
import { createReceiver, type Receiver } from './receiver.ts';

export interface BootedWebhook {
  app: Hono;
  config: Config & { webhookSourceName: string };
  log: Logger;
  receiver: Receiver;
  /** The Kubernetes client, loaded on first use (or warm()). */
  kube: LazyKube;
}

export function bootWebhookOnly(
  env: Record<string, string | undefined>,
  runtime: { kubeConfig?: KubeConfig } = {},
): BootedWebhook {
  const sourceName = env.WEBHOOK_SOURCE_NAME;
  // checked first: without it loadConfig checks the environment as the full API's, secrets and all
  if (!sourceName) throw new Error('WEBHOOK_SOURCE_NAME is required for the webhook-only app');
  const config = loadConfig(env);
  const log = createLogger(config.logLevel, undefined, {
    service: 'ai-agents-webhook',
    source: sourceName,
    version: config.appVersion,
  });
  const { kube, webhookCore } = lazyClients(config.namespace, runtime.kubeConfig);
  const cacheMs = Number(env.WEBHOOK_SOURCE_CACHE_MS ?? 5000);
  const deps = {
    kube,
    core: webhookCore,
    log,
    sourceCacheMs: Number.isFinite(cacheMs) && cacheMs >= 0 ? cacheMs : 5000,
    maxBodyBytes: config.maxBodyBytes,
  };
  const receiver = createReceiver(deps);
  const app = createWebhookOnlyApp({
    ...deps,
    receiver,
    sourceName,
    ...(env.WEBHOOK_PATH ? { path: env.WEBHOOK_PATH } : {}),
  });
  return { app, config: { ...config, webhookSourceName: sourceName }, log, receiver, kube };
}
