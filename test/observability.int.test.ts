// Observability against a real Prometheus (Debian `prometheus`, started here on loopback with a
// 1 s scrape interval): it scrapes the controller (in-process, real apiserver, kwok runs the pods)
// and the functions (Node server) while requests run. Then:
//   - /api/stats/timeseries returns the expected series for the named metrics;
//   - /api/stats/summary counts by phase from the apiserver;
//   - every dashboard query runs through /api/v1/query without error (and nearly all have data);
//   - `promtool check rules` accepts the rules file, Prometheus evaluates every rule without error,
//     and AiAgentsControllerNotLeading goes pending once the controller is gone;
//   - with Prometheus stopped, the stats endpoint answers 503.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { collectDefaultMetrics } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import { ingestKey, mintIngestToken } from '../api/v1alpha1/ingest-token.ts';
import type { Running } from '../controller/main.ts';
import {
  adminClient,
  createFixtures,
  getRequest,
  KWOK,
  runInProcess,
  TEST_INGEST_SECRET,
  testEnv,
} from '../controller/testing.ts';
import { type App, createApp } from '../functions/app.ts';
import { loadConfig } from '../functions/config.ts';
import { createFileEventStore } from '../functions/lib/event-store.ts';
import { createKubeClient } from '../functions/lib/kube-client.ts';
import { createLogger } from '../functions/lib/log.ts';
import { STAT_METRIC_NAMES } from '../functions/stats/catalog.ts';
import { asUser, testRequireRole } from '../functions/testing/auth.ts';
import { createTestNamespace, eventually, type TestNamespace } from './kube.ts';

const root = join(import.meta.dirname, '..');
const RULES = join(root, 'charts/ai-agents-main/files/prometheus-rules.yaml');
const DASHBOARD = join(root, 'charts/ai-agents-main/files/grafana-dashboard.json');
const KEY = 'obs-key-0123456789abcdef';

interface Series {
  labels: Record<string, string>;
  points: [number, number | null][];
}
interface Timeseries {
  metric: string;
  series: Series[];
}

let ns: TestNamespace;
let controller: Running | undefined;
let fn: { url: string; app: App; close(): Promise<void> };
let prom: { url: string; proc: ChildProcess; output(): string; stop(): Promise<void> } | undefined;
let callbackServer: Server;
let callbacksReceived = 0;
const dirs: string[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startPrometheus(
  port: number,
  targets: { job: string; port: number; pod: string }[],
  namespace: string,
) {
  const dir = mkdtempSync(join(tmpdir(), 'ai-agents-prom-'));
  dirs.push(dir);
  const scrape = targets
    .map(
      (t) => `  - job_name: ${t.job}
    static_configs:
      - targets: ['127.0.0.1:${t.port}']
        labels: {namespace: '${namespace}', pod: '${t.pod}'}`,
    )
    .join('\n');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nrule_files:\n  - ${RULES}\nscrape_configs:\n${scrape}\n`,
  );
  let out = '';
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    `Prometheus ready (${out.slice(-500)})`,
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return {
    url,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && !proc.signalCode) proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function promQuery(
  query: string,
): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const res = await fetch(`${prom!.url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }).toString(),
  });
  return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

async function promValue(query: string): Promise<number | undefined> {
  const r = await promQuery(query);
  const first = r.data?.result[0] as { value: [number, string] } | undefined;
  return first ? Number(first.value[1]) : undefined;
}

async function stats(metric: string, extra = 'range=3m&step=1s'): Promise<Timeseries> {
  const res = await fetch(`${fn.url}/api/stats/timeseries?metric=${metric}&${extra}`, {
    headers: asUser('viewer'),
  });
  const text = await res.text();
  expect(res.status, `${metric}: ${text.slice(0, 300)}`).toBe(200);
  return JSON.parse(text) as Timeseries;
}

const maxOf = (s: Series | undefined) =>
  Math.max(-1, ...(s?.points ?? []).map(([, v]) => v).filter((v): v is number => v !== null));
const find = (ts: Timeseries, labels: Record<string, string>) =>
  ts.series.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

async function submit(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${fn.url}/api/jobs/submit`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'developer', ...body }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return (JSON.parse(text) as { id: string }).id;
}

const phaseOf = async (name: string) => (await getRequest(client(), ns.name, name)).status?.phase;
const client = () => adminClient(inject('kubeconfig'));

const submitted: Record<string, string> = {};

beforeAll(async () => {
  ns = await createTestNamespace('obs');
  await createFixtures(client(), ns.name);

  callbackServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      callbacksReceived++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => callbackServer.listen(0, '127.0.0.1', r));

  // the controller, in-process against the real apiserver (kwok plays the kubelet)
  controller = await runInProcess(
    inject('kubeconfig'),
    testEnv(ns.name, { WORKER_CONCURRENCY: '2', CALLBACK_ALLOWED_HOSTS: '127.0.0.1' }),
  );
  // the functions, served over HTTP with default process metrics as main.node.ts is to register them
  const workspace = mkdtempSync(join(tmpdir(), 'ai-agents-obs-fn-'));
  dirs.push(workspace);
  const promPort = await freePort();
  const config = loadConfig({
    WORKSPACE_DIR: workspace,
    NAMESPACE: ns.name,
    LOG_LEVEL: 'warn',
    SUBMIT_API_KEYS: `ci:${KEY}`,
    INGEST_TOKEN_SECRET: TEST_INGEST_SECRET,
    STATUS_FLUSH_INTERVAL_MS: '200',
  });
  const app = createApp({
    config,
    kube: createKubeClient(ns.kc, ns.name),
    events: createFileEventStore(workspace),
    auth: { requireRole: testRequireRole },
    log: createLogger('warn', () => {}),
    // Prometheus starts below, on this port, once it knows the functions' port
    stats: { prometheusUrl: `http://127.0.0.1:${promPort}`, timeoutMs: 5_000, minRateWindowSeconds: 4 },
  });
  collectDefaultMetrics({ register: app.services.metrics.registry, prefix: 'ai_agents_functions_' });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  fn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    app,
    async close() {
      await app.services.statusWriter.flushAll();
      await new Promise<void>((r) => {
        server.close(() => r());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };

  prom = await startPrometheus(
    promPort,
    [
      { job: 'ai-agents-controller', port: controller.port, pod: 'controller-0' },
      { job: 'ai-agents-api', port: Number(new URL(fn.url).port), pod: 'api-0' },
    ],
    ns.name,
  );
  await eventually('both targets up', async () => ((await promValue('sum(up)')) === 2 ? true : undefined), {
    timeoutMs: 30_000,
  });

  // Some work. Prometheus cannot see the increase of a series that is born non-zero, so the test
  // waits for it to scrape the first submission (and the model's zero series) before the rest.
  const cb = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/done`;
  submitted.usage = await submit({ prompt: 'usage', labels: KWOK.hold });
  const usageName = submitted.usage;
  await eventually(
    'first submission and the model series scraped',
    async () =>
      (await promValue('sum(ai_agents_submissions_total)')) === 1 &&
      (await promValue('count(ai_agents_tokens_total{model="sonnet"})')) === 2
        ? true
        : undefined,
    { timeoutMs: 60_000 },
  );
  // three that succeed (one with a callback), one that fails
  submitted.ok1 = await submit({ prompt: 'ok 1', labels: KWOK.runFor('1s') });
  submitted.ok2 = await submit({ prompt: 'ok 2', labels: KWOK.runFor('1s'), callback: { url: cb } });
  submitted.ok3 = await submit({ prompt: 'ok 3', labels: KWOK.runFor('1s') });
  submitted.bad = await submit({ prompt: 'bad', labels: KWOK.fail(1) });

  // the held run reports its tokens and cost through ingest, then is cancelled
  await eventually(
    'usage run Running',
    async () => ((await phaseOf(usageName)) === 'Running' ? true : undefined),
    {
      timeoutMs: 60_000,
    },
  );
  const ir = await getRequest(client(), ns.name, usageName);
  const token = await mintIngestToken(
    ingestKey(TEST_INGEST_SECRET),
    { namespace: ns.name, request: usageName, uid: ir.metadata.uid! },
    new Date(Date.now() + 3_600_000),
  );
  const ingest = async (events: Record<string, unknown>[]) => {
    const res = await fetch(`${fn.url}/api/events/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ request: usageName, events }),
    });
    expect(res.status, await res.text()).toBe(200);
  };
  await ingest([{ seq: 1, type: 'started', time: new Date().toISOString() }]);
  await eventually('first ingest scraped', async () =>
    (await promValue('sum(ai_agents_ingest_events_total)')) === 1 ? true : undefined,
  );
  await ingest([
    {
      seq: 2,
      type: 'completed',
      time: new Date().toISOString(),
      data: { outcome: 'succeeded', usage: { inputTokens: 1200, outputTokens: 300, costUsd: 0.42 } },
    },
  ]);
  await eventually('usage in status', async () => {
    const r = (await getRequest(client(), ns.name, usageName)) as InferenceRequest;
    return r.status?.usage?.inputTokens === 1200 ? true : undefined;
  });
  const cancel = await fetch(`${fn.url}/api/jobs/${usageName}/cancel`, {
    method: 'POST',
    headers: { ...asUser('operator'), 'content-type': 'application/json' },
    body: '{}',
  });
  expect(cancel.status, await cancel.text()).toBeLessThan(300);

  const want: Record<string, string> = {
    ok1: 'Succeeded',
    ok2: 'Succeeded',
    ok3: 'Succeeded',
    bad: 'Failed',
    usage: 'Cancelled',
  };
  for (const [k, phase] of Object.entries(want)) {
    const name = submitted[k]!;
    await eventually(`${k} ${phase}`, async () => ((await phaseOf(name)) === phase ? true : undefined), {
      timeoutMs: 90_000,
    });
  }
  await eventually('callback delivered', () => (callbacksReceived > 0 ? true : undefined), {
    timeoutMs: 30_000,
  });
  // Prometheus has scraped the end state
  await eventually(
    'finished requests scraped',
    async () => ((await promValue('sum(ai_agents_requests_finished_total)')) ?? 0) >= 5 || undefined,
    { timeoutMs: 30_000 },
  );
}, 300_000);

afterAll(async () => {
  await prom?.stop();
  await controller?.stop();
  await fn?.close();
  await new Promise<void>((r) => (callbackServer ? callbackServer.close(() => r()) : r()));
  await ns?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Polls the stats endpoint until the series with these labels has a point above zero. The stats
 * end is aligned down to the step, so the newest scrape can be a step away.
 */
async function risen(metric: string, labels: Record<string, string> = {}): Promise<Timeseries> {
  return eventually(`${metric} ${JSON.stringify(labels)} above zero`, async () => {
    const ts = await stats(metric);
    return maxOf(find(ts, labels)) > 0 ? ts : undefined;
  });
}

describe('stats from a real Prometheus', () => {
  it('submissions, throughput, failure rate and requests by phase', async () => {
    const submissions = await risen('submissions', { source: 'api' });
    expect(submissions.metric).toBe('submissions');
    for (const phase of ['Succeeded', 'Failed', 'Cancelled']) await risen('throughput', { phase });

    const failure = await risen('failure_rate');
    expect(failure.series).toHaveLength(1);
    expect(maxOf(failure.series[0])).toBeLessThanOrEqual(1);

    const byPhase = await eventually('requests_by_phase reaches the end state', async () => {
      const ts = await stats('requests_by_phase');
      const last = (phase: string) => find(ts, { phase })?.points.at(-1)?.[1];
      return last('Succeeded') === 3 && last('Failed') === 1 && last('Cancelled') === 1 ? ts : undefined;
    });
    expect(find(byPhase, { phase: 'Running' })?.points.at(-1)?.[1]).toBe(0);
  });

  it('queue, admission, Jobs and run duration from the controller', async () => {
    const queue = await stats('queue_depth');
    // the leader filter keeps one series (the controller runs without election: it leads)
    expect(queue.series).toHaveLength(1);
    expect(queue.series[0]!.labels).toEqual({});
    expect(queue.series[0]!.points.length).toBeGreaterThan(0);
    expect(typeof queue.series[0]!.points.at(-1)![1]).toBe('number');

    await risen('jobs_created');
    await risen('admission_wait_p95');
    await risen('duration_p95');
    await risen('runs_active');
  });

  it('tokens and cost by model, callbacks and API traffic', async () => {
    await risen('tokens', { model: 'sonnet', direction: 'input' });
    await risen('tokens', { model: 'sonnet', direction: 'output' });
    const cost = await risen('cost', { model: 'sonnet' });
    expect(Object.keys(cost.series[0]!.labels)).toEqual(['model']);
    await risen('callbacks', { outcome: 'delivered' });
    await risen('http_requests', { status: '202' });
    await risen('ingest_events', { result: 'accepted' });
  });

  it('every catalog metric runs (no PromQL error) and points are [unixSeconds, value] on the step', async () => {
    for (const name of STAT_METRIC_NAMES) {
      const ts = await stats(name, 'range=2m&step=2s');
      for (const s of ts.series) {
        for (const [t, v] of s.points) {
          expect(t % 2, name).toBe(0);
          expect(v === null || typeof v === 'number', name).toBe(true);
        }
      }
    }
  });

  it('summary counts by phase straight from the apiserver', async () => {
    const res = await fetch(`${fn.url}/api/stats/summary`, { headers: asUser('viewer') });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      byPhase: { Pending: 0, Queued: 0, Running: 0, Succeeded: 3, Failed: 1, Cancelled: 1, TimedOut: 0 },
      total: 5,
    });
    expect((await fetch(`${fn.url}/api/stats/summary`)).status).toBe(401);
  });
});

describe('dashboard and rules against that Prometheus', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; query?: { query: string } }[] };
  };
  const exprs = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
  );

  it('every dashboard query runs through /api/v1/query without error; all but the webhook one have data', async () => {
    expect(exprs.length).toBeGreaterThan(20);
    const run = async () => {
      const empty: string[] = [];
      for (const { title, expr } of exprs) {
        const q = expr
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$__interval', '15s')
          .replaceAll('$__range', '1h')
          .replaceAll('$namespace', ns.name);
        const r = await promQuery(q);
        expect(r.status, `${title}: ${q} → ${r.error}`).toBe('success');
        if (!r.data?.result.length) empty.push(title);
      }
      return empty;
    };
    // a rate needs two samples of a series: wait for the scrapes, failing on any query error
    const empty = await eventually('dashboard queries have data', async () => {
      const e = await run();
      return e.length <= 1 ? e : undefined;
    });
    expect(empty).toEqual(['Webhook deliveries']);
  });

  it('the namespace variable finds the namespace', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'namespace')!;
    const metric = /label_values\((\w+), namespace\)/.exec(variable.query!.query)![1]!;
    const res = await fetch(`${prom!.url}/api/v1/label/namespace/values?match[]=${metric}`);
    expect(((await res.json()) as { data: string[] }).data).toContain(ns.name);
  });

  it('promtool accepts the rules file', () => {
    const out = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool unit tests: each alert fires when it should and stays quiet when it should not', () => {
    const out = execFileSync('promtool', ['test', 'rules', 'prometheus-rules.promtest.yaml'], {
      cwd: join(root, 'test/fixtures'),
      encoding: 'utf8',
    });
    expect(out).toMatch(/SUCCESS/);
  });

  it('Prometheus evaluates every rule without error, and nothing fires while all is well', async () => {
    const groups = await eventually('every rule evaluated', async () => {
      const res = await fetch(`${prom!.url}/api/v1/rules`);
      const body = (await res.json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string; state?: string }[] }[] };
      };
      const rules = body.data.groups.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((r) => r.health !== 'unknown') ? rules : undefined;
    });
    expect(groups.length).toBe(8);
    for (const r of groups)
      expect({ name: r.name, health: r.health, error: r.lastError ?? '' }).toEqual({
        name: r.name,
        health: 'ok',
        error: '',
      });
    const active = groups.filter((r) => r.state !== 'inactive').map((r) => r.name);
    for (const quiet of [
      'AiAgentsQueueStuck',
      'AiAgentsCallbacksFailing',
      'AiAgentsCallbacksGivingUp',
      'AiAgentsControllerNotLeading',
      'AiAgentsControllerSplitBrain',
      'AiAgentsApiErrors',
    ])
      expect(active, quiet).not.toContain(quiet);
  });

  it('AiAgentsControllerNotLeading goes pending once the controller is gone', async () => {
    await controller!.stop();
    controller = undefined;
    await eventually(
      'NotLeading pending',
      async () => {
        const res = await fetch(`${prom!.url}/api/v1/alerts`);
        const body = (await res.json()) as {
          data: { alerts: { labels: { alertname: string }; state: string }[] };
        };
        return body.data.alerts.some((a) => a.labels.alertname === 'AiAgentsControllerNotLeading')
          ? true
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
  });
});

describe('Prometheus down', () => {
  it('the stats endpoint answers 503 in the error envelope; the summary still works', async () => {
    await prom!.stop();
    const res = await fetch(`${fn.url}/api/stats/timeseries?metric=queue_depth&range=5m`, {
      headers: asUser('viewer'),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('upstream_unavailable');
    expect(body.error.message).toMatch(/Prometheus is unreachable/);
    expect(body.error.requestId).toBeTruthy();
    expect((await fetch(`${fn.url}/api/stats/summary`, { headers: asUser('viewer') })).status).toBe(200);
  });
});
