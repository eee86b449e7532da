// A token bucket per key (the caller), in process memory: `perMinute` sustained, `burst` at once.
export interface RateLimiter {
  /** Takes one token; answers how many seconds to wait when there is none. */
  take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number };
}

export function createRateLimiter(opts: {
  perMinute: number;
  burst: number;
  now?: () => number;
}): RateLimiter {
  const now = opts.now ?? Date.now;
  const perMs = opts.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      const b = buckets.get(key) ?? { tokens: opts.burst, at: t };
      b.tokens = Math.min(opts.burst, b.tokens + (t - b.at) * perMs);
      b.at = t;
      buckets.set(key, b);
      if (buckets.size > 10_000) {
        for (const [k, v] of buckets) if (v.tokens >= opts.burst) buckets.delete(k);
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
    },
  };
}
