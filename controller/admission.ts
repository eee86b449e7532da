// Admission: at most `global` executor runs at once (plus per-model and per-caller limits, and
// one run per concurrency key: requests sharing spec.concurrencyKey run one after another).
// Waiting requests are ordered by priority (high first), then fair share across callers (the
// caller with fewer runs goes first), then age. The state is rebuilt from the world on start
// (runs observed in the cache) and kept in memory after that; it is never the source of truth
// for whether a run exists, only for whether one may be started.

export interface AdmissionEntry {
  priority: number;
  caller: string;
  model: string;
  /** spec.concurrencyKey: at most one run holds a given key. */
  concurrencyKey?: string;
  /** Creation time (ms) for age ordering; ties broken by key. */
  createdMs: number;
}

export interface Limits {
  global: number;
  perModel?: number;
  perCaller?: number;
}

export interface AdmissionOptions {
  limits: () => Limits;
  /** A waiting key got a slot: reconcile it. */
  onAdmit: (key: string) => void;
  /** A waiting key's queue position changed. */
  onPositionChanged?: (key: string, position: number) => void;
  /** Run a pass later (default setImmediate); tests pass a synchronous scheduler. */
  schedule?: (fn: () => void) => void;
}

export type AdmissionDecision = { admitted: true } | { admitted: false; position: number };

export interface Admission {
  /** Ask for a slot; admitted at once when nothing waits and a slot is free. */
  request(key: string, entry: AdmissionEntry): AdmissionDecision;
  /** A run exists and is active for this key (observed): it holds a slot. */
  markRunning(key: string, entry: Pick<AdmissionEntry, 'caller' | 'model' | 'concurrencyKey'>): void;
  /** The key no longer holds or wants a slot (run finished, cancelled, deleted, unresolvable). */
  release(key: string): void;
  isHolding(key: string): boolean;
  position(key: string): number | undefined;
  /** Re-evaluate (limits changed). */
  poke(): void;
  readonly running: number;
  readonly waiting: number;
}

interface Holder {
  caller: string;
  model: string;
  concurrencyKey?: string;
}

const holderOf = (e: Pick<AdmissionEntry, 'caller' | 'model' | 'concurrencyKey'>): Holder => ({
  caller: e.caller,
  model: e.model,
  ...(e.concurrencyKey ? { concurrencyKey: e.concurrencyKey } : {}),
});

const sameEntry = (a: AdmissionEntry, b: AdmissionEntry) =>
  a.priority === b.priority &&
  a.caller === b.caller &&
  a.model === b.model &&
  a.concurrencyKey === b.concurrencyKey &&
  a.createdMs === b.createdMs;

export function createAdmission(opts: AdmissionOptions): Admission {
  const schedule = opts.schedule ?? ((fn) => setImmediate(fn));
  const holders = new Map<string, Holder>();
  const waiting = new Map<string, AdmissionEntry>();
  const positions = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const byModel = new Map<string, number>();
  const byConcurrencyKey = new Map<string, number>();
  let passScheduled = false;

  const inc = (m: Map<string, number>, k: string, d: number) => {
    const v = (m.get(k) ?? 0) + d;
    if (v <= 0) m.delete(k);
    else m.set(k, v);
  };

  function hold(key: string, h: Holder) {
    const prev = holders.get(key);
    if (prev) {
      if (prev.caller === h.caller && prev.model === h.model && prev.concurrencyKey === h.concurrencyKey)
        return;
      unhold(prev);
    }
    holders.set(key, h);
    inc(byCaller, h.caller, 1);
    inc(byModel, h.model, 1);
    if (h.concurrencyKey) inc(byConcurrencyKey, h.concurrencyKey, 1);
  }

  function unhold(h: Holder) {
    inc(byCaller, h.caller, -1);
    inc(byModel, h.model, -1);
    if (h.concurrencyKey) inc(byConcurrencyKey, h.concurrencyKey, -1);
  }

  function fits(limits: Limits, h: Holder) {
    if (holders.size >= limits.global) return false;
    if (limits.perCaller !== undefined && (byCaller.get(h.caller) ?? 0) >= limits.perCaller) return false;
    if (limits.perModel !== undefined && (byModel.get(h.model) ?? 0) >= limits.perModel) return false;
    if (h.concurrencyKey && byConcurrencyKey.has(h.concurrencyKey)) return false;
    return true;
  }

  function schedulePass() {
    if (passScheduled) return;
    passScheduled = true;
    schedule(() => {
      passScheduled = false;
      pass();
    });
  }

  /** The waiting keys in admission order: priority, then fair share by caller, then age. */
  function order(): string[] {
    const levels = new Map<number, Map<string, [string, AdmissionEntry][]>>();
    for (const [key, e] of waiting) {
      let callers = levels.get(e.priority);
      if (!callers) {
        callers = new Map();
        levels.set(e.priority, callers);
      }
      let list = callers.get(e.caller);
      if (!list) {
        list = [];
        callers.set(e.caller, list);
      }
      list.push([key, e]);
    }
    const out: string[] = [];
    const share = new Map(byCaller);
    for (const priority of [...levels.keys()].sort((a, b) => b - a)) {
      const callers = levels.get(priority)!;
      const queues = [...callers.entries()].map(([caller, list]) => {
        list.sort((a, b) => a[1].createdMs - b[1].createdMs || (a[0] < b[0] ? -1 : 1));
        return { caller, list, i: 0 };
      });
      let remaining = queues.reduce((n, q) => n + q.list.length, 0);
      while (remaining > 0) {
        let best: (typeof queues)[number] | undefined;
        for (const q of queues) {
          if (q.i >= q.list.length) continue;
          if (!best) {
            best = q;
            continue;
          }
          const a = share.get(q.caller) ?? 0;
          const b = share.get(best.caller) ?? 0;
          const qe = q.list[q.i]!;
          const be = best.list[best.i]!;
          if (
            a < b ||
            (a === b &&
              (qe[1].createdMs < be[1].createdMs || (qe[1].createdMs === be[1].createdMs && qe[0] < be[0])))
          )
            best = q;
        }
        const [key] = best!.list[best!.i++]!;
        out.push(key);
        share.set(best!.caller, (share.get(best!.caller) ?? 0) + 1);
        remaining--;
      }
    }
    return out;
  }

  function pass() {
    if (waiting.size === 0) return;
    const limits = opts.limits();
    const ordered = order();
    const admitted: string[] = [];
    let position = 0;
    for (const key of ordered) {
      const h = holderOf(waiting.get(key)!);
      if (fits(limits, h)) {
        waiting.delete(key);
        positions.delete(key);
        hold(key, h);
        admitted.push(key);
        continue;
      }
      position++;
      if (positions.get(key) !== position) {
        positions.set(key, position);
        opts.onPositionChanged?.(key, position);
      }
    }
    for (const key of admitted) opts.onAdmit(key);
  }

  return {
    request(key, entry) {
      if (holders.has(key)) return { admitted: true };
      const h = holderOf(entry);
      if ((waiting.size === 0 || (waiting.size === 1 && waiting.has(key))) && fits(opts.limits(), h)) {
        waiting.delete(key);
        positions.delete(key);
        hold(key, h);
        return { admitted: true };
      }
      const before = waiting.get(key);
      waiting.set(key, entry);
      // a new waiter, or one whose place in the order may have moved (its priority changed)
      if (!before || !sameEntry(before, entry)) schedulePass();
      return { admitted: false, position: positions.get(key) ?? waiting.size };
    },
    markRunning(key, entry) {
      waiting.delete(key);
      positions.delete(key);
      hold(key, holderOf(entry));
    },
    release(key) {
      const h = holders.get(key);
      if (h) {
        holders.delete(key);
        unhold(h);
      }
      const wasWaiting = waiting.delete(key);
      positions.delete(key);
      if (h || wasWaiting) schedulePass();
    },
    isHolding: (key) => holders.has(key),
    position: (key) => positions.get(key),
    poke: schedulePass,
    get running() {
      return holders.size;
    },
    get waiting() {
      return waiting.size;
    },
  };
}
