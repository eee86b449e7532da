// The controller as the chart deploys it: a ServiceAccount bound to the processor Role from
// k8s/base (rendered from charts/ai-agents-processor), not the admin. Everything it does for a
// request — including adopting an orphaned Job it labelled — must be allowed by that Role.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { LABELS, MANAGED_BY } from '../api/v1alpha1/executor-contract.ts';
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { COMPONENT_EXECUTOR, childNames } from './job-spec.ts';
import { type KubeClient, type KubeObject, RESOURCES } from './kube.ts';
import type { Running } from './main.ts';
import { adminClient, createFixtures, createRequest, getRequest, runInProcess, testEnv } from './testing.ts';

const SA = 'ai-agents-processor';
let ns: TestNamespace;
let admin: KubeClient;
let controller: Running | undefined;

/** A kubeconfig for the ServiceAccount: the admin's cluster entry, a TokenRequest token. */
async function serviceAccountKubeconfig(): Promise<string> {
  const role = parseAllDocuments(
    readFileSync(join(import.meta.dirname, '..', 'k8s/base/ai-agents-processor.yaml'), 'utf8'),
  )
    .map((d) => d.toJS() as KubeObject & { rules: unknown[] })
    .find((o) => o?.kind === 'Role');
  if (!role) throw new Error('no Role in k8s/base/ai-agents-processor.yaml');
  await admin.create(RESOURCES.serviceaccounts, ns.name, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: SA },
  });
  const rbac = { prefix: '/apis/rbac.authorization.k8s.io/v1' };
  await admin.create({ ...rbac, plural: 'roles' }, ns.name, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: SA },
    rules: role.rules,
  });
  await admin.create({ ...rbac, plural: 'rolebindings' }, ns.name, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: SA },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SA },
    subjects: [{ kind: 'ServiceAccount', name: SA, namespace: ns.name }],
  });
  const tr = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${ns.name}/serviceaccounts/${SA}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      },
    },
  );
  const adminConfig = parseAllDocuments(readFileSync(inject('kubeconfig'), 'utf8'))[0]!.toJS() as {
    clusters: { name: string; cluster: object }[];
  };
  const path = join(mkdtempSync(join(tmpdir(), 'processor-sa-')), 'kubeconfig');
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: adminConfig.clusters[0]!.cluster }],
      users: [{ name: SA, user: { token: tr.status.token } }],
      contexts: [{ name: SA, context: { cluster: 'local', user: SA, namespace: ns.name } }],
      'current-context': SA,
    }),
  );
  return path;
}

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-rbac');
  admin = adminClient(inject('kubeconfig'));
  await createFixtures(admin, ns.name);
  controller = await runInProcess(await serviceAccountKubeconfig(), testEnv(ns.name));
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
