// The controller process SIGKILLed at random moments during a burst of 200 requests and
// restarted each time: nothing is lost, no Job is created twice, everything finishes.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { childNames } from './job-spec.ts';
import { type KubeClient, type KubeObject, RESOURCES } from './kube.ts';
import {
  adminClient,
  type ChildController,
  createFixtures,
  createRequest,
  KWOK,
  spawnController,
  testEnv,
} from './testing.ts';

const COUNT = 200;
let ns: TestNamespace;
let client: KubeClient;
let current: ChildController | undefined;

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-crash');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
});

afterAll(async () => {
  await current?.kill();
  await ns?.cleanup();
});

it('loses no request and duplicates no Job when killed at random during a burst of 200', async () => {
  const env = testEnv(ns.name, { WORKER_CONCURRENCY: '1000', LOG_LEVEL: 'info' });
  const start = () => {
    current = spawnController(inject('kubeconfig'), env);
    return current;
  };
  start();

  let created = 0;
  const creating = (async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < names.length) {
          const name = names[next++]!;
          await createRequest(client, ns.name, name, { labels: KWOK.runFor('1s') });
          created++;
        }
      }),
    );
  })();

  // kill and restart at random moments while requests arrive and run
  let kills = 0;
  while (kills < 6) {
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1500));
    await current!.kill('SIGKILL');
    kills++;
    start();
  }
  await creating;
  expect(created).toBe(COUNT);

  const final = await eventually(
    'all 200 terminal',
    async () => {
      const list = await client.list<KubeObject & { status?: { phase?: string } }>(
        RESOURCES.inferencerequests,
        ns.name,
      );
      const done = list.items.filter((r) => r.status?.phase === 'Succeeded');
      return done.length === COUNT ? list.items : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 500 },
  );
  expect(final).toHaveLength(COUNT);

  // exactly one Job per request, named deterministically and owned by it
  const jobs = await client.list(RESOURCES.jobs, ns.name);
  expect(jobs.items).toHaveLength(COUNT);
  const uidByName = new Map(final.map((r) => [r.metadata.name, r.metadata.uid]));
  const owners = new Map<string, number>();
  for (const j of jobs.items) {
    const owner = j.metadata.ownerReferences?.find((o) => o.controller);
    expect(owner?.uid).toBe(uidByName.get(owner!.name));
    expect(j.metadata.name).toBe(childNames(owner!.name).job);
    owners.set(owner!.name, (owners.get(owner!.name) ?? 0) + 1);
  }
  expect([...owners.values()].every((n) => n === 1)).toBe(true);
  expect(owners.size).toBe(COUNT);
}, 400_000);
