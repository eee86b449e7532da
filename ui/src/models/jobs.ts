// The jobs list: filters (kept in the URL by the page), paging over the API's continue tokens,
// and a phase summary; the page polls `refresh` while it is open.
import { signal } from '@preact/signals';
import { api, query } from '../lib/api.ts';
import { loadable } from '../lib/load.ts';
import type { JobSummary, List, Summary } from '../lib/types.ts';

export const PHASES = ['Pending', 'Queued', 'Running', 'Succeeded', 'Failed', 'Cancelled', 'TimedOut'];
export const SOURCES = ['api', 'webhook', 'ui', 'schedule', 'ci'];
export const FILTERS = ['phase', 'agent', 'model', 'source', 'caller', 'label'] as const;
export type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

export function createJobsModel() {
  const filters = signal<Filters>({});
  const limit = signal(50);
  /** tokens[i] fetches page i; tokens[0] is '' (the first page). */
  const tokens = signal<string[]>(['']);
  const page = signal(0);
  const list = loadable((s) =>
    api.get<List<JobSummary>>(
      `/api/jobs${query({ ...filters.value, limit: limit.value, continue: tokens.value[page.value] })}`,
      s,
    ),
  );
  const summary = loadable((s) => api.get<Summary>('/api/stats/summary', s));

  async function load() {
    await list.load();
    if (!list.error.value) {
      const next = list.data.value?.continue;
      const known = tokens.value.slice(0, page.value + 1);
      tokens.value = next ? [...known, next] : known;
    }
    // An expired continue token: start over from the first page.
    if (list.error.value?.status === 410 && page.value > 0) {
      page.value = 0;
      tokens.value = [''];
      await list.load();
    }
  }

  return {
    filters,
    limit,
    page,
    list,
    summary,
    hasNext: () => tokens.value.length > page.value + 1,
    /** Applies new filters (or page size) and goes back to the first page. */
    async apply(f: Filters, size = limit.value) {
      filters.value = f;
      limit.value = size;
      tokens.value = [''];
      page.value = 0;
      await Promise.all([load(), summary.load()]);
    },
    async next() {
      if (tokens.value.length <= page.value + 1) return;
      page.value += 1;
      tokens.value = tokens.value.slice(0, page.value + 1);
      await load();
    },
    async prev() {
      if (page.value === 0) return;
      page.value -= 1;
      tokens.value = tokens.value.slice(0, page.value + 1);
      await load();
    },
    async refresh() {
      await Promise.all([load(), summary.load()]);
    },
  };
}
export type JobsModel = ReturnType<typeof createJobsModel>;
