// The processor image runs the bundle from controller/build.ts, not the sources: it must start,
// report ready and reconcile a request into a Job like the sources do.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { LABELS } from '../api/v1alpha1/executor-contract.ts';
import { freePort } from '../scripts/controlplane/index.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { buildController } from './build.ts';
import { childNames } from './job-spec.ts';
import { type KubeClient, type KubeObject, RESOURCES } from './kube.ts';
import {
  adminClient,
  type ChildController,
  createFixtures,
  createRequest,
  spawnController,
  testEnv,
} from './testing.ts';

let ns: TestNamespace;
let client: KubeClient;
let child: ChildController | undefined;

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-bundle');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
});

afterAll(async () => {
  await child?.kill('SIGTERM');
  await ns?.cleanup();
});

it('the bundled controller becomes ready and creates the Job for a request', async () => {
  const entry = await buildController(mkdtempSync(join(tmpdir(), 'controller-bundle-')));
  const port = await freePort();
  child = spawnController(inject('kubeconfig'), testEnv(ns.name, { PORT: String(port) }), entry);
  await eventually(
    `the bundle to report ready (${child.output().slice(-500)})`,
    async () =>
      (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.ok ? true : undefined,
    { timeoutMs: 60_000 },
  );
  await createRequest(client, ns.name, 'from-bundle');
  const job: KubeObject = await eventually('the Job', () =>
    client.get<KubeObject>(RESOURCES.jobs, ns.name, childNames('from-bundle').job),
  );
  expect(job.metadata.labels?.[LABELS.request]).toBe('from-bundle');
}, 120_000);
