// metav1.Condition helpers: lastTransitionTime moves only when the status really changes.
import type { Condition } from '../api/v1alpha1/index.ts';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date,
  observedGeneration?: number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const updated: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    ...(next.message !== undefined ? { message: next.message.slice(0, 32_768) } : {}),
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString(),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (i >= 0) list[i] = updated;
  else list.push(updated);
  return list;
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** Condition types the controller sets on an InferenceRequest. */
export const COND = {
  /** Agent and model resolved. */
  resolved: 'Resolved',
  /** A slot was granted and the executor run created. */
  admitted: 'Admitted',
  /** The executor is running. */
  running: 'Running',
  /** The request reached a terminal phase. */
  complete: 'Complete',
  /** The callback was delivered (True) or given up (False). */
  callbackDelivered: 'CallbackDelivered',
} as const;
