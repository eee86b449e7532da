// A keyed, de-duplicating work queue in the manner of client-go's workqueue: a key is queued at
// most once, processed by at most one worker at a time (a key added while it is being processed
// is processed again afterwards), delayed adds keep the earliest time, and failures back off
// exponentially per key.

export interface ReconcileResult {
  /** Process the key again after this long (level-triggered polling, e.g. for timeouts). */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<ReconcileResult | undefined>;

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
  onProcessed?: (key: string, seconds: number, outcome: 'success' | 'error' | 'requeue') => void;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  addRateLimited(key: string): void;
  forget(key: string): void;
  /** Keys waiting (not counting in-flight or delayed ones). */
  readonly depth: number;
  readonly delayed: number;
  readonly inFlight: number;
  run(workers: number, handler: Handler): void;
  shutdown(): Promise<void>;
  /** Resolves when nothing is queued, in flight or delayed (for tests). */
  idle(): Promise<void>;
}

export function createWorkQueue(opts: QueueOptions = {}): WorkQueue {
  const baseDelay = opts.baseDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 60_000;
  let items: string[] = [];
  let head = 0;
  const dirty = new Set<string>();
  const processing = new Set<string>();
  const waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  const failures = new Map<string, number>();
  let shuttingDown = false;
  const wakers: (() => void)[] = [];
  const idleWaiters: (() => void)[] = [];
  let workersDone: Promise<void> | undefined;

  const wake = () => wakers.shift()?.();

  function add(key: string) {
    if (shuttingDown || dirty.has(key)) return;
    dirty.add(key);
    if (processing.has(key)) return;
    items.push(key);
    wake();
  }

  function addAfter(key: string, ms: number) {
    if (shuttingDown) return;
    if (ms <= 0) return add(key);
    const at = Date.now() + ms;
    const existing = waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      waiting.delete(key);
      add(key);
    }, ms);
    timer.unref?.();
    waiting.set(key, { at, timer });
  }

  function next(): string | undefined {
    if (head >= items.length) return undefined;
    const key = items[head++];
    if (head > 1024 && head * 2 > items.length) {
      items = items.slice(head);
      head = 0;
    }
    return key;
  }

  const depth = () => items.length - head;

  function checkIdle() {
    if (depth() === 0 && processing.size === 0 && waiting.size === 0) {
      for (const w of idleWaiters.splice(0)) w();
    }
  }

  async function worker(handler: Handler) {
    while (true) {
      let key = next();
      while (key === undefined) {
        if (shuttingDown) return;
        checkIdle();
        await new Promise<void>((r) => wakers.push(r));
        key = next();
      }
      dirty.delete(key);
      processing.add(key);
      const started = performance.now();
      try {
        const result = await handler(key);
        failures.delete(key);
        const seconds = (performance.now() - started) / 1000;
        if (result?.requeueAfterMs !== undefined) {
          opts.onProcessed?.(key, seconds, 'requeue');
          addAfter(key, result.requeueAfterMs);
        } else opts.onProcessed?.(key, seconds, 'success');
      } catch (e) {
        opts.onProcessed?.(key, (performance.now() - started) / 1000, 'error');
        const n = failures.get(key) ?? 0;
        failures.set(key, n + 1);
        const delay = Math.min(baseDelay * 2 ** n, maxDelay);
        opts.onError?.(key, e, delay);
        addAfter(key, delay);
      } finally {
        processing.delete(key);
        if (dirty.has(key) && !shuttingDown) {
          items.push(key);
          wake();
        }
      }
    }
  }

  return {
    add,
    addAfter,
    addRateLimited(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      addAfter(key, Math.min(baseDelay * 2 ** n, maxDelay));
    },
    forget(key) {
      failures.delete(key);
      const w = waiting.get(key);
      if (w) {
        clearTimeout(w.timer);
        waiting.delete(key);
      }
    },
    get depth() {
      return depth();
    },
    get delayed() {
      return waiting.size;
    },
    get inFlight() {
      return processing.size;
    },
    run(workers, handler) {
      workersDone = Promise.all(Array.from({ length: workers }, () => worker(handler))).then(() => {});
    },
    async shutdown() {
      shuttingDown = true;
      for (const w of waiting.values()) clearTimeout(w.timer);
      waiting.clear();
      while (wakers.length) wake();
      await workersDone;
    },
    idle() {
      return new Promise<void>((r) => {
        idleWaiters.push(r);
        checkIdle();
      });
    },
  };
}
