// The unified API app: health, jobs, ingest, resources, stats, uploads and webhooks, plus the auth routes, behind
// one error envelope, request ids, access logs, metrics and the route→role gate. No runtime
// imports: main.node.ts and main.deno.ts serve it.
import { type Context, Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import { healthApp } from './health/app.ts';
import { ingestApp } from './ingest/app.ts';
import { jobsApp } from './jobs/app.ts';
import type { EventStreamOptions } from './jobs/events.ts';
import { errorHandler, notFoundHandler } from './lib/errors.ts';
import { setResponseHeader } from './lib/response-header.ts';
import { type RequireRole, routeGate } from './lib/roles.ts';
import { createServices, type ServiceDeps, type Services } from './lib/services.ts';
import { resourcesApp } from './resources/app.ts';
import { type StatsOptions, statsApp } from './stats/app.ts';
import { uploadsApp } from './uploads/app.ts';
import type { UploadStore } from './uploads/store.ts';
import { createWebhooksApp } from './webhooks/app.ts';
import type { WebhookCore } from './webhooks/store.ts';

export interface AppDeps extends ServiceDeps {
  auth: { routes?: Hono; requireRole: RequireRole };
  /** Tuning for the SSE stream (tests shorten the waits). */
  eventStream?: EventStreamOptions;
  /** Prometheus for /api/stats/timeseries (PROMETHEUS_URL); the summary needs none. */
  stats?: StatsOptions;
  /** Streamed uploads under UPLOADS_DIR; also lets submit check spec.attachments. */
  uploads?: UploadStore;
  /** Secrets and ConfigMaps for /api/webhooks/:source (signing keys, the delivery ledger). */
  webhookCore?: WebhookCore;
}

export type App = Hono & { services: Services };

/** The route pattern a request matched (bounded metric label), or "unmatched". */
export function routeLabel(c: Context): string {
  const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}

export function createApp(deps: AppDeps): App {
  const s = createServices(deps);
  const app = new Hono();
  // Probes and metrics first: they answer before the request-id, metrics and log middleware.
  app.route('/', healthApp(s.metrics.registry));

  app.use(
    '*',
    requestId({ headerName: 'X-Request-Id', limitLength: 128, generator: () => crypto.randomUUID() }),
    async function observe(c, next) {
      const started = performance.now();
      await next();
      const seconds = (performance.now() - started) / 1000;
      const route = routeLabel(c);
      s.metrics.httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
      setResponseHeader(c, 'X-Content-Type-Options', 'nosniff');
      s.log.info('request', {
        requestId: c.get('requestId'),
        method: c.req.method,
        route,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round(seconds * 1000),
        ...(c.get('user') ? { user: c.get('user')!.sub } : {}),
        ...(c.get('caller') ? { caller: c.get('caller')!.caller } : {}),
      });
    },
  );
  app.use('/api/*', routeGate(deps.auth.requireRole));

  if (deps.auth.routes) app.route('/api/auth', deps.auth.routes);
  app.route('/api/jobs', jobsApp(s, { ...(deps.eventStream ? { events: deps.eventStream } : {}) }));
  app.route('/api/events/ingest', ingestApp(s));
  app.route('/api/resources', resourcesApp(s));
  app.route('/api/stats', statsApp(s, deps.stats));
  if (deps.uploads) {
    app.route(
      '/api/uploads',
      uploadsApp({ store: deps.uploads, apiKeys: s.apiKeys, requireRole: deps.auth.requireRole, log: s.log }),
    );
  }
  if (deps.webhookCore) {
    app.route(
      '/api/webhooks',
      createWebhooksApp({
        kube: s.kube,
        core: deps.webhookCore,
        log: s.log,
        maxBodyBytes: s.config.maxBodyBytes,
        requireRole: deps.auth.requireRole,
        deliveries: s.metrics.webhookDeliveries,
      }),
    );
  }

  app.onError(errorHandler(s.log));
  app.notFound(notFoundHandler);
  return Object.assign(app, { services: s });
}
