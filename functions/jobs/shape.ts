// How requests look to API clients: links, labels we set, list items, details.
import type { InferenceRequest } from '../../api/v1alpha1/index.ts';
import type { KubeObject } from '../lib/kube.ts';

export const jobLinks = (id: string) => ({ self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events` });

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const RESERVED_PREFIX = /(^|\.)(labrats\.work|kubernetes\.io|k8s\.io)$/;

export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (!LABEL_PREFIX.test(prefix) || prefix.length > 253)) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}
export const isLabelValue = (v: string) => v === '' || (v.length <= 63 && LABEL_NAME.test(v));

/**
 * Why a pair of spec.labels is not a Kubernetes label at all, or undefined when it is. (One under a
 * reserved prefix is a label: it stays in spec.labels, where runs see it, but is not copied onto
 * the request, whose labels under those prefixes are ours.)
 */
export function labelProblem(key: string, value: string): string | undefined {
  if (!isLabelKey(key))
    return 'is not a Kubernetes label key ([prefix/]name, name ≤ 63 of A-Z a-z 0-9 - _ .)';
  if (!isLabelValue(value))
    return 'has a value that is not a Kubernetes label value (≤ 63 of A-Z a-z 0-9 - _ .)';
  return undefined;
}

/** Our labels plus the caller's spec.labels that are valid label pairs outside reserved prefixes. */
export function requestLabels(input: {
  spec: { agent: string; model?: string; labels?: Record<string, string>; source?: { kind: string } };
  caller?: string;
}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.spec.labels ?? {})) {
    const prefix = k.includes('/') ? k.slice(0, k.indexOf('/')) : '';
    if (isLabelKey(k) && isLabelValue(v) && !RESERVED_PREFIX.test(prefix)) out[k] = v;
  }
  out['app.kubernetes.io/part-of'] = 'ai-agents';
  if (input.caller) out['labrats.work/caller'] = input.caller;
  if (input.spec.source?.kind) out['labrats.work/source'] = input.spec.source.kind;
  if (isLabelValue(input.spec.agent)) out['labrats.work/agent'] = input.spec.agent;
  if (input.spec.model && isLabelValue(input.spec.model)) out['labrats.work/model'] = input.spec.model;
  return out;
}

export interface JobListItem {
  id: string;
  phase: string;
  agent: string;
  model?: string;
  source?: string;
  caller?: string;
  queuePosition?: number;
  createdAt?: string;
  startedAt?: string;
  completedAt?: string;
  usage?: Record<string, unknown>;
}

export function listItem(o: KubeObject): JobListItem {
  const r = o as unknown as InferenceRequest;
  const st = r.status ?? {};
  const item: JobListItem = { id: r.metadata.name, phase: st.phase ?? 'Pending', agent: r.spec.agent };
  const model = r.spec.model ?? st.resolvedModel;
  if (model) item.model = model;
  if (r.spec.source?.kind) item.source = r.spec.source.kind;
  if (r.spec.caller) item.caller = r.spec.caller;
  if (st.queuePosition !== undefined) item.queuePosition = st.queuePosition;
  if (r.metadata.creationTimestamp) item.createdAt = String(r.metadata.creationTimestamp);
  if (st.startedAt) item.startedAt = st.startedAt;
  if (st.completedAt) item.completedAt = st.completedAt;
  if (st.usage) item.usage = st.usage;
  return item;
}

/** Metadata without the apiserver's bookkeeping noise. */
export function publicMetadata(meta: KubeObject['metadata']): Record<string, unknown> {
  const { managedFields: _m, ...rest } = meta as Record<string, unknown>;
  return rest;
}

export function detail(o: KubeObject) {
  return {
    id: o.metadata.name,
    metadata: publicMetadata(o.metadata),
    spec: o.spec ?? {},
    status: o.status ?? {},
  };
}
