// Baselines: how fast the apiserver itself creates an InferenceRequest and a Job through
// @kubernetes/client-node. Later benchmarks report their rates as ratios against these.
import { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { exampleInferenceRequest } from '../api/v1alpha1/examples.ts';
import { GROUP, VERSION } from '../api/v1alpha1/index.ts';
import { type BenchContext, type BenchRow, rate } from './harness.ts';

export const BASELINE_IR = 'raw InferenceRequest create/s';
export const BASELINE_JOB = 'raw Job create/s';

const COUNT = 600;
const CONCURRENCY = 16;

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const cp = await ctx.controlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const batch = kc.makeApiClient(BatchV1Api);
  const namespace = `bench-raw-${Date.now()}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });

  const ir = (i: number) => ({ ...exampleInferenceRequest(`raw-${i}`), metadata: { name: `raw-${i}` } });
  // warm-up: connection pool, watch cache, schema compilation
  for (let i = 0; i < 20; i++) {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'inferencerequests',
      body: ir(100_000 + i),
    });
  }
  const irRate = await rate(COUNT, CONCURRENCY, (i) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'inferencerequests',
      body: ir(i),
    }),
  );
  const jobRate = await rate(COUNT, CONCURRENCY, (i) =>
    batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: `raw-job-${i}` },
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
        },
      },
    }),
  );
  ctx.baselines.set(BASELINE_IR, irRate.perSecond);
  ctx.baselines.set(BASELINE_JOB, jobRate.perSecond);
  ctx.log(
    `${COUNT} InferenceRequests in ${irRate.seconds.toFixed(2)} s, ${COUNT} Jobs in ${jobRate.seconds.toFixed(2)} s`,
  );
  await core.deleteNamespace({ name: namespace });
  return [
    { measure: BASELINE_IR, value: irRate.perSecond, unit: 'objects/s' },
    { measure: BASELINE_JOB, value: jobRate.perSecond, unit: 'objects/s' },
  ];
}
