// Prometheus metrics with bounded labels: routes are Hono route patterns (never raw paths),
// sources and results come from fixed sets.
import { Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  submissions: Counter<'source'>;
  ingestEvents: Counter<'result'>;
  statusWrites: Counter<'result'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  return {
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
  };
}
