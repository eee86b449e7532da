// fast-check over the public endpoints with the in-memory Kube (many runs, fast); the same
// properties run against the real apiserver in properties.int.test.ts.
import { describe, expect, it } from 'vitest';
import { harness, STATIC_KEY, validSubmit } from './runtime-tests/harness.ts';
import { ingestProperty, type PropertyTarget, probeProperty, submitProperty } from './testing/properties.ts';

async function target(): Promise<PropertyTarget> {
  const h = harness({
    SUBMIT_RATE_BURST: '100000',
    SUBMIT_RATE_PER_MINUTE: '1000000',
    INGEST_MAX_BODY_BYTES: '65536',
    STATUS_FLUSH_INTERVAL_MS: '10',
  });
  const a = ((await (await h.submit(validSubmit)).json()) as { id: string }).id;
  const b = ((await (await h.submit(validSubmit)).json()) as { id: string }).id;
  return {
    app: h.app,
    apiKey: STATIC_KEY,
    request: a,
    uid: (await h.kube.get('InferenceRequest', a)).metadata.uid!,
    token: await h.ingestToken(a),
    otherToken: await h.ingestToken(b),
    executorToken: (await h.executorToken(a)).token,
    countRequests: async () => h.kube.all('InferenceRequest').length,
    namespace: 'ai-agents',
  };
}

describe('public endpoints under arbitrary input (in-memory Kube)', () => {
  it('submit: never 5xx, never a partial write', { timeout: 120_000 }, async () => {
    const tally = await submitProperty(await target(), 400);
    expect(tally.get(202)).toBeGreaterThan(0);
    expect(tally.get(400)).toBeGreaterThan(0);
    expect(tally.get(401)).toBeGreaterThan(0);
  });
  it('ingest: never 5xx, a refused batch appends nothing and writes no status', {
    timeout: 120_000,
  }, async () => {
    const tally = await ingestProperty(await target(), 400);
    expect(tally.get(200)).toBeGreaterThan(0);
    expect(tally.get(400)).toBeGreaterThan(0);
    expect(tally.get(403)).toBeGreaterThan(0);
  });
  it('health, ready, metrics: never 5xx', async () => {
    const tally = await probeProperty(await target(), 100);
    expect(tally.get(200)).toBeGreaterThan(0);
  });
});
