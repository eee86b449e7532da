// The controller as the chart deploys it: a ServiceAccount bound to the processor Role from
// k8s/base (rendered from charts/ai-agents-processor), not the admin. Everything it does for a
// request — including adopting an orphaned Job it labelled — must be allowed by that Role.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LABELS, MANAGED_BY } from '../api/v1alpha1/executor-contract.ts';
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { serviceAccountKubeConfig } from '../test/service-account.ts';
import { COMPONENT_EXECUTOR, childNames } from './job-spec.ts';
import { type KubeClient, type KubeObject, RESOURCES } from './kube.ts';
import { accessFromKubeConfig } from './kube-access.ts';
import type { Running } from './main.ts';
import { adminClient, createFixtures, createRequest, getRequest, runInProcess, testEnv } from './testing.ts';

const SA = 'ai-agents-processor';
let ns: TestNamespace;
let admin: KubeClient;
let controller: Running | undefined;

/** The processor Role as the charts render it (k8s/base is generated from them). */
function processorRole() {
  const role = parseAllDocuments(
    readFileSync(join(import.meta.dirname, '..', 'k8s/base/ai-agents-processor.yaml'), 'utf8'),
  )
    .map((d) => d.toJS() as { kind?: string; rules: V1PolicyRule[] })
    .find((o) => o?.kind === 'Role');
  if (!role) throw new Error('no Role in k8s/base/ai-agents-processor.yaml');
  return { name: SA, rules: role.rules };
}

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-rbac');
  admin = adminClient(inject('kubeconfig'));
  await createFixtures(admin, ns.name);
  const kc = await serviceAccountKubeConfig(ns, SA, processorRole());
  controller = await runInProcess(await accessFromKubeConfig(kc), testEnv(ns.name));
});

afterAll(async () => {
  await controller?.stop();
  await ns?.cleanup();
});

const phaseOf = async (name: string, phase: string) => {
  const r = await getRequest(admin, ns.name, name);
  return r.status?.phase === phase ? r : undefined;
};

it('runs a request to Succeeded with only the processor Role', async () => {
  await createRequest(admin, ns.name, 'plain-1');
  const done: InferenceRequest = await eventually(
    'plain-1 Succeeded',
    () => phaseOf('plain-1', 'Succeeded'),
    {
      timeoutMs: 60_000,
    },
  );
  expect(done.status?.jobName).toBe(childNames('plain-1').job);
});

it('adopts an orphaned Job it labelled for the request instead of making a second one', async () => {
  const name = childNames('orphan-1').job;
  await admin.create(RESOURCES.jobs, ns.name, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.component]: COMPONENT_EXECUTOR,
        [LABELS.request]: 'orphan-1',
      },
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: COMPONENT_EXECUTOR } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'executor', image: 'example.invalid/x' }] },
      },
    },
  });
  const req = await createRequest(admin, ns.name, 'orphan-1');
  const job = await eventually('the orphan adopted', async () => {
    const j = await admin.get<KubeObject>(RESOURCES.jobs, ns.name, name);
    return j.metadata.ownerReferences?.some((o) => o.uid === req.metadata.uid && o.controller)
      ? j
      : undefined;
  });
  expect(job.metadata.name).toBe(name);
  const done = await eventually('orphan-1 Succeeded', () => phaseOf('orphan-1', 'Succeeded'), {
    timeoutMs: 60_000,
  });
  expect(done.status?.jobName).toBe(name);
  const jobs = await admin.list(RESOURCES.jobs, ns.name, { labelSelector: `${LABELS.request}=orphan-1` });
  expect(jobs.items).toHaveLength(1);
});
