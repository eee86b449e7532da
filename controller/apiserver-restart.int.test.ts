// The apiserver restarted mid-run: the controller's watches recover and it misses nothing.
// This test needs its own control plane (restarting the shared one would disturb other tests).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ControlPlane, installCrds, startControlPlane } from '../scripts/controlplane/index.ts';
import { eventually } from '../test/kube.ts';
import { type KubeClient, type KubeObject, RESOURCES } from './kube.ts';
import type { Running } from './main.ts';
import { adminClient, createFixtures, createRequest, KWOK, runInProcess, testEnv } from './testing.ts';

const NS = 'restart';
let cp: ControlPlane;
let client: KubeClient;
let controller: Running;

beforeAll(async () => {
  cp = await startControlPlane({ full: true });
  await installCrds(cp);
  client = adminClient(cp.kubeconfigPath);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
  await eventually('default ServiceAccount', async () => {
    try {
      return await client.get(RESOURCES.serviceaccounts, NS, 'default');
    } catch {
      return undefined;
    }
  });
  await createFixtures(client, NS);
  controller = await runInProcess(cp.kubeconfigPath, testEnv(NS, { WORKER_CONCURRENCY: '100' }));
}, 180_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const phases = async () => {
  const list = await client.list<KubeObject & { status?: { phase?: string } }>(
    RESOURCES.inferencerequests,
    NS,
  );
  return new Map(list.items.map((r) => [r.metadata.name, r.status?.phase]));
};

it('recovers after the apiserver restarts and handles what happened meanwhile', async () => {
  for (let i = 0; i < 5; i++) await createRequest(client, NS, `before-${i}`, { labels: KWOK.runFor('1s') });
  await eventually('before-* Succeeded', async () => {
    const p = await phases();
    return [...p.values()].filter((x) => x === 'Succeeded').length === 5 ? true : undefined;
  });
  // requests whose runs span the restart
  for (let i = 0; i < 5; i++) await createRequest(client, NS, `during-${i}`, { labels: KWOK.runFor('4s') });
  const watchesBefore = controller.controller.requests.stats.watches;

  await cp.restartApiserver();

  for (let i = 0; i < 5; i++) {
    await eventually('apiserver accepting writes', async () => {
      try {
        return await createRequest(client, NS, `after-${i}`, { labels: KWOK.runFor('1s') });
      } catch {
        return undefined;
      }
    });
  }
  const final = await eventually(
    'all 15 Succeeded',
    async () => {
      const p = await phases();
      return p.size === 15 && [...p.values()].every((x) => x === 'Succeeded') ? p : undefined;
    },
    { timeoutMs: 90_000 },
  );
  expect(final.size).toBe(15);
  // the watches really broke and recovered (not a lucky no-op)
  expect(controller.controller.requests.stats.watches).toBeGreaterThan(watchesBefore);
  const jobs = await client.list(RESOURCES.jobs, NS);
  expect(jobs.items).toHaveLength(15);
}, 240_000);
