// Two controller processes: one holds the Lease and acts; kill it and the other takes over.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { isNotFound, type KubeClient, RESOURCES } from './kube.ts';
import type { Lease } from './leader.ts';
import {
  adminClient,
  type ChildController,
  createFixtures,
  createRequest,
  getRequest,
  KWOK,
  spawnController,
  testEnv,
} from './testing.ts';

const LEASE_SECONDS = 4;
let ns: TestNamespace;
let client: KubeClient;
const procs: Record<string, ChildController> = {};

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-leader');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
});

afterAll(async () => {
  for (const p of Object.values(procs)) await p.kill();
  await ns?.cleanup();
});

async function holder(): Promise<string | undefined> {
  try {
    const lease = await client.get<Lease>(RESOURCES.leases, ns.name, 'ai-agents-controller');
    return lease.spec.holderIdentity ?? undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

it('elects one leader that acts, and fails over when it dies', async () => {
  for (const id of ['ctrl-a', 'ctrl-b']) {
    procs[id] = spawnController(
      inject('kubeconfig'),
      testEnv(ns.name, {
        LEADER_ELECTION: 'true',
        POD_NAME: id,
        LOG_LEVEL: 'info',
        LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
        LEASE_RENEW_DEADLINE_SECONDS: '3',
        LEASE_RETRY_PERIOD_SECONDS: '0.5',
      }),
    );
  }
  const first = await eventually('a leader', holder, { timeoutMs: 30_000 });
  const second = first === 'ctrl-a' ? 'ctrl-b' : 'ctrl-a';

  await createRequest(client, ns.name, 'lead-1', { labels: KWOK.runFor('1s') });
  await eventually('lead-1 Succeeded', async () => {
    const r = await getRequest(client, ns.name, 'lead-1');
    return r.status?.phase === 'Succeeded' ? r : undefined;
  });
  // only the leader started workers; the other waits with warm caches
  expect(procs[first]!.output()).toContain('workers starting');
  expect(procs[second]!.output()).not.toContain('workers starting');
  expect(procs[second]!.output()).not.toContain('became leader');

  await procs[first]!.kill('SIGKILL');
  // the Lease must be taken over once it expires (lease duration plus a few retry periods)
  await eventually('takeover', async () => ((await holder()) === second ? true : undefined), {
    timeoutMs: LEASE_SECONDS * 1000 + 5000,
  });
  await createRequest(client, ns.name, 'lead-2', { labels: KWOK.runFor('1s') });
  await eventually('lead-2 Succeeded under the new leader', async () => {
    const r = await getRequest(client, ns.name, 'lead-2');
    return r.status?.phase === 'Succeeded' ? r : undefined;
  });
  expect(procs[second]!.output()).toContain('workers starting');
});

it('a leader that stops gracefully releases the Lease', async () => {
  const live = Object.entries(procs).find(([, p]) => p.proc.exitCode === null && !p.proc.signalCode);
  expect(live).toBeDefined();
  const [id, proc] = live!;
  expect(await holder()).toBe(id);
  procs['ctrl-c'] = spawnController(
    inject('kubeconfig'),
    testEnv(ns.name, {
      LEADER_ELECTION: 'true',
      POD_NAME: 'ctrl-c',
      LEASE_DURATION_SECONDS: '60',
      LEASE_RETRY_PERIOD_SECONDS: '0.5',
    }),
  );
  await proc.kill('SIGTERM');
  // with a 60 s lease, only a released Lease lets ctrl-c in this quickly
  await eventually('ctrl-c leads', async () => ((await holder()) === 'ctrl-c' ? true : undefined), {
    timeoutMs: 15_000,
  });
});
