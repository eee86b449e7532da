import { describe, expect, it } from 'vitest';
import { createWorkQueue } from './queue.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('work queue', () => {
  it('de-duplicates keys that are waiting', async () => {
    const q = createWorkQueue();
    const seen: string[] = [];
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    q.run(1, async (k) => {
      seen.push(k);
      return undefined;
    });
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
    await q.shutdown();
  });

  it('never processes one key in two workers at once, and reprocesses a key added meanwhile', async () => {
    const q = createWorkQueue();
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    q.run(4, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      runs++;
      if (runs === 1) await gate;
      inFlight--;
      return undefined;
    });
    q.add('k');
    await tick(5);
    q.add('k'); // while the first run is in flight
    q.add('k');
    await tick(5);
    expect(runs).toBe(1);
    release();
    await q.idle();
    expect(runs).toBe(2);
    expect(maxInFlight).toBe(1);
    await q.shutdown();
  });

  it('retries failures with exponential back-off per key, then forgets them on success', async () => {
    const errors: number[] = [];
    const q = createWorkQueue({ baseDelayMs: 5, onError: (_k, _e, ms) => errors.push(ms) });
    let n = 0;
    q.run(1, async () => {
      if (++n < 4) throw new Error('boom');
      return undefined;
    });
    q.add('x');
    await q.idle();
    expect(n).toBe(4);
    expect(errors).toEqual([5, 10, 20]);
    await q.shutdown();
  });

  it('requeues after the delay a reconcile asks for, keeping the earliest of several', async () => {
    const q = createWorkQueue();
    const seen: string[] = [];
    let first = true;
    q.run(2, async (k) => {
      seen.push(k);
      if (first) {
        first = false;
        return { requeueAfterMs: 10 };
      }
      return undefined;
    });
    q.add('r');
    q.addAfter('s', 50);
    q.addAfter('s', 5);
    expect(q.delayed).toBe(1);
    await q.idle();
    expect(seen.sort()).toEqual(['r', 'r', 's']);
    await q.shutdown();
  });

  it('stops its workers on shutdown', async () => {
    const q = createWorkQueue();
    q.run(3, async () => undefined);
    q.addAfter('later', 10_000);
    await q.shutdown();
    q.add('ignored');
    expect(q.depth).toBe(0);
    expect(q.delayed).toBe(0);
  });
});
