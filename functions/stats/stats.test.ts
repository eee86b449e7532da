// /api/stats through the unified app (memory Kube, test auth): parameter validation, the summary,
// and how Prometheus failures reach the caller. A loopback HTTP server stands in for Prometheus'
// failure modes here; the proof against a real Prometheus is test/observability.int.test.ts.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createFileEventStore } from '../lib/event-store.ts';
import { createLogger } from '../lib/log.ts';
import { createMemoryKube, type MemoryKube } from '../lib/memory-kube.ts';
import { asUser, testRequireRole } from '../testing/auth.ts';
import type { StatsOptions } from './app.ts';
import { promql, STAT_METRIC_NAMES } from './catalog.ts';
import { loadStatsConfig } from './config.ts';

const workspace = mkdtempSync(join(tmpdir(), 'ai-agents-stats-'));
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function build(stats?: StatsOptions, kube: MemoryKube = createMemoryKube('ai-agents')) {
  const config = loadConfig({
    WORKSPACE_DIR: workspace,
    NAMESPACE: 'ai-agents',
    LOG_LEVEL: 'error',
    INGEST_TOKEN_SECRET: 'ingest-secret-for-stats-tests-0123456789',
  });
  const app = createApp({
    config,
    kube,
    events: createFileEventStore(workspace),
    auth: { requireRole: testRequireRole },
    log: createLogger('error', () => {}),
    now: () => NOW,
    ...(stats ? { stats } : {}),
  });
  return { app, kube };
}

const get = (app: ReturnType<typeof build>['app'], path: string, role: 'viewer' | null = 'viewer') =>
  app.request(path, { headers: role ? asUser(role) : {} });

interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[]; requestId?: string };
}

/** A loopback server answering every request with `answer`; records what it was asked. */
async function fakeUpstream(answer: (body: string) => { status: number; body: string }) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push(body);
      const a = answer(body);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('GET /api/stats/timeseries — parameters', () => {
  const { app } = build({ prometheusUrl: 'http://127.0.0.1:9' });
  const bad: [string, string, RegExp][] = [
    ['no metric', '', /metric must be one of/],
    ['unknown metric', 'metric=up', /metric must be one of: submissions, throughput/],
    ['raw PromQL', 'metric=throughput&query=up', /query|Unrecognized/i],
    ['PromQL as a metric', 'metric=sum(up)', /metric must be one of/],
    ['range not a duration', 'metric=throughput&range=1y', /range must be a duration/],
    ['range too short', 'metric=throughput&range=30s', /range must be at least 60s/],
    ['range too long', 'metric=throughput&range=31d', /range must be at most 30d/],
    ['step zero', 'metric=throughput&range=1h&step=0s', /step must be at least 1s/],
    ['step above range', 'metric=throughput&range=1h&step=2h', /step must not be larger than range/],
    ['too many points', 'metric=throughput&range=7d&step=1m', /10081 points per series; at most 1100/],
    ['end not a number', 'metric=throughput&end=yesterday', /end/],
    ['end in the future', 'metric=throughput&end=99999999999', /end must not be more than an hour/],
  ];
  it.each(bad)('%s → 400 with the field named', async (_name, qs, message) => {
    const res = await get(app, `/api/stats/timeseries?${qs}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_body');
    expect(JSON.stringify(body.error.details)).toMatch(message);
  });

  it('needs the viewer role (401 anonymous)', async () => {
    const res = await get(app, '/api/stats/timeseries?metric=throughput', null);
    expect(res.status).toBe(401);
    expect(((await res.json()) as ErrorBody).error.code).toBe('unauthorized');
    expect((await get(app, '/api/stats/summary', null)).status).toBe(401);
  });
});

describe('GET /api/stats/timeseries — Prometheus', () => {
  const matrix = JSON.stringify({
    status: 'success',
    data: {
      resultType: 'matrix',
      result: [
        {
          metric: { phase: 'Succeeded' },
          values: [
            [1767268800, '0.5'],
            [1767268860, 'NaN'],
          ],
        },
      ],
    },
  });
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  beforeAll(async () => {
    upstream = await fakeUpstream(() => ({ status: 200, body: matrix }));
  });
  afterAll(() => upstream.close());

  it('sends the catalog PromQL with an aligned range and answers {metric, series}', async () => {
    const { app } = build({ prometheusUrl: upstream.url, minRateWindowSeconds: 120 });
    const res = await get(app, '/api/stats/timeseries?metric=throughput&range=1h&step=1m');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      metric: 'throughput',
      unit: 'per_second',
      step: 60,
      end: NOW / 1000,
      start: NOW / 1000 - 3600,
      series: [
        {
          labels: { phase: 'Succeeded' },
          points: [
            [1767268800, 0.5],
            [1767268860, null],
          ],
        },
      ],
    });
    const sent = new URLSearchParams(upstream.seen.at(-1));
    expect(sent.get('query')).toBe(promql('throughput', 120));
    expect(sent.get('query')).toBe('sum by (phase) (rate(ai_agents_requests_finished_total[120s]))');
    expect(sent.get('step')).toBe('60s');
    expect(Number(sent.get('end')) - Number(sent.get('start'))).toBe(3600);
  });

  it('uses a rate window of max(step, minimum)', async () => {
    const { app } = build({ prometheusUrl: upstream.url, minRateWindowSeconds: 120 });
    await get(app, '/api/stats/timeseries?metric=callbacks&range=1d&step=5m');
    expect(new URLSearchParams(upstream.seen.at(-1)).get('query')).toContain('[300s]');
  });

  it('every catalog metric is a query with its window filled in', () => {
    for (const name of STAT_METRIC_NAMES) {
      const q = promql(name, 60);
      expect(q, name).not.toContain('{w}');
      expect(q, name).toMatch(/ai_agents_/);
    }
  });
});

describe('GET /api/stats/timeseries — Prometheus unavailable → 503', () => {
  it('not configured', async () => {
    const { app } = build();
    const res = await get(app, '/api/stats/timeseries?metric=queue_depth');
    expect(res.status).toBe(503);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'upstream_unavailable' });
    expect(body.error.message).toMatch(/PROMETHEUS_URL is not set/);
    expect(body.error.requestId).toBeTruthy();
  });

  it('connection refused', async () => {
    const { app } = build({ prometheusUrl: `http://127.0.0.1:${await closedPort()}` });
    const res = await get(app, '/api/stats/timeseries?metric=queue_depth');
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('upstream_unavailable');
    expect(body.error.message).toMatch(/Prometheus is unreachable/);
  });

  it('too slow', async () => {
    // accepts connections, never answers
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { port } = silent.address() as AddressInfo;
      const { app } = build({ prometheusUrl: `http://127.0.0.1:${port}`, timeoutMs: 200 });
      const res = await get(app, '/api/stats/timeseries?metric=queue_depth');
      expect(res.status).toBe(503);
      expect(((await res.json()) as ErrorBody).error.message).toMatch(/did not answer within 200 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('Prometheus answering 503 → 503; refusing the query → 502', async () => {
    const down = await fakeUpstream(() => ({ status: 503, body: 'Service Unavailable' }));
    const refuses = await fakeUpstream(() => ({
      status: 400,
      body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }),
    }));
    try {
      const a = await get(build({ prometheusUrl: down.url }).app, '/api/stats/timeseries?metric=tokens');
      expect(a.status).toBe(503);
      expect(((await a.json()) as ErrorBody).error.message).toMatch(/Prometheus answered 503/);
      const b = await get(build({ prometheusUrl: refuses.url }).app, '/api/stats/timeseries?metric=tokens');
      expect(b.status).toBe(502);
      expect(((await b.json()) as ErrorBody).error).toMatchObject({ code: 'upstream_error' });
    } finally {
      await down.close();
      await refuses.close();
    }
  });
});

describe('GET /api/stats/summary', () => {
  it('counts requests by phase from the Kube, every phase present', async () => {
    const kube = createMemoryKube('ai-agents');
    const { app } = build(undefined, kube);
    const phases = ['Succeeded', 'Succeeded', 'Failed', 'Running', undefined];
    for (const [i, phase] of phases.entries()) {
      await kube.create('InferenceRequest', {
        apiVersion: 'labrats.work/v1alpha1',
        kind: 'InferenceRequest',
        metadata: { name: `r-${i}` },
        spec: { agent: 'developer', prompt: 'x' },
      });
      if (phase) await kube.patchStatus('InferenceRequest', `r-${i}`, { status: { phase } });
    }
    const res = await get(app, '/api/stats/summary');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      byPhase: { Pending: 1, Queued: 0, Running: 1, Succeeded: 2, Failed: 1, Cancelled: 0, TimedOut: 0 },
      total: 5,
    });
  });

  it('apiserver unreachable → 503 in the envelope, and the failure is not cached', async () => {
    const kube = createMemoryKube('ai-agents');
    const { app } = build(undefined, kube);
    kube.failNext('list', new TypeError('fetch failed'));
    const res = await get(app, '/api/stats/summary');
    expect(res.status).toBe(503);
    expect(((await res.json()) as ErrorBody).error.code).toBe('upstream_unavailable');
    expect((await get(app, '/api/stats/summary')).status).toBe(200);
  });

  it('polls within 2 s share one count (one list)', async () => {
    const kube = createMemoryKube('ai-agents');
    const { app } = build(undefined, kube);
    await get(app, '/api/stats/summary');
    const lists = kube.calls.list;
    expect(lists).toBe(1);
    await get(app, '/api/stats/summary');
    expect(kube.calls.list).toBe(lists);
  });
});

describe('loadStatsConfig', () => {
  it('reads PROMETHEUS_URL and PROMETHEUS_TIMEOUT_MS', () => {
    expect(loadStatsConfig({ PROMETHEUS_URL: 'http://prom:9090', PROMETHEUS_TIMEOUT_MS: '2500' })).toEqual({
      prometheusUrl: 'http://prom:9090',
      timeoutMs: 2500,
    });
    expect(loadStatsConfig({})).toEqual({ timeoutMs: 10_000 });
  });
  it('names every bad variable', () => {
    expect(() => loadStatsConfig({ PROMETHEUS_URL: 'ftp://x', PROMETHEUS_TIMEOUT_MS: 'soon' })).toThrow(
      /PROMETHEUS_URL must be an http\(s\) URL[\s\S]*PROMETHEUS_TIMEOUT_MS/,
    );
  });
});
