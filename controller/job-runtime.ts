// The default executor runtime: one Kubernetes Job per request (plus, only for request files too
// large for annotations, a Secret holding them), observed through label-selected Job and Pod
// informers.
import { EXIT_TIMED_OUT, LABELS } from '../api/v1alpha1/executor-contract.ts';
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import type { Config } from './config.ts';
import { createInformer, type Informer, kubeSource } from './informer.ts';
import {
  buildFilesSecret,
  buildJob,
  childNames,
  EXECUTOR_SELECTOR,
  FILES_ANNOTATION,
  filesInline,
  MODEL_LABEL,
  requestFiles,
} from './job-spec.ts';
import {
  controllerOf,
  isAlreadyExists,
  isNotFound,
  type KubeClient,
  type KubeObject,
  RESOURCES,
  type ResourcePath,
} from './kube.ts';
import type { Logger } from './log.ts';
import type { Resolution } from './resolve.ts';
import {
  type ActiveRun,
  type EnsureResult,
  type ExecutorRuntime,
  OwnershipConflict,
  type RunObservation,
} from './runtime.ts';

interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Job extends KubeObject {
  spec?: { activeDeadlineSeconds?: number; backoffLimit?: number };
  status?: {
    active?: number;
    ready?: number;
    failed?: number;
    succeeded?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: JobCondition[];
  };
}

export interface Pod extends KubeObject {
  status?: { phase?: string; startTime?: string };
}

const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
/** The pod informer's selection: a pod enters the cache when it runs and leaves when it stops. */
const RUNNING_PODS = 'status.phase=Running';

export interface JobRuntimeOptions {
  client: KubeClient;
  config: Config;
  now: () => Date;
  log: Logger;
  resyncMs?: number;
  /** For tests: informer sources other than the apiserver. */
  informers?: { jobs: Informer<Job>; pods: Informer<Pod> };
}

/** Phase facts from a Job and its pods. Pure, for unit tests. */
export function observeJob(job: Job, pods: Iterable<Pod>): RunObservation {
  const s = job.status ?? {};
  const cond = (type: string) => s.conditions?.find((c) => c.type === type && c.status === 'True');
  const attempts = Math.max(1, (s.failed ?? 0) + (s.succeeded ?? 0) + (s.active ?? 0));
  const base = { name: job.metadata.name, attempts, ...(s.startTime ? { startedAt: s.startTime } : {}) };
  const complete = cond('Complete');
  if (complete) {
    return {
      ...base,
      state: 'succeeded',
      active: false,
      finishedAt: s.completionTime ?? complete.lastTransitionTime,
    };
  }
  const failed = cond('Failed');
  if (failed) {
    const finishedAt = failed.lastTransitionTime;
    const timeout = `${job.spec?.activeDeadlineSeconds ?? '?'} s timeout`;
    // the Job controller's message names the exit code that matched: "Container executor for pod
    // ns/pod failed with exit code 124 matching FailJob rule at index 0"
    const matched = /failed with exit code (\d+) matching FailJob rule/.exec(failed.message ?? '');
    const timedOut =
      failed.reason === 'DeadlineExceeded'
        ? `the executor ran longer than its ${timeout}`
        : failed.reason === 'PodFailurePolicy' && Number(matched?.[1]) === EXIT_TIMED_OUT
          ? `the executor reached its ${timeout} and stopped (exit ${EXIT_TIMED_OUT})`
          : undefined;
    if (timedOut) {
      return {
        ...base,
        state: 'timedOut',
        active: false,
        reason: 'DeadlineExceeded',
        message: timedOut,
        ...(finishedAt ? { finishedAt } : {}),
      };
    }
    const reason =
      failed.reason === 'PodFailurePolicy'
        ? 'BadRequest'
        : failed.reason === 'BackoffLimitExceeded'
          ? 'ExecutorFailed'
          : (failed.reason ?? 'JobFailed');
    return {
      ...base,
      state: 'failed',
      active: false,
      reason,
      message: (failed.message ?? `the executor Job failed (${failed.reason ?? 'unknown'})`).slice(0, 1024),
      ...(finishedAt ? { finishedAt } : {}),
    };
  }
  let running: Pod | undefined;
  for (const p of pods) if (p.status?.phase === 'Running' && !p.metadata.deletionTimestamp) running = p;
  if (running || (s.ready ?? 0) > 0) {
    const startedAt = running?.status?.startTime ?? s.startTime;
    return { ...base, state: 'running', active: true, ...(startedAt ? { startedAt } : {}) };
  }
  return { ...base, state: 'pending', active: true };
}

export function createJobRuntime(opts: JobRuntimeOptions): ExecutorRuntime & {
  jobs: Informer<Job>;
  pods: Informer<Pod>;
} {
  const { client, config, log } = opts;
  const ns = config.NAMESPACE;
  const jobs =
    opts.informers?.jobs ??
    createInformer<Job>({
      name: 'jobs',
      source: kubeSource(client, RESOURCES.jobs, ns),
      labelSelector: EXECUTOR_SELECTOR,
      resyncMs: opts.resyncMs,
      log,
      transform: slimJob,
    });
  const pods =
    opts.informers?.pods ??
    createInformer<Pod>({
      name: 'pods',
      source: kubeSource(client, RESOURCES.pods, ns),
      labelSelector: EXECUTOR_SELECTOR,
      // a run is Running while one of its pods is: pods that are not running are of no interest, and
      // left out their creation, scheduling and start cost the apiserver no watch events to encode
      fieldSelector: RUNNING_PODS,
      log,
      transform: slimPod,
    });
  /** job key → pod keys */
  const podsByJob = new Map<string, Set<string>>();
  /** request uids whose files Secret is known to exist */
  const secretReady = new Set<string>();

  const jobKeyOfPod = (p: Pod) => {
    const jobName = p.metadata.labels?.[JOB_NAME_LABEL] ?? controllerOf(p)?.name;
    return jobName ? `${p.metadata.namespace}/${jobName}` : undefined;
  };
  const requestKeyOfJob = (j: Job) => {
    const owner = controllerOf(j);
    if (owner?.kind === 'InferenceRequest') return `${j.metadata.namespace}/${owner.name}`;
    const label = j.metadata.labels?.[LABELS.request];
    return label ? `${j.metadata.namespace}/${label}` : undefined;
  };

  async function createOrAdopt(
    resource: ResourcePath,
    obj: KubeObject,
    req: InferenceRequest,
  ): Promise<boolean> {
    const namespace = obj.metadata.namespace ?? 'default';
    try {
      await client.create(resource, namespace, obj);
      return true;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    const existing = await client.get(resource, namespace, obj.metadata.name);
    const owner = controllerOf(existing);
    if (owner?.uid === req.metadata.uid) return false;
    if (!owner && existing.metadata.labels?.[LABELS.request] === obj.metadata.labels?.[LABELS.request]) {
      await client.mergePatch(resource, namespace, obj.metadata.name, {
        metadata: {
          resourceVersion: existing.metadata.resourceVersion,
          ownerReferences: obj.metadata.ownerReferences,
        },
      });
      log.info('adopted orphan', { kind: obj.kind, name: obj.metadata.name });
      return false;
    }
    throw new OwnershipConflict(
      `${obj.kind} ${namespace}/${obj.metadata.name} exists and is not owned by this request (owner: ${owner ? `${owner.kind}/${owner.name}` : 'none'})`,
    );
  }

  return {
    kind: 'kubernetes-job',
    jobs,
    pods,
    start(onChange) {
      jobs.on((event, job) => {
        const rk = requestKeyOfJob(job);
        if (event === 'delete') podsByJob.delete(`${job.metadata.namespace}/${job.metadata.name}`);
        if (rk) onChange(rk);
      });
      pods.on((event, pod) => {
        const jk = jobKeyOfPod(pod);
        if (!jk) return;
        const pk = `${pod.metadata.namespace}/${pod.metadata.name}`;
        let set = podsByJob.get(jk);
        if (event === 'delete') set?.delete(pk);
        else {
          if (!set) {
            set = new Set();
            podsByJob.set(jk, set);
          }
          set.add(pk);
        }
        if (event === 'resync') return;
        const job = jobs.get(jk);
        const rk = job ? requestKeyOfJob(job) : undefined;
        if (rk) onChange(rk);
      });
      jobs.start();
      pods.start();
    },
    async waitForSync(signal) {
      await Promise.all([jobs.waitForSync(signal), pods.waitForSync(signal)]);
    },
    hasSynced: () => jobs.hasSynced() && pods.hasSynced(),
    async stop() {
      await Promise.all([jobs.stop(), pods.stop()]);
    },
    observe(req) {
      const ns = req.metadata.namespace ?? 'default';
      const jk = `${ns}/${childNames(req.metadata.name).job}`;
      const job = jobs.get(jk);
      if (!job) return undefined;
      // not this request's run: an earlier request of the same name, or an orphan that ensure()
      // adopts (or refuses) before it counts as the run
      if (controllerOf(job)?.uid !== req.metadata.uid) return undefined;
      const podKeys = podsByJob.get(jk) ?? new Set<string>();
      const list: Pod[] = [];
      for (const pk of podKeys) {
        const p = pods.get(pk);
        if (p) list.push(p);
      }
      return observeJob(job, list);
    },
    async exists(req) {
      try {
        const job = await client.get<Job>(
          RESOURCES.jobs,
          req.metadata.namespace ?? 'default',
          childNames(req.metadata.name).job,
        );
        return controllerOf(job)?.uid === req.metadata.uid;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    },
    async ensure(req, resolution: Resolution): Promise<EnsureResult> {
      const names = childNames(req.metadata.name);
      const ns = req.metadata.namespace ?? 'default';
      const uid = req.metadata.uid ?? '';
      const cached = jobs.get(`${ns}/${names.job}`);
      const jobIsOurs = cached !== undefined && controllerOf(cached)?.uid === uid;
      const files = requestFiles(req, resolution);
      const needSecret = !filesInline(config, files) && !secretReady.has(uid);
      if (jobIsOurs && !needSecret) return { name: names.job, created: false };
      const [, created] = await Promise.all([
        needSecret ? createOrAdopt(RESOURCES.secrets, buildFilesSecret(req, resolution, files), req) : false,
        jobIsOurs ? false : createOrAdopt(RESOURCES.jobs, buildJob(req, resolution, config, files), req),
      ]);
      if (needSecret) secretReady.add(uid);
      return { name: names.job, created };
    },
    async delete(req) {
      const ns = req.metadata.namespace ?? 'default';
      const names = childNames(req.metadata.name);
      try {
        await client.delete(RESOURCES.jobs, ns, names.job, 'Background');
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    },
    async cleanup(req) {
      const ns = req.metadata.namespace ?? 'default';
      const names = childNames(req.metadata.name);
      const uid = req.metadata.uid ?? '';
      // a run whose Job says its files are in a Secret has one to remove; so may a run whose Job
      // is gone already (cancelled, lost), which the cache cannot tell
      const job = jobs.get(`${ns}/${names.job}`);
      if (!job || job.metadata.annotations?.[FILES_ANNOTATION] === 'secret') {
        try {
          await client.delete(RESOURCES.secrets, ns, names.secret);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      secretReady.delete(uid);
    },
    *activeRuns(): Iterable<ActiveRun> {
      for (const job of jobs.list()) {
        const jk = `${job.metadata.namespace}/${job.metadata.name}`;
        const podList: Pod[] = [];
        for (const pk of podsByJob.get(jk) ?? []) {
          const p = pods.get(pk);
          if (p) podList.push(p);
        }
        if (!observeJob(job, podList).active) continue;
        const rk = requestKeyOfJob(job);
        if (!rk) continue;
        yield {
          requestKey: rk,
          caller: job.metadata.labels?.[LABELS.caller] ?? 'anonymous',
          model: job.metadata.labels?.[MODEL_LABEL] ?? '',
        };
      }
    },
  };
}

/** Keep only what observation needs: a cached Job is a few hundred bytes. */
function slimJob(o: KubeObject): Job {
  const j = o as Job;
  return {
    apiVersion: j.apiVersion,
    kind: j.kind,
    metadata: {
      name: j.metadata.name,
      namespace: j.metadata.namespace,
      uid: j.metadata.uid,
      resourceVersion: j.metadata.resourceVersion,
      labels: j.metadata.labels,
      ...(j.metadata.annotations?.[FILES_ANNOTATION]
        ? { annotations: { [FILES_ANNOTATION]: j.metadata.annotations[FILES_ANNOTATION] } }
        : {}),
      ownerReferences: j.metadata.ownerReferences,
      ...(j.metadata.deletionTimestamp ? { deletionTimestamp: j.metadata.deletionTimestamp } : {}),
    },
    spec: { activeDeadlineSeconds: j.spec?.activeDeadlineSeconds, backoffLimit: j.spec?.backoffLimit },
    status: j.status,
  };
}

function slimPod(o: KubeObject): Pod {
  const p = o as Pod;
  return {
    metadata: {
      name: p.metadata.name,
      namespace: p.metadata.namespace,
      resourceVersion: p.metadata.resourceVersion,
      labels: p.metadata.labels,
      ownerReferences: p.metadata.ownerReferences,
      ...(p.metadata.deletionTimestamp ? { deletionTimestamp: p.metadata.deletionTimestamp } : {}),
    },
    status: { phase: p.status?.phase, startTime: p.status?.startTime },
  };
}
