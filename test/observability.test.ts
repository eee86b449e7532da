// Unit checks of the observability pieces that need no Prometheus: the controller's transition
// metrics, and the dashboard and rules files' shape (the PromQL itself runs against a real
// Prometheus in observability.int.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import { createMetrics } from '../controller/metrics.ts';

const root = join(import.meta.dirname, '..');

const none = () => new Map<string, number>();
const sources = {
  queueDepth: () => 0,
  statusPending: () => 0,
  requestsByPhase: none,
  running: () => 0,
  waiting: () => 0,
  informerRestarts: none,
};

function request(status: InferenceRequest['status']): InferenceRequest {
  return {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'InferenceRequest',
    metadata: { name: 'r', namespace: 'ns' },
    spec: { agent: 'developer', prompt: 'x' },
    ...(status ? { status } : {}),
  } as InferenceRequest;
}

async function value(
  m: ReturnType<typeof createMetrics>,
  name: string,
  labels: Record<string, string | number>,
) {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = metric?.values.find((x) =>
    Object.entries(labels).every(([k, l]) => (x.labels as Record<string, unknown>)[k] === l),
  );
  return v?.value;
}

describe('controller transition metrics', () => {
  it('counts a terminal transition once, with its run duration, by phase and resolved model', async () => {
    const m = createMetrics(sources, { defaults: false });
    const running = request({ phase: 'Running', resolvedModel: 'sonnet', startedAt: '2026-01-01T00:00:00Z' });
    const done = request({
      phase: 'Failed',
      resolvedModel: 'sonnet',
      startedAt: '2026-01-01T00:00:00Z',
      completedAt: '2026-01-01T00:01:30Z',
    });
    m.observeTransition(running, done);
    m.observeTransition(done, done); // a later update of a finished request counts nothing
    expect(await value(m, 'ai_agents_requests_finished_total', { phase: 'Failed', model: 'sonnet' })).toBe(1);
    expect(
      await value(m, 'ai_agents_run_duration_seconds', { phase: 'Failed', model: 'sonnet', le: 120 }),
    ).toBe(1);
    expect(await value(m, 'ai_agents_run_duration_seconds', { phase: 'Failed', le: 60 })).toBe(0);
  });

  it('counts usage growth as tokens and cost, never twice', async () => {
    const m = createMetrics(sources, { defaults: false });
    const a = request({ phase: 'Running', resolvedModel: 'sonnet' });
    const b = request({
      phase: 'Running',
      resolvedModel: 'sonnet',
      usage: { inputTokens: 100, outputTokens: 40, costUsd: 0.25 },
    });
    const c = request({
      phase: 'Succeeded',
      resolvedModel: 'sonnet',
      usage: { inputTokens: 150, outputTokens: 40, costUsd: 0.5 },
    });
    m.observeTransition(a, b);
    m.observeTransition(b, c);
    m.observeTransition(c, c);
    expect(await value(m, 'ai_agents_tokens_total', { model: 'sonnet', direction: 'input' })).toBe(150);
    expect(await value(m, 'ai_agents_tokens_total', { model: 'sonnet', direction: 'output' })).toBe(40);
    expect(await value(m, 'ai_agents_cost_usd_total', { model: 'sonnet' })).toBe(0.5);
    // a newly resolved model gets zero series at once, so its first finish shows as an increase
    m.observeTransition(request({ phase: 'Pending' }), request({ phase: 'Queued', resolvedModel: 'haiku' }));
    expect(await value(m, 'ai_agents_requests_finished_total', { phase: 'Succeeded', model: 'haiku' })).toBe(
      0,
    );
    expect(await value(m, 'ai_agents_tokens_total', { model: 'haiku', direction: 'output' })).toBe(0);
    expect(await value(m, 'ai_agents_cost_usd_total', { model: 'haiku' })).toBe(0);
    // Cancelled before it ever resolved a model: the label is "none", not the caller's spec.model
    m.observeTransition(request({ phase: 'Pending' }), request({ phase: 'Cancelled' }));
    expect(await value(m, 'ai_agents_requests_finished_total', { phase: 'Cancelled', model: 'none' })).toBe(
      1,
    );
  });
});

describe('dashboard and rules files', () => {
  const dashboard = JSON.parse(
    readFileSync(join(root, 'charts/ai-agents-main/files/grafana-dashboard.json'), 'utf8'),
  ) as { uid: string; panels: { title: string; targets?: { expr: string }[] }[] };
  const rules = parse(
    readFileSync(join(root, 'charts/ai-agents-main/files/prometheus-rules.yaml'), 'utf8'),
  ) as {
    groups: { name: string; rules: { alert?: string; expr: string; for?: string; annotations?: object }[] }[];
  };

  it('every dashboard target uses only ai_agents_ metrics', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    for (const e of exprs) {
      const names = [...e.matchAll(/\b([a-z_:][a-z0-9_:]*)\s*[{[]/g)].map((x) => x[1]!);
      const metrics = names.filter((n) => !['by', 'without', 'on', 'ignoring'].includes(n));
      expect(metrics.length, e).toBeGreaterThan(0);
      for (const n of metrics) expect(n, e).toMatch(/^ai_agents_/);
    }
  });

  it('the four alerts the issue names exist, each with for: and a summary and description', () => {
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    const names = alerts.map((a) => a.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        'AiAgentsQueueStuck',
        'AiAgentsFailureRateHigh',
        'AiAgentsCallbacksFailing',
        'AiAgentsControllerNotLeading',
      ]),
    );
    for (const a of alerts) {
      expect(a.for, a.alert).toMatch(/^\d+[smh]$/);
      expect(a.annotations, a.alert).toMatchObject({
        summary: expect.any(String),
        description: expect.any(String),
      });
    }
  });
});
