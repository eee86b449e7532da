// /api/stats (role viewer, enforced by the gate in functions/app.ts):
//   GET /timeseries?metric=<name>&range=<dur>&step=<dur>[&end=<unix s>]
//       a named metric from the catalog, run as a PromQL range query against PROMETHEUS_URL.
//       Only catalog names are accepted (no PromQL from users); range and step are bounded and a
//       query that would return too many points per series is refused with 400.
//       Prometheus down, slow or not configured → 503 in the error envelope.
//   GET /summary  → {byPhase: {Pending: n, …}, total}, counted from the apiserver (no Prometheus).
import { Hono } from 'hono';
import { z } from 'zod';
import { type InferenceRequest, PHASES, type Phase } from '../../api/v1alpha1/index.ts';
import { ApiError, invalidBody } from '../lib/errors.ts';
import type { KubeObject } from '../lib/kube.ts';
import { kubeToApiError } from '../lib/kube-errors.ts';
import type { Services } from '../lib/services.ts';
import { promql, STAT_METRIC_NAMES, STAT_METRICS } from './catalog.ts';
import { createPrometheusClient, type PrometheusClient } from './prometheus.ts';

export interface StatsOptions {
  /** PROMETHEUS_URL; without it /timeseries answers 503 (the summary still works). */
  prometheusUrl?: string | undefined;
  /** How long to wait for Prometheus (default 10 s). */
  timeoutMs?: number;
  /**
   * Shortest rate window in seconds (default 120: four 30 s scrapes, like Grafana's
   * $__rate_interval). The window is max(step, this).
   */
  minRateWindowSeconds?: number;
  /** A client to use instead of one built from prometheusUrl (tests). */
  prometheus?: PrometheusClient;
  /** How long a summary is reused (default 2000 ms): dashboards poll it, each count is a full list. */
  summaryCacheMs?: number;
}

export const MIN_RANGE_SECONDS = 60;
export const MAX_RANGE_SECONDS = 30 * 86_400;
export const MIN_STEP_SECONDS = 1;
export const MAX_POINTS = 1_100;
/** Most InferenceRequests the summary pages through (500 per page). */
export const SUMMARY_MAX_PAGES = 400;

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 } as const;

/** `90`, `30s`, `5m`, `6h`, `7d`, `1w` → seconds. */
const duration = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,7}(s|m|h|d|w)?$/, `${what} must be a duration like 30s, 5m, 6h or 7d`)
    .transform((v) => {
      const unit = v.at(-1) as string;
      const n = Number.parseInt(v, 10);
      return unit in UNIT_SECONDS ? n * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS] : n;
    });

export const timeseriesQuery = z
  .strictObject({
    metric: z.enum(STAT_METRIC_NAMES, {
      message: `metric must be one of: ${STAT_METRIC_NAMES.join(', ')}`,
    }),
    range: duration('range')
      .default(3_600)
      .pipe(
        z
          .number()
          .min(MIN_RANGE_SECONDS, `range must be at least ${MIN_RANGE_SECONDS}s`)
          .max(MAX_RANGE_SECONDS, `range must be at most ${MAX_RANGE_SECONDS / 86_400}d`),
      ),
    step: duration('step')
      .pipe(z.number().min(MIN_STEP_SECONDS, `step must be at least ${MIN_STEP_SECONDS}s`))
      .optional(),
    end: z.coerce.number().int('end must be whole unix seconds').min(0).optional(),
  })
  .transform((q, ctx) => {
    const step = q.step ?? Math.max(15, Math.ceil(q.range / 240));
    if (step > q.range) {
      ctx.addIssue({ code: 'custom', path: ['step'], message: 'step must not be larger than range' });
      return z.NEVER;
    }
    const points = Math.floor(q.range / step) + 1;
    if (points > MAX_POINTS) {
      ctx.addIssue({
        code: 'custom',
        path: ['step'],
        message: `range/step gives ${points} points per series; at most ${MAX_POINTS} (use a step of at least ${Math.ceil(q.range / (MAX_POINTS - 1))}s)`,
      });
      return z.NEVER;
    }
    return { ...q, step };
  });

export function statsApp(s: Services, opts: StatsOptions = {}): Hono {
  const app = new Hono();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const minWindow = opts.minRateWindowSeconds ?? 120;
  const prometheus =
    opts.prometheus ??
    (opts.prometheusUrl ? createPrometheusClient({ baseUrl: opts.prometheusUrl, timeoutMs }) : undefined);

  app.get('/timeseries', async function timeseries(c) {
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.req.queries())) raw[k] = v.at(-1) ?? '';
    const parsed = timeseriesQuery.safeParse(raw);
    if (!parsed.success) throw invalidBody(parsed.error, 'query');
    const q = parsed.data;
    if (!prometheus) {
      throw new ApiError('upstream_unavailable', 'stats need Prometheus, and PROMETHEUS_URL is not set');
    }
    const nowSeconds = Math.floor(s.now() / 1000);
    if (q.end !== undefined && q.end > nowSeconds + 3_600) {
      throw new ApiError('invalid_body', 'query is invalid', {
        details: [{ path: 'end', message: 'end must not be more than an hour in the future' }],
      });
    }
    // align to the step so consecutive polls hit the same points (and Prometheus' cache)
    const end = Math.floor((q.end ?? nowSeconds) / q.step) * q.step;
    const start = end - Math.floor(q.range / q.step) * q.step;
    const windowSeconds = Math.max(q.step, minWindow);
    const query = promql(q.metric, windowSeconds);
    const series = await prometheus.queryRange({ query, start, end, stepSeconds: q.step });
    const def = STAT_METRICS[q.metric];
    return c.json({
      metric: q.metric,
      description: def.description,
      unit: def.unit,
      query,
      start,
      end,
      step: q.step,
      series,
    });
  });

  const summaryCacheMs = opts.summaryCacheMs ?? 2_000;
  let cached: { at: number; body: Promise<SummaryBody> } | undefined;
  app.get('/summary', async function summary(c) {
    const now = s.now();
    if (!cached || now - cached.at >= summaryCacheMs) {
      const body = countByPhase(s);
      cached = { at: now, body };
      // a failed count is not kept
      body.catch(() => {
        if (cached?.body === body) cached = undefined;
      });
    }
    return c.json(await cached.body);
  });

  return app;
}

interface SummaryBody {
  byPhase: Record<Phase, number>;
  total: number;
  truncated?: true;
}

async function countByPhase(s: Services): Promise<SummaryBody> {
  const byPhase = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  let total = 0;
  let cont: string | undefined;
  let pages = 0;
  do {
    let res: Awaited<ReturnType<Services['kube']['list']>>;
    try {
      res = await s.kube.list<InferenceRequest & KubeObject>('InferenceRequest', {
        limit: 500,
        ...(cont ? { continue: cont } : {}),
      });
    } catch (err) {
      throw kubeToApiError(err, 'request list');
    }
    for (const item of res.items) {
      const phase = ((item.status as { phase?: string } | undefined)?.phase ?? 'Pending') as Phase;
      byPhase[phase] = (byPhase[phase] ?? 0) + 1;
      total++;
    }
    cont = res.continue;
  } while (cont && ++pages < SUMMARY_MAX_PAGES);
  return { byPhase, total, ...(cont ? { truncated: true as const } : {}) };
}
