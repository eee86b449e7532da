// The named metrics /api/stats/timeseries answers for, each a fixed PromQL template. Users pick a
// name; they never send PromQL. `{w}` is the rate window the handler computes from the step (never
// shorter than a few scrape intervals), so every point covers its own step.
//
// Controller gauges (queue depth, runs) are read from the replica holding the Lease only: the
// standby replicas run informers too, and summing them would count the same queue twice.

export interface StatMetric {
  description: string;
  unit: 'per_second' | 'seconds' | 'count' | 'ratio' | 'tokens' | 'usd';
  /** PromQL with `{w}` standing for the rate window, e.g. `2m`. */
  query: string;
}

const LEADER = 'and on (instance) (ai_agents_controller_is_leader == 1)';
const quantile = (q: number, metric: string, by = '') =>
  `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket[{w}])))`;

export const STAT_METRICS = {
  submissions: {
    description: 'InferenceRequests created by the API and webhooks per second, by source',
    unit: 'per_second',
    query: 'sum by (source) (rate(ai_agents_submissions_total[{w}]))',
  },
  throughput: {
    description: 'Requests reaching a terminal phase per second, by phase',
    unit: 'per_second',
    query: 'sum by (phase) (rate(ai_agents_requests_finished_total[{w}]))',
  },
  failure_rate: {
    description: 'Share of finished requests that Failed or TimedOut',
    unit: 'ratio',
    query:
      'sum(rate(ai_agents_requests_finished_total{phase=~"Failed|TimedOut"}[{w}])) / sum(rate(ai_agents_requests_finished_total[{w}]))',
  },
  duration_p50: {
    description: 'Median executor run duration (started → completed)',
    unit: 'seconds',
    query: quantile(0.5, 'ai_agents_run_duration_seconds'),
  },
  duration_p95: {
    description: '95th percentile executor run duration (started → completed)',
    unit: 'seconds',
    query: quantile(0.95, 'ai_agents_run_duration_seconds'),
  },
  requests_by_phase: {
    description: 'InferenceRequests in the controller cache, by phase',
    unit: 'count',
    query: 'max by (phase) (ai_agents_requests)',
  },
  queue_depth: {
    description: 'Keys waiting in the controller work queue (leader)',
    unit: 'count',
    query: `sum(ai_agents_controller_queue_depth ${LEADER})`,
  },
  runs_active: {
    description: 'Executor runs holding an admission slot (leader)',
    unit: 'count',
    query: `sum(ai_agents_controller_runs_active ${LEADER})`,
  },
  runs_waiting: {
    description: 'Requests waiting for an admission slot (leader)',
    unit: 'count',
    query: `sum(ai_agents_controller_runs_waiting ${LEADER})`,
  },
  admission_wait_p50: {
    description: 'Median wait from request creation to admission (Job created)',
    unit: 'seconds',
    query: quantile(0.5, 'ai_agents_controller_admission_wait_seconds'),
  },
  admission_wait_p95: {
    description: '95th percentile wait from request creation to admission (Job created)',
    unit: 'seconds',
    query: quantile(0.95, 'ai_agents_controller_admission_wait_seconds'),
  },
  jobs_created: {
    description: 'Executor Jobs created per second',
    unit: 'per_second',
    query: 'sum(rate(ai_agents_controller_jobs_created_total[{w}]))',
  },
  tokens: {
    description: 'Tokens used per window, by model and direction (input, output)',
    unit: 'tokens',
    query: 'sum by (model, direction) (increase(ai_agents_tokens_total[{w}]))',
  },
  cost: {
    description: 'Cost in USD per window, by model',
    unit: 'usd',
    query: 'sum by (model) (increase(ai_agents_cost_usd_total[{w}]))',
  },
  callbacks: {
    description: 'Callback delivery attempts per second, by outcome (delivered, failed, gave_up, refused)',
    unit: 'per_second',
    query: 'sum by (outcome) (rate(ai_agents_controller_callbacks_total[{w}]))',
  },
  webhooks: {
    description: 'Webhook deliveries per second, by source and outcome',
    unit: 'per_second',
    query: 'sum by (source, outcome) (rate(ai_agents_webhook_deliveries_total[{w}]))',
  },
  ingest_events: {
    description: 'Executor events received per second, by result (accepted, duplicate, rejected)',
    unit: 'per_second',
    query: 'sum by (result) (rate(ai_agents_ingest_events_total[{w}]))',
  },
  reconcile_errors: {
    description: 'Controller reconciles ending in an error per second',
    unit: 'per_second',
    query: 'sum(rate(ai_agents_controller_reconcile_duration_seconds_count{outcome="error"}[{w}]))',
  },
  http_requests: {
    description: 'API requests per second, by status code',
    unit: 'per_second',
    query: 'sum by (status) (rate(ai_agents_http_request_duration_seconds_count[{w}]))',
  },
  http_p95: {
    description: '95th percentile API latency, by route pattern',
    unit: 'seconds',
    query: quantile(0.95, 'ai_agents_http_request_duration_seconds', 'route'),
  },
} as const satisfies Record<string, StatMetric>;

export type StatMetricName = keyof typeof STAT_METRICS;
export const STAT_METRIC_NAMES = Object.keys(STAT_METRICS) as [StatMetricName, ...StatMetricName[]];

/** The PromQL for a named metric with the rate window filled in (seconds → `Ns`). */
export function promql(name: StatMetricName, windowSeconds: number): string {
  return STAT_METRICS[name].query.replaceAll('{w}', `${Math.round(windowSeconds)}s`);
}
