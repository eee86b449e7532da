// The executor-runtime seam: how the reconciler creates, observes and deletes the "run" of a
// request. The Kubernetes Job runtime (job-runtime.ts) is the default; a local child-process
// runtime can implement the same interface.
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import type { Resolution } from './resolve.ts';

export type RunState = 'pending' | 'running' | 'succeeded' | 'failed' | 'timedOut';

export interface RunObservation {
  /** The run's name (the Job name), recorded in status.jobName. */
  name: string;
  state: RunState;
  /** Still holds a concurrency slot (not finished). */
  active: boolean;
  /** For failed/timedOut: a CamelCase reason and a human message. */
  reason?: string;
  message?: string;
  /** Executor attempts so far (retries included). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
}

export interface ActiveRun {
  requestKey: string;
  caller: string;
  model: string;
}

export interface EnsureResult {
  name: string;
  /** True when this call created the run; false when it existed (adopted or already ours). */
  created: boolean;
}

/** Thrown when a child with our deterministic name exists and belongs to something else. */
export class OwnershipConflict extends Error {
  override name = 'OwnershipConflict';
}

export interface ExecutorRuntime {
  readonly kind: string;
  /** Begin watching; `onChange(requestKey)` is called whenever a run of that request changes. */
  start(onChange: (requestKey: string) => void): void;
  waitForSync(signal?: AbortSignal): Promise<void>;
  hasSynced(): boolean;
  stop(): Promise<void>;
  /** The run of a request as last observed (cache only, no API call). */
  observe(req: InferenceRequest): RunObservation | undefined;
  /** Asks the source of truth whether the run exists (for when the cache may lag). */
  exists(req: InferenceRequest): Promise<boolean>;
  /** Creates the run and what it needs; idempotent, adopts what is already ours. */
  ensure(req: InferenceRequest, resolution: Resolution): Promise<EnsureResult>;
  /** Stops and removes the run (cancel). Absent is fine. */
  delete(req: InferenceRequest): Promise<void>;
  /** Removes transient things after a terminal phase (e.g. the ingest token). Idempotent. */
  cleanup(req: InferenceRequest): Promise<void>;
  /**
   * The request was deleted: stops and removes its run, for a runtime whose runs Kubernetes does
   * not collect through owner references (a Job runtime leaves this out).
   */
  requestDeleted?(req: InferenceRequest): Promise<void>;
  /** Runs that hold a slot right now, to rebuild admission state after a restart. */
  activeRuns(): Iterable<ActiveRun>;
}
