// One request: its detail (polled while it runs), its composed instructions, its live event
// timeline over Server-Sent Events, and the cancel / retry / delete actions. A request that is
// not there (404) is neither polled nor streamed any further.
import { signal } from '@preact/signals';
import { EVENT_TYPES, TERMINAL_PHASES } from '../../../api/v1alpha1/event-types.ts';
import { type ApiError, api, enc } from '../lib/api.ts';
import { loadable } from '../lib/load.ts';
import type { Composed, JobDetail, JobEvent } from '../lib/types.ts';

export { EVENT_TYPES };
export const TERMINAL: readonly string[] = TERMINAL_PHASES;
/** The timeline keeps at most this many events in memory (the newest). */
export const MAX_EVENTS = 5000;

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

interface Deps {
  EventSource: typeof EventSource;
  /** Delay before reconnecting by hand after the browser gave up, by attempt. */
  backoff: (attempt: number) => number;
}

export function createJobModel(id: string, deps: Partial<Deps> = {}) {
  const ES = deps.EventSource ?? globalThis.EventSource;
  const backoff = deps.backoff ?? ((n: number) => Math.min(30_000, 1000 * 2 ** n));
  const base = `/api/jobs/${enc(id)}`;
  const job = loadable(async (s) => {
    try {
      return await api.get<JobDetail>(base, s);
    } catch (err) {
      if ((err as ApiError).status === 404) gone();
      throw err;
    }
  });
  const prompt = loadable((s) => api.get<Composed>(`${base}/prompt`, s));
  const events = signal<JobEvent[]>([]);
  const dropped = signal(0);
  const stream = signal<StreamState>('connecting');
  const busy = signal<'cancel' | 'retry' | 'delete' | undefined>(undefined);
  /** The request does not exist (any more). */
  const missing = signal(false);
  const actionError = signal<ApiError | undefined>(undefined);

  let source: EventSource | undefined;
  let lastSeq = 0;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  function stop() {
    closed = true;
    clearTimeout(retryTimer);
    clearTimeout(refreshTimer);
    source?.close();
  }
  function gone() {
    missing.value = true;
    stop();
  }

  /** Runs an action with `busy` set; its error goes to `actionError` and it resolves to undefined. */
  async function act<T>(kind: NonNullable<typeof busy.value>, run: () => Promise<T>): Promise<T | undefined> {
    busy.value = kind;
    actionError.value = undefined;
    try {
      return await run();
    } catch (err) {
      actionError.value = err as ApiError;
      return undefined;
    } finally {
      busy.value = undefined;
    }
  }

  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void job.load(), 300);
  };

  const onEvent = (e: MessageEvent<string>) => {
    let ev: JobEvent;
    try {
      ev = JSON.parse(e.data) as JobEvent;
    } catch {
      return;
    }
    const seq = Number(ev.seq ?? e.lastEventId);
    // The server resumes after Last-Event-ID; should it repeat anything anyway, skip it.
    if (Number.isFinite(seq) && seq > 0) {
      if (seq <= lastSeq) return;
      lastSeq = seq;
    }
    attempt = 0;
    if (ev.type === 'heartbeat') return;
    const next = [...events.value, { ...ev, seq }];
    if (next.length > MAX_EVENTS) {
      dropped.value += next.length - MAX_EVENTS;
      next.splice(0, next.length - MAX_EVENTS);
    }
    events.value = next;
    if (ev.type === 'started' || ev.type === 'usage' || ev.type === 'completed' || ev.type === 'error')
      refreshSoon();
  };

  function connect() {
    if (closed) return;
    stream.value = lastSeq ? 'reconnecting' : 'connecting';
    // A new EventSource cannot send Last-Event-ID; the API takes it as a query parameter too.
    const es = new ES(`${base}/events${lastSeq ? `?lastEventId=${lastSeq}` : ''}`);
    source = es;
    es.onopen = () => {
      stream.value = 'live';
    };
    for (const t of EVENT_TYPES) es.addEventListener(t, onEvent as EventListener);
    es.onmessage = onEvent;
    es.addEventListener('end', () => {
      es.close();
      stream.value = 'ended';
      refreshSoon();
    });
    es.onerror = () => {
      if (stream.value === 'ended') return;
      // CONNECTING: the browser reconnects by itself and sends Last-Event-ID.
      // CLOSED: it gave up (an HTTP error, a non-SSE answer); try again by hand, with back-off.
      stream.value = 'reconnecting';
      if (es.readyState === 2) {
        retryTimer = setTimeout(connect, backoff(attempt++));
      }
    };
  }

  return {
    id,
    job,
    prompt,
    events,
    dropped,
    stream,
    busy,
    actionError,
    missing,
    start() {
      closed = false;
      missing.value = false;
      void job.load();
      void prompt.load();
      connect();
    },
    stop,
    /** Ended, or not there: nothing more to poll for. */
    isTerminal: () => missing.value || TERMINAL.includes(job.data.value?.status?.phase ?? ''),
    async cancel() {
      await act('cancel', async () => {
        await api.post(`${base}/cancel`);
        await job.load();
      });
    },
    /** Deletes the request; resolves to true once it is gone. */
    async remove(): Promise<boolean> {
      return (
        (await act('delete', async () => {
          await api.del(base);
          gone();
          return true;
        })) ?? false
      );
    },
    /** Resolves to the id of the new request, or undefined when the API refused. */
    async retry(): Promise<string | undefined> {
      return act('retry', async () => (await api.post<{ id: string }>(`${base}/retry`)).id);
    },
  };
}
export type JobModel = ReturnType<typeof createJobModel>;
