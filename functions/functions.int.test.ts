// The functions against a real apiserver, as their ServiceAccount bound to functions/rbac.yaml,
// over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestKey, mintIngestToken } from '../api/v1alpha1/ingest-token.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { sha256, toHex } from './lib/api-keys.ts';
import { at, parseSse } from './runtime-tests/harness.ts';
import { asUser } from './testing/auth.ts';
import { type Served, serveFunctions } from './testing/serve.ts';
import { functionsKubeConfig } from './testing/service-account.ts';

const KEY = 'ci-key-0123456789abcdef';
const BURST_KEY = 'burst-key-0123456789abcdef';
const SECRET = 'integration-ingest-secret-0123456789abcdef';
const GROUP = { group: 'labrats.work', version: 'v1alpha1' };

let ns: TestNamespace;
let fn: Served;

beforeAll(async () => {
  ns = await createTestNamespace('fn');
  // freshly installed CRDs answer 429 "storage is (re)initializing" for a moment
  await eventually('InferenceRequest storage ready', async () => ((await irs()) ? true : undefined));
  const kc = await functionsKubeConfig(ns);
  fn = await serveFunctions(kc, ns.name, {
    SUBMIT_API_KEYS: `ci:${KEY},burst:${BURST_KEY}`,
    INGEST_TOKEN_SECRET: SECRET,
    SUBMIT_RATE_BURST: '20',
    SUBMIT_RATE_PER_MINUTE: '60',
    STATUS_FLUSH_INTERVAL_MS: '1000',
  });
});
afterAll(async () => {
  await fn?.close();
  await ns?.cleanup();
});

const irs = async () =>
  (
    (await ns.custom.listNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'inferencerequests',
    })) as {
      items: {
        metadata: { name: string; uid: string };
        spec: Record<string, unknown>;
        status?: Record<string, unknown>;
      }[];
    }
  ).items;
const getIr = (name: string) =>
  ns.custom.getNamespacedCustomObject({
    ...GROUP,
    namespace: ns.name,
    plural: 'inferencerequests',
    name,
  }) as Promise<{
    metadata: { name: string; uid: string; labels?: Record<string, string> };
    spec: Record<string, unknown>;
    status?: Record<string, unknown>;
  }>;

function submit(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${fn.url}/api/jobs/submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
async function token(name: string) {
  const ir = await getIr(name);
  return mintIngestToken(
    ingestKey(SECRET),
    { namespace: ns.name, request: name, uid: ir.metadata.uid },
    new Date(Date.now() + 3600_000),
  );
}
function ingest(tok: string, body: unknown) {
  return fetch(`${fn.url}/api/events/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('functions on a real apiserver with their ServiceAccount', () => {
  it('the Role is least privilege: the account cannot touch Jobs, ConfigMaps or write Secrets', async () => {
    const out = (verb: string, res: string) =>
      ns
        .kubectl(['auth', 'can-i', verb, res, `--as=system:serviceaccount:${ns.name}:ai-agents-functions`])
        .trim();
    const can = (verb: string, res: string) => {
      try {
        return out(verb, res);
      } catch (e) {
        return String((e as { stdout?: string }).stdout ?? 'no').trim();
      }
    };
    expect(can('create', 'inferencerequests.labrats.work')).toBe('yes');
    expect(can('patch', 'inferencerequests.labrats.work/status')).toBe('yes');
    expect(can('list', 'secrets')).toBe('yes');
    expect(can('get', 'secrets')).toBe('no');
    expect(can('create', 'secrets')).toBe('no');
    expect(can('create', 'jobs.batch')).toBe('no');
    expect(can('get', 'configmaps')).toBe('no');
    expect(can('update', 'inferencerequests.labrats.work/status')).toBe('no');
    // ingest checks executors' ServiceAccount tokens: a TokenReview, then the token's pod
    expect(can('create', 'tokenreviews.authentication.k8s.io')).toBe('yes');
    expect(can('get', 'pods')).toBe('yes');
    expect(can('list', 'pods')).toBe('no');
  });

  it('submit creates exactly one request; an Idempotency-Key retry returns it (200) without a second', async () => {
    const before = (await irs()).length;
    const res = await submit({ agent: 'developer', prompt: 'one' }, { 'idempotency-key': 'int-1' });
    expect(res.status).toBe(202);
    const first = (await res.json()) as { id: string; links: { self: string } };
    expect(first.links.self).toBe(`/api/jobs/${first.id}`);
    const again = await submit({ agent: 'developer', prompt: 'one' }, { 'idempotency-key': 'int-1' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(first.id);
    const after = await irs();
    expect(after.length).toBe(before + 1);
    const ir = await getIr(first.id);
    expect(ir.spec).toMatchObject({ agent: 'developer', caller: 'ci', source: { kind: 'api' } });
    expect(ir.metadata.labels?.['labrats.work/caller']).toBe('ci');
    expect(JSON.stringify(ir)).not.toContain(KEY);
  });

  it('wrong or missing key is 401 and creates nothing; a key Secret (SHA-256) is accepted', async () => {
    const before = (await irs()).length;
    expect((await submit({ agent: 'developer', prompt: 'x' }, { authorization: '' })).status).toBe(401);
    expect(
      (await submit({ agent: 'developer', prompt: 'x' }, { authorization: 'Bearer nope-nope-nope-nope' }))
        .status,
    ).toBe(401);
    expect((await irs()).length).toBe(before);
    const secretKey = 'team-key-0123456789abcdef';
    await ns.core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'key-team', labels: { 'labrats.work/api-key': 'true' } },
        stringData: { caller: 'team', sha256: toHex(await sha256(secretKey)) },
      },
    });
    // a new key is picked up on the next Secret refresh (an unknown key triggers one, at most once a second)
    const res = await eventually('the new key is accepted', async () => {
      const r = await submit({ agent: 'developer', prompt: 'x' }, { authorization: `Bearer ${secretKey}` });
      if (r.status === 401) return undefined;
      return r;
    });
    expect(res.status).toBe(202);
    const ir = await getIr(((await res.json()) as { id: string }).id);
    expect(ir.spec).toMatchObject({ caller: 'team', apiKeyRef: { name: 'key-team' } });
  });

  it('the per-key rate limit answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 25; i++) {
      const res = await submit(
        { agent: 'developer', prompt: `burst ${i}` },
        { authorization: `Bearer ${BURST_KEY}` },
      );
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
  });

  it('ingest: another request’s token is 403; events fold into status at most once a second', async () => {
    const names: string[] = [];
    for (const p of ['a', 'b']) {
      const r = await fetch(`${fn.url}/api/jobs/submit`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json', 'idempotency-key': `ingest-${p}` },
        body: JSON.stringify({ agent: 'developer', prompt: p }),
      });
      names.push(((await r.json()) as { id: string }).id);
    }
    const [a, b] = names as [string, string];
    const tokA = await token(a);
    const tokB = await token(b);
    const denied = await ingest(tokB, { request: a, events: [at(1, 'started')] });
    expect(denied.status).toBe(403);
    const writesBefore = fn.app.services.statusWriter.writes;
    for (let seq = 1; seq <= 20; seq++) {
      const res = await ingest(tokA, {
        request: a,
        events: [at(seq, 'message', { message: `line ${seq}` })],
      });
      expect(res.status).toBe(200);
    }
    const done = at(21, 'completed', {
      data: { outcome: 'succeeded', usage: { inputTokens: 7, outputTokens: 3 } },
    });
    expect((await ingest(tokA, { request: a, events: [done] })).status).toBe(200);
    expect((await ingest(tokA, { request: a, events: [done] })).status).toBe(200);
    expect((await ingest(tokA, { request: a, events: [at(22)] })).status).toBe(409);
    const status = await eventually('status folded', async () => {
      const st = (await getIr(a)).status as { eventCount?: number; usage?: unknown } | undefined;
      return st?.eventCount === 21 ? st : undefined;
    });
    expect(status).toMatchObject({ eventCount: 21, usage: { inputTokens: 7 } });
    // the last event alone: no message left over from the events before it
    expect((status as { lastEvent?: unknown }).lastEvent).toEqual({
      seq: 21,
      type: 'completed',
      time: done.time,
    });
    const writes = fn.app.services.statusWriter.writes - writesBefore;
    // 21 accepted batches, but far fewer writes: the first at once, then one per interval
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThan(21);
    expect((await getIr(b)).status?.eventCount).toBeUndefined();
  });

  it('SSE: a dropped stream resumes with Last-Event-ID, nothing missing or repeated', async () => {
    const r = await submit({ agent: 'developer', prompt: 'stream' }, { 'idempotency-key': 'sse-1' });
    const id = ((await r.json()) as { id: string }).id;
    const tok = await token(id);
    await ingest(tok, { request: id, events: [1, 2, 3, 4, 5].map((s) => at(s)) });

    const seen: string[] = [];
    const first = new AbortController();
    const res1 = await fetch(`${fn.url}/api/jobs/${id}/events`, {
      headers: asUser('viewer'),
      signal: first.signal,
    });
    expect(res1.status).toBe(200);
    const reader = res1.body!.getReader();
    let text = '';
    while (!text.includes('id: 5')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    for (const e of parseSse(text)) if (e.id) seen.push(e.id);
    first.abort(); // the connection drops
    await reader.cancel().catch(() => {});

    await ingest(tok, { request: id, events: [6, 7, 8].map((s) => at(s)) });
    await ingest(tok, { request: id, events: [at(9, 'completed', { data: { outcome: 'succeeded' } })] });
    const res2 = await fetch(`${fn.url}/api/jobs/${id}/events`, {
      headers: { ...asUser('viewer'), 'Last-Event-ID': seen.at(-1)! },
    });
    const rest = parseSse(await res2.text());
    for (const e of rest) if (e.id) seen.push(e.id);
    expect(seen).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(rest.at(-1)?.event).toBe('end');
  });

  it('an operator submits from the dashboard (POST /api/jobs): one request, source ui, caller from the user', async () => {
    const body = JSON.stringify({ agent: 'developer', prompt: 'from the dashboard' });
    const post = (headers: Record<string, string>) =>
      fetch(`${fn.url}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const before = (await irs()).length;
    expect((await post({})).status).toBe(401);
    expect((await post(asUser('viewer'))).status).toBe(403);
    const bad = await fetch(`${fn.url}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asUser('operator') },
      body: JSON.stringify({ agent: 'developer' }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('prompt');
    expect((await irs()).length).toBe(before);

    const res = await post(asUser('operator', 'Ada@Example.com'));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const ir = await getIr(id);
    expect(ir.spec).toMatchObject({ prompt: 'from the dashboard', source: { kind: 'ui' } });
    // a subject that is not a label becomes a stable hashed caller id
    expect(ir.spec.caller).toMatch(/^user-[0-9a-f]{16}$/);
    expect(ir.metadata.labels?.['labrats.work/caller']).toBe(ir.spec.caller);
    expect((await irs()).length).toBe(before + 1);

    // the same per-caller rate limit as the API's submit, in a bucket of the user's own
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 25; i++) {
      const r = await fetch(`${fn.url}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...asUser('operator', 'eager-clicker') },
        body: '{}',
      });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((x) => x !== 400 && x !== 429)).toEqual([]);
    expect((await irs()).length).toBe(before + 1);
  });

  it('cancel reaches the request (spec.cancel) and retry links a new one', async () => {
    const r = await submit({ agent: 'developer', prompt: 'cancel me' }, { 'idempotency-key': 'cancel-1' });
    const id = ((await r.json()) as { id: string }).id;
    const cancel = await fetch(`${fn.url}/api/jobs/${id}/cancel`, {
      method: 'POST',
      headers: asUser('operator'),
    });
    expect(cancel.status).toBe(202);
    expect((await getIr(id)).spec.cancel).toBe(true);
    const viewer = await fetch(`${fn.url}/api/jobs/${id}/cancel`, {
      method: 'POST',
      headers: asUser('viewer'),
    });
    expect(viewer.status).toBe(403);
    // the controller would end it; here the test plays the controller
    await ns.custom.patchNamespacedCustomObjectStatus(
      {
        ...GROUP,
        namespace: ns.name,
        plural: 'inferencerequests',
        name: id,
        body: { status: { phase: 'Cancelled' } },
      },
      (await import('@kubernetes/client-node')).setHeaderOptions(
        'Content-Type',
        'application/merge-patch+json',
      ),
    );
    const retry = await fetch(`${fn.url}/api/jobs/${id}/retry`, {
      method: 'POST',
      headers: asUser('operator'),
    });
    expect(retry.status).toBe(202);
    const newId = ((await retry.json()) as { id: string }).id;
    expect((await getIr(newId)).spec).toMatchObject({ retryOf: id, cancel: false });
    const list = (await (
      await fetch(`${fn.url}/api/jobs?phase=Cancelled`, { headers: asUser('viewer') })
    ).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toContain(id);
  });

  it("a continue token no list gave is a 400 in the API's words, for jobs and resources alike", async () => {
    // well-formed, but from a resourceVersion the store has not reached
    const ahead = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 99_999_999, start: '/' }))
      .toString('base64')
      .replace(/=+$/, '');
    for (const path of [
      '/api/jobs?continue=garbage',
      '/api/resources/agents?continue=garbage',
      `/api/jobs?limit=1&continue=${ahead}`,
      `/api/resources/agents?continue=${ahead}`,
    ]) {
      const res = await fetch(`${fn.url}${path}`, { headers: asUser('admin') });
      const body = (await res.json()) as { error: { code: string; message: string; details: unknown } };
      expect(res.status, path).toBe(400);
      expect(body.error).toMatchObject({ code: 'bad_request', details: [{ path: 'continue' }] });
      expect(body.error.message).toMatch(/^the continue token is not one a list gave/);
    }
  });

  it('resources: the apiserver’s 422 (CEL rule) comes back as 400 with the field path; preview composes', async () => {
    const post = (kind: string, b: unknown) =>
      fetch(`${fn.url}/api/resources/${kind}`, {
        method: 'POST',
        headers: { ...asUser('admin'), 'content-type': 'application/json' },
        body: JSON.stringify(b),
      });
    const bad = await post('instructions', {
      metadata: { name: 'local-x' },
      spec: { type: 'local', content: 'c' },
    });
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { error: { code: string; details: { path: string }[] } };
    expect(err.error.code).toBe('invalid_body');
    expect(err.error.details.map((d) => d.path).join(',')).toMatch(/spec/);
    expect(
      (
        await post('agents', {
          metadata: { name: 'developer' },
          spec: { role: 'developer', systemPrompt: 'Dev.' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await post('instructions', {
          metadata: { name: 'global-a' },
          spec: { type: 'global', priority: 1, content: 'A.' },
        })
      ).status,
    ).toBe(201);
    const preview = (await (
      await fetch(`${fn.url}/api/resources/agents/developer/preview`, { headers: asUser('viewer') })
    ).json()) as { text: string };
    expect(preview.text).toBe('A.\n\nDev.');
    const put = await fetch(`${fn.url}/api/resources/agents/developer`, {
      method: 'PUT',
      headers: { ...asUser('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: 'developer' },
        spec: { role: 'developer', systemPrompt: 'Dev 2.' },
      }),
    });
    expect(put.status).toBe(200);
    // a resourceVersion past uint64 is the client's mistake, not the apiserver's 500
    const overflow = await fetch(`${fn.url}/api/resources/agents/developer`, {
      method: 'PUT',
      headers: { ...asUser('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: 'developer', resourceVersion: '99999999999999999999' },
        spec: { role: 'developer', systemPrompt: 'Dev 3.' },
      }),
    });
    expect(overflow.status).toBe(400);
    expect(await overflow.json()).toMatchObject({
      error: { code: 'invalid_body', details: [{ path: 'metadata.resourceVersion' }] },
    });
    expect(
      (
        await fetch(`${fn.url}/api/resources/agents/developer`, {
          method: 'DELETE',
          headers: asUser('admin'),
        })
      ).status,
    ).toBe(204);
  });

  it('logs never contain the API key or job tokens', async () => {
    const all = fn.logs.join('\n');
    expect(all).not.toContain(KEY);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});
