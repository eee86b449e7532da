import { describe, expect, it } from 'vitest';
import { align } from './stats.ts';

describe('align', () => {
  it('joins series on the union of their timestamps', () => {
    const out = align([
      {
        metric: 'duration_p50',
        series: [
          {
            labels: {},
            points: [
              [10, 1],
              [20, 2],
            ],
          },
        ],
      },
      {
        metric: 'duration_p95',
        series: [
          {
            labels: {},
            points: [
              [20, 5],
              [30, 6],
            ],
          },
        ],
      },
    ]);
    expect(out.names).toEqual(['duration_p50', 'duration_p95']);
    expect(out.data).toEqual([
      [10, 20, 30],
      [1, 2, null],
      [null, 5, 6],
    ]);
  });

  it('names series of one metric by their labels and drops NaN', () => {
    const out = align([
      {
        metric: 'throughput',
        series: [
          { labels: { phase: 'Succeeded' }, points: [[1, 3]] },
          { labels: { phase: 'Failed' }, points: [[1, Number.NaN]] },
        ],
      },
    ]);
    expect(out.names).toEqual(['phase=Succeeded', 'phase=Failed']);
    expect(out.data).toEqual([[1], [3], [null]]);
  });

  it('gives an empty chart for no data', () => {
    expect(align([{ metric: 'cost', series: [] }])).toEqual({ names: [], data: [[]] });
  });
});
