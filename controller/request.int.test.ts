// The request → Job lifecycle against the real control plane (kwok runs the pods).

import { AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { jobPodIngestToken } from '../test/kubelet-token.ts';
import type { InformerEvent } from './informer.ts';
import type { createJobRuntime } from './job-runtime.ts';
import { childNames } from './job-spec.ts';
import { isNotFound, type KubeClient, type KubeObject, RESOURCES, type ResourcePath } from './kube.ts';
import type { Running } from './main.ts';
import {
  adminClient,
  createAgent,
  createFixtures,
  createRequest,
  getRequest,
  KWOK,
  runInProcess,
  testEnv,
} from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary fields of the stored Job
type Loose = any;
type Obj = KubeObject & { spec?: Loose; data?: Record<string, string>; status?: Loose };
type JobRuntime = ReturnType<typeof createJobRuntime>;

let ns: TestNamespace;
let client: KubeClient;
let controller: Running;

/** The object, or undefined while it does not exist. */
async function found(resource: ResourcePath, name: string): Promise<Obj | undefined> {
  try {
    return await client.get<Obj>(resource, ns.name, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
/** true once the object is gone. */
const gone = async (resource: ResourcePath, name: string) =>
  (await found(resource, name)) === undefined ? true : undefined;

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-req');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
  // what the Job mounts and runs as must exist for its pod to be scheduled
  await client.create(RESOURCES.serviceaccounts, ns.name, { metadata: { name: 'executor' } });
  for (const claim of ['uploads', 'workspace']) {
    const pv = `${ns.name}-${claim}`;
    await client.request('POST', '/api/v1/persistentvolumes', {
      body: {
        metadata: { name: pv, labels: { 'ai-agents.test': 'true' } },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          storageClassName: '',
          hostPath: { path: `/tmp/${pv}` },
          claimRef: { namespace: ns.name, name: claim },
        },
      },
    });
    await client.create(RESOURCES.pvcs, ns.name, {
      metadata: { name: claim },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: '',
        volumeName: pv,
        resources: { requests: { storage: '1Gi' } },
      },
    });
  }
  controller = await runInProcess(
    inject('kubeconfig'),
    testEnv(ns.name, {
      UPLOADS_PVC_NAME: 'uploads',
      WORKSPACE_PVC_NAME: 'workspace',
      EXECUTOR_SERVICE_ACCOUNT: 'executor',
      WORKER_CONCURRENCY: '50',
    }),
  );
});

afterAll(async () => {
  await controller?.stop();
  await ns?.cleanup();
  for (const claim of ['uploads', 'workspace'])
    await client?.request('DELETE', `/api/v1/persistentvolumes/${ns.name}-${claim}`).catch(() => {});
});

const phaseOf = async (name: string, want: string) => {
  const r = await getRequest(client, ns.name, name);
  return r.status?.phase === want ? r : undefined;
};

describe('request → Job', () => {
  it('creates a hardened Job carrying its request files and a projected ingest token, no Secret; then Succeeded', async () => {
    const req = await createRequest(client, ns.name, 'ok-1', {
      labels: { team: 'blue', ...KWOK.runFor('2s') },
      attachments: ['upl-spec'],
      maxRetries: 2,
      timeoutSeconds: 120,
    });
    const names = childNames('ok-1');
    const job = await eventually('Job created', () => found(RESOURCES.jobs, names.job));
    // ownership and labels
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'InferenceRequest',
        name: 'ok-1',
        uid: req.metadata.uid,
        controller: true,
      }),
    ]);
    expect(job.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'ai-agents-controller',
      'labrats.work/inference-request': 'ok-1',
    });
    const spec = job.spec;
    expect(spec.activeDeadlineSeconds).toBe(120);
    expect(spec.backoffLimit).toBe(2);
    expect(spec.ttlSecondsAfterFinished).toBe(3600);
    expect(spec.podFailurePolicy.rules[0]).toMatchObject({
      action: 'FailJob',
      onExitCodes: { containerName: 'executor', operator: 'In', values: [42, 124] },
    });
    const pod = spec.template.spec;
    expect(spec.template.metadata.labels).toMatchObject({
      team: 'blue',
      'labrats.work/inference-request': 'ok-1',
    });
    expect(pod.serviceAccountName).toBe('executor');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1001, fsGroup: 1001 });
    const c = pod.containers[0];
    expect(c.image).toBe('example.invalid/executor-claude:test');
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.volumeMounts).toEqual(
      expect.arrayContaining([
        // only its own attachment, read-only
        expect.objectContaining({
          name: 'uploads',
          mountPath: '/uploads/upl-spec',
          subPath: 'upl-spec',
          readOnly: true,
        }),
        expect.objectContaining({ name: 'workspace', mountPath: '/workspace', subPath: 'jobs/ok-1' }),
        expect.objectContaining({ name: 'config', mountPath: '/etc/ai-agents' }),
        expect.objectContaining({ name: 'models', mountPath: '/models' }),
      ]),
    );
    expect(c.volumeMounts).toContainEqual(
      expect.objectContaining({
        name: 'ingest-token',
        mountPath: '/var/run/secrets/ai-agents',
        readOnly: true,
      }),
    );
    expect(c.env).toContainEqual({
      name: 'AI_AGENTS_INGEST_TOKEN_FILE',
      value: '/var/run/secrets/ai-agents/ingest-token',
    });
    expect(c.env.find((e: { name: string }) => e.name === 'AI_AGENTS_INGEST_TOKEN')).toBeUndefined();

    // the request and the composed instructions travel in the pod's annotations, as files
    const annotations = spec.template.metadata.annotations;
    expect(annotations['labrats.work/request']).toBe('ok-1');
    expect(annotations['labrats.work/request-uid']).toBe(req.metadata.uid);
    const request = JSON.parse(annotations['labrats.work/request.json']);
    expect(request).toMatchObject({
      name: 'ok-1',
      executor: 'claude',
      prompt: 'do ok-1',
      timeoutSeconds: 120,
    });
    expect(annotations['labrats.work/instructions.md']).toBe('Write clean code.\n\nYou are a developer.');
    const configVolume = pod.volumes.find((v: { name: string }) => v.name === 'config');
    expect(configVolume.downwardAPI.items.map((i: { path: string }) => i.path)).toEqual([
      'request.json',
      'instructions.md',
    ]);
    // nothing else was created for the run
    await expect(client.get(RESOURCES.secrets, ns.name, names.secret)).rejects.toMatchObject({ code: 404 });

    // the pod the Job controller made gets the projected token from the kubelet (played here); the
    // apiserver authenticates it for our audience only, as that pod of the executor ServiceAccount
    const { pod: runPod, token } = await jobPodIngestToken(ns.core, ns.name, names.job);
    expect(runPod.metadata?.annotations?.['labrats.work/request-uid']).toBe(req.metadata.uid);
    const auth = ns.kc.makeApiClient(AuthenticationV1Api);
    const review = await auth.createTokenReview({
      body: { spec: { token, audiences: ['ai-agents-ingest'] } },
    });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${ns.name}:executor`);
    expect(review.status?.user?.extra?.['authentication.kubernetes.io/pod-name']).toEqual([
      runPod.metadata?.name,
    ]);
    const otherAudience = await auth.createTokenReview({ body: { spec: { token, audiences: ['api'] } } });
    expect(otherAudience.status?.authenticated).not.toBe(true);
    // and the Kubernetes API itself does not take it as a credential
    const cluster = ns.kc.getCurrentCluster()!;
    const asExecutor = new KubeConfig();
    asExecutor.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'executor', token }],
      contexts: [{ name: 'executor', cluster: cluster.name, user: 'executor' }],
      currentContext: 'executor',
    });
    await expect(
      asExecutor.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns.name }),
    ).rejects.toMatchObject({ code: 401 });

    const done = await eventually('Succeeded', () => phaseOf('ok-1', 'Succeeded'), { timeoutMs: 60_000 });
    expect(done.status).toMatchObject({
      jobName: names.job,
      resolvedModel: 'sonnet',
      executor: 'claude',
      observedGeneration: 1,
      promptHash: request.promptHash,
    });
    expect(done.status?.attempts).toBeGreaterThanOrEqual(1);
    expect(done.status?.startedAt).toBeTruthy();
    expect(done.status?.completedAt).toBeTruthy();
    expect(done.status?.conditions?.find((x) => x.type === 'Complete')).toMatchObject({ status: 'True' });
  });

  it('puts request files too large for annotations in a Secret the Job mounts, removed at the end', async () => {
    // 140 KB in UTF-8: more than annotations carry (MAX_INLINE_FILES_BYTES)
    await createRequest(client, ns.name, 'big-1', { prompt: 'é'.repeat(70_000), labels: KWOK.runFor('1s') });
    const names = childNames('big-1');
    const secret = await eventually('files Secret created', () => found(RESOURCES.secrets, names.secret));
    expect(JSON.parse(Buffer.from(secret.data!['request.json']!, 'base64').toString()).prompt).toBe(
      'é'.repeat(70_000),
    );
    expect(Object.keys(secret.data!).sort()).toEqual(['instructions.md', 'request.json']);
    const job = await client.get<Obj>(RESOURCES.jobs, ns.name, names.job);
    expect(
      job.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config').secret,
    ).toMatchObject({
      secretName: names.secret,
    });
    expect(job.spec.template.metadata.annotations['labrats.work/request.json']).toBeUndefined();
    await eventually('big-1 Succeeded', () => phaseOf('big-1', 'Succeeded'), { timeoutMs: 60_000 });
    await eventually('files Secret deleted', () => gone(RESOURCES.secrets, names.secret));
  });

  it('removes the request files Secret of a cancelled run too', async () => {
    await createRequest(client, ns.name, 'big-2', { prompt: 'é'.repeat(70_000), labels: KWOK.hold });
    const names = childNames('big-2');
    await eventually('files Secret created', () => found(RESOURCES.secrets, names.secret));
    await eventually('Job created', () => found(RESOURCES.jobs, names.job));
    await client.mergePatch(RESOURCES.inferencerequests, ns.name, 'big-2', { spec: { cancel: true } });
    await eventually('big-2 Cancelled', () => phaseOf('big-2', 'Cancelled'));
    await eventually('files Secret deleted', () => gone(RESOURCES.secrets, names.secret));
  });

  it('reports Failed with the reason when the executor fails', async () => {
    await createRequest(client, ns.name, 'bad-1', { labels: KWOK.fail(42), maxRetries: 3 });
    await createRequest(client, ns.name, 'crash-1', { labels: KWOK.fail(1) });
    const bad = await eventually('bad-1 Failed', () => phaseOf('bad-1', 'Failed'), { timeoutMs: 60_000 });
    expect(bad.status?.reason).toBe('BadRequest'); // exit 42: no retries despite maxRetries 3
    expect(bad.status?.attempts).toBe(1);
    const crash = await eventually('crash-1 Failed', () => phaseOf('crash-1', 'Failed'), {
      timeoutMs: 60_000,
    });
    expect(crash.status?.reason).toBe('ExecutorFailed');
    expect(crash.status?.message).toBeTruthy();
  });

  it('reports TimedOut, without retries, when the executor stops itself at the timeout (exit 124)', async () => {
    await createRequest(client, ns.name, 'late-1', { labels: KWOK.fail(124), maxRetries: 3 });
    const late = await eventually('late-1 TimedOut', () => phaseOf('late-1', 'TimedOut'), {
      timeoutMs: 60_000,
    });
    expect(late.status?.reason).toBe('DeadlineExceeded');
    expect(late.status?.attempts).toBe(1);
  });

  it('reports TimedOut when the deadline passes', async () => {
    await createRequest(client, ns.name, 'slow-1', { labels: KWOK.hold, timeoutSeconds: 2 });
    await eventually('slow-1 Running', () => phaseOf('slow-1', 'Running'), { timeoutMs: 60_000 });
    const r = await eventually('slow-1 TimedOut', () => phaseOf('slow-1', 'TimedOut'), { timeoutMs: 60_000 });
    expect(r.status?.reason).toBe('DeadlineExceeded');
  });

  it('cancels: the Job is deleted and the request ends Cancelled', async () => {
    await createRequest(client, ns.name, 'cancel-1', { labels: KWOK.hold });
    await eventually('cancel-1 Running', () => phaseOf('cancel-1', 'Running'), { timeoutMs: 60_000 });
    await client.mergePatch(RESOURCES.inferencerequests, ns.name, 'cancel-1', { spec: { cancel: true } });
    await eventually('cancel-1 Cancelled', () => phaseOf('cancel-1', 'Cancelled'));
    await eventually('Job gone', () => gone(RESOURCES.jobs, childNames('cancel-1').job));
  });

  it("caches a run's pod only while it runs: Running, then Succeeded", async () => {
    const pods = (controller.controller.runtime as JobRuntime).pods;
    const job = childNames('brief-1').job;
    const seen: [InformerEvent, string | undefined][] = [];
    pods.on((event, pod) => {
      if (pod.metadata.labels?.['batch.kubernetes.io/job-name'] === job)
        seen.push([event, pod.status?.phase]);
    });
    await createRequest(client, ns.name, 'brief-1', { labels: KWOK.runFor('2s') });
    await eventually('brief-1 Running', () => phaseOf('brief-1', 'Running'), { timeoutMs: 60_000 });
    await eventually('brief-1 Succeeded', () => phaseOf('brief-1', 'Succeeded'), { timeoutMs: 60_000 });
    await eventually('the pod left the cache', () => (seen.at(-1)?.[0] === 'delete' ? true : undefined));
    // no Pending pod was ever sent; the one that ran arrived as it ran and left as it stopped
    expect(seen[0]).toEqual(['add', 'Running']);
    expect(seen.filter(([, phase]) => phase !== 'Running')).toEqual([]);
    expect(
      [...pods.list()].filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === job),
    ).toEqual([]);
  });

  it('keeps a request Pending while its agent is missing and admits it once it appears', async () => {
    await createRequest(client, ns.name, 'orphan-1', { agent: 'reviewer', labels: KWOK.runFor('1s') });
    const pending = await eventually('Pending with condition', async () => {
      const r = await getRequest(client, ns.name, 'orphan-1');
      const c = r.status?.conditions?.find((x) => x.type === 'Resolved');
      return r.status?.phase === 'Pending' && c?.status === 'False' ? { r, c } : undefined;
    });
    expect(pending.c.reason).toBe('AgentNotFound');
    expect(pending.c.message).toContain('reviewer');
    await createAgent(client, ns.name, 'reviewer');
    await eventually('orphan-1 Succeeded', () => phaseOf('orphan-1', 'Succeeded'), { timeoutMs: 60_000 });
  });

  it('deleting a request removes its children through owner references', async () => {
    // a prompt too large for annotations, so that there is a Secret to collect as well
    await createRequest(client, ns.name, 'gone-1', { labels: KWOK.hold, prompt: 'é'.repeat(70_000) });
    await eventually('gone-1 Running', () => phaseOf('gone-1', 'Running'), { timeoutMs: 60_000 });
    await client.delete(RESOURCES.inferencerequests, ns.name, 'gone-1', 'Background');
    const names = childNames('gone-1');
    for (const [r, n] of [
      [RESOURCES.jobs, names.job],
      [RESOURCES.secrets, names.secret],
    ] as const) {
      // kube-controller-manager's garbage collector is slow on a loaded machine
      await eventually(`${n} garbage-collected`, () => gone(r, n), { timeoutMs: 90_000 });
    }
  });
});
