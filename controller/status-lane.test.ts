import { describe, expect, it } from 'vitest';
import type { InferenceRequest, InferenceRequestStatus } from '../api/v1alpha1/index.ts';
import { silentLogger } from './log.ts';
import type { StatusMutation, StatusWriter } from './status.ts';
import { compose, createStatusLane, type ReconcileLoad } from './status-lane.ts';

const req = (name: string, status: InferenceRequestStatus = {}): InferenceRequest =>
  ({
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'InferenceRequest',
    metadata: { name, namespace: 'ns', uid: name },
    spec: { agent: 'developer', prompt: 'p' },
    status,
  }) as InferenceRequest;

/** A writer over an in-memory store that can be held (to see what waits) and made to fail. */
function fakeWriter() {
  const store = new Map<string, InferenceRequest>();
  const writes: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let failNext = 0;
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const writer: StatusWriter = {
    async update(r, mutate) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (gate) await gate;
        if (failNext > 0) {
          failNext--;
          throw new Error('apiserver unavailable');
        }
        const key = `ns/${r.metadata.name}`;
        const current = store.get(key) ?? r;
        const next = mutate(structuredClone(current.status ?? {}), current);
        if (!next) return undefined;
        const stored = { ...current, status: next };
        store.set(key, stored);
        writes.push(r.metadata.name);
        return stored;
      } finally {
        inFlight--;
      }
    },
  };
  return {
    store,
    writes,
    writer,
    maxInFlight: () => maxInFlight,
    failTimes(n: number) {
      failNext = n;
    },
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    release() {
      gate = undefined;
      release?.();
    },
  };
}

function laneOver(
  writer: StatusWriter,
  current: (key: string) => InferenceRequest | undefined,
  concurrency: number,
  retryMs?: { initial: number; max: number },
) {
  return createStatusLane({
    writer,
    current,
    concurrency,
    log: silentLogger,
    ...(retryMs ? { retryMs } : {}),
  });
}

const setPhase =
  (phase: InferenceRequestStatus['phase']): StatusMutation =>
  (current) => ({ ...current, phase });

describe('status lane', () => {
  it('returns at once, writes later, and never has more than `concurrency` writes in flight', async () => {
    const w = fakeWriter();
    const requests = new Map(Array.from({ length: 10 }, (_, i) => [`ns/r${i}`, req(`r${i}`)]));
    const lane = laneOver(w.writer, (k) => requests.get(k), 2);
    w.hold();
    for (const r of requests.values()) expect(await lane.update(r, setPhase('Queued'))).toBeUndefined();
    expect(w.writes).toEqual([]);
    expect(lane.pending).toBe(8); // two are in flight
    w.release();
    await lane.idle();
    expect(w.writes).toHaveLength(10);
    expect(w.maxInFlight()).toBe(2);
  });

  it('keeps one write in flight while reconciles are backed up, and widens once they are idle', async () => {
    const w = fakeWriter();
    const requests = new Map(Array.from({ length: 11 }, (_, i) => [`ns/r${i}`, req(`r${i}`)]));
    let load: ReconcileLoad = 'backlog';
    let now = 0;
    const lane = createStatusLane({
      writer: w.writer,
      current: (k) => requests.get(k),
      concurrency: 4,
      load: () => load,
      now: () => now,
      log: silentLogger,
    });
    w.hold();
    const all = [...requests.values()];
    for (const r of all.slice(0, 10)) await lane.update(r, setPhase('Queued'));
    now = 60_000; // however long they wait
    await lane.update(all[1]!, setPhase('Running')); // coalesces with r1's waiting change
    expect(lane.pending).toBe(9); // one in flight
    load = 'idle';
    await lane.update(all[10]!, setPhase('Queued'));
    expect(lane.pending).toBe(7); // four in flight
    w.release();
    await lane.idle();
    expect(w.writes).toHaveLength(11);
    expect(w.maxInFlight()).toBe(4);
  });

  it('keeps one write in flight while reconciles run, until a change has waited maxLagMs', async () => {
    const w = fakeWriter();
    const requests = new Map(Array.from({ length: 10 }, (_, i) => [`ns/r${i}`, req(`r${i}`)]));
    let now = 0;
    const lane = createStatusLane({
      writer: w.writer,
      current: (k) => requests.get(k),
      concurrency: 4,
      load: () => 'running',
      maxLagMs: 1000,
      now: () => now,
      log: silentLogger,
    });
    w.hold();
    const all = [...requests.values()];
    for (const r of all.slice(0, 5)) await lane.update(r, setPhase('Queued'));
    now = 999;
    await lane.update(all[5]!, setPhase('Queued'));
    expect(lane.pending).toBe(5); // one in flight: r1 has waited 999 ms
    now = 1000;
    await lane.update(all[6]!, setPhase('Queued'));
    expect(lane.pending).toBe(3); // r1 waited 1 s: four in flight
    w.release();
    await lane.idle();
    expect(w.writes).toHaveLength(7);
    // a fresh change behind running reconciles waits for the one in flight again
    w.hold();
    for (const r of all.slice(7)) await lane.update(r, setPhase('Queued'));
    expect(lane.pending).toBe(2);
    w.release();
    await lane.idle();
    expect(w.writes).toHaveLength(10);
  });

  it('still writes everything, one at a time, when reconciles stay backed up', async () => {
    const w = fakeWriter();
    const requests = new Map(Array.from({ length: 5 }, (_, i) => [`ns/r${i}`, req(`r${i}`)]));
    const lane = createStatusLane({
      writer: w.writer,
      current: (k) => requests.get(k),
      concurrency: 4,
      load: () => 'backlog',
      log: silentLogger,
    });
    for (const r of requests.values()) await lane.update(r, setPhase('Queued'));
    await lane.idle();
    expect(w.writes).toHaveLength(5);
    expect(w.maxInFlight()).toBe(1);
  });

  it('coalesces changes that wait, applying them in order', async () => {
    const w = fakeWriter();
    const a = req('a');
    const b = req('b');
    const lane = laneOver(w.writer, (k) => (k === 'ns/a' ? a : b), 1);
    w.hold();
    await lane.update(b, setPhase('Queued')); // occupies the only slot
    await lane.update(a, setPhase('Queued'));
    await lane.update(a, (s) => ({ ...s, queuePosition: 3 }));
    await lane.update(a, setPhase('Running'));
    w.release();
    await lane.idle();
    expect(w.writes.filter((n) => n === 'a')).toHaveLength(1);
    expect(w.store.get('ns/a')?.status).toEqual({ phase: 'Running', queuePosition: 3 });
  });

  it('a change that arrives while the request is being written is written after it', async () => {
    const w = fakeWriter();
    const a = req('a');
    const lane = laneOver(w.writer, () => a, 4);
    w.hold();
    await lane.update(a, setPhase('Queued'));
    await lane.update(a, setPhase('Running'));
    expect(w.maxInFlight()).toBe(1);
    w.release();
    await lane.idle();
    expect(w.writes).toEqual(['a', 'a']);
    expect(w.store.get('ns/a')?.status?.phase).toBe('Running');
  });

  it('retries a failed write with back-off, keeping newer changes after it', async () => {
    const w = fakeWriter();
    const a = req('a');
    const lane = laneOver(w.writer, () => a, 1, { initial: 5, max: 20 });
    w.failTimes(2);
    await lane.update(a, (s) => ({ ...s, phase: 'Queued', jobName: 'a-run' }));
    await lane.update(a, setPhase('Running'));
    await lane.idle();
    expect(w.store.get('ns/a')?.status).toEqual({ phase: 'Running', jobName: 'a-run' });
  });

  it('drops the change of a request that is gone', async () => {
    const w = fakeWriter();
    const lane = laneOver(w.writer, () => undefined, 1);
    await lane.update(req('gone'), setPhase('Queued'));
    await lane.idle();
    expect(w.writes).toEqual([]);
  });

  it('on stop, writes what waits within the flush time, takes nothing new, and drops the rest', async () => {
    const w = fakeWriter();
    const requests = new Map(['a', 'b', 'c'].map((n) => [`ns/${n}`, req(n)]));
    const lane = laneOver(w.writer, (k) => requests.get(k), 1);
    w.hold();
    for (const r of requests.values()) await lane.update(r, setPhase('Queued'));
    const stopping = lane.stop(1000);
    requests.set('ns/late', req('late'));
    await lane.update(req('late'), setPhase('Queued')); // refused: the lane is stopping
    w.release();
    await stopping;
    expect(w.writes.sort()).toEqual(['a', 'b', 'c']);

    const slow = fakeWriter();
    const lane2 = laneOver(slow.writer, (k) => requests.get(k), 1);
    slow.hold();
    for (const r of requests.values()) await lane2.update(r, setPhase('Queued'));
    const stopping2 = lane2.stop(50);
    setTimeout(() => slow.release(), 200);
    await stopping2;
    expect(lane2.pending).toBe(0);
    expect(slow.writes).toEqual(['a']); // the one in flight finished; the others were dropped
  });

  it('compose applies the first mutation, then the second on its result', () => {
    const both = compose(setPhase('Queued'), (s) =>
      s.phase === 'Queued' ? { ...s, queuePosition: 1 } : undefined,
    );
    expect(both({}, req('x'))).toEqual({ phase: 'Queued', queuePosition: 1 });
    expect(
      compose(
        () => undefined,
        () => undefined,
      )({ phase: 'Running' }, req('x')),
    ).toEqual({ phase: 'Running' });
  });
});
