// Webhook deliveries per second through the receiver (signature check + dedup by delivery id +
// InferenceRequest create + delivery ledger), against the same apiserver as the raw create baseline.
// Senders sign ahead of time (their cost, not ours); the app is served in-process (app.request).
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { Hono } from 'hono';
import { GROUP, VERSION } from '../api/v1alpha1/index.ts';
import { errorHandler } from '../functions/lib/errors.ts';
import { createKubeClient } from '../functions/lib/kube-client.ts';
import { silentLogger } from '../functions/lib/log.ts';
import { createWebhooksApp } from '../functions/webhooks/app.ts';
import {
  example,
  githubDelivery,
  githubSource,
  SECRET,
  type SignedRequest,
} from '../functions/webhooks/fixtures.ts';
import { createLedger } from '../functions/webhooks/ledger.ts';
import { createWebhookCore } from '../functions/webhooks/store.ts';
import { BASELINE_IR } from './apiserver.bench.ts';
import { type BenchContext, type BenchRow, percentile, rate, SIDE_BY_SIDE, sideBySide } from './harness.ts';
import { copies, rawClient, type StoredObject } from './raw-client.ts';

const COUNT = SIDE_BY_SIDE.rounds * SIDE_BY_SIDE.per;
const DUPLICATES = 1500;
const CONCURRENCY = 16;
const TARGET_PER_SECOND = 500;
/** Where the apiserver is the limit: the receiver should keep at least this share of raw creates. */
const MIN_RATIO = 0.8;

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const cp = await ctx.controlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const namespace = `bench-webhooks-${Date.now()}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'gh-secret' }, stringData: { secret: SECRET } },
  });
  const source = githubSource('gh');
  source.spec.rules = source.spec.rules.filter((r) => r.name === 'label-bug');
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'webhooksources',
    body: source,
  });

  const webhookCore = createWebhookCore(kc, namespace);
  const ledger = createLedger({ core: webhookCore, log: silentLogger });
  const app = new Hono();
  app.route(
    '/api/webhooks',
    createWebhooksApp({
      kube: createKubeClient(kc, namespace),
      core: webhookCore,
      log: silentLogger,
      ledger,
    }),
  );
  app.onError(errorHandler(silentLogger));

  const payload = example('issues', 'labeled');
  const sign = async (n: number, prefix: string) =>
    Promise.all(
      Array.from({ length: n }, (_, i) => githubDelivery('issues', payload, { id: `${prefix}-${i}` })),
    );
  const warm = await sign(20, 'warm');
  const fresh = await sign(COUNT, 'bench');
  const latencies: number[] = [];
  const send = async (d: SignedRequest, want: string) => {
    const t = performance.now();
    const res = await app.request('/api/webhooks/gh', { method: 'POST', headers: d.headers, body: d.body });
    latencies.push(performance.now() - t);
    const body = (await res.json()) as { outcome?: string };
    if (res.status !== 202 || body.outcome !== want) {
      throw new Error(`delivery answered ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    }
  };
  for (const d of warm) await send(d, 'created');
  // the apiserver's limit, side by side: raw creates of exactly the object a delivery stores,
  // in alternating rounds with the deliveries so that a shared machine's drift falls on both
  const stored = (
    (await custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'inferencerequests',
      limit: 1,
    })) as { items: StoredObject[] }
  ).items[0]!;
  const pooled = await rawClient(kc);
  const irPath = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/inferencerequests`;
  const raw = copies(pooled, irPath, stored);
  for (let i = 0; i < 50; i++) await raw(100_000 + i);
  latencies.length = 0;
  const sbs = await sideBySide(SIDE_BY_SIDE.rounds, SIDE_BY_SIDE.per, CONCURRENCY, raw, (i) =>
    send(fresh[i]!, 'created'),
  );
  await pooled.close();
  const rawRate = { perSecond: sbs.perSecond.raw };
  const created = { perSecond: sbs.perSecond.subject };
  const createdLatencies = [...latencies].sort((a, b) => a - b);
  latencies.length = 0;
  const dupes = await rate(DUPLICATES, CONCURRENCY, (i) => send(fresh[i % COUNT]!, 'duplicate'));
  await ledger.flush();

  const list = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'inferencerequests',
  })) as { items: unknown[] };
  const deliveredRequests = (list.items as { metadata: { name: string } }[]).filter(
    (o) => !o.metadata.name.startsWith('raw-'),
  ).length;
  if (deliveredRequests !== COUNT + warm.length) {
    throw new Error(`expected ${COUNT + warm.length} requests, found ${deliveredRequests}`);
  }
  ctx.log(
    `${COUNT} deliveries at ${created.perSecond.toFixed(0)}/s (p50 ${percentile(createdLatencies, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(createdLatencies, 99).toFixed(1)} ms); ${DUPLICATES} redeliveries in ${dupes.seconds.toFixed(2)} s; ` +
      `raw creates of the same object, side by side: ${rawRate.perSecond.toFixed(0)}/s; round ratios ${sbs.roundRatios.map((r) => r.toFixed(2)).join(', ')}`,
  );
  await core.deleteNamespace({ name: namespace });

  const baseline = ctx.baselines.get(BASELINE_IR);
  const measure = 'webhook deliveries (verify + dedup + create)/s';
  const rows: BenchRow[] = [];
  // the goal: 500/s, or the apiserver's own limit (raw creates of the same object) when that is lower
  rows.push({
    measure: `${measure} (median of round ratios)`,
    value: created.perSecond,
    unit: 'deliveries/s',
    baseline: rawRate.perSecond,
    baselineName: 'raw create/s of the same object (side by side)',
    ratio: sbs.ratio,
    target: `>= ${TARGET_PER_SECOND}/s or ratio >= ${MIN_RATIO}`,
    pass: created.perSecond >= TARGET_PER_SECOND || sbs.ratio >= MIN_RATIO,
  });
  if (baseline) {
    rows.push({
      measure: 'webhook deliveries/s vs the run baseline (for information)',
      value: created.perSecond,
      unit: 'deliveries/s',
      baseline,
      baselineName: BASELINE_IR,
      ratio: created.perSecond / baseline,
    });
  }
  rows.push(
    {
      measure: 'webhook delivery p99 latency (create)',
      value: percentile(createdLatencies, 99),
      unit: 'ms',
      target: '<= 10000 ms',
      pass: percentile(createdLatencies, 99) <= 10_000,
    },
    {
      measure: 'webhook redeliveries (verify + dedup → duplicate)/s',
      value: dupes.perSecond,
      unit: 'deliveries/s',
    },
  );
  return rows;
}
