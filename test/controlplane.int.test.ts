import type { V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from './kube.ts';

let ns: TestNamespace;
beforeAll(async () => {
  ns = await createTestNamespace('cp');
});
afterAll(async () => ns?.cleanup());

function job(name: string, podLabels: Record<string, string> = {}): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: podLabels },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox', command: ['true'] }],
        },
      },
    },
  };
}

async function jobCondition(name: string): Promise<string | undefined> {
  const j = await ns.batch.readNamespacedJob({ name, namespace: ns.name });
  return j.status?.conditions?.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )?.type;
}

describe('full-mode control plane (kube-controller-manager, scheduler, kwok)', () => {
  it('runs a batch/v1 Job to Succeeded on the fake node', async () => {
    await ns.batch.createNamespacedJob({ namespace: ns.name, body: job('ok') });
    const cond = await eventually('job ok to finish', () => jobCondition('ok'), { timeoutMs: 60_000 });
    expect(cond).toBe('Complete');
    const pods = await ns.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'job-name=ok' });
    expect(pods.items[0]?.spec?.nodeName).toBe('kwok-node-0');
    expect(pods.items[0]?.status?.phase).toBe('Succeeded');
  });

  it('ends a Job whose pod fails as Failed, with the exit code on the pod', async () => {
    await ns.batch.createNamespacedJob({
      namespace: ns.name,
      body: job('bad', { 'kwok.labrats.work/outcome': 'fail', 'kwok.labrats.work/exit-code': '3' }),
    });
    const cond = await eventually('job bad to finish', () => jobCondition('bad'), { timeoutMs: 60_000 });
    expect(cond).toBe('Failed');
    const pods = await ns.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'job-name=bad' });
    expect(pods.items[0]?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
  });

  it('keeps a held pod Running until the test ends it', async () => {
    await ns.batch.createNamespacedJob({
      namespace: ns.name,
      body: job('held', { 'kwok.labrats.work/outcome': 'hold' }),
    });
    const pod = await eventually('held pod running', async () => {
      const pods = await ns.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'job-name=held' });
      return pods.items.find((p) => p.status?.phase === 'Running');
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await jobCondition('held')).toBeUndefined();
    expect(pod.metadata?.name).toMatch(/^held-/);
  });
});
