import { describe, expect, it } from 'vitest';
import type { AiAgent, AiModel, InferenceRequest, InferenceRequestStatus } from '../api/v1alpha1/index.ts';
import { createAdmission } from './admission.ts';
import type { CallbackDispatcher } from './callback.ts';
import { silentLogger } from './log.ts';
import { createRequestReconciler } from './reconcile-request.ts';
import type { ExecutorRuntime, RunObservation } from './runtime.ts';
import type { StatusWriter } from './status.ts';
import { guarded } from './status.ts';

const now = new Date('2026-02-01T10:00:00Z');

function world() {
  const requests = new Map<string, InferenceRequest>();
  const runs = new Map<string, RunObservation>();
  const calls: string[] = [];
  const agents = new Map<string, AiAgent>([
    [
      'ns/dev',
      {
        metadata: { name: 'dev', namespace: 'ns' },
        spec: { role: 'developer', model: 'm', repositoryAccess: 'read' },
      } as AiAgent,
    ],
  ]);
  const models = new Map<string, AiModel>([
    [
      'ns/m',
      {
        metadata: { name: 'm', namespace: 'ns' },
        spec: { provider: 'anthropic', executor: 'claude', model: 'x' },
      } as AiModel,
    ],
  ]);
  let existsLive = false;
  const runtime: ExecutorRuntime = {
    kind: 'fake',
    start() {},
    waitForSync: async () => {},
    hasSynced: () => true,
    stop: async () => {},
    observe: (r) => runs.get(r.metadata.name),
    exists: async () => existsLive,
    async ensure(r) {
      calls.push(`ensure ${r.metadata.name}`);
      runs.set(r.metadata.name, {
        name: `${r.metadata.name}-run`,
        state: 'pending',
        active: true,
        attempts: 1,
      });
      return { name: `${r.metadata.name}-run`, created: true };
    },
    async delete(r) {
      calls.push(`delete ${r.metadata.name}`);
      runs.delete(r.metadata.name);
    },
    async cleanup(r) {
      calls.push(`cleanup ${r.metadata.name}`);
    },
    activeRuns: () => [],
  };
  const status: StatusWriter = {
    async update(req, mutate) {
      const current = structuredClone(req.status ?? {});
      const next = mutate(current, req);
      if (!next || !guarded(current, next)) return undefined;
      const stored = { ...req, status: JSON.parse(JSON.stringify(next)) as InferenceRequestStatus };
      requests.set(`${req.metadata.namespace}/${req.metadata.name}`, stored);
      return stored;
    },
  };
  const callbacks: CallbackDispatcher = {
    ensure: (r) => void calls.push(`callback ${r.metadata.name}`),
    inFlight: 0,
    drain: async () => {},
  };
  const admitted: string[] = [];
  const admission = createAdmission({
    limits: () => ({ global: 1 }),
    onAdmit: (k) => admitted.push(k),
    schedule: (fn) => fn(),
  });
  const reconcile = createRequestReconciler({
    get: (k) => requests.get(k),
    lookup: {
      agent: (n, name) => agents.get(`${n}/${name}`),
      model: (n, name) => models.get(`${n}/${name}`),
      config: () => undefined,
      instructions: () => [],
    },
    runtime,
    admission,
    status,
    callbacks,
    now: () => now,
    log: silentLogger,
    defaultTimeoutSeconds: 600,
  });
  const add = (name: string, spec: Partial<InferenceRequest['spec']> = {}) =>
    requests.set(`ns/${name}`, {
      apiVersion: 'labrats.work/v1alpha1',
      kind: 'InferenceRequest',
      metadata: {
        name,
        namespace: 'ns',
        uid: `uid-${name}`,
        generation: 1,
        creationTimestamp: now.toISOString(),
      },
      spec: { agent: 'dev', prompt: 'p', maxRetries: 0, priority: 0, cancel: false, ...spec },
    });
  return {
    requests,
    runs,
    calls,
    agents,
    admitted,
    reconcile,
    add,
    get: (name: string) => requests.get(`ns/${name}`)!,
    setExistsLive: (v: boolean) => {
      existsLive = v;
    },
  };
}

describe('request reconciler', () => {
  it('creates the run, then follows it to Succeeded and hands over to callbacks', async () => {
    const w = world();
    w.add('a');
    await w.reconcile('ns/a');
    expect(w.calls).toEqual(['ensure a']);
    expect(w.get('a').status).toMatchObject({
      phase: 'Queued',
      jobName: 'a-run',
      resolvedModel: 'm',
      executor: 'claude',
      observedGeneration: 1,
    });
    w.runs.set('a', {
      name: 'a-run',
      state: 'running',
      active: true,
      attempts: 1,
      startedAt: now.toISOString(),
    });
    await w.reconcile('ns/a');
    expect(w.get('a').status?.phase).toBe('Running');
    const runningSince = w.get('a').status?.conditions?.find((c) => c.type === 'Running')?.lastTransitionTime;
    await w.reconcile('ns/a'); // nothing changed: nothing moves
    expect(w.get('a').status?.conditions?.find((c) => c.type === 'Running')?.lastTransitionTime).toBe(
      runningSince,
    );
    w.runs.set('a', {
      name: 'a-run',
      state: 'succeeded',
      active: false,
      attempts: 1,
      finishedAt: now.toISOString(),
    });
    await w.reconcile('ns/a');
    expect(w.get('a').status).toMatchObject({ phase: 'Succeeded', completedAt: now.toISOString() });
    await w.reconcile('ns/a');
    expect(w.calls).toEqual(['ensure a', 'cleanup a', 'callback a']);
  });

  it('queues beyond the limit and admits the next one when a slot frees', async () => {
    const w = world();
    w.add('a');
    w.add('b');
    await w.reconcile('ns/a');
    await w.reconcile('ns/b');
    expect(w.get('b').status).toMatchObject({ phase: 'Queued', queuePosition: 1 });
    w.runs.set('a', { name: 'a-run', state: 'failed', active: false, attempts: 1, reason: 'ExecutorFailed' });
    await w.reconcile('ns/a');
    expect(w.get('a').status).toMatchObject({ phase: 'Failed', reason: 'ExecutorFailed' });
    expect(w.admitted).toEqual(['ns/b']);
    await w.reconcile('ns/b');
    expect(w.calls).toContain('ensure b');
    expect(w.get('b').status?.queuePosition).toBeUndefined();
  });

  it('keeps a request Pending while its agent is missing', async () => {
    const w = world();
    w.add('x', { agent: 'ghost' });
    await w.reconcile('ns/x');
    expect(w.get('x').status?.phase).toBe('Pending');
    expect(w.get('x').status?.conditions?.[0]).toMatchObject({
      type: 'Resolved',
      status: 'False',
      reason: 'AgentNotFound',
    });
    expect(w.calls).toEqual([]);
  });

  it('a queued request that can no longer be resolved keeps nothing of its earlier resolution', async () => {
    const w = world();
    w.add('a');
    w.add('b');
    await w.reconcile('ns/a');
    await w.reconcile('ns/b');
    expect(w.get('b').status).toMatchObject({ phase: 'Queued', resolvedModel: expect.any(String) });
    // its agent is gone (here: it names another one)
    w.requests.set('ns/b', { ...w.get('b'), spec: { ...w.get('b').spec, agent: 'ghost' } });
    await w.reconcile('ns/b');
    const st = w.get('b').status!;
    expect(st).toMatchObject({ phase: 'Pending', reason: 'AgentNotFound' });
    for (const field of ['queuePosition', 'resolvedModel', 'executor', 'promptHash'] as const)
      expect(st[field], field).toBeUndefined();
    expect(st.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(['Resolved=False']);
  });

  it('cancels a running request: deletes the run, ends Cancelled, and stays there', async () => {
    const w = world();
    w.add('c');
    await w.reconcile('ns/c');
    w.requests.set('ns/c', { ...w.get('c'), spec: { ...w.get('c').spec, cancel: true } });
    await w.reconcile('ns/c');
    expect(w.calls).toContain('delete c');
    expect(w.get('c').status?.phase).toBe('Cancelled');
    w.runs.set('c', { name: 'c-run', state: 'succeeded', active: false, attempts: 1 });
    await w.reconcile('ns/c');
    expect(w.get('c').status?.phase).toBe('Cancelled');
  });

  it('fails a request whose run vanished, but waits while the apiserver still has it', async () => {
    const w = world();
    w.add('l');
    await w.reconcile('ns/l');
    w.runs.delete('l');
    w.setExistsLive(true);
    expect(await w.reconcile('ns/l')).toEqual({ requeueAfterMs: 1000 });
    w.setExistsLive(false);
    await w.reconcile('ns/l');
    expect(w.get('l').status).toMatchObject({ phase: 'Failed', reason: 'RunLost' });
  });
});
