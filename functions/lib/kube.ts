// The functions' view of the Kubernetes API: a few verbs on our custom resources in one
// namespace, plus the API-key Secrets, and what ingest needs to check an executor's ServiceAccount
// token (a TokenReview and the executor's Pod). The real implementation (kube-client.ts) uses
// @kubernetes/client-node with the functions' ServiceAccount; unit tests use memory-kube.ts.
import type { Kind } from '../../api/v1alpha1/index.ts';
import type { KubeObject } from '../../api/v1alpha1/kube-object.ts';

export type { KubeObject };

export interface ListOptions {
  labelSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult<T> {
  items: T[];
  continue?: string;
}

export interface SecretData {
  name: string;
  /** decoded values */
  data: Record<string, string>;
}

/** The status of a TokenReview (authentication.k8s.io/v1). */
export interface TokenReviewStatus {
  authenticated?: boolean;
  /** The requested audiences the token is valid for. */
  audiences?: string[];
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

export interface Kube {
  readonly namespace: string;
  list<T extends KubeObject = KubeObject>(kind: Kind, opts?: ListOptions): Promise<ListResult<T>>;
  get<T extends KubeObject = KubeObject>(kind: Kind, name: string): Promise<T>;
  create<T extends KubeObject = KubeObject>(kind: Kind, body: KubeObject): Promise<T>;
  replace<T extends KubeObject = KubeObject>(kind: Kind, name: string, body: KubeObject): Promise<T>;
  /** JSON merge patch (RFC 7386) on the main resource. */
  patch<T extends KubeObject = KubeObject>(kind: Kind, name: string, patch: unknown): Promise<T>;
  /** JSON merge patch on the status subresource. */
  patchStatus<T extends KubeObject = KubeObject>(kind: Kind, name: string, patch: unknown): Promise<T>;
  delete(kind: Kind, name: string): Promise<void>;
  /** Secrets with the given label selector (API keys). */
  listSecrets(labelSelector: string): Promise<SecretData[]>;
  /** TokenReview: who a bearer token belongs to, if it is valid for one of `audiences`. */
  reviewToken(token: string, audiences: string[]): Promise<TokenReviewStatus>;
  /** A Pod in the namespace (metadata is what ingest reads). */
  getPod(name: string): Promise<KubeObject>;
}

export interface StatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

/** An apiserver error, normalised: HTTP status, Status.reason, message and field causes. */
export class KubeError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly causes: StatusCause[];
  readonly retryAfterSeconds: number | undefined;
  constructor(
    status: number,
    reason: string,
    message: string,
    causes: StatusCause[] = [],
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
    this.causes = causes;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const isKubeError = (e: unknown, status?: number): e is KubeError =>
  e instanceof KubeError && (status === undefined || e.status === status);

/** Reads a metav1.Status body (object or JSON text) into a KubeError. */
export function kubeErrorFromStatus(code: number, body: unknown): KubeError {
  let status: Record<string, unknown> = {};
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as Record<string, unknown>;
    } catch {
      status = { message: body.slice(0, 500) };
    }
  } else if (body && typeof body === 'object') status = body as Record<string, unknown>;
  const details = (status.details ?? {}) as { causes?: StatusCause[]; retryAfterSeconds?: number };
  return new KubeError(
    typeof status.code === 'number' ? status.code : code,
    typeof status.reason === 'string' ? status.reason : 'Unknown',
    typeof status.message === 'string' ? status.message : `apiserver answered ${code}`,
    Array.isArray(details.causes) ? details.causes : [],
    details.retryAfterSeconds,
  );
}
