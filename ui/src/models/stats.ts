// Time series from /api/stats/timeseries (Prometheus behind it) and counts by phase.
import { signal } from '@preact/signals';
import { api, query } from '../lib/api.ts';
import { type Loadable, loadable } from '../lib/load.ts';
import type { Summary, TimeSeries } from '../lib/types.ts';

export const RANGES: Record<string, string> = { '1h': '60s', '6h': '300s', '24h': '900s', '7d': '3600s' };

export interface Panel {
  id: string;
  title: string;
  unit: string;
  metrics: string[];
}

export const PANELS: Panel[] = [
  { id: 'throughput', title: 'Throughput', unit: 'requests/s', metrics: ['throughput'] },
  { id: 'duration', title: 'Duration', unit: 's', metrics: ['duration_p50', 'duration_p95'] },
  { id: 'queue', title: 'Queue depth', unit: 'requests', metrics: ['queue_depth'] },
  { id: 'tokens', title: 'Tokens', unit: 'tokens/s', metrics: ['tokens'] },
  { id: 'cost', title: 'Cost', unit: 'USD', metrics: ['cost'] },
];

export interface Chartable {
  names: string[];
  /** uPlot's aligned data: shared x (unix seconds), then one y array per series. */
  data: [number[], ...(number | null)[][]];
}

const nameOf = (metric: string, labels: Record<string, string>, many: boolean) => {
  const l = Object.entries(labels)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return many ? (l ? `${metric} ${l}` : metric) : l || metric;
};

/** Joins several answers into one chart: the union of timestamps, null where a series has none. */
export function align(results: TimeSeries[]): Chartable {
  const many = results.length > 1;
  const series = results.flatMap((r) =>
    r.series.map((s) => ({ name: nameOf(r.metric, s.labels ?? {}, many), points: s.points })),
  );
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => Number(p[0]))))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) {
      const n = Number(v);
      y[index.get(Number(t))!] = Number.isFinite(n) ? n : null;
    }
    return y;
  });
  return { names: series.map((s) => s.name), data: [xs, ...ys] };
}

export function createStatsModel() {
  const range = signal('1h');
  const summary = loadable((s) => api.get<Summary>('/api/stats/summary', s));
  const panels: Record<string, Loadable<Chartable>> = {};
  for (const p of PANELS) {
    panels[p.id] = loadable(async (s) =>
      align(
        await Promise.all(
          p.metrics.map((metric) =>
            api.get<TimeSeries>(
              `/api/stats/timeseries${query({ metric, range: range.value, step: RANGES[range.value] })}`,
              s,
            ),
          ),
        ),
      ),
    );
  }
  return {
    range,
    summary,
    panels,
    async load() {
      await Promise.all([summary.load(), ...Object.values(panels).map((l) => l.load())]);
    },
    async setRange(r: string) {
      range.value = r;
      await Promise.all(Object.values(panels).map((l) => l.load()));
    },
  };
}
export type StatsModel = ReturnType<typeof createStatsModel>;
