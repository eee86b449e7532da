import { useEffect, useMemo } from 'preact/hooks';
import { PhaseBadge } from '../../components/Badge.tsx';
import { Chart } from '../../components/Chart.tsx';
import { Async, Problem } from '../../components/State.tsx';
import { every } from '../../lib/load.ts';
import { PHASES } from '../../models/jobs.ts';
import { createStatsModel, PANELS, RANGES, type StatsModel } from '../../models/stats.ts';

export function Stats({ model: given }: { model?: StatsModel }) {
  const model = useMemo(() => given ?? createStatsModel(), [given]);
  useEffect(() => {
    void model.load();
    return every(30_000, model.load);
  }, [model]);
  const errors = PANELS.map((p) => model.panels[p.id]!.error.value);
  const unavailable = errors.every((e) => e?.status === 503) ? errors[0] : undefined;
  return (
    <section aria-labelledby="stats-title">
      <div class="title">
        <h1 id="stats-title">Stats</h1>
        <label>
          Range{' '}
          <select value={model.range.value} onChange={(e) => void model.setRange(e.currentTarget.value)}>
            {Object.keys(RANGES).map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
      </div>
      <Async of={model.summary}>
        {(s) => (
          <ul class="counts" aria-label="Requests by phase">
            {PHASES.map((p) => (
              <li key={p}>
                <a href={`/jobs?phase=${p}`}>
                  <PhaseBadge phase={p} />{' '}
                  <span class="num">{s.byPhase[p as keyof typeof s.byPhase] ?? 0}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </Async>
      {/* Prometheus down or not configured: one notice, not one per chart */}
      {unavailable ? (
        <Problem error={unavailable} retry={() => void model.load()} />
      ) : (
        <div class="charts">
          {PANELS.map((p) => (
            <figure class="card" key={p.id}>
              <figcaption>
                {p.title} <span class="muted">({p.unit})</span>
              </figcaption>
              <Async
                of={model.panels[p.id]!}
                isEmpty={(c) => c.names.length === 0 || c.data[0].length === 0}
                empty="No data in this range."
              >
                {(c) => <Chart title={p.title} unit={p.unit} chart={c} />}
              </Async>
            </figure>
          ))}
        </div>
      )}
    </section>
  );
}
export default Stats;
