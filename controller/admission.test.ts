import { describe, expect, it } from 'vitest';
import { type AdmissionEntry, createAdmission, type Limits } from './admission.ts';

function setup(limits: Limits) {
  const admitted: string[] = [];
  const positions = new Map<string, number>();
  const pending: (() => void)[] = [];
  const a = createAdmission({
    limits: () => limits,
    onAdmit: (k) => admitted.push(k),
    onPositionChanged: (k, p) => positions.set(k, p),
    schedule: (fn) => pending.push(fn),
  });
  const flush = () => {
    while (pending.length) pending.shift()!();
  };
  return { a, admitted, positions, flush };
}

const entry = (priority: number, createdMs: number, caller = 'c', model = 'm'): AdmissionEntry => ({
  priority,
  caller,
  model,
  createdMs,
});

describe('admission', () => {
  it('moves a waiting request when its priority changes, and says so in the positions', () => {
    const { a, positions, flush, admitted } = setup({ global: 1 });
    a.request('run', entry(0, 0));
    a.request('p', entry(0, 1));
    a.request('q', entry(0, 2));
    flush();
    expect([positions.get('p'), positions.get('q')]).toEqual([1, 2]);
    a.request('q', entry(50, 2)); // the request's spec.priority was raised
    flush();
    expect([positions.get('q'), positions.get('p')]).toEqual([1, 2]);
    a.release('run');
    flush();
    expect(admitted).toEqual(['q']);
  });

  it('admits at once while slots are free and nothing waits', () => {
    const { a } = setup({ global: 2 });
    expect(a.request('x', entry(0, 1))).toEqual({ admitted: true });
    expect(a.request('y', entry(0, 2))).toEqual({ admitted: true });
    expect(a.request('z', entry(0, 3)).admitted).toBe(false);
    expect(a.running).toBe(2);
    expect(a.waiting).toBe(1);
    // asking again while holding is idempotent
    expect(a.request('x', entry(0, 1))).toEqual({ admitted: true });
    expect(a.running).toBe(2);
  });

  it('orders waiting requests by priority, then age, and admits them as slots free', () => {
    const { a, admitted, positions, flush } = setup({ global: 2 });
    a.markRunning('block-a', { caller: 'c', model: 'm' });
    a.markRunning('block-b', { caller: 'c', model: 'm' });
    const prios = [5, 1, 9, 3, 7, 2, 8, 4];
    prios.forEach((p, i) => {
      expect(a.request(`w${i}`, entry(p, 100 + i)).admitted).toBe(false);
    });
    flush();
    const byPos = [...positions.entries()]
      .sort((x, y) => x[1] - y[1])
      .map(([k]) => prios[Number(k.slice(1))]);
    expect(byPos).toEqual([9, 8, 7, 5, 4, 3, 2, 1]);
    a.release('block-a');
    flush();
    a.release('block-b');
    flush();
    expect(admitted.map((k) => prios[Number(k.slice(1))])).toEqual([9, 8]);
    for (const k of [...admitted]) {
      a.release(k);
      flush();
    }
    expect(admitted.map((k) => prios[Number(k.slice(1))])).toEqual([9, 8, 7, 5]);
    expect(a.position('w1')).toBe(4);
  });

  it('shares slots fairly across callers at equal priority', () => {
    const { a, admitted, flush } = setup({ global: 2 });
    a.markRunning('busy', { caller: 'alice', model: 'm' });
    a.markRunning('busy-2', { caller: 'alice', model: 'm' });
    for (let i = 0; i < 3; i++) a.request(`alice-${i}`, entry(0, i, 'alice'));
    a.request('bob-0', entry(0, 10, 'bob'));
    flush();
    a.release('busy');
    flush();
    // alice still runs one, bob nothing: his newer request goes before alice's older ones
    expect(admitted).toEqual(['bob-0']);
    a.release('busy-2');
    flush();
    expect(admitted).toEqual(['bob-0', 'alice-0']);
  });

  it('respects per-model and per-caller limits without blocking others', () => {
    const { a, admitted, flush } = setup({ global: 10, perModel: 1, perCaller: 2 });
    expect(a.request('m1-a', entry(0, 1, 'x', 'm1')).admitted).toBe(true);
    expect(a.request('m1-b', entry(5, 2, 'y', 'm1')).admitted).toBe(false);
    flush();
    expect(a.request('m2-a', entry(0, 3, 'x', 'm2')).admitted).toBe(false); // something waits: goes through a pass
    flush();
    expect(admitted).toEqual(['m2-a']);
    expect(a.request('m3-a', entry(0, 4, 'x', 'm3')).admitted).toBe(false);
    flush();
    expect(admitted).toEqual(['m2-a']); // caller x holds 2 already
    a.release('m1-a');
    flush();
    expect(admitted).toEqual(['m2-a', 'm1-b', 'm3-a']);
  });

  it('forgets released waiters and frees their slot', () => {
    const { a, flush } = setup({ global: 1 });
    a.request('x', entry(0, 1));
    a.request('y', entry(0, 2));
    a.release('y');
    flush();
    expect(a.waiting).toBe(0);
    a.release('x');
    expect(a.running).toBe(0);
    expect(a.isHolding('x')).toBe(false);
  });

  it('runs requests sharing a concurrency key one after another, others alongside', () => {
    const { a, admitted, flush } = setup({ global: 10 });
    const keyed = (createdMs: number, concurrencyKey?: string) => ({
      ...entry(0, createdMs),
      ...(concurrencyKey ? { concurrencyKey } : {}),
    });
    expect(a.request('pr-1-a', keyed(1, 'repo#1')).admitted).toBe(true);
    expect(a.request('pr-1-b', keyed(2, 'repo#1')).admitted).toBe(false);
    // a different key and no key are not held back by it (they pass the waiting pr-1-b)
    a.request('pr-2', keyed(3, 'repo#2'));
    a.request('free', keyed(4));
    flush();
    expect(admitted).toEqual(['pr-2', 'free']);
    expect(a.isHolding('pr-1-b')).toBe(false);
    a.release('pr-1-a');
    flush();
    expect(admitted).toEqual(['pr-2', 'free', 'pr-1-b']);
    expect(a.isHolding('pr-1-b')).toBe(true);
  });

  it('a run rebuilt after a restart keeps holding its concurrency key', () => {
    const { a, admitted, flush } = setup({ global: 10 });
    a.markRunning('old', { caller: 'c', model: 'm', concurrencyKey: 'k' });
    expect(a.request('new', { ...entry(0, 1), concurrencyKey: 'k' }).admitted).toBe(false);
    a.release('old');
    flush();
    expect(admitted).toEqual(['new']);
  });
});
