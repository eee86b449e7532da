import { describe, expect, it } from 'vitest';
import { setCondition } from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');

describe('setCondition', () => {
  it('moves lastTransitionTime only when the status changes', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Waiting' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'StillWaiting', message: 'x' }, t1);
    expect(b).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'StillWaiting',
        message: 'x',
        lastTransitionTime: t0.toISOString(),
      },
    ]);
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'Done' }, t1, 3);
    expect(c[0]).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'Done',
      lastTransitionTime: t1.toISOString(),
      observedGeneration: 3,
    });
  });

  it('keeps other conditions and their order', () => {
    let list = setCondition(undefined, { type: 'A', status: 'True', reason: 'a' }, t0);
    list = setCondition(list, { type: 'B', status: 'True', reason: 'b' }, t0);
    list = setCondition(list, { type: 'A', status: 'False', reason: 'a2' }, t1);
    expect(list.map((c) => `${c.type}=${c.status}`)).toEqual(['A=False', 'B=True']);
  });
});
