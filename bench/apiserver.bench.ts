// Baselines: how fast the apiserver itself creates an InferenceRequest and a Job, over one pool
// of kept-alive connections (bench/raw-client.ts). Later benchmarks report their rates as ratios
// against these. client-node's generated APIs (a new TLS connection per call) are measured too,
// for information only.
import { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { exampleInferenceRequest } from '../api/v1alpha1/examples.ts';
import { GROUP, VERSION } from '../api/v1alpha1/index.ts';
import { type BenchContext, type BenchRow, rate, SIDE_BY_SIDE, sideBySide } from './harness.ts';
import { rawClient } from './raw-client.ts';

export const BASELINE_IR = 'raw InferenceRequest create/s';
export const BASELINE_JOB = 'raw Job create/s';

const COUNT = 1000;
const CONCURRENCY = 16;

export const rawJob = (name: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    backoffLimit: 0,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
  },
});

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const cp = await ctx.controlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = `bench-raw-${Date.now()}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const raw = await rawClient(kc);
  const irPath = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/inferencerequests`;
  const jobPath = `/apis/batch/v1/namespaces/${namespace}/jobs`;
  const ir = (name: string) => ({ ...exampleInferenceRequest(name), metadata: { name } });

  // warm-up: connection pool, watch cache, schema compilation
  for (let i = 0; i < 50; i++) await raw.create(irPath, ir(`warm-${i}`));
  for (let i = 0; i < 50; i++) await raw.create(jobPath, rawJob(`warm-${i}`));
  const irRate = await rate(COUNT, CONCURRENCY, (i) => raw.create(irPath, ir(`raw-${i}`)));
  const jobRate = await rate(COUNT, CONCURRENCY, (i) => raw.create(jobPath, rawJob(`raw-${i}`)));
  // for information: the side-by-side method (harness.ts) with the same creates on both sides, so
  // the ratio's true value is 1 — how far it reads off says what the later ratios can tell apart
  let same = 0;
  const sameCreate = () => raw.create(irPath, ir(`same-${same++}`));
  const aa = await sideBySide(SIDE_BY_SIDE.rounds, SIDE_BY_SIDE.per, CONCURRENCY, sameCreate, sameCreate);
  await raw.close();
  ctx.log(
    `raw creates side by side with themselves: median round ratio ${aa.ratio.toFixed(3)}; ` +
      `rounds from ${Math.min(...aa.roundRatios).toFixed(2)} to ${Math.max(...aa.roundRatios).toFixed(2)}`,
  );

  // for information: the same creates through client-node's generated APIs
  const custom = kc.makeApiClient(CustomObjectsApi);
  const batch = kc.makeApiClient(BatchV1Api);
  const cnIr = await rate(COUNT / 2, CONCURRENCY, (i) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'inferencerequests',
      body: ir(`cn-${i}`),
    }),
  );
  const cnJob = await rate(COUNT / 2, CONCURRENCY, (i) =>
    batch.createNamespacedJob({ namespace, body: rawJob(`cn-${i}`) }),
  );

  ctx.baselines.set(BASELINE_IR, irRate.perSecond);
  ctx.baselines.set(BASELINE_JOB, jobRate.perSecond);
  ctx.log(
    `${COUNT} InferenceRequests in ${irRate.seconds.toFixed(2)} s, ${COUNT} Jobs in ${jobRate.seconds.toFixed(2)} s` +
      ` (client-node: ${cnIr.perSecond.toFixed(0)} / ${cnJob.perSecond.toFixed(0)} per s)`,
  );
  await core.deleteNamespace({ name: namespace });
  return [
    { measure: BASELINE_IR, value: irRate.perSecond, unit: 'objects/s' },
    { measure: BASELINE_JOB, value: jobRate.perSecond, unit: 'objects/s' },
    {
      measure: 'InferenceRequest create/s via client-node (for information)',
      value: cnIr.perSecond,
      unit: 'objects/s',
    },
    { measure: 'Job create/s via client-node (for information)', value: cnJob.perSecond, unit: 'objects/s' },
    {
      measure: 'side by side, raw creates against themselves (for information: reads 1 when exact)',
      value: aa.perSecond.subject,
      unit: 'objects/s',
      baseline: aa.perSecond.raw,
      baselineName: 'the same creates',
      ratio: aa.ratio,
    },
  ];
}
