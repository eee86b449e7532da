import { useEffect, useMemo, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { PhaseBadge } from '../../components/Badge.tsx';
import { Async } from '../../components/State.tsx';
import { query } from '../../lib/api.ts';
import { age, count, usd } from '../../lib/format.ts';
import { every } from '../../lib/load.ts';
import type { JobSummary } from '../../lib/types.ts';
import {
  createJobsModel,
  FILTERS,
  type Filters,
  type JobsModel,
  PHASES,
  SOURCES,
} from '../../models/jobs.ts';

const SIZES = [25, 50, 100];

export const sourceOf = (s: JobSummary['source']) => (typeof s === 'string' ? s : (s?.kind ?? '—'));

function FilterForm({ filters, limit }: { filters: Filters; limit: number }) {
  const { route } = useLocation();
  const form = useRef<HTMLFormElement>(null);
  // The fields are uncontrolled (polling re-renders must not undo what the user is typing); they
  // take the applied filters whenever those change.
  useEffect(() => {
    const el = form.current;
    if (!el) return;
    for (const k of FILTERS) (el.elements.namedItem(k) as HTMLInputElement).value = filters[k] ?? '';
    (el.elements.namedItem('limit') as HTMLSelectElement).value = String(limit);
  }, [filters, limit]);
  const submit = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const q: Record<string, string> = {};
    for (const [k, v] of data) q[k] = String(v).trim();
    route(`/jobs${query(q)}`);
  };
  const text = (name: 'agent' | 'model' | 'caller' | 'label', label: string, placeholder?: string) => (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <input id={`f-${name}`} name={name} placeholder={placeholder} />
    </div>
  );
  const select = (name: 'phase' | 'source', label: string, options: string[]) => (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <select id={`f-${name}`} name={name}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </div>
  );
  return (
    <form class="filters" onSubmit={submit} aria-label="Filter jobs" ref={form}>
      {select('phase', 'Phase', PHASES)}
      {text('agent', 'Agent')}
      {text('model', 'Model')}
      {select('source', 'Source', SOURCES)}
      {text('caller', 'Caller')}
      {text('label', 'Label', 'key=value')}
      <div>
        <label for="f-limit">Page size</label>
        <select id="f-limit" name="limit">
          {SIZES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <button type="submit">Apply</button>
      <a class="button secondary" href="/jobs">
        Clear
      </a>
    </form>
  );
}

export function JobsTable({ items }: { items: JobSummary[] }) {
  const now = Date.now();
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Request</th>
            <th scope="col">Phase</th>
            <th scope="col" class="num">
              Queue
            </th>
            <th scope="col">Agent</th>
            <th scope="col">Model</th>
            <th scope="col">Source</th>
            <th scope="col">Caller</th>
            <th scope="col" class="num">
              Tokens
            </th>
            <th scope="col" class="num">
              Cost
            </th>
            <th scope="col">Age</th>
          </tr>
        </thead>
        <tbody>
          {items.map((j) => (
            <tr key={j.id}>
              <td>
                <a href={`/jobs/${encodeURIComponent(j.id)}`}>{j.id}</a>
              </td>
              <td>
                <PhaseBadge phase={j.phase} />
              </td>
              <td class="num">{j.queuePosition ?? '—'}</td>
              <td>{j.agent ?? '—'}</td>
              <td>{j.model ?? '—'}</td>
              <td>{sourceOf(j.source)}</td>
              <td>{j.caller ?? '—'}</td>
              <td class="num">
                {j.usage?.inputTokens === undefined
                  ? '—'
                  : count((j.usage.inputTokens ?? 0) + (j.usage.outputTokens ?? 0))}
              </td>
              <td class="num">{usd(j.usage?.costUsd)}</td>
              <td>
                <time dateTime={j.createdAt} title={j.createdAt}>
                  {age(j.createdAt, now)}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PhaseCounts({ model }: { model: JobsModel }) {
  const by = model.summary.data.value?.byPhase;
  if (!by) return null;
  return (
    <ul class="counts" aria-label="Requests by phase">
      {PHASES.map((p) => (
        <li key={p}>
          <a href={`/jobs?phase=${p}`} aria-current={model.filters.value.phase === p ? 'true' : undefined}>
            <PhaseBadge phase={p} /> <span class="num">{by[p as keyof typeof by] ?? 0}</span>
          </a>
        </li>
      ))}
    </ul>
  );
}

export function Jobs({ model: given }: { model?: JobsModel }) {
  const model = useMemo(() => given ?? createJobsModel(), [given]);
  const { query: q } = useLocation();
  const key = JSON.stringify(q);
  useEffect(() => {
    const f: Filters = {};
    for (const k of FILTERS) if (q[k]) f[k] = q[k];
    const size = Number(q.limit);
    void model.apply(f, SIZES.includes(size) ? size : 50);
  }, [key, model]);
  useEffect(() => every(5000, model.refresh), [model]);

  const filtered = Object.keys(model.filters.value).length > 0;
  return (
    <section aria-labelledby="jobs-title">
      <div class="title">
        <h1 id="jobs-title">Jobs</h1>
        {model.list.loading.value && <span class="spinner" role="status" aria-label="Refreshing" />}
      </div>
      <PhaseCounts model={model} />
      <FilterForm filters={model.filters.value} limit={model.limit.value} />
      <Async
        of={model.list}
        isEmpty={(d) => d.items.length === 0}
        empty={filtered ? 'No requests match these filters.' : 'No requests yet. Submit one to get started.'}
      >
        {(d) => <JobsTable items={d.items} />}
      </Async>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={model.page.value === 0} onClick={() => void model.prev()}>
          ← Previous
        </button>
        <span>Page {model.page.value + 1}</span>
        <button type="button" disabled={!model.hasNext()} onClick={() => void model.next()}>
          Next →
        </button>
      </nav>
    </section>
  );
}

export default Jobs;
