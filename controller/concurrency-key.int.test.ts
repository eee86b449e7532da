// Requests sharing spec.concurrencyKey (the webhooks' `queue` policy) run one after another;
// requests with other keys run alongside.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import type { KubeClient } from './kube.ts';
import type { Running } from './main.ts';
import {
  adminClient,
  createFixtures,
  createRequest,
  getRequest,
  KWOK,
  runInProcess,
  testEnv,
} from './testing.ts';

let ns: TestNamespace;
let client: KubeClient;
let controller: Running;

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-ckey');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
  controller = await runInProcess(inject('kubeconfig'), testEnv(ns.name, { WORKER_CONCURRENCY: '5' }));
});

afterAll(async () => {
  await controller?.stop();
  await ns?.cleanup();
});

it('runs requests with the same concurrency key one at a time, others alongside', async () => {
  await createRequest(client, ns.name, 'pr7-first', {
    concurrencyKey: 'acme/app#7',
    labels: KWOK.runFor('4s'),
  });
  await eventually('first running', async () =>
    (await getRequest(client, ns.name, 'pr7-first')).status?.phase === 'Running' ? true : undefined,
  );
  await createRequest(client, ns.name, 'pr7-second', {
    concurrencyKey: 'acme/app#7',
    labels: KWOK.runFor('1s'),
  });
  await createRequest(client, ns.name, 'pr8', { concurrencyKey: 'acme/app#8', labels: KWOK.runFor('1s') });

  // another key runs at once; the same key waits, although slots are free
  await eventually('pr8 done while pr7-first still runs', async () =>
    (await getRequest(client, ns.name, 'pr8')).status?.phase === 'Succeeded' ? true : undefined,
  );
  const [first, second] = await Promise.all([
    getRequest(client, ns.name, 'pr7-first'),
    getRequest(client, ns.name, 'pr7-second'),
  ]);
  expect(first.status?.phase).toBe('Running');
  expect(second.status?.phase).toBe('Queued');
  expect(second.status?.jobName).toBeUndefined();

  // once the first ends, the second runs
  const done = await eventually(
    'second succeeded',
    async () => {
      const r = await getRequest(client, ns.name, 'pr7-second');
      return r.status?.phase === 'Succeeded' ? r : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const firstDone = await getRequest(client, ns.name, 'pr7-first');
  expect(firstDone.status?.phase).toBe('Succeeded');
  expect(new Date(done.status!.startedAt!).getTime()).toBeGreaterThanOrEqual(
    new Date(firstDone.status!.completedAt!).getTime() - 1000, // timestamps have second precision
  );
});
