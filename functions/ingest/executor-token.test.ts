// The executor-token verifier on the in-memory Kube: what it accepts, every reason it refuses, and
// its caches (hits, expiry, the token's own exp, refusals, concurrent checks, apiserver failures).
// The real TokenReview and pods are in executor-token.int.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { RUN_ANNOTATIONS } from '../../api/v1alpha1/executor-contract.ts';
import { INGEST_AUDIENCE } from '../../api/v1alpha1/ingest-token.ts';
import { childName } from '../../api/v1alpha1/names.ts';
import { KubeError, type KubeObject } from '../lib/kube.ts';
import { createMemoryKube, type MemoryKube } from '../lib/memory-kube.ts';
import {
  type ExecutorPodOptions,
  executorPod,
  executorUser,
  fakeServiceAccountToken,
} from '../runtime-tests/harness.ts';
import { createExecutorTokenVerifier, ExecutorTokenRejected } from './executor-token.ts';

const NS = 'ai-agents';
const REQUEST = 'ir-1';
const REQUEST_UID = '0b7c6c1e-5f2a-4a63-9d43-000000000001';

function setup(opts: { maxEntries?: number } = {}) {
  const kube = createMemoryKube(NS);
  let t = Date.now();
  const clock = {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
  const verifier = createExecutorTokenVerifier({ kube, now: clock.now, ...opts });
  /** A pod of REQUEST's run and a token bound to it, valid until `expSeconds` from now. */
  const mint = (o: ExecutorPodOptions & { expSeconds?: number } = {}) => {
    const pod = executorPod(REQUEST, REQUEST_UID, o);
    kube.pods.set(pod.metadata.name, pod);
    const token = fakeServiceAccountToken({ exp: Math.floor((t + (o.expSeconds ?? 3600) * 1000) / 1000) });
    kube.tokens.set(token, {
      audiences: o.audiences ?? [INGEST_AUDIENCE],
      user: executorUser(o.namespace ?? NS, pod),
    });
    return { token, pod };
  };
  return { kube, clock, verifier, mint };
}

const reviews = (kube: MemoryKube) => kube.calls.reviewToken ?? 0;

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExecutorTokenRejected);
  return (err as Error).message;
}

describe('executor token: accepted', () => {
  it('a pod-bound token of a ServiceAccount in the namespace, for a pod of the run Job, names the request', async () => {
    const { verifier, mint, kube } = setup();
    const { token } = mint();
    expect(await verifier.verify(token)).toEqual({ namespace: NS, request: REQUEST, uid: REQUEST_UID });
    expect(reviews(kube)).toBe(1);
    expect(kube.calls.getPod).toBe(1);
  });

  it('asks the apiserver with the ingest audience', async () => {
    const { verifier, mint, kube } = setup();
    const spy = vi.spyOn(kube, 'reviewToken');
    const { token } = mint();
    await verifier.verify(token);
    expect(spy).toHaveBeenCalledWith(token, [INGEST_AUDIENCE]);
  });

  it('a long request name: the owner is the hashed childName', async () => {
    const { verifier, kube } = setup();
    const long = `ir-${'x'.repeat(70)}`;
    const pod = executorPod(long, REQUEST_UID);
    expect(pod.metadata.ownerReferences![0]!.name).toBe(childName(long, 'run'));
    expect(childName(long, 'run')).not.toBe(`${long}-run`);
    kube.pods.set(pod.metadata.name, pod);
    const token = fakeServiceAccountToken();
    kube.tokens.set(token, { audiences: [INGEST_AUDIENCE], user: executorUser(NS, pod) });
    expect((await verifier.verify(token)).request).toBe(long);
  });
});

describe('executor token: cache', () => {
  it('a hit does not review again; after 60 s it does', async () => {
    const { verifier, mint, kube, clock } = setup();
    const { token } = mint();
    await verifier.verify(token);
    clock.advance(59_000);
    await verifier.verify(token);
    expect(reviews(kube)).toBe(1);
    expect(kube.calls.getPod).toBe(1);
    clock.advance(1_000);
    await verifier.verify(token);
    expect(reviews(kube)).toBe(2);
  });

  it('never past the token’s own exp', async () => {
    const { verifier, mint, kube, clock } = setup();
    const { token } = mint({ expSeconds: 10 });
    await verifier.verify(token);
    clock.advance(9_000);
    await verifier.verify(token);
    expect(reviews(kube)).toBe(1);
    clock.advance(1_000);
    expect(await refusal(verifier.verify(token))).toBe('expired');
    expect(reviews(kube)).toBe(1);
  });

  it('an accepted pod that is deleted keeps working until the entry expires, then is refused', async () => {
    const { verifier, mint, kube, clock } = setup();
    const { token, pod } = mint();
    await verifier.verify(token);
    kube.pods.delete(pod.metadata.name);
    await verifier.verify(token);
    clock.advance(60_000);
    expect(await refusal(verifier.verify(token))).toBe('its pod is gone');
  });

  it('a refused token is refused for 5 s without another review, then reviewed again', async () => {
    const { verifier, kube, clock } = setup();
    const bad = fakeServiceAccountToken();
    for (let i = 0; i < 20; i++) expect(await refusal(verifier.verify(bad))).toBe('not authenticated');
    expect(reviews(kube)).toBe(1);
    clock.advance(4_999);
    await refusal(verifier.verify(bad));
    expect(reviews(kube)).toBe(1);
    clock.advance(1);
    await refusal(verifier.verify(bad));
    expect(reviews(kube)).toBe(2);
  });

  it('concurrent checks of one token share one review', async () => {
    const { verifier, mint, kube } = setup();
    const { token } = mint();
    const all = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)));
    expect(new Set(all.map((c) => c.request))).toEqual(new Set([REQUEST]));
    expect(reviews(kube)).toBe(1);
  });

  it('callers cannot change what is cached', async () => {
    const { verifier, mint } = setup();
    const { token } = mint();
    const first = await verifier.verify(token);
    first.request = 'other';
    expect((await verifier.verify(token)).request).toBe(REQUEST);
  });

  it('is bounded: the oldest entries leave first', async () => {
    const { verifier, mint, kube } = setup({ maxEntries: 3 });
    const tokens = Array.from({ length: 5 }, () => mint().token);
    for (const t of tokens) await verifier.verify(t);
    expect(verifier.cached.accepted).toBe(3);
    await verifier.verify(tokens[4]!);
    expect(reviews(kube)).toBe(5);
    await verifier.verify(tokens[0]!);
    expect(reviews(kube)).toBe(6);
    for (let i = 0; i < 5; i++) await refusal(verifier.verify(fakeServiceAccountToken()));
    expect(verifier.cached.refused).toBe(3);
  });
});

describe('executor token: apiserver failures are not verdicts', () => {
  it('a failed review is thrown as it is and not cached', async () => {
    const { verifier, mint, kube } = setup();
    const { token } = mint();
    const down = new Error('connect ECONNREFUSED');
    kube.failNext('reviewToken', down);
    await expect(verifier.verify(token)).rejects.toBe(down);
    expect(await verifier.verify(token)).toMatchObject({ request: REQUEST });
    expect(reviews(kube)).toBe(2);
  });

  it('a pod read failing with anything but 404 is thrown as it is and not cached', async () => {
    const { verifier, mint, kube } = setup();
    const { token } = mint();
    const busy = new KubeError(503, 'ServiceUnavailable', 'etcd leader changed');
    kube.failNext('getPod', busy);
    await expect(verifier.verify(token)).rejects.toBe(busy);
    expect(await verifier.verify(token)).toMatchObject({ request: REQUEST });
  });
});

describe('executor token: refused, one reason at a time', () => {
  const cases: [string, (s: ReturnType<typeof setup>) => string, string][] = [
    ['not a JWT', () => 'eyJhbGciOiJSUzI1NiJ9.not-json.sig', 'not a JWT'],
    ['no exp claim', () => fakeServiceAccountToken({ exp: Number.NaN }), 'no expiry'],
    [
      'expired by its own claim',
      (s) => fakeServiceAccountToken({ exp: Math.floor(s.clock.now() / 1000) - 1 }),
      'expired',
    ],
    [
      'another audience claimed',
      () => fakeServiceAccountToken({ aud: ['api'] }),
      'not for the ingest audience',
    ],
    ['unknown to the apiserver', () => fakeServiceAccountToken(), 'not authenticated'],
    [
      'issued for another audience (TokenReview)',
      (s) => s.mint({ audiences: ['https://kubernetes.default.svc'] }).token,
      'not authenticated',
    ],
    [
      'a ServiceAccount of another namespace',
      (s) => s.mint({ namespace: 'elsewhere' }).token,
      'not a ServiceAccount of this namespace',
    ],
    [
      'its pod is gone',
      (s) => {
        const { token, pod } = s.mint();
        s.kube.pods.delete(pod.metadata.name);
        return token;
      },
      'its pod is gone',
    ],
    [
      'another pod now has the name',
      (s) => {
        const { token, pod } = s.mint();
        s.kube.pods.set(pod.metadata.name, {
          ...pod,
          metadata: { ...pod.metadata, uid: crypto.randomUUID() },
        });
        return token;
      },
      'its pod is gone (another pod has the name)',
    ],
    [
      'a pod without the run annotations',
      (s) => s.mint({ noAnnotations: true }).token,
      'its pod does not name a request',
    ],
    [
      'a pod with only the request annotation',
      (s) => {
        const { token, pod } = s.mint();
        delete pod.metadata.annotations![RUN_ANNOTATIONS.requestUid];
        s.kube.pods.set(pod.metadata.name, pod);
        return token;
      },
      'its pod does not name a request',
    ],
    [
      'a pod of another Job',
      (s) => s.mint({ jobName: 'ir-2-run' }).token,
      "its pod is not run by the request's Job",
    ],
    [
      'a pod owned, not controlled, by the run Job',
      (s) => withOwner(s, (o) => ({ ...o, controller: false })),
      "its pod is not run by the request's Job",
    ],
    [
      'a pod controlled by something else named like the Job',
      (s) => withOwner(s, (o) => ({ ...o, apiVersion: 'apps/v1', kind: 'ReplicaSet' })),
      "its pod is not run by the request's Job",
    ],
  ];
  for (const [what, make, reason] of cases) {
    it(what, async () => {
      const s = setup();
      expect(await refusal(s.verifier.verify(make(s)))).toBe(reason);
    });
  }

  it('status.audiences without the ingest audience', async () => {
    const s = setup();
    const { token, pod } = s.mint();
    vi.spyOn(s.kube, 'reviewToken').mockResolvedValueOnce({
      authenticated: true,
      audiences: ['other'],
      user: executorUser(NS, pod),
    });
    expect(await refusal(s.verifier.verify(token))).toBe('not valid for the ingest audience');
  });

  it('a user that is not a ServiceAccount, or a token not bound to a pod', async () => {
    const s = setup();
    const { token, pod } = s.mint();
    const user = executorUser(NS, pod);
    const spy = vi.spyOn(s.kube, 'reviewToken');
    spy.mockResolvedValueOnce({
      authenticated: true,
      audiences: [INGEST_AUDIENCE],
      user: { ...user, username: 'alice' },
    });
    expect(await refusal(s.verifier.verify(token))).toBe('not a ServiceAccount of this namespace');
    s.clock.advance(5_000);
    spy.mockResolvedValueOnce({
      authenticated: true,
      audiences: [INGEST_AUDIENCE],
      user: { ...user, username: `system:serviceaccount:${NS}:` },
    });
    expect(await refusal(s.verifier.verify(token))).toBe('not a ServiceAccount of this namespace');
    s.clock.advance(5_000);
    spy.mockResolvedValueOnce({
      authenticated: true,
      audiences: [INGEST_AUDIENCE],
      user: { ...user, extra: {} },
    });
    expect(await refusal(s.verifier.verify(token))).toBe('not bound to a pod');
    s.clock.advance(5_000);
    spy.mockResolvedValueOnce({
      authenticated: true,
      audiences: [INGEST_AUDIENCE],
      user: { ...user, extra: { ...user.extra, 'authentication.kubernetes.io/pod-uid': [] } },
    });
    expect(await refusal(s.verifier.verify(token))).toBe('not bound to a pod');
    s.clock.advance(5_000);
    expect(await s.verifier.verify(token)).toMatchObject({ request: REQUEST });
  });
});

function withOwner(
  s: ReturnType<typeof setup>,
  change: (
    o: NonNullable<KubeObject['metadata']['ownerReferences']>[number],
  ) => NonNullable<KubeObject['metadata']['ownerReferences']>[number],
): string {
  const { token, pod } = s.mint();
  pod.metadata.ownerReferences = pod.metadata.ownerReferences!.map(change);
  s.kube.pods.set(pod.metadata.name, pod);
  return token;
}
