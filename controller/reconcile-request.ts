// The InferenceRequest reconciler. Level-triggered: whatever woke it, it re-reads the request
// from the cache, looks at its run as the runtime observes it, and rebuilds status from that.
import {
  type InferenceRequest,
  type InferenceRequestStatus,
  isTerminal,
  type Phase,
} from '../api/v1alpha1/index.ts';
import type { Admission, AdmissionEntry } from './admission.ts';
import type { CallbackDispatcher } from './callback.ts';
import { COND, type ConditionInput, removeCondition, setCondition } from './conditions.ts';
import { callerOf, labelValue } from './job-spec.ts';
import { KubeError } from './kube.ts';
import type { Logger } from './log.ts';
import type { ReconcileResult } from './queue.ts';
import { type Resolution, type ResolveLookup, resolveRequest } from './resolve.ts';
import { type ExecutorRuntime, OwnershipConflict, type RunObservation } from './runtime.ts';
import type { StatusWriter } from './status.ts';

export interface RequestReconcilerDeps {
  get(key: string): InferenceRequest | undefined;
  lookup: ResolveLookup;
  runtime: ExecutorRuntime;
  admission: Admission;
  status: StatusWriter;
  callbacks: CallbackDispatcher;
  now: () => Date;
  log: Logger;
  defaultTimeoutSeconds: number;
  onJobCreated?: (req: InferenceRequest, waitSeconds: number) => void;
}

export function admissionEntry(req: InferenceRequest, model: string): AdmissionEntry {
  const created = req.metadata.creationTimestamp;
  return {
    priority: req.spec.priority ?? 0,
    caller: labelValue(callerOf(req)),
    model: labelValue(model),
    ...(req.spec.concurrencyKey ? { concurrencyKey: req.spec.concurrencyKey } : {}),
    createdMs: created ? new Date(created).getTime() : 0,
  };
}

interface Change {
  phase: Phase;
  reason?: string;
  message?: string;
  conditions: ConditionInput[];
  fields?: Partial<InferenceRequestStatus>;
  /** Remove these status fields. */
  drop?: (keyof InferenceRequestStatus)[];
  /** Remove these conditions (what no longer applies, e.g. a slot wait once unresolved). */
  dropConditions?: string[];
}

/** Builds the next status from the current one: conditions keep their transition times. */
export function applyChange(
  current: InferenceRequestStatus,
  change: Change,
  now: Date,
  generation: number | undefined,
): InferenceRequestStatus {
  let conditions = current.conditions;
  for (const type of change.dropConditions ?? []) conditions = removeCondition(conditions, type);
  for (const c of change.conditions) conditions = setCondition(conditions, c, now, generation);
  const next: InferenceRequestStatus = {
    ...current,
    ...change.fields,
    phase: change.phase,
    conditions,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (change.reason !== undefined) next.reason = change.reason;
  else delete next.reason;
  if (change.message !== undefined) next.message = change.message.slice(0, 4096);
  else delete next.message;
  for (const f of change.drop ?? []) delete next[f];
  if (isTerminal(change.phase) && !next.completedAt) next.completedAt = now.toISOString();
  return next;
}

const TERMINAL_FROM_RUN: Record<'succeeded' | 'failed' | 'timedOut', Phase> = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  timedOut: 'TimedOut',
};

export function changeFromRun(run: RunObservation, req: InferenceRequest): Change {
  const fields: Partial<InferenceRequestStatus> = { jobName: run.name, attempts: run.attempts };
  const startedAt = req.status?.startedAt ?? (run.state !== 'pending' ? run.startedAt : undefined);
  if (startedAt) fields.startedAt = startedAt;
  if (run.state === 'pending' || run.state === 'running') {
    const running = run.state === 'running';
    return {
      phase: running ? 'Running' : 'Queued',
      conditions: [
        {
          type: COND.admitted,
          status: 'True',
          reason: 'RunCreated',
          message: `executor Job ${run.name} created`,
        },
        running
          ? { type: COND.running, status: 'True', reason: 'ExecutorRunning' }
          : { type: COND.running, status: 'False', reason: 'Starting' },
      ],
      fields,
      drop: ['queuePosition'],
    };
  }
  const phase = TERMINAL_FROM_RUN[run.state];
  if (run.finishedAt) fields.completedAt = run.finishedAt;
  const reason = run.state === 'succeeded' ? 'Succeeded' : (run.reason ?? 'Failed');
  return {
    phase,
    reason,
    ...(run.message ? { message: run.message } : {}),
    conditions: [
      { type: COND.running, status: 'False', reason: phase },
      {
        type: COND.complete,
        status: 'True',
        reason,
        ...(run.message ? { message: run.message } : {}),
      },
    ],
    fields,
    drop: ['queuePosition'],
  };
}

function resolvedFieldsOf(r: Resolution): Partial<InferenceRequestStatus> {
  return { resolvedModel: r.model.metadata.name, executor: r.executor, promptHash: r.prompt.hash };
}

function resolvedConditionOf(r: Resolution): ConditionInput {
  return {
    type: COND.resolved,
    status: 'True',
    reason: 'Resolved',
    message: `agent ${r.agent.metadata.name}, model ${r.model.metadata.name} (${r.executor})`,
  };
}

export function createRequestReconciler(deps: RequestReconcilerDeps) {
  const { admission, runtime, status, log } = deps;
  /** uids whose transient children were already cleaned up */
  const cleaned = new Set<string>();

  async function write(req: InferenceRequest, change: Change) {
    const now = deps.now();
    return status.update(req, (current) => applyChange(current, change, now, req.metadata.generation));
  }

  return async function reconcile(key: string): Promise<ReconcileResult | undefined> {
    const req = deps.get(key);
    if (!req || req.metadata.deletionTimestamp) {
      admission.release(key);
      return;
    }
    const phase = req.status?.phase;

    if (isTerminal(phase)) {
      admission.release(key);
      const uid = req.metadata.uid ?? '';
      // the ingest token is useless now; only runs still in the cache can have one left
      if (!cleaned.has(uid) && runtime.observe(req)) {
        await runtime.cleanup(req);
        cleaned.add(uid);
      }
      deps.callbacks.ensure(req);
      return;
    }

    const run = runtime.observe(req);

    if (req.spec.cancel) {
      if (run?.active) await runtime.delete(req);
      // what the run had (its request files, its credential) goes with it
      if (run) await runtime.cleanup(req);
      admission.release(key);
      await write(req, {
        phase: 'Cancelled',
        reason: 'Cancelled',
        message: 'cancelled by spec.cancel',
        conditions: [
          { type: COND.running, status: 'False', reason: 'Cancelled' },
          { type: COND.complete, status: 'True', reason: 'Cancelled', message: 'cancelled by spec.cancel' },
        ],
        drop: ['queuePosition'],
        ...(run ? { fields: { jobName: run.name, attempts: run.attempts } } : {}),
      });
      return;
    }

    if (run) {
      if (run.active) {
        const model = req.status?.resolvedModel ?? req.spec.model ?? '';
        admission.markRunning(key, admissionEntry(req, model));
      } else admission.release(key);
      const change = changeFromRun(run, req);
      if (!req.status?.resolvedModel) {
        // the admission's own status change was never stored (a crash, or still on its way): the
        // run's status carries what resolution found as well
        const again = resolveRequest(req, deps.lookup, deps.defaultTimeoutSeconds);
        if (again.ok) {
          change.fields = { ...resolvedFieldsOf(again.resolution), ...change.fields };
          change.conditions.unshift(resolvedConditionOf(again.resolution));
        }
      }
      await write(req, change);
      return;
    }

    if (req.status?.jobName) {
      // we created a run before; the cache may lag behind our own status write
      if (await runtime.exists(req)) return { requeueAfterMs: 1000 };
      admission.release(key);
      await runtime.cleanup(req);
      await write(req, {
        phase: 'Failed',
        reason: 'RunLost',
        message: `the executor Job ${req.status.jobName} disappeared before it finished`,
        conditions: [
          { type: COND.running, status: 'False', reason: 'RunLost' },
          { type: COND.complete, status: 'True', reason: 'RunLost' },
        ],
        drop: ['queuePosition'],
      });
      return;
    }

    const outcome = resolveRequest(req, deps.lookup, deps.defaultTimeoutSeconds);
    if (!outcome.ok) {
      admission.release(key);
      await write(req, {
        phase: 'Pending',
        reason: outcome.reason,
        message: outcome.message,
        conditions: [
          { type: COND.resolved, status: 'False', reason: outcome.reason, message: outcome.message },
        ],
        // what an earlier resolution found no longer holds
        drop: ['queuePosition', 'resolvedModel', 'executor', 'promptHash'],
        dropConditions: [COND.admitted],
      });
      return;
    }
    const r = outcome.resolution;
    const resolvedFields = resolvedFieldsOf(r);
    const resolvedCondition = resolvedConditionOf(r);
    const decision = admission.request(key, admissionEntry(req, r.model.metadata.name));
    log.debug('admission', { request: key, ...decision });
    if (!decision.admitted) {
      await write(req, {
        phase: 'Queued',
        reason: 'WaitingForSlot',
        message: `waiting for a free executor slot (position ${decision.position})`,
        conditions: [resolvedCondition, { type: COND.admitted, status: 'False', reason: 'WaitingForSlot' }],
        fields: { ...resolvedFields, queuePosition: decision.position },
      });
      return;
    }

    let created: boolean;
    let name: string;
    try {
      ({ created, name } = await runtime.ensure(req, r));
    } catch (e) {
      if (e instanceof OwnershipConflict || (e instanceof KubeError && (e.code === 422 || e.code === 400))) {
        // permanent: the run cannot be created as specified
        admission.release(key);
        log.warn('run cannot be created', { request: key, error: String(e) });
        await write(req, {
          phase: 'Failed',
          reason: e instanceof OwnershipConflict ? 'NameConflict' : 'InvalidRun',
          message: String((e as Error).message).slice(0, 1024),
          conditions: [resolvedCondition, { type: COND.complete, status: 'True', reason: 'InvalidRun' }],
          fields: resolvedFields,
        });
        return;
      }
      throw e;
    }
    log.debug('run ensured', { request: key, created });
    if (created) {
      const createdAt = req.metadata.creationTimestamp
        ? new Date(req.metadata.creationTimestamp).getTime()
        : Date.now();
      deps.onJobCreated?.(req, Math.max(0, (deps.now().getTime() - createdAt) / 1000));
    }
    // exactly what the Job's first sighting will report (changeFromRun of a pending run), so that
    // event finds nothing to write: one status write per admission
    const pending = changeFromRun({ name, state: 'pending', active: true, attempts: 1 }, req);
    await write(req, {
      ...pending,
      conditions: [resolvedCondition, ...pending.conditions],
      fields: { ...resolvedFields, ...pending.fields },
    });
    return;
  };
}
