// Status writes off the reconcile path. A status PUT costs the apiserver more than the Job create
// it reports (a three-condition status ~5 ms of apiserver CPU here, an executor Job ~4 ms), so
// reconciles hand their status change to this lane and move on: creating Jobs is never queued
// behind status writes. While reconciles run, one status write is in flight, so the apiserver's
// time goes to the Jobs users wait for; status catches up as soon as they stop, or — if they never
// do — once a change has waited `maxLagMs`, when the lane widens to `concurrency`. While
// reconciles are backed up (a burst of admissions) it stays at one however long changes wait.
// Changes for one request are applied in order, one write at a time, and coalesce while they wait:
// a request that changed three times writes once. A failed write is retried with back-off. On
// stop, what waits is written for a moment more; what is still not written is not lost: the next
// reconcile of that request (after a restart, or on the other replica) computes the same status
// again from what it observes.
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import { keyOf } from './kube.ts';
import type { Logger } from './log.ts';
import type { StatusMutation, StatusWriter } from './status.ts';

export interface StatusLane extends StatusWriter {
  /** Changes waiting to be written (not counting those in flight). */
  readonly pending: number;
  /** Resolves when nothing is waiting or in flight (for tests and shutdown). */
  idle(): Promise<void>;
  /**
   * Stops taking changes and writes what waits for up to `flushMs` (default 2 s); what is left
   * then is dropped (the next reconcile computes it again). Resolves when nothing is in flight.
   */
  stop(flushMs?: number): Promise<void>;
}

export interface StatusLaneOptions {
  writer: StatusWriter;
  /** The request as the cache has it now (undefined once deleted). */
  current(key: string): InferenceRequest | undefined;
  concurrency: number;
  /**
   * What reconciles are doing: backed up (one status write in flight), running (one in flight
   * until a change has waited `maxLagMs`) or idle (`concurrency`). Without it, always idle.
   */
  load?: () => ReconcileLoad;
  /** How long a change may wait behind running reconciles before the lane widens (default 1 s). */
  maxLagMs?: number;
  now?: () => number;
  log: Logger;
  retryMs?: { initial: number; max: number };
}

export type ReconcileLoad = 'backlog' | 'running' | 'idle';

/** `first`, then `second` on its result: the same as writing them one after the other. */
export function compose(first: StatusMutation, second: StatusMutation): StatusMutation {
  return (current, req) => {
    const a = first(current, req) ?? current;
    return second(a, req) ?? a;
  };
}

export function createStatusLane(opts: StatusLaneOptions): StatusLane {
  const { writer, log } = opts;
  const retry = opts.retryMs ?? { initial: 200, max: 30_000 };
  const maxLagMs = opts.maxLagMs ?? 1000;
  const now = opts.now ?? (() => performance.now());
  const waiting = new Map<string, StatusMutation>();
  /** when each waiting change first arrived, oldest first */
  const since = new Map<string, number>();
  const order: string[] = [];
  const inFlight = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const idleWaiters: (() => void)[] = [];
  let accepting = true;
  let stopped = false;
  // at least one write stays in flight, so its end pumps again and nothing stalls
  function limit(): number {
    const load = accepting ? (opts.load?.() ?? 'idle') : 'idle';
    if (load === 'backlog') return 1;
    if (load === 'running') {
      const oldest = since.values().next().value;
      if (oldest === undefined || now() - oldest < maxLagMs) return 1;
    }
    return opts.concurrency;
  }

  function wait(key: string, mutate: StatusMutation) {
    const earlier = waiting.get(key);
    waiting.set(key, earlier ? compose(earlier, mutate) : mutate);
    if (!since.has(key)) since.set(key, now());
    return earlier !== undefined;
  }

  function checkIdle() {
    if (waiting.size === 0 && inFlight.size === 0 && timers.size === 0)
      for (const w of idleWaiters.splice(0)) w();
  }

  function pump() {
    while (!stopped && inFlight.size < limit() && order.length > 0) {
      const key = order.shift() as string;
      // one write per request at a time; it is queued again when the one in flight ends
      if (inFlight.has(key) || !waiting.has(key)) continue;
      const mutate = waiting.get(key) as StatusMutation;
      waiting.delete(key);
      since.delete(key);
      inFlight.add(key);
      void write(key, mutate);
    }
    checkIdle();
  }

  async function write(key: string, mutate: StatusMutation) {
    try {
      const req = opts.current(key);
      if (req) await writer.update(req, mutate);
      failures.delete(key);
    } catch (e) {
      if (stopped) return; // left for the next reconcile
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      const delay = Math.min(retry.initial * 2 ** n, retry.max);
      log.warn('status write failed, retrying', { request: key, error: String(e), retryInMs: delay });
      // the failed change goes first, anything newer after it
      const newer = waiting.get(key);
      waiting.set(key, newer ? compose(mutate, newer) : mutate);
      if (!since.has(key)) since.set(key, now());
      const timer = setTimeout(() => {
        timers.delete(timer);
        order.push(key);
        pump();
      }, delay);
      timer.unref?.();
      timers.add(timer);
    } finally {
      inFlight.delete(key);
      if (waiting.has(key) && failures.get(key) === undefined) order.push(key);
      pump();
    }
  }

  function idle() {
    return new Promise<void>((resolve) => {
      idleWaiters.push(resolve);
      checkIdle();
    });
  }

  return {
    async update(req, mutate) {
      if (!accepting) return undefined;
      const key = keyOf(req);
      if (!wait(key, mutate)) order.push(key);
      pump();
      return undefined; // written later
    },
    get pending() {
      return waiting.size;
    },
    idle,
    async stop(flushMs = 2000) {
      // no new changes; what waits (retries included) is still written for up to flushMs
      accepting = false;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const key of waiting.keys()) order.push(key);
      pump();
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([idle(), new Promise((r) => (deadline = setTimeout(r, flushMs)))]);
      clearTimeout(deadline);
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (waiting.size > 0)
        log.info('status changes left for the next reconcile', { requests: waiting.size });
      waiting.clear();
      since.clear();
      await idle(); // the writes in flight
    },
  };
}
