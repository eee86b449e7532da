// A small client for Prometheus' HTTP API (query_range), web-standard fetch only. Every failure
// becomes an ApiError in the API's envelope: Prometheus unreachable, slow or overloaded → 503
// upstream_unavailable; an answer we cannot use → 502 upstream_error. The base URL never appears
// in a message (it is internal topology), only which part failed.
import { ApiError, describe } from '../lib/errors.ts';

export interface RangeQuery {
  query: string;
  /** unix seconds */
  start: number;
  end: number;
  stepSeconds: number;
}

export interface PromSeries {
  labels: Record<string, string>;
  /** [unixSeconds, value]; NaN and ±Inf become null (JSON has no such numbers). */
  points: [number, number | null][];
}

export interface PrometheusClient {
  queryRange(q: RangeQuery): Promise<PromSeries[]>;
}

export interface PrometheusClientOptions {
  baseUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

interface PromResponse {
  status?: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric?: Record<string, string>; values?: [number, string][] }[] };
}

const unavailable = (message: string, cause?: unknown) =>
  new ApiError('upstream_unavailable', message, { cause, headers: { 'Retry-After': '5' } });

export function createPrometheusClient(opts: PrometheusClientOptions): PrometheusClient {
  const doFetch = opts.fetch ?? fetch;
  const base = opts.baseUrl.replace(/\/+$/, '');
  return {
    async queryRange(q) {
      const params = new URLSearchParams({
        query: q.query,
        start: String(q.start),
        end: String(q.end),
        step: `${q.stepSeconds}s`,
        timeout: `${Math.max(1, Math.floor(opts.timeoutMs / 1000))}s`,
      });
      let res: Response;
      try {
        res = await doFetch(`${base}/api/v1/query_range`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          body: params.toString(),
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        throw unavailable(
          timedOut
            ? `Prometheus did not answer within ${opts.timeoutMs} ms; try a shorter range or a larger step`
            : `Prometheus is unreachable (${describe(err).slice(0, 200)}); stats are unavailable until it is back`,
          err,
        );
      }
      let body: PromResponse;
      try {
        body = (await res.json()) as PromResponse;
      } catch (err) {
        if (res.status >= 500 || res.status === 429) {
          throw unavailable(
            `Prometheus answered ${res.status}; stats are unavailable until it recovers`,
            err,
          );
        }
        throw new ApiError('upstream_error', `Prometheus answered ${res.status} without a JSON body`, {
          cause: err,
        });
      }
      if (body.status !== 'success') {
        const detail = `${body.errorType ?? 'error'}: ${(body.error ?? '').slice(0, 300)}`;
        if (res.status >= 500 || res.status === 429 || body.errorType === 'timeout') {
          throw unavailable(`Prometheus could not run the query (${detail})`);
        }
        throw new ApiError('upstream_error', `Prometheus refused the query (${detail})`);
      }
      if (body.data?.resultType !== 'matrix' || !Array.isArray(body.data.result)) {
        throw new ApiError('upstream_error', 'Prometheus answered with an unexpected result type');
      }
      return body.data.result.map((s) => ({
        labels: s.metric ?? {},
        points: (s.values ?? []).map(([t, v]): [number, number | null] => {
          const n = Number(v);
          return [t, Number.isFinite(n) ? n : null];
        }),
      }));
    },
  };
}
