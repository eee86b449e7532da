// An executor pod's ServiceAccount token as an ingest credential (api/v1alpha1/executor-contract.ts):
// the kubelet projects it with the audience INGEST_AUDIENCE, and ingest maps it to one request.
//
//   1. TokenReview for INGEST_AUDIENCE: authenticated, valid for that audience, a ServiceAccount of
//      the functions' namespace, bound to a pod (user extra pod-name and pod-uid);
//   2. that pod, read now: the same uid, both RUN_ANNOTATIONS, and a controller ownerReference to the
//      Job `childName(request, 'run')`;
//   3. the claims are the annotations' request and request uid in the functions' namespace.
//
// Verdicts are cached by the token's SHA-256: an accepted token for at most `ttlMs` and never past
// its own `exp`, a refused one for `negativeTtlMs` (a flood of one bad token is one review every
// few seconds). Concurrent checks of one token share one review. An apiserver failure is thrown as
// it is (never cached), so a valid token is not refused because the apiserver was unavailable.
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { RUN_ANNOTATIONS } from '../../api/v1alpha1/executor-contract.ts';
import { INGEST_AUDIENCE, type IngestClaims } from '../../api/v1alpha1/ingest-token.ts';
import { childName } from '../../api/v1alpha1/names.ts';
import { isKubeError, type Kube } from '../lib/kube.ts';

export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';

/** The token is not an executor's ingest credential (→ 401). `reason` is for logs, never the client. */
export class ExecutorTokenRejected extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ExecutorTokenRejected';
  }
}

export interface ExecutorTokenOptions {
  kube: Pick<Kube, 'namespace' | 'reviewToken' | 'getPod'>;
  now?: () => number;
  /** Longest time an accepted token is trusted without a new review (default 60 s). */
  ttlMs?: number;
  /** How long a refused token stays refused without a new review (default 5 s). */
  negativeTtlMs?: number;
  /** Most entries kept in each cache, accepted and refused (default 10,000; oldest go first). */
  maxEntries?: number;
}

export interface ExecutorTokenVerifier {
  /** The token's claims; throws ExecutorTokenRejected, or the apiserver's error. */
  verify(token: string): Promise<IngestClaims>;
  /** Entries cached now (tests). */
  readonly cached: { accepted: number; refused: number };
}

interface Entry<T> {
  value: T;
  until: number;
}

/** A Map kept to `max` entries, the oldest inserted leaving first, entries valid until `until`. */
class BoundedCache<T> {
  private readonly map = new Map<string, Entry<T>>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get size() {
    return this.map.size;
  }
  get(key: string, now: number): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (now >= e.until) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: T, until: number): void {
    this.map.delete(key);
    this.map.set(key, { value, until });
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

const single = (v: string[] | undefined): string | undefined => (v?.length === 1 && v[0] ? v[0] : undefined);

export function createExecutorTokenVerifier(opts: ExecutorTokenOptions): ExecutorTokenVerifier {
  const { kube } = opts;
  const now = opts.now ?? Date.now;
  const ttlMs = opts.ttlMs ?? 60_000;
  const negativeTtlMs = opts.negativeTtlMs ?? 5_000;
  const max = opts.maxEntries ?? 10_000;
  const accepted = new BoundedCache<IngestClaims>(max);
  const refused = new BoundedCache<string>(max);
  const inflight = new Map<string, Promise<IngestClaims>>();
  const userPrefix = `system:serviceaccount:${kube.namespace}:`;

  async function check(token: string): Promise<IngestClaims> {
    const review = await kube.reviewToken(token, [INGEST_AUDIENCE]);
    if (!review.authenticated) throw new ExecutorTokenRejected('not authenticated');
    if (!review.audiences?.includes(INGEST_AUDIENCE)) {
      throw new ExecutorTokenRejected('not valid for the ingest audience');
    }
    const username = review.user?.username ?? '';
    if (!username.startsWith(userPrefix) || username.length === userPrefix.length) {
      throw new ExecutorTokenRejected('not a ServiceAccount of this namespace');
    }
    const podName = single(review.user?.extra?.[POD_NAME_EXTRA]);
    const podUid = single(review.user?.extra?.[POD_UID_EXTRA]);
    if (!podName || !podUid) throw new ExecutorTokenRejected('not bound to a pod');

    let pod: Awaited<ReturnType<Kube['getPod']>>;
    try {
      pod = await kube.getPod(podName);
    } catch (err) {
      if (isKubeError(err, 404)) throw new ExecutorTokenRejected('its pod is gone');
      throw err;
    }
    if (pod.metadata.uid !== podUid)
      throw new ExecutorTokenRejected('its pod is gone (another pod has the name)');
    const request = pod.metadata.annotations?.[RUN_ANNOTATIONS.request];
    const uid = pod.metadata.annotations?.[RUN_ANNOTATIONS.requestUid];
    if (!request || !uid) throw new ExecutorTokenRejected('its pod does not name a request');
    const owner = pod.metadata.ownerReferences?.find((o) => o.controller);
    if (
      owner?.apiVersion !== 'batch/v1' ||
      owner.kind !== 'Job' ||
      owner.name !== childName(request, 'run')
    ) {
      throw new ExecutorTokenRejected("its pod is not run by the request's Job");
    }
    return { namespace: kube.namespace, request, uid };
  }

  return {
    get cached() {
      return { accepted: accepted.size, refused: refused.size };
    },
    async verify(token) {
      const key = createHash('sha256').update(token).digest('base64url');
      const t = now();
      const hit = accepted.get(key, t);
      if (hit) return { ...hit };
      const refusal = refused.get(key, t);
      if (refusal !== undefined) throw new ExecutorTokenRejected(refusal);

      // Unverified, only to refuse what cannot pass without asking the apiserver, and to cap the
      // cache at the token's own expiry; the TokenReview decides.
      let expMs: number;
      try {
        const payload = decodeJwt(token);
        if (typeof payload.exp !== 'number') throw new ExecutorTokenRejected('no expiry');
        expMs = payload.exp * 1000;
        const aud = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
        if (!aud.includes(INGEST_AUDIENCE)) throw new ExecutorTokenRejected('not for the ingest audience');
      } catch (err) {
        throw err instanceof ExecutorTokenRejected ? err : new ExecutorTokenRejected('not a JWT');
      }
      if (expMs <= t) throw new ExecutorTokenRejected('expired');

      let pending = inflight.get(key);
      if (!pending) {
        pending = check(token).then(
          (claims) => {
            inflight.delete(key);
            accepted.set(key, claims, Math.min(now() + ttlMs, expMs));
            return claims;
          },
          (err) => {
            inflight.delete(key);
            if (err instanceof ExecutorTokenRejected) refused.set(key, err.message, now() + negativeTtlMs);
            throw err;
          },
        );
        inflight.set(key, pending);
      }
      return { ...(await pending) };
    },
  };
}
