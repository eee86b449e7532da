import { type Signal, signal } from '@preact/signals';
import type { ApiError } from './api.ts';

/** One value fetched from the API: its data, its error and whether a load is in flight. */
export interface Loadable<T> {
  data: Signal<T | undefined>;
  error: Signal<ApiError | undefined>;
  loading: Signal<boolean>;
  /** Fetches again; a newer load aborts an older one, so the last answer always wins. */
  load(): Promise<void>;
}

export function loadable<T>(fetcher: (signal: AbortSignal) => Promise<T>): Loadable<T> {
  const data = signal<T | undefined>(undefined);
  const error = signal<ApiError | undefined>(undefined);
  const loading = signal(false);
  let current: AbortController | undefined;
  return {
    data,
    error,
    loading,
    async load() {
      current?.abort();
      const ctl = new AbortController();
      current = ctl;
      loading.value = true;
      try {
        const value = await fetcher(ctl.signal);
        if (ctl.signal.aborted) return;
        data.value = value;
        error.value = undefined;
      } catch (err) {
        if (ctl.signal.aborted) return;
        error.value = err as ApiError;
      } finally {
        if (current === ctl) loading.value = false;
      }
    },
  };
}

/** Calls `fn` every `ms` after the previous call settled, skipping while the tab is hidden. */
export function every(ms: number, fn: () => Promise<void>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout>;
  const tick = async () => {
    if (!document.hidden) await fn();
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
