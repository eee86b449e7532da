// A uPlot line chart that follows its container's width and the page's colours.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Chartable } from '../models/stats.ts';

const COLORS = ['#2f7dd3', '#e8871e', '#2ba672', '#d64545', '#8a5cd6', '#c4a000'];
const HEIGHT = 220;

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 10 || a === 0) return String(Math.round(v));
  return v.toPrecision(2);
}

export function Chart({ title, unit, chart }: { title: string; unit: string; chart: Chartable }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const fg = css.color;
    const line = css.getPropertyValue('--line').trim() || 'rgba(128,128,128,.25)';
    const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: HEIGHT,
        series: [
          {},
          ...chart.names.map((label, i) => ({
            label,
            stroke: COLORS[i % COLORS.length]!,
            width: 2,
            spanGaps: true,
            value: (_u: uPlot, v: number | null) => `${fmt(v)} ${unit}`,
          })),
        ],
        axes: [axis, { ...axis, size: 56, values: (_u: uPlot, vals: number[]) => vals.map(fmt) }],
      },
      chart.data,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [chart, unit]);
  const latest = chart.names.map((n, i) => {
    const ys = chart.data[i + 1] ?? [];
    const last = [...ys].reverse().find((v) => v !== null);
    return `${n}: ${fmt(last)} ${unit}`;
  });
  return (
    <div ref={ref} class="chart" role="img" aria-label={`${title} chart. Latest ${latest.join('; ')}`} />
  );
}
