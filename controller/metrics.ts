// Prometheus metrics (prom-client). Labels are bounded: phases, outcomes, informer names.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type InferenceRequest, isTerminal, PHASES, TERMINAL_PHASES } from '../api/v1alpha1/index.ts';
import { CALLBACK_OUTCOMES } from './callback.ts';

export interface ControllerMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'outcome'>;
  jobsCreated: Counter;
  admissionWait: Histogram;
  callbacks: Counter<'outcome'>;
  statusConflicts: Counter;
  isLeader: Gauge;
  requestsFinished: Counter<'phase' | 'model'>;
  runDuration: Histogram<'phase' | 'model'>;
  tokens: Counter<'model' | 'direction'>;
  costUsd: Counter<'model'>;
  /**
   * Records what changed between two versions of a request: a terminal transition (finished by
   * phase, run duration) and usage growth (tokens, cost). Call it on the leader only, from the
   * request informer's update events, so each transition is counted once.
   */
  observeTransition(old: InferenceRequest, next: InferenceRequest): void;
}

export interface MetricSources {
  queueDepth: () => number;
  statusPending: () => number;
  requestsByPhase: () => Map<string, number>;
  running: () => number;
  waiting: () => number;
  informerRestarts: () => Map<string, number>;
}

export function createMetrics(sources: MetricSources, { defaults = true } = {}): ControllerMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'ai_agents_controller_' });
  new Gauge({
    name: 'ai_agents_controller_status_writes_pending',
    help: 'Status changes waiting to be written (coalesced per request)',
    registers: [registry],
    collect() {
      this.set(sources.statusPending());
    },
  });
  new Gauge({
    name: 'ai_agents_controller_queue_depth',
    help: 'Keys waiting in the work queue',
    registers: [registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: 'ai_agents_requests',
    help: 'InferenceRequests in the cache by phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const counts = sources.requestsByPhase();
      for (const p of PHASES) this.set({ phase: p }, counts.get(p) ?? 0);
    },
  });
  new Gauge({
    name: 'ai_agents_controller_runs_active',
    help: 'Executor runs holding an admission slot',
    registers: [registry],
    collect() {
      this.set(sources.running());
    },
  });
  new Gauge({
    name: 'ai_agents_controller_runs_waiting',
    help: 'Requests waiting for an admission slot',
    registers: [registry],
    collect() {
      this.set(sources.waiting());
    },
  });
  new Gauge({
    name: 'ai_agents_controller_informer_errors',
    help: 'List/watch errors per informer since start',
    labelNames: ['informer'],
    registers: [registry],
    collect() {
      for (const [name, n] of sources.informerRestarts()) this.set({ informer: name }, n);
    },
  });
  const requestsFinished = new Counter({
    name: 'ai_agents_requests_finished_total',
    help: 'InferenceRequests that reached a terminal phase, by phase and resolved model',
    labelNames: ['phase', 'model'],
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'ai_agents_run_duration_seconds',
    help: 'Executor run duration (status.startedAt → completedAt) of finished requests',
    labelNames: ['phase', 'model'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'ai_agents_tokens_total',
    help: 'Tokens reported in status.usage, by resolved model and direction (input, output)',
    labelNames: ['model', 'direction'],
    registers: [registry],
  });
  const costUsd = new Counter({
    name: 'ai_agents_cost_usd_total',
    help: 'Cost in USD reported in status.usage, by resolved model',
    labelNames: ['model'],
    registers: [registry],
  });
  // Series start at zero as soon as a model is known, so the first finish, token or cost of a
  // model shows as an increase (Prometheus cannot see the increase of a series born non-zero).
  const modelsSeen = new Set<string>();
  const ensureModel = (model: string) => {
    if (modelsSeen.has(model)) return;
    modelsSeen.add(model);
    for (const phase of TERMINAL_PHASES) {
      requestsFinished.inc({ phase, model }, 0);
      runDuration.zero({ phase, model });
    }
    for (const direction of ['input', 'output']) tokens.inc({ model, direction }, 0);
    costUsd.inc({ model }, 0);
  };
  const callbacks = new Counter({
    name: 'ai_agents_controller_callbacks_total',
    help: 'Callback delivery attempts by outcome (refused: the destination is not allowed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of CALLBACK_OUTCOMES) callbacks.inc({ outcome }, 0);
  const reconcileDuration = new Histogram({
    name: 'ai_agents_controller_reconcile_duration_seconds',
    help: 'Time to reconcile one request',
    labelNames: ['outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  for (const outcome of ['success', 'error', 'requeue']) reconcileDuration.zero({ outcome });
  return {
    registry,
    requestsFinished,
    runDuration,
    tokens,
    costUsd,
    observeTransition(old, next) {
      // bounded: AiModel names the controller resolved, never anything a caller typed
      const model = next.status?.resolvedModel ?? old.status?.resolvedModel ?? 'none';
      if (model !== 'none' || (next.status?.phase && isTerminal(next.status.phase))) ensureModel(model);
      const phase = next.status?.phase;
      if (phase && isTerminal(phase) && !isTerminal(old.status?.phase)) {
        requestsFinished.inc({ phase, model });
        const started = Date.parse(next.status?.startedAt ?? '');
        const completed = Date.parse(next.status?.completedAt ?? '');
        if (completed >= started) runDuration.observe({ phase, model }, (completed - started) / 1000);
      }
      const was = old.status?.usage ?? {};
      const now = next.status?.usage ?? {};
      const grew = (a: number | undefined, b: number | undefined) => Math.max(0, (b ?? 0) - (a ?? 0));
      const input = grew(was.inputTokens, now.inputTokens);
      const output = grew(was.outputTokens, now.outputTokens);
      const cost = grew(was.costUsd, now.costUsd);
      if (input) tokens.inc({ model, direction: 'input' }, input);
      if (output) tokens.inc({ model, direction: 'output' }, output);
      if (cost) costUsd.inc({ model }, cost);
    },
    reconcileDuration,
    jobsCreated: new Counter({
      name: 'ai_agents_controller_jobs_created_total',
      help: 'Executor Jobs created',
      registers: [registry],
    }),
    admissionWait: new Histogram({
      name: 'ai_agents_controller_admission_wait_seconds',
      help: 'From request creation to admission',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
    callbacks,
    statusConflicts: new Counter({
      name: 'ai_agents_controller_status_conflicts_total',
      help: 'Status writes that hit a resourceVersion conflict',
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: 'ai_agents_controller_is_leader',
      help: '1 when this replica holds the Lease',
      registers: [registry],
    }),
  };
}
