// Shapes of what /api answers. Resource types come from the CRD schemas, as types only: no zod
// (or any other runtime code from api/) reaches the bundle.
import type {
  AiAgent,
  AiInstruction,
  AiModel,
  InferenceRequest,
  Phase,
  Usage,
  WebhookSource,
} from '../../../api/v1alpha1/index.ts';

export type { AiAgent, AiInstruction, AiModel, InferenceRequest, Phase, Usage, WebhookSource };

export type Role = 'viewer' | 'operator' | 'admin';

export interface Me {
  user: { sub: string; name?: string | null; email?: string | null; groups?: string[] };
  roles: Role[];
}

export interface List<T> {
  items: T[];
  continue?: string;
}

export interface JobSummary {
  id: string;
  phase?: Phase;
  agent?: string;
  model?: string;
  source?: string | { kind?: string; name?: string };
  caller?: string;
  queuePosition?: number;
  createdAt?: string;
  startedAt?: string;
  completedAt?: string;
  usage?: Usage;
}

export interface JobDetail {
  id: string;
  metadata: InferenceRequest['metadata'];
  spec: InferenceRequest['spec'];
  status?: InferenceRequest['status'];
}

export interface Composed {
  text: string;
  hash: string;
  parts: { source: string; kind: string }[];
}

export interface JobEvent {
  seq: number;
  type: string;
  time?: string;
  message?: string;
  data?: Record<string, unknown>;
}

/** Any of the resources the resources API serves, as it serves them. */
export interface AnyResource {
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: string; [k: string]: unknown };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** A request a delivery made: a name, or the ledger's record of it. */
export type DeliveryRequest = string | { name: string; rule?: string; result?: string; detail?: string };

/** One webhook ledger record (field names as the functions write them, and as first sketched). */
export interface Delivery {
  id: string;
  /** Unique per record: a redelivery or replay repeats `id`. */
  key?: string;
  event?: string;
  action?: string;
  receivedAt?: string;
  matched?: string[];
  matchedRules?: string[];
  message?: string;
  reason?: string;
  requests?: DeliveryRequest[];
  outcome?: string;
  replayable?: boolean;
  replayOf?: string;
}

export interface TimeSeries {
  metric: string;
  series: { labels: Record<string, string>; points: [number, number][] }[];
}

export interface Summary {
  byPhase: Partial<Record<Phase, number>>;
}
