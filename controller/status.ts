// Status is written only through the /status subresource, with the resourceVersion we computed
// from; on a conflict the fresh object is read and the same mutation is applied again.
import { isDeepStrictEqual } from 'node:util';
import { type InferenceRequest, type InferenceRequestStatus, isTerminal } from '../api/v1alpha1/index.ts';
import { isConflict, isNotFound, type KubeClient, objectPath, RESOURCES } from './kube.ts';

/** Returns the new status, or undefined to leave it as it is. */
export type StatusMutation = (
  current: InferenceRequestStatus,
  req: InferenceRequest,
) => InferenceRequestStatus | undefined;

export interface StatusWriter {
  /** Applies the mutation; resolves to the stored object, or undefined if nothing was written. */
  update(req: InferenceRequest, mutate: StatusMutation): Promise<InferenceRequest | undefined>;
}

/** Drops undefined fields so comparisons and the stored object agree. */
export function clean<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Terminal phases are sticky: a mutation may not move a request out of one. */
export function guarded(current: InferenceRequestStatus, next: InferenceRequestStatus): boolean {
  return !(isTerminal(current.phase) && next.phase !== current.phase);
}

export function createStatusWriter(client: KubeClient, { maxAttempts = 6 } = {}): StatusWriter {
  return {
    async update(req, mutate) {
      let obj = req;
      for (let attempt = 1; ; attempt++) {
        const current = clean(obj.status ?? {});
        const next = mutate(current, obj);
        if (!next) return undefined;
        const cleaned = clean(next);
        if (!guarded(current, cleaned) || isDeepStrictEqual(current, cleaned)) return undefined;
        const ns = obj.metadata.namespace ?? 'default';
        try {
          return await client.replace<InferenceRequest>(
            RESOURCES.inferencerequests,
            ns,
            obj.metadata.name,
            { ...obj, status: cleaned },
            'status',
          );
        } catch (e) {
          if (isNotFound(e)) return undefined;
          if (!isConflict(e) || attempt >= maxAttempts) throw e;
          obj = await client.request<InferenceRequest>(
            'GET',
            objectPath(RESOURCES.inferencerequests, ns, obj.metadata.name, 'status'),
          );
          if (obj.metadata.uid !== req.metadata.uid) return undefined;
        }
      }
    },
  };
}
