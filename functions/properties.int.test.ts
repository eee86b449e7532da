// The public-endpoint properties against the real apiserver, as the functions' ServiceAccount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestKey, mintIngestToken } from '../api/v1alpha1/ingest-token.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { ingestProperty, type PropertyTarget, probeProperty, submitProperty } from './testing/properties.ts';
import { type Served, serveFunctions } from './testing/serve.ts';
import { functionsKubeConfig } from './testing/service-account.ts';

const KEY = 'prop-key-0123456789abcdef';
const SECRET = 'property-ingest-secret-0123456789abcdef';
let ns: TestNamespace;
let fn: Served;
let t: PropertyTarget;

const plural = { group: 'labrats.work', version: 'v1alpha1', plural: 'inferencerequests' };
const count = async () =>
  ((await ns.custom.listNamespacedCustomObject({ ...plural, namespace: ns.name })) as { items: unknown[] })
    .items.length;

beforeAll(async () => {
  ns = await createTestNamespace('fnprop');
  await eventually('InferenceRequest storage ready', async () => ((await count()) >= 0 ? true : undefined));
  fn = await serveFunctions(await functionsKubeConfig(ns), ns.name, {
    SUBMIT_API_KEYS: `prop:${KEY}`,
    INGEST_TOKEN_SECRET: SECRET,
    SUBMIT_RATE_BURST: '100000',
    SUBMIT_RATE_PER_MINUTE: '1000000',
    INGEST_MAX_BODY_BYTES: '65536',
    STATUS_FLUSH_INTERVAL_MS: '10',
  });
  const ids: { id: string; uid: string }[] = [];
  for (const p of ['a', 'b']) {
    const res = await fn.app.request('/api/jobs/submit', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'developer', prompt: p }),
    });
    const id = ((await res.json()) as { id: string }).id;
    const obj = (await ns.custom.getNamespacedCustomObject({ ...plural, namespace: ns.name, name: id })) as {
      metadata: { uid: string };
    };
    ids.push({ id, uid: obj.metadata.uid });
  }
  const mint = (r: { id: string; uid: string }) =>
    mintIngestToken(
      ingestKey(SECRET),
      { namespace: ns.name, request: r.id, uid: r.uid },
      new Date(Date.now() + 3600_000),
    );
  t = {
    app: fn.app,
    apiKey: KEY,
    request: ids[0]!.id,
    uid: ids[0]!.uid,
    token: await mint(ids[0]!),
    otherToken: await mint(ids[1]!),
    countRequests: count,
    namespace: ns.name,
  };
});
afterAll(async () => {
  await fn?.close();
  await ns?.cleanup();
});

describe('public endpoints under arbitrary input (real apiserver, ServiceAccount token)', () => {
  it('submit: never 5xx, never a partial write', async () => {
    const tally = await submitProperty(t, 120);
    expect(tally.get(202)).toBeGreaterThan(0);
    expect(tally.get(400)).toBeGreaterThan(0);
  });
  it('ingest: never 5xx, a refused batch appends nothing and writes no status', async () => {
    const tally = await ingestProperty(t, 150);
    expect(tally.get(200)).toBeGreaterThan(0);
    expect(tally.get(403)).toBeGreaterThan(0);
  });
  it('health, ready, metrics: never 5xx', async () => {
    expect((await probeProperty(t, 50)).get(200)).toBeGreaterThan(0);
  });
});
