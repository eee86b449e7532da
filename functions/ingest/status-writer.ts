// Folds the ingest summary (lastEvent, eventCount, and on completion result and usage) into the
// request's status, at most one write per interval per request. Writes are JSON merge patches on
// the status subresource that name only these fields, so the controller's phase, conditions and
// timestamps are never touched. A failed write is retried with back-off; a deleted request is
// forgotten.
import type { InferenceRequestStatus } from '../../api/v1alpha1/index.ts';
import { isKubeError, type Kube, type KubeObject } from '../lib/kube.ts';
import type { Logger } from '../lib/log.ts';

export type StatusSummary = Pick<InferenceRequestStatus, 'lastEvent' | 'eventCount' | 'result' | 'usage'>;

export interface StatusWriter {
  /** Queues a summary; later calls for the same request overwrite the earlier fields. */
  update(request: string, summary: StatusSummary): void;
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
  /** Writes everything queued now, ignoring the interval (shutdown). */
  flushAll(): Promise<void>;
  /** Status writes made so far (successful). */
  readonly writes: number;
}

interface Pending {
  summary?: StatusSummary;
  lastWriteAt: number;
  timer?: ReturnType<typeof setTimeout>;
  inFlight?: Promise<void>;
}

/**
 * The merge patch for a summary. A merge patch merges objects field by field, so `lastEvent`
 * names the fields an event may lack as null: the last event replaces the one before it whole.
 */
function patchOf(summary: StatusSummary) {
  if (!summary.lastEvent) return summary;
  return { ...summary, lastEvent: { time: null, message: null, ...summary.lastEvent } };
}

export function createStatusWriter(opts: {
  kube: Kube;
  intervalMs: number;
  log: Logger;
  now?: () => number;
  onWritten?: (request: string, obj: KubeObject) => void;
  onResult?: (result: 'ok' | 'error' | 'gone') => void;
  maxAttempts?: number;
}): StatusWriter {
  const now = opts.now ?? Date.now;
  const maxAttempts = opts.maxAttempts ?? 5;
  const state = new Map<string, Pending>();
  let writes = 0;
  const waiters: (() => void)[] = [];

  const busy = () => [...state.values()].some((p) => p.summary || p.timer || p.inFlight);
  const settle = () => {
    if (busy()) return;
    for (const w of waiters.splice(0)) w();
  };

  const write = async (request: string, summary: StatusSummary) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const obj = await opts.kube.patchStatus('InferenceRequest', request, { status: patchOf(summary) });
        writes++;
        opts.onResult?.('ok');
        opts.onWritten?.(request, obj);
        return;
      } catch (err) {
        if (isKubeError(err, 404)) {
          opts.onResult?.('gone');
          return;
        }
        const retriable = isKubeError(err)
          ? err.status === 409 || err.status === 429 || err.status >= 500
          : true;
        if (!retriable || attempt >= maxAttempts) {
          opts.onResult?.('error');
          opts.log.warn('status write failed', { request, attempt, error: String(err).slice(0, 300) });
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
      }
    }
  };

  const flush = (request: string) => {
    const p = state.get(request);
    if (!p) return;
    p.timer = undefined;
    if (p.inFlight || !p.summary) return settle();
    const summary = p.summary;
    p.summary = undefined;
    p.lastWriteAt = now();
    p.inFlight = write(request, summary).finally(() => {
      p.inFlight = undefined;
      if (p.summary) schedule(request, p);
      else {
        // Keep lastWriteAt a while so the interval holds; forget idle requests after that. A
        // later write of the same request may have started since: only its own interval counts.
        setTimeout(() => {
          if (p.summary || p.timer || p.inFlight || state.get(request) !== p) return;
          if (now() - p.lastWriteAt >= opts.intervalMs) state.delete(request);
        }, opts.intervalMs);
        settle();
      }
    });
  };

  const schedule = (request: string, p: Pending) => {
    if (p.timer || p.inFlight) return;
    const delay = Math.max(0, p.lastWriteAt + opts.intervalMs - now());
    p.timer = setTimeout(() => flush(request), delay);
  };

  return {
    update(request, summary) {
      let p = state.get(request);
      if (!p) {
        p = { lastWriteAt: Number.NEGATIVE_INFINITY };
        state.set(request, p);
      }
      p.summary = { ...p.summary, ...summary };
      schedule(request, p);
    },
    idle() {
      if (!busy()) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async flushAll() {
      for (const [request, p] of state) {
        if (p.timer) clearTimeout(p.timer);
        p.timer = undefined;
        flush(request);
      }
      await Promise.all([...state.values()].map((p) => p.inFlight));
      await this.idle();
    },
    get writes() {
      return writes;
    },
  };
}
