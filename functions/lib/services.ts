// What the area apps share: configuration, the Kube, the event log, and the small in-process
// services built from them. createServices fills in defaults; tests override what they need.
import type { Config } from '../config.ts';
import { createStatusWriter, type StatusWriter } from '../ingest/status-writer.ts';
import type { UploadStore } from '../uploads/store.ts';
import { type ApiKeyStore, createApiKeyStore } from './api-keys.ts';
import type { EventStore } from './event-store.ts';
import type { Kube } from './kube.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';

export interface Services {
  config: Config;
  kube: Kube;
  events: EventStore;
  log: Logger;
  metrics: Metrics;
  now: () => number;
  apiKeys: ApiKeyStore;
  submitLimiter: RateLimiter;
  statusWriter: StatusWriter;
  /** Ingest's per-request facts from the apiserver: uid, the last phase seen, and when (now()). */
  requestFacts: Map<string, RequestFacts>;
  /** Where submit looks up spec.attachments (absent: attachments are refused). */
  uploads?: Pick<UploadStore, 'get'>;
}

export interface RequestFacts {
  uid: string;
  phase?: string;
  seenAt: number;
}

export interface ServiceDeps {
  config: Config;
  kube: Kube;
  events: EventStore;
  log?: Logger;
  metrics?: Metrics;
  now?: () => number;
  apiKeys?: ApiKeyStore;
  submitLimiter?: RateLimiter;
  uploads?: Pick<UploadStore, 'get'>;
}

export function createServices(deps: ServiceDeps): Services {
  const log = deps.log ?? createLogger(deps.config.logLevel);
  const metrics = deps.metrics ?? createMetrics();
  const now = deps.now ?? Date.now;
  const requestFacts = new Map<string, RequestFacts>();
  return {
    config: deps.config,
    kube: deps.kube,
    events: deps.events,
    log,
    metrics,
    now,
    requestFacts,
    ...(deps.uploads ? { uploads: deps.uploads } : {}),
    apiKeys:
      deps.apiKeys ??
      createApiKeyStore({
        staticKeys: deps.config.staticApiKeys,
        kube: deps.kube,
        cacheSeconds: deps.config.apiKeyCacheSeconds,
        now,
        onError: (err) => log.warn('reading API-key Secrets failed', { error: String(err).slice(0, 300) }),
      }),
    submitLimiter:
      deps.submitLimiter ??
      createRateLimiter({
        perMinute: deps.config.submitRatePerMinute,
        burst: deps.config.submitRateBurst,
        now,
      }),
    statusWriter: createStatusWriter({
      kube: deps.kube,
      intervalMs: deps.config.statusFlushIntervalMs,
      log,
      now,
      onWritten: (request, obj) => {
        const facts = requestFacts.get(request);
        const phase = (obj.status as { phase?: string } | undefined)?.phase;
        if (facts && phase) {
          facts.phase = phase;
          facts.seenAt = now();
        }
      },
      onResult: (result) => metrics.statusWrites.inc({ result }),
    }),
  };
}
