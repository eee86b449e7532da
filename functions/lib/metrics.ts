// Prometheus metrics with bounded labels: routes are Hono route patterns (never raw paths),
// sources and results come from fixed sets.
import { Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  submissions: Counter<'source'>;
  ingestEvents: Counter<'result'>;
  statusWrites: Counter<'result'>;
  webhookDeliveries: Counter<'source' | 'outcome'>;
}

/** Webhook deliveries by source (only sources that exist) and outcome. */
export function webhookDeliveriesCounter(registry: Registry): Counter<'source' | 'outcome'> {
  return new Counter({
    name: 'ai_agents_webhook_deliveries_total',
    help: 'Webhook deliveries by source and outcome (created, duplicate, no_match, …, bad_signature, invalid, error)',
    labelNames: ['source', 'outcome'],
    registers: [registry],
  });
}

/** The fixed label values, started at zero so the first increase of each is visible to rate(). */
export const SUBMISSION_SOURCES = ['api', 'ui', 'retry', 'webhook'] as const;
export const INGEST_RESULTS = ['accepted', 'duplicate', 'rejected'] as const;
export const STATUS_WRITE_RESULTS = ['ok', 'error', 'gone'] as const;

export function createMetrics(): Metrics {
  const registry = new Registry();
  const metrics: Metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'ai_agents_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'ai_agents_submissions_total',
      help: 'InferenceRequests created by the functions, by source',
      labelNames: ['source'],
      registers: [registry],
    }),
    ingestEvents: new Counter({
      name: 'ai_agents_ingest_events_total',
      help: 'Executor events received, by result (accepted, duplicate, rejected)',
      labelNames: ['result'],
      registers: [registry],
    }),
    statusWrites: new Counter({
      name: 'ai_agents_ingest_status_writes_total',
      help: 'InferenceRequest status writes made by ingest, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    webhookDeliveries: webhookDeliveriesCounter(registry),
  };
  for (const source of SUBMISSION_SOURCES) metrics.submissions.inc({ source }, 0);
  for (const result of INGEST_RESULTS) metrics.ingestEvents.inc({ result }, 0);
  for (const result of STATUS_WRITE_RESULTS) metrics.statusWrites.inc({ result }, 0);
  return metrics;
}
