// Ingest with an executor pod's ServiceAccount token, against the real apiserver: the API runs as
// the functions' ServiceAccount with exactly the chart's Role and ClusterRole; the test creates the
// request's run Job (the Job controller makes its pod, kwok holds it running) and mints the token
// as the kubelet does — a TokenRequest for the executors' ServiceAccount with the ingest audience,
// bound to the pod.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_ANNOTATIONS } from '../../api/v1alpha1/executor-contract.ts';
import { INGEST_AUDIENCE } from '../../api/v1alpha1/ingest-token.ts';
import { childName } from '../../api/v1alpha1/names.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../../test/kube.ts';
import { jobPod, podBoundToken } from '../../test/kubelet-token.ts';
import { at } from '../runtime-tests/harness.ts';
import { asUser } from '../testing/auth.ts';
import { type Served, serveFunctions } from '../testing/serve.ts';
import { functionsKubeConfig } from '../testing/service-account.ts';

const KEY = 'sa-ingest-key-0123456789abcdef';
const EXECUTOR_SA = 'ai-agents-executor';
const GROUP = { group: 'labrats.work', version: 'v1alpha1', plural: 'inferencerequests' };

let ns: TestNamespace;
let fn: Served;

beforeAll(async () => {
  ns = await createTestNamespace('fnsa');
  // freshly installed CRDs answer 429 "storage is (re)initializing" for a moment
  await eventually('InferenceRequest storage ready', async () =>
    (await ns.custom.listNamespacedCustomObject({ ...GROUP, namespace: ns.name })) ? true : undefined,
  );
  fn = await serveFunctions(await functionsKubeConfig(ns), ns.name, {
    SUBMIT_API_KEYS: `ci:${KEY}`,
    INGEST_TOKEN_SECRET: 'sa-ingest-secret-0123456789abcdef0123456789',
    STATUS_FLUSH_INTERVAL_MS: '200',
  });
  await ns.core.createNamespacedServiceAccount({
    namespace: ns.name,
    body: { metadata: { name: EXECUTOR_SA } },
  });
});
afterAll(async () => {
  await fn?.close();
  await ns?.cleanup();
});

interface Request {
  name: string;
  uid: string;
}

async function submit(prompt: string): Promise<Request> {
  const res = await fetch(`${fn.url}/api/jobs/submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'developer', prompt }),
  });
  expect(res.status).toBe(202);
  const name = ((await res.json()) as { id: string }).id;
  const obj = (await ns.custom.getNamespacedCustomObject({ ...GROUP, namespace: ns.name, name })) as {
    metadata: { uid: string };
  };
  return { name, uid: obj.metadata.uid };
}

/**
 * The request's run Job as the controller makes it (owned by the request, the run annotations on
 * its pod template), and the pod the Job controller makes from it. `jobName` and `annotations`
 * change what a wrong Job would look like.
 */
async function runPod(
  req: Request,
  opts: { jobName?: string; annotations?: boolean } = {},
): Promise<{ job: V1Job; pod: V1Pod }> {
  const jobName = opts.jobName ?? childName(req.name, 'run');
  const job = await ns.batch.createNamespacedJob({
    namespace: ns.name,
    body: {
      metadata: {
        name: jobName,
        ownerReferences: [
          {
            apiVersion: 'labrats.work/v1alpha1',
            kind: 'InferenceRequest',
            name: req.name,
            uid: req.uid,
            controller: true,
          },
        ],
      },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: {
            labels: { 'kwok.labrats.work/outcome': 'hold' },
            ...(opts.annotations === false
              ? {}
              : {
                  annotations: { [RUN_ANNOTATIONS.request]: req.name, [RUN_ANNOTATIONS.requestUid]: req.uid },
                }),
          },
          spec: {
            serviceAccountName: EXECUTOR_SA,
            restartPolicy: 'Never',
            containers: [{ name: 'executor', image: 'executor:test' }],
          },
        },
      },
    },
  });
  const pod = await jobPod(ns.core, ns.name, jobName);
  return { job, pod };
}

/** What the kubelet projects into the pod: a token of its ServiceAccount for `audience`, bound to it. */
const kubeletToken = (pod: V1Pod, audience = INGEST_AUDIENCE) => podBoundToken(ns.core, pod, audience, 600);

function ingest(token: string, body: unknown) {
  return fetch(`${fn.url}/api/events/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function expectUnauthorized(res: Response) {
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
}

describe('ingest with an executor pod’s ServiceAccount token (real apiserver)', () => {
  it('accepts events for its request: they land in the log and the status summary; another request is 403', async () => {
    const a = await submit('sa a');
    const b = await submit('sa b');
    const { pod, job } = await runPod(a);
    expect(pod.metadata!.ownerReferences).toContainEqual(
      expect.objectContaining({ kind: 'Job', name: job.metadata!.name, controller: true }),
    );
    const token = await kubeletToken(pod);

    const first = await ingest(token, { request: a.name, events: [at(1, 'started'), at(2)] });
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 0, lastSeq: 2 });
    const done = at(3, 'completed', {
      data: { outcome: 'succeeded', usage: { inputTokens: 5, outputTokens: 2 } },
    });
    expect((await ingest(token, { request: a.name, events: [done] })).status).toBe(200);

    const denied = await ingest(token, { request: b.name, events: [at(1, 'started')] });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('forbidden');

    expect(await fn.app.services.events.state({ namespace: ns.name, request: a.name, uid: a.uid })).toEqual({
      lastSeq: 3,
      ended: true,
    });
    expect(await fn.app.services.events.state({ namespace: ns.name, request: b.name, uid: b.uid })).toEqual({
      lastSeq: 0,
      ended: false,
    });
    const status = await eventually('the summary in status', async () => {
      const ir = (await ns.custom.getNamespacedCustomObject({
        ...GROUP,
        namespace: ns.name,
        name: a.name,
      })) as {
        status?: { eventCount?: number };
      };
      return ir.status?.eventCount === 3 ? ir.status : undefined;
    });
    expect(status).toMatchObject({
      eventCount: 3,
      lastEvent: { seq: 3, type: 'completed' },
      usage: { inputTokens: 5 },
    });
    // the SSE log serves them like any other events
    const sse = await (
      await fetch(`${fn.url}/api/jobs/${a.name}/events`, { headers: asUser('viewer') })
    ).text();
    expect(sse).toContain('id: 3');
  });

  it('the TokenReview the verifier relies on: audience, ServiceAccount and pod as the kubelet-minted token says', async () => {
    const r = await submit('sa review');
    const { pod } = await runPod(r);
    const kube = fn.app.services.kube; // the functions' ServiceAccount, chart's Role and ClusterRole only
    const review = await kube.reviewToken(await kubeletToken(pod), [INGEST_AUDIENCE]);
    expect(review).toMatchObject({
      authenticated: true,
      audiences: [INGEST_AUDIENCE],
      user: {
        username: `system:serviceaccount:${ns.name}:${EXECUTOR_SA}`,
        extra: {
          'authentication.kubernetes.io/pod-name': [pod.metadata!.name],
          'authentication.kubernetes.io/pod-uid': [pod.metadata!.uid],
        },
      },
    });
    const other = await kube.reviewToken(await kubeletToken(pod, 'https://kubernetes.default.svc'), [
      INGEST_AUDIENCE,
    ]);
    expect(other.authenticated).toBeFalsy();
    expect((await kube.getPod(pod.metadata!.name!)).metadata.uid).toBe(pod.metadata!.uid);
  });

  it('a token of the pod for another audience is 401', async () => {
    const c = await submit('sa audience');
    const { pod } = await runPod(c);
    const other = await kubeletToken(pod, 'https://kubernetes.default.svc');
    await expectUnauthorized(await ingest(other, { request: c.name, events: [at(1)] }));
    // the same pod's ingest-audience token is fine
    expect((await ingest(await kubeletToken(pod), { request: c.name, events: [at(1)] })).status).toBe(200);
  });

  it('a token bound to a pod that was deleted is 401 (a fresh token, never cached)', async () => {
    const d = await submit('sa deleted');
    const { pod } = await runPod(d);
    const token = await kubeletToken(pod);
    await ns.core.deleteNamespacedPod({
      namespace: ns.name,
      name: pod.metadata!.name!,
      gracePeriodSeconds: 0,
    });
    await eventually('the pod gone', async () =>
      ns.core.readNamespacedPod({ namespace: ns.name, name: pod.metadata!.name! }).then(
        () => undefined,
        (e: { code?: number }) => (e.code === 404 ? true : undefined),
      ),
    );
    await expectUnauthorized(await ingest(token, { request: d.name, events: [at(1)] }));
    expect(await fn.app.services.events.state({ namespace: ns.name, request: d.name, uid: d.uid })).toEqual({
      lastSeq: 0,
      ended: false,
    });
  });

  it('a pod whose owner Job has another name is 401', async () => {
    const e = await submit('sa wrong job');
    const { pod } = await runPod(e, { jobName: `${e.name}-other` });
    expect(pod.metadata!.annotations?.[RUN_ANNOTATIONS.request]).toBe(e.name);
    await expectUnauthorized(await ingest(await kubeletToken(pod), { request: e.name, events: [at(1)] }));
  });

  it('a pod of the run Job without the run annotations is 401', async () => {
    const f = await submit('sa no annotations');
    const { pod } = await runPod(f, { annotations: false });
    await expectUnauthorized(await ingest(await kubeletToken(pod), { request: f.name, events: [at(1)] }));
    expect(await fn.app.services.events.state({ namespace: ns.name, request: f.name, uid: f.uid })).toEqual({
      lastSeq: 0,
      ended: false,
    });
  });

  it('a token of a ServiceAccount of another namespace is 401', async () => {
    const g = await submit('sa other namespace');
    const other = await createTestNamespace('fnsa-other');
    try {
      await other.core.createNamespacedServiceAccount({
        namespace: other.name,
        body: { metadata: { name: EXECUTOR_SA } },
      });
      const pod = await other.core.createNamespacedPod({
        namespace: other.name,
        body: {
          metadata: {
            name: 'impostor',
            annotations: { [RUN_ANNOTATIONS.request]: g.name, [RUN_ANNOTATIONS.requestUid]: g.uid },
          },
          spec: { serviceAccountName: EXECUTOR_SA, containers: [{ name: 'c', image: 'x' }] },
        },
      });
      const tr = await other.core.createNamespacedServiceAccountToken({
        namespace: other.name,
        name: EXECUTOR_SA,
        body: {
          spec: {
            audiences: [INGEST_AUDIENCE],
            expirationSeconds: 600,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'impostor', uid: pod.metadata!.uid! },
          },
        },
      });
      await expectUnauthorized(await ingest(tr.status!.token!, { request: g.name, events: [at(1)] }));
    } finally {
      await other.cleanup();
    }
  });

  it('logs never contain the tokens', () => {
    expect(fn.logs.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});
