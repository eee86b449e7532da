// The request → Job lifecycle against the real control plane (kwok runs the pods).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyIngestToken } from '../api/v1alpha1/ingest-token.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { childNames } from './job-spec.ts';
import { isNotFound, type KubeClient, type KubeObject, RESOURCES } from './kube.ts';
import type { Running } from './main.ts';
import {
  adminClient,
  createAgent,
  createFixtures,
  createRequest,
  getRequest,
  KWOK,
  runInProcess,
  TEST_INGEST_SECRET,
  testEnv,
} from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary fields of the stored Job
type Loose = any;
type Obj = KubeObject & { spec?: Loose; data?: Record<string, string>; status?: Loose };

let ns: TestNamespace;
let client: KubeClient;
let controller: Running;

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
  it('creates a hardened Job and its Secret (request files, ingest token), then reports Succeeded', async () => {
    const req = await createRequest(client, ns.name, 'ok-1', {
      labels: { team: 'blue', ...KWOK.runFor('1s') },
      attachments: ['upl-spec'],
      maxRetries: 2,
      timeoutSeconds: 120,
    });
    const names = childNames('ok-1');
    const job = await eventually('Job created', async () => {
      try {
        return await client.get<Obj>(RESOURCES.jobs, ns.name, names.job);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
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
      onExitCodes: { containerName: 'executor', operator: 'In', values: [42] },
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
    const tokenEnv = c.env.find((e: { name: string }) => e.name === 'AI_AGENTS_INGEST_TOKEN');
    expect(tokenEnv.valueFrom.secretKeyRef).toEqual({ name: names.secret, key: 'token' });

    // the ingest token is bound to this request
    const secret = await client.get<Obj>(RESOURCES.secrets, ns.name, names.secret);
    const token = Buffer.from(secret.data!.token!, 'base64').toString();
    const claims = await verifyIngestToken(new TextEncoder().encode(TEST_INGEST_SECRET), token);
    expect(claims).toEqual({ namespace: ns.name, request: 'ok-1', uid: req.metadata.uid });

    // the same Secret carries the request and the composed instructions, mounted without the token
    const file = (key: string) => Buffer.from(secret.data![key]!, 'base64').toString();
    const request = JSON.parse(file('request.json'));
    expect(request).toMatchObject({
      name: 'ok-1',
      executor: 'claude',
      prompt: 'do ok-1',
      timeoutSeconds: 120,
    });
    expect(file('instructions.md')).toBe('Write clean code.\n\nYou are a developer.');
    const configVolume = pod.volumes.find((v: { name: string }) => v.name === 'config');
    expect(configVolume.secret).toMatchObject({
      secretName: names.secret,
      items: [
        { key: 'request.json', path: 'request.json' },
        { key: 'instructions.md', path: 'instructions.md' },
      ],
    });

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
    // the token is removed once the request is over
    await eventually('ingest Secret deleted', async () => {
      try {
        await client.get(RESOURCES.secrets, ns.name, names.secret);
        return undefined;
      } catch (e) {
        return isNotFound(e) ? true : undefined;
      }
    });
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
    await eventually('Job gone', async () => {
      try {
        await client.get(RESOURCES.jobs, ns.name, childNames('cancel-1').job);
        return undefined;
      } catch (e) {
        return isNotFound(e) ? true : undefined;
      }
    });
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
    await createRequest(client, ns.name, 'gone-1', { labels: KWOK.hold });
    await eventually('gone-1 Running', () => phaseOf('gone-1', 'Running'), { timeoutMs: 60_000 });
    await client.delete(RESOURCES.inferencerequests, ns.name, 'gone-1', 'Background');
    const names = childNames('gone-1');
    for (const [r, n] of [
      [RESOURCES.jobs, names.job],
      [RESOURCES.secrets, names.secret],
    ] as const) {
      await eventually(
        `${n} garbage-collected`,
        async () => {
          try {
            await client.get(r, ns.name, n);
            return undefined;
          } catch (e) {
            return isNotFound(e) ? true : undefined;
          }
          // kube-controller-manager's garbage collector is slow on a loaded machine
        },
        { timeoutMs: 90_000 },
      );
    }
  });
});
