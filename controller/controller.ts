// Wires informers, the work queue, admission, the runtime and the reconciler together. Informers
// start at once (a standby replica keeps warm caches); workers start when leadership is won.
import type { AiAgent, AiConfig, AiInstruction, AiModel, InferenceRequest } from '../api/v1alpha1/index.ts';
import { isTerminal } from '../api/v1alpha1/index.ts';
import { createAdmission } from './admission.ts';
import { createCallbackDispatcher } from './callback.ts';
import { callbackDestinations } from './callback-destination.ts';
import type { Config } from './config.ts';
import { createInformer, type Informer, kubeSource, stripObject } from './informer.ts';
import { createJobRuntime } from './job-runtime.ts';
import { type KubeClient, type KubeObject, keyOf, RESOURCES } from './kube.ts';
import type { Logger } from './log.ts';
import { type ControllerMetrics, createMetrics } from './metrics.ts';
import { createWorkQueue, type WorkQueue } from './queue.ts';
import { createRequestReconciler } from './reconcile-request.ts';
import type { ResolveLookup } from './resolve.ts';
import type { ExecutorRuntime } from './runtime.ts';
import { createStatusWriter } from './status.ts';
import { createStatusLane, type StatusLane } from './status-lane.ts';
import { createWebhookSourceController } from './webhooksource/index.ts';

export interface Controller {
  client: KubeClient;
  queue: WorkQueue;
  statusLane: StatusLane;
  metrics: ControllerMetrics;
  requests: Informer<InferenceRequest & KubeObject>;
  runtime: ExecutorRuntime;
  /** Start informers (call once). */
  startInformers(): void;
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
  /** Start reconciling (after leadership). */
  startWorkers(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControllerOptions {
  client: KubeClient;
  config: Config;
  log: Logger;
  now?: () => Date;
  runtime?: ExecutorRuntime;
  defaultMetrics?: boolean;
}

type Cr = KubeObject;

/** Requests keep only what reconciling needs: no managedFields, spec and status as stored. */
function slimRequest(o: KubeObject): InferenceRequest & KubeObject {
  return stripObject(o) as InferenceRequest & KubeObject;
}

export function createController(opts: ControllerOptions): Controller {
  const { config, log } = opts;
  const now = opts.now ?? (() => new Date());
  const { client } = opts;
  const ns = config.NAMESPACE;
  const resyncMs = config.RESYNC_SECONDS * 1000;

  const informer = <T extends KubeObject>(name: keyof typeof RESOURCES, transform?: (o: KubeObject) => T) =>
    createInformer<T>({
      name,
      source: kubeSource(client, RESOURCES[name], ns),
      resyncMs,
      log,
      ...(transform ? { transform } : {}),
    });
  const requests = informer<InferenceRequest & KubeObject>('inferencerequests', slimRequest);
  const agents = informer<AiAgent & Cr>('aiagents');
  const models = informer<AiModel & Cr>('aimodels');
  const configs = informer<AiConfig & Cr>('aiconfigs');
  const instructions = informer<AiInstruction & Cr>('aiinstructions');
  const crInformers = [requests, agents, models, configs, instructions];

  const runtime = opts.runtime ?? createJobRuntime({ client, config, now, log, resyncMs });
  const webhookSources = config.WEBHOOK_SOURCES
    ? createWebhookSourceController({ client, log, ...(ns ? { namespace: ns } : {}), resyncMs, now })
    : undefined;

  const lookup: ResolveLookup = {
    agent: (n, name) => agents.get(`${n}/${name}`),
    model: (n, name) => models.get(`${n}/${name}`),
    config(n) {
      const named = configs.get(`${n}/default`);
      if (named) return named;
      let first: AiConfig | undefined;
      for (const c of configs.list()) {
        if (c.metadata.namespace !== n) continue;
        if (!first || c.metadata.name < first.metadata.name) first = c;
      }
      return first;
    },
    instructions(n) {
      const out: AiInstruction[] = [];
      for (const i of instructions.list()) if (i.metadata.namespace === n) out.push(i);
      return out;
    },
  };

  let metrics: ControllerMetrics;
  const queue = createWorkQueue({
    onError: (key, error, retryInMs) =>
      log.warn('reconcile failed', { request: key, error: String(error), retryInMs }),
    onProcessed: (_key, seconds, outcome) => metrics.reconcileDuration.observe({ outcome }, seconds),
  });

  const admission = createAdmission({
    limits() {
      // the concurrency limits of the AiConfig in the watched namespace (or the first one seen)
      let c: AiConfig | undefined = ns ? lookup.config(ns) : undefined;
      if (!c) for (const x of configs.list()) c ??= x;
      const cc = c?.spec.concurrency;
      return {
        global: cc?.global ?? config.WORKER_CONCURRENCY,
        ...(cc?.perModel ? { perModel: cc.perModel } : {}),
        ...(cc?.perCaller ? { perCaller: cc.perCaller } : {}),
      };
    },
    onAdmit: (key) => queue.add(key),
    onPositionChanged: (key) => queue.addAfter(key, config.QUEUE_POSITION_REFRESH_MS),
  });

  const status = createStatusWriter(client);
  // reconciles write status through the lane; callbacks record their outcome directly
  const statusLane = createStatusLane({
    writer: status,
    current: (key) => requests.get(key),
    concurrency: config.STATUS_WRITERS,
    load: () => (queue.depth > 0 ? 'backlog' : queue.inFlight > 0 ? 'running' : 'idle'),
    log,
  });
  const callbacks = createCallbackDispatcher({
    client,
    status,
    current: (key) => requests.get(key),
    maxAttempts: config.CALLBACK_MAX_ATTEMPTS,
    backoffMs: config.CALLBACK_BACKOFF_MS,
    timeoutMs: config.CALLBACK_TIMEOUT_MS,
    concurrency: config.CALLBACK_CONCURRENCY,
    reportWaitMs: config.CALLBACK_REPORT_WAIT_MS,
    destinations: callbackDestinations(config.CALLBACK_ALLOWED_HOSTS),
    now,
    log,
    onOutcome: (outcome) => metrics.callbacks.inc({ outcome }),
  });

  metrics = createMetrics(
    {
      queueDepth: () => queue.depth,
      statusPending: () => statusLane.pending,
      requestsByPhase() {
        const m = new Map<string, number>();
        for (const r of requests.list()) {
          const p = r.status?.phase ?? 'Pending';
          m.set(p, (m.get(p) ?? 0) + 1);
        }
        return m;
      },
      running: () => admission.running,
      waiting: () => admission.waiting,
      informerRestarts() {
        const m = new Map<string, number>();
        for (const i of crInformers) m.set(i.name, i.stats.errors);
        return m;
      },
    },
    { defaults: opts.defaultMetrics ?? true },
  );

  const reconcile = createRequestReconciler({
    get: (key) => requests.get(key),
    lookup,
    runtime,
    admission,
    status: statusLane,
    callbacks,
    now,
    log,
    defaultTimeoutSeconds: config.DEFAULT_TIMEOUT_SECONDS,
    onJobCreated(_req, waitSeconds) {
      metrics.jobsCreated.inc();
      metrics.admissionWait.observe(waitSeconds);
    },
  });

  /** Requeue the non-terminal requests a change to an agent, model, config or instruction may affect. */
  function requeueAffected(namespace: string | undefined, match: (r: InferenceRequest) => boolean) {
    for (const r of requests.list()) {
      if (namespace && r.metadata.namespace !== namespace) continue;
      if (isTerminal(r.status?.phase)) continue;
      if (match(r)) queue.add(keyOf(r));
    }
  }

  let workersStarted = false;
  return {
    client,
    queue,
    statusLane,
    metrics,
    requests,
    runtime,
    startInformers() {
      requests.on((event, r, old) => {
        // only the leader counts finished runs, durations, tokens and cost
        if (workersStarted && event === 'update' && old) metrics.observeTransition(old, r);
        if (event === 'delete') {
          queue.forget(keyOf(r));
          if (workersStarted && runtime.requestDeleted) {
            // its slot is free once its run has stopped, not before
            runtime
              .requestDeleted(r)
              .catch((e) =>
                log.warn('run of a deleted request not stopped', { request: keyOf(r), error: String(e) }),
              )
              .finally(() => admission.release(keyOf(r)));
          } else admission.release(keyOf(r));
        }
        // terminal requests only need a visit when something changed (callbacks, cleanup)
        if (event === 'resync' && isTerminal(r.status?.phase)) return;
        if (event === 'update' && old && old.metadata.resourceVersion === r.metadata.resourceVersion) return;
        queue.add(keyOf(r));
      });
      agents.on((event, a) => {
        if (event === 'resync') return;
        requeueAffected(a.metadata.namespace, (r) => r.spec.agent === a.metadata.name);
      });
      models.on((event, m) => {
        if (event === 'resync') return;
        requeueAffected(m.metadata.namespace, (r) => !r.status?.jobName);
      });
      configs.on((event, c) => {
        if (event === 'resync') return;
        admission.poke();
        requeueAffected(c.metadata.namespace, (r) => !r.status?.jobName);
      });
      instructions.on((event, i) => {
        if (event === 'resync') return;
        requeueAffected(i.metadata.namespace, (r) => !r.status?.jobName);
      });
      for (const i of crInformers) i.start();
      runtime.start((requestKey) => queue.add(requestKey));
      webhookSources?.startInformers();
    },
    hasSynced: () =>
      crInformers.every((i) => i.hasSynced()) && runtime.hasSynced() && (webhookSources?.hasSynced() ?? true),
    async waitForSync(signal) {
      await Promise.all([
        ...crInformers.map((i) => i.waitForSync(signal)),
        runtime.waitForSync(signal),
        webhookSources?.waitForSync(signal),
      ]);
    },
    async startWorkers() {
      if (workersStarted) return;
      workersStarted = true;
      await this.waitForSync();
      // rebuild admission state from the world before admitting anything
      for (const run of runtime.activeRuns()) {
        const concurrencyKey = requests.get(run.requestKey)?.spec.concurrencyKey;
        admission.markRunning(run.requestKey, { ...run, ...(concurrencyKey ? { concurrencyKey } : {}) });
      }
      log.info('workers starting', {
        requests: requests.size,
        activeRuns: admission.running,
        workers: config.RECONCILE_WORKERS,
      });
      for (const r of requests.list()) queue.add(keyOf(r));
      queue.run(config.RECONCILE_WORKERS, reconcile);
      await webhookSources?.startWorkers();
    },
    async stop() {
      await queue.shutdown();
      await statusLane.stop();
      await Promise.all([...crInformers.map((i) => i.stop()), runtime.stop(), webhookSources?.stop()]);
    },
  };
}
