// The behavioural suite: the same app.request() tests under Node (vitest) and Deno (deno test).
// Cases are grouped per route into happy path, errors and security, as unkey does.
import { loadConfig } from '../config.ts';
import { KubeError } from '../lib/kube.ts';
import { ROUTE_ACCESS } from '../lib/roles.ts';
import { equal, includes, ok } from './assert.ts';
import {
  at,
  fakeServiceAccountToken,
  harness,
  INGEST_SECRET,
  json,
  parseSse,
  STATIC_KEY,
  validSubmit,
} from './harness.ts';

type Case = () => Promise<void>;
export const suite: Record<string, Case> = {};
const add = (name: string, fn: Case) => {
  suite[name] = fn;
};

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in the assertions
type Json = Record<string, any>;
async function body(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

async function expectError(res: Response, status: number, code: string) {
  const b = await body(res);
  equal(res.status, status, `status (${JSON.stringify(b)})`);
  equal(b.error?.code, code, 'error.code');
  ok(typeof b.error?.message === 'string' && b.error.message.length > 0, 'error.message');
  ok(typeof b.error?.requestId === 'string', 'error.requestId');
  return b.error as { code: string; message: string; details?: unknown; requestId: string };
}

// ── health ────────────────────────────────────────────────────────────────────────────────────
add('health: /health and /ready answer 200 {"status":"ok"} without touching the apiserver', async () => {
  const h = harness();
  for (const path of ['/health', '/ready']) {
    const res = await h.req(path);
    equal(res.status, 200, path);
    equal(await res.json(), { status: 'ok' }, path);
  }
  equal(Object.keys(h.kube.calls).length, 0, 'apiserver calls');
});

add(
  'health: /metrics exposes request durations by route pattern, submissions and ingest counters',
  async () => {
    const h = harness();
    await h.submit(validSubmit);
    await h.req('/api/jobs/ir-does-not-exist', { role: 'viewer' });
    const text = await (await h.req('/metrics')).text();
    ok(text.includes('ai_agents_submissions_total{source="api"} 1'), 'submissions counter');
    ok(text.includes('route="/api/jobs/:id"'), 'route label is the pattern');
    ok(!text.includes('ir-does-not-exist'), 'no raw path in labels');
    ok(text.includes('ai_agents_ingest_events_total'), 'ingest counter');
  },
);

add('errors: unknown routes get the 404 envelope, request id echoed from X-Request-Id', async () => {
  const h = harness();
  const res = await h.req('/nope', { headers: { 'X-Request-Id': 'abc-123' } });
  const err = await expectError(res, 404, 'not_found');
  equal(err.requestId, 'abc-123', 'requestId');
  equal(res.headers.get('x-request-id'), 'abc-123', 'header');
  equal(res.headers.get('x-content-type-options'), 'nosniff', 'nosniff on an error');
  await expectError(await h.req('/api/nope', { role: 'admin' }), 404, 'not_found');
});

add('config: every bad variable is named in one error; defaults follow the deployment guide', async () => {
  let message = '';
  try {
    loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', INGEST_TOKEN_SECRET: 'short', NAMESPACE: 'Bad_NS' });
  } catch (e) {
    message = (e as Error).message;
  }
  for (const name of ['PORT', 'LOG_LEVEL', 'INGEST_TOKEN_SECRET', 'NAMESPACE'])
    ok(message.includes(name), name);
  const c = loadConfig({ INGEST_TOKEN_SECRET: INGEST_SECRET });
  includes(c, {
    port: 3001,
    logLevel: 'info',
    namespace: 'ai-agents',
    workspaceDir: '/workspace/jobs',
    appVersion: 'dev',
  });
  equal(
    loadConfig({ INGEST_TOKEN_SECRET: INGEST_SECRET, SUBMIT_API_KEYS: `ci:${STATIC_KEY}, ${STATIC_KEY}x` })
      .staticApiKeys,
    [
      { caller: 'ci', key: STATIC_KEY },
      { caller: 'submit-key-2', key: `${STATIC_KEY}x` },
    ],
    'SUBMIT_API_KEYS',
  );
});

// ── submit ────────────────────────────────────────────────────────────────────────────────────
add('submit: 202 with id, status and links; the request carries the caller, never the key', async () => {
  const h = harness();
  const res = await h.submit({ ...validSubmit, labels: { team: 'platform' }, priority: 5 });
  equal(res.status, 202, 'status');
  const b = await body(res);
  ok(/^ir-[a-z0-9-]+$/.test(b.id), 'id');
  equal(b, {
    id: b.id,
    namespace: 'ai-agents',
    status: { phase: 'Pending' },
    links: { self: `/api/jobs/${b.id}`, events: `/api/jobs/${b.id}/events` },
  });
  const [obj] = h.kube.all('InferenceRequest');
  includes(obj!.spec, { agent: 'developer', caller: 'alice', source: { kind: 'api' }, priority: 5 });
  includes(obj!.metadata.labels!, {
    'labrats.work/caller': 'alice',
    'labrats.work/source': 'api',
    team: 'platform',
  });
  ok(!JSON.stringify(obj).includes(STATIC_KEY), 'key not stored');
  ok(!h.logs.join('\n').includes(STATIC_KEY), 'key not logged');
});

add(
  'submit: X-API-Key works, and keys from Secrets (SHA-256 hashes, several for rotation) name their caller',
  async () => {
    const h = harness();
    await h.addKeySecret('key-bob', 'bob', ['bob-old-key-0123456789', 'bob-new-key-0123456789']);
    equal(
      (await h.submit(validSubmit, { authorization: '', 'x-api-key': STATIC_KEY })).status,
      202,
      'X-API-Key',
    );
    for (const key of ['bob-old-key-0123456789', 'bob-new-key-0123456789']) {
      equal((await h.submit(validSubmit, { authorization: `Bearer ${key}` })).status, 202, key);
    }
    const bobs = h.kube.all('InferenceRequest').filter((o) => o.spec?.caller === 'bob');
    equal(bobs.length, 2, 'bob requests');
    includes(bobs[0]!.spec!, { apiKeyRef: { name: 'key-bob' } });
  },
);

add('submit errors: missing or wrong key is 401 and creates nothing', async () => {
  const h = harness();
  const none = await h.submit(validSubmit, { authorization: '' });
  await expectError(none, 401, 'unauthorized');
  ok(none.headers.get('www-authenticate')?.startsWith('Bearer'), 'WWW-Authenticate');
  await expectError(
    await h.submit(validSubmit, { authorization: 'Bearer wrong-key-0123456789' }),
    401,
    'unauthorized',
  );
  await expectError(await h.submit(validSubmit, { authorization: 'Basic abc' }), 401, 'unauthorized');
  equal(h.kube.all('InferenceRequest').length, 0, 'created');
});

add('submit errors: invalid bodies are 400 with field paths and create nothing', async () => {
  const h = harness();
  const e1 = await expectError(await h.submit({ agent: 'Not A Name', prompt: '' }), 400, 'invalid_body');
  const paths = (e1.details as { path: string }[]).map((d) => d.path).sort();
  equal(paths, ['agent', 'prompt'], 'paths');
  // the message names a field too, for clients that show only the message
  ok(
    /^request body is invalid: (agent|prompt): .+ \(and 1 more\)$/.test(e1.message),
    `message: ${e1.message}`,
  );
  const e2 = await expectError(await h.submit({ ...validSubmit, caller: 'mallory' }), 400, 'invalid_body');
  ok(JSON.stringify(e2.details).includes('caller'), 'unknown field named');
  await expectError(await h.submit('{"agent":'), 400, 'bad_request');
  await expectError(
    await h.submit(validSubmit, { 'content-type': 'text/plain' }),
    415,
    'unsupported_media_type',
  );
  await expectError(
    await h.submit({ ...validSubmit, repository: { url: 'not a url' }, priority: 1e9 }),
    400,
    'invalid_body',
  );
  // labels that are not Kubernetes labels at all are refused, not silently dropped
  const e3 = await expectError(
    await h.submit({ ...validSubmit, labels: { 'bad key!': 'x', team: 'not ok!', fine: 'yes' } }),
    400,
    'invalid_body',
  );
  equal(
    (e3.details as { path: string }[]).map((d) => d.path).sort(),
    ['labels.bad key!', 'labels.team'],
    'label paths',
  );
  equal(h.kube.all('InferenceRequest').length, 0, 'created');
});

add('submit errors: a body over MAX_BODY_BYTES is 413', async () => {
  const h = harness({ MAX_BODY_BYTES: '2048' });
  await expectError(await h.submit({ ...validSubmit, prompt: 'x'.repeat(5000) }), 413, 'payload_too_large');
  equal(h.kube.all('InferenceRequest').length, 0, 'created');
});

add(
  'submit: Idempotency-Key — first 202, retry 200 with the same id, one request; other body 422',
  async () => {
    const h = harness();
    const first = await h.submit(validSubmit, { 'idempotency-key': 'build-42' });
    equal(first.status, 202, 'first');
    const again = await h.submit(validSubmit, { 'idempotency-key': 'build-42' });
    equal(again.status, 200, 'replay');
    equal(await body(again), await body(first), 'same answer');
    equal(h.kube.all('InferenceRequest').length, 1, 'one request');
    await expectError(
      await h.submit({ ...validSubmit, prompt: 'something else' }, { 'idempotency-key': 'build-42' }),
      422,
      'idempotency_key_reused',
    );
    await expectError(await h.submit(validSubmit, { 'idempotency-key': 'é'.repeat(3) }), 400, 'bad_request');
    equal(h.kube.all('InferenceRequest').length, 1, 'still one');
  },
);

add('submit: an Idempotency-Key replay is the same body whatever order its keys are written in', async () => {
  const h = harness();
  const idem = { 'idempotency-key': 'order-1' };
  const first = await h.submit({ ...validSubmit, priority: 3, labels: { a: '1', b: '2' } }, idem);
  equal(first.status, 202, 'first');
  const reordered = {
    labels: { b: '2', a: '1' },
    priority: 3,
    prompt: validSubmit.prompt,
    agent: 'developer',
  };
  const again = await h.submit(reordered, idem);
  equal(again.status, 200, 'replay with the keys reordered');
  equal((await body(again)).id, (await body(first)).id, 'same request');
  await expectError(
    await h.submit({ ...reordered, labels: { a: '1', b: '3' } }, idem),
    422,
    'idempotency_key_reused',
  );
  equal(h.kube.all('InferenceRequest').length, 1, 'one request');
});

add('submit: per-key rate limit answers 429 with Retry-After; other keys are unaffected', async () => {
  const h = harness({ SUBMIT_RATE_BURST: '2', SUBMIT_RATE_PER_MINUTE: '1' });
  await h.addKeySecret('key-bob', 'bob', ['bob-key-0123456789abc']);
  equal((await h.submit(validSubmit)).status, 202, '1');
  equal((await h.submit(validSubmit)).status, 202, '2');
  const limited = await h.submit(validSubmit);
  await expectError(limited, 429, 'rate_limited');
  ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
  equal((await h.submit(validSubmit, { authorization: 'Bearer bob-key-0123456789abc' })).status, 202, 'bob');
  equal(h.kube.all('InferenceRequest').length, 3, 'created');
});

// ── ingest ────────────────────────────────────────────────────────────────────────────────────
async function submitted(h: ReturnType<typeof harness>): Promise<string> {
  return (await body(await h.submit(validSubmit))).id as string;
}

add('ingest: a batch is appended, retried batches are idempotent, the summary reaches status', async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  const r1 = await h.ingest(token, {
    request: id,
    events: [at(1, 'started'), at(2, 'message', { message: 'hi' })],
  });
  equal(await body(r1), { accepted: 2, duplicates: 0, lastSeq: 2 }, 'first');
  const r2 = await h.ingest(token, { request: id, events: [at(2), at(3, 'log')] });
  equal(await body(r2), { accepted: 1, duplicates: 1, lastSeq: 3 }, 'overlap');
  const done = at(4, 'completed', {
    data: { outcome: 'succeeded', result: { summary: 'done' }, usage: { inputTokens: 10, outputTokens: 5 } },
  });
  equal(await body(await h.ingest(token, { request: id, events: [done] })), {
    accepted: 1,
    duplicates: 0,
    lastSeq: 4,
  });
  equal(await body(await h.ingest(token, { request: id, events: [done] })), {
    accepted: 0,
    duplicates: 1,
    lastSeq: 4,
  });
  await h.app.services.statusWriter.flushAll();
  const st = (await h.kube.get('InferenceRequest', id)).status!;
  includes(st, { eventCount: 4, lastEvent: { seq: 4, type: 'completed' }, result: { summary: 'done' } });
  includes(st, { usage: { inputTokens: 10, outputTokens: 5 } });
  ok(!h.logs.join('\n').includes(token), 'token not logged');
});

add("ingest: status's lastEvent is the last event alone, not merged with the one before", async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  equal(
    (await h.ingest(token, { request: id, events: [at(1, 'message', { message: 'first' })] })).status,
    200,
  );
  await h.app.services.statusWriter.flushAll();
  equal((await h.ingest(token, { request: id, events: [at(2, 'heartbeat')] })).status, 200);
  await h.app.services.statusWriter.flushAll();
  const { lastEvent } = (await h.kube.get('InferenceRequest', id)).status as { lastEvent: Json };
  equal(lastEvent, { seq: 2, type: 'heartbeat', time: lastEvent.time }, 'lastEvent');
});

add('ingest: status writes are coalesced per request and touch only ingest fields', async () => {
  const h = harness({ STATUS_FLUSH_INTERVAL_MS: '60000' });
  const id = await submitted(h);
  await h.kube.patchStatus('InferenceRequest', id, { status: { phase: 'Running', jobName: 'job-1' } });
  const token = await h.ingestToken(id);
  for (let seq = 1; seq <= 30; seq++)
    equal((await h.ingest(token, { request: id, events: [at(seq)] })).status, 200);
  const before = h.kube.calls.patchStatus ?? 0;
  await h.app.services.statusWriter.flushAll();
  // one patch by the test, the first batch written at once, the other 29 folded into one more
  equal(h.kube.calls.patchStatus, 3, `status writes (before flush: ${before})`);
  const st = (await h.kube.get('InferenceRequest', id)).status!;
  includes(st, { phase: 'Running', jobName: 'job-1', eventCount: 30, lastEvent: { seq: 30 } });
});

add('ingest security: no token 401, a token for another request 403, nothing written', async () => {
  const h = harness();
  const a = await submitted(h);
  const b = await submitted(h);
  const tokenB = await h.ingestToken(b);
  await expectError(await h.ingest('', { request: a, events: [at(1)] }), 401, 'unauthorized');
  await expectError(await h.ingest('not-a-jwt', { request: a, events: [at(1)] }), 401, 'unauthorized');
  await expectError(await h.ingest(tokenB, { request: a, events: [at(1)] }), 403, 'forbidden');
  const stale = await h.ingestToken(a, { uid: 'another-uid' });
  await expectError(await h.ingest(stale, { request: a, events: [at(1)] }), 403, 'forbidden');
  const otherNs = await h.ingestToken(a, { namespace: 'elsewhere' });
  await expectError(await h.ingest(otherNs, { request: a, events: [at(1)] }), 403, 'forbidden');
  equal(await h.logState(a), { lastSeq: 0, ended: false }, 'log of a');
  equal(h.kube.calls.patchStatus ?? 0, 0, 'status writes');
});

add(
  'ingest with an executor ServiceAccount token: accepted for its request, 403 for another, checked once',
  async () => {
    const h = harness();
    const a = await submitted(h);
    const b = await submitted(h);
    const { token } = await h.executorToken(a);
    equal((await h.ingest(token, { request: a, events: [at(1, 'started')] })).status, 200, 'first batch');
    equal((await h.ingest(token, { request: a, events: [at(2)] })).status, 200, 'second batch');
    equal(h.kube.calls.reviewToken, 1, 'token reviews (the second batch hits the cache)');
    equal(h.kube.calls.getPod, 1, 'pod reads');
    await expectError(await h.ingest(token, { request: b, events: [at(1)] }), 403, 'forbidden');
    await h.app.services.statusWriter.flushAll();
    includes((await h.kube.get('InferenceRequest', a)).status, { eventCount: 2, lastEvent: { seq: 2 } });
    equal(await h.logState(b), { lastSeq: 0, ended: false }, 'log of b');
  },
);

add(
  'ingest executor-token security: wrong audience, pod, owner or namespace 401; apiserver down 503',
  async () => {
    const h = harness();
    const a = await submitted(h);
    const send = async (token: string) => h.ingest(token, { request: a, events: [at(1)] });
    const wrongAudience = await h.executorToken(a, { audiences: ['https://kubernetes.default.svc'] });
    await expectError(await send(wrongAudience.token), 401, 'unauthorized');
    const wrongJob = await h.executorToken(a, { jobName: 'someone-else-run' });
    await expectError(await send(wrongJob.token), 401, 'unauthorized');
    const bare = await h.executorToken(a, { noAnnotations: true });
    await expectError(await send(bare.token), 401, 'unauthorized');
    const foreign = await h.executorToken(a, { namespace: 'elsewhere' });
    await expectError(await send(foreign.token), 401, 'unauthorized');
    const gone = await h.executorToken(a);
    h.kube.pods.delete(gone.pod.metadata.name);
    await expectError(await send(gone.token), 401, 'unauthorized');
    // JWT-shaped tokens the apiserver never issued, and algorithms that are neither kind
    await expectError(await send(fakeServiceAccountToken()), 401, 'unauthorized');
    await expectError(await send(fakeServiceAccountToken({}, 'none')), 401, 'unauthorized');
    await expectError(await send(fakeServiceAccountToken({}, 'HS512')), 401, 'unauthorized');
    equal(await h.logState(a), { lastSeq: 0, ended: false }, 'log');
    // an apiserver that cannot answer is not a verdict on the token: 503, then the same token passes
    const valid = await h.executorToken(a);
    h.kube.failNext('reviewToken', new Error('connect ECONNREFUSED'));
    const down = await expectError(await send(valid.token), 503, 'upstream_unavailable');
    ok(!JSON.stringify(down).includes(valid.token), 'the token is not echoed');
    equal((await send(valid.token)).status, 200, 'once the apiserver answers');
    // the functions' own rights refused (no ClusterRole for TokenReviews): 502, not the executor's fault
    const refusedRights = await h.executorToken(a);
    h.kube.failNext('reviewToken', new KubeError(403, 'Forbidden', 'tokenreviews is forbidden'));
    await expectError(await send(refusedRights.token), 502, 'upstream_error');
    ok(!h.logs.join('\n').includes(valid.token.split('.')[1]!), 'the token is not logged');
  },
);

add('ingest errors: gaps and events after the end are 409; bad batches 400; oversize 413', async () => {
  const h = harness({ INGEST_MAX_BODY_BYTES: '4096' });
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  await expectError(await h.ingest(token, { request: id, events: [at(2)] }), 409, 'sequence_gap');
  await expectError(await h.ingest(token, { request: id, events: [at(1), at(3)] }), 400, 'invalid_body');
  await expectError(
    await h.ingest(token, { request: id, events: [at(1, 'completed', { data: { outcome: 'maybe' } })] }),
    400,
    'invalid_body',
  );
  await expectError(await h.ingest(token, { request: id, events: [] }), 400, 'invalid_body');
  await expectError(
    await h.ingest(token, { request: id, events: [at(1, 'message', { message: 'x'.repeat(5000) })] }),
    413,
    'payload_too_large',
  );
  equal(
    (await h.ingest(token, { request: id, events: [at(1, 'completed', { data: { outcome: 'failed' } })] }))
      .status,
    200,
  );
  await expectError(await h.ingest(token, { request: id, events: [at(2)] }), 409, 'request_ended');
  equal(await h.logState(id), { lastSeq: 1, ended: true }, 'log');
});

add('ingest errors: a request that ended takes no new events, whatever ended it', async () => {
  const h = harness();
  for (const phase of ['Succeeded', 'Failed', 'Cancelled', 'TimedOut']) {
    const id = await submitted(h);
    const token = await h.ingestToken(id);
    await h.kube.patchStatus('InferenceRequest', id, { status: { phase } });
    await expectError(await h.ingest(token, { request: id, events: [at(1)] }), 409, 'request_ended');
    equal(await h.logState(id), { lastSeq: 0, ended: false }, `${phase}: log`);
    equal((await h.kube.get('InferenceRequest', id)).status?.eventCount, undefined, `${phase}: status`);
  }
  // ended while ingest knew it as running: refused once what it knew is a second old
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  equal((await h.ingest(token, { request: id, events: [at(1)] })).status, 200, 'before the end');
  await h.app.services.statusWriter.flushAll();
  await h.kube.patchStatus('InferenceRequest', id, { status: { phase: 'Cancelled' } });
  await new Promise((r) => setTimeout(r, 1100));
  await expectError(await h.ingest(token, { request: id, events: [at(2)] }), 409, 'request_ended');
  // a retried batch the log already has is still answered as such
  equal(await body(await h.ingest(token, { request: id, events: [at(1)] })), {
    accepted: 0,
    duplicates: 1,
    lastSeq: 1,
  });
});

// ── jobs ──────────────────────────────────────────────────────────────────────────────────────
add('jobs: list filters by phase, agent, caller, label and pages with continue', async () => {
  const h = harness();
  await h.addKeySecret('key-bob', 'bob', ['bob-key-0123456789abc']);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++)
    ids.push((await body(await h.submit({ ...validSubmit, labels: { n: String(i) } }))).id);
  await h.submit({ agent: 'reviewer', prompt: 'review' }, { authorization: 'Bearer bob-key-0123456789abc' });
  await h.kube.patchStatus('InferenceRequest', ids[1]!, { status: { phase: 'Running', queuePosition: 0 } });
  await h.kube.patchStatus('InferenceRequest', ids[3]!, { status: { phase: 'Running' } });

  const all = await body(await h.req('/api/jobs', { role: 'viewer' }));
  equal(all.items.length, 6, 'all');
  includes(
    all.items.find((i: { id: string }) => i.id === ids[0]),
    { phase: 'Pending', agent: 'developer', source: 'api', caller: 'alice' },
    'item',
  );
  equal((await body(await h.req('/api/jobs?agent=reviewer', { role: 'viewer' }))).items.length, 1, 'agent');
  equal(
    (await body(await h.req('/api/jobs?caller=bob', { role: 'viewer' }))).items[0].caller,
    'bob',
    'caller',
  );
  equal((await body(await h.req('/api/jobs?label=n=2', { role: 'viewer' }))).items[0].id, ids[2], 'label');
  const running = await body(await h.req('/api/jobs?phase=Running&limit=1', { role: 'viewer' }));
  equal(running.items.length, 1, 'phase page 1');
  ok(running.continue, 'continue');
  const next = await body(
    await h.req(`/api/jobs?phase=Running&limit=1&continue=${encodeURIComponent(running.continue)}`, {
      role: 'viewer',
    }),
  );
  equal(
    [...running.items, ...next.items].map((i: { id: string }) => i.id).sort(),
    [ids[1], ids[3]].sort(),
    'both pages, no item lost or repeated',
  );
  await expectError(await h.req('/api/jobs?phase=Dancing', { role: 'viewer' }), 400, 'invalid_body');
  await expectError(await h.req('/api/jobs?limit=0', { role: 'viewer' }), 400, 'invalid_body');
  // a page size is written in decimal digits
  for (const limit of ['0x10', '1e2', '2.0', ''])
    await expectError(await h.req(`/api/jobs?limit=${limit}`, { role: 'viewer' }), 400, 'invalid_body');
  await expectError(await h.req('/api/resources/agents?limit=0x10', { role: 'viewer' }), 400, 'invalid_body');
  equal((await body(await h.req('/api/jobs?limit=2', { role: 'viewer' }))).items.length, 2, 'limit=2');
});

add('jobs: get, prompt (composed instructions), delete; unknown ids 404', async () => {
  const h = harness();
  const id = await submitted(h);
  const got = await body(await h.req(`/api/jobs/${id}`, { role: 'viewer' }));
  equal(got.id, id, 'id');
  includes(got.spec, { agent: 'developer', prompt: validSubmit.prompt });
  // its agent does not exist yet: the request does, so 409, not 404
  await expectError(await h.req(`/api/jobs/${id}/prompt`, { role: 'viewer' }), 409, 'conflict');
  await h.kube.create('AiAgent', {
    metadata: { name: 'developer' },
    spec: { role: 'developer', systemPrompt: 'Be careful.' },
  });
  await h.kube.create('AiInstruction', {
    metadata: { name: 'global-testing' },
    spec: { type: 'global', priority: 50, content: 'Test everything.' },
  });
  const prompt = await body(await h.req(`/api/jobs/${id}/prompt`, { role: 'viewer' }));
  equal(prompt.text, 'Test everything.\n\nBe careful.', 'text');
  ok(String(prompt.hash).startsWith('sha256:'), 'hash');
  equal(prompt.parts.length, 2, 'parts');
  await expectError(await h.req('/api/jobs/ir-missing', { role: 'viewer' }), 404, 'not_found');
  await expectError(await h.req('/api/jobs/..%2F..%2Fetc', { role: 'viewer' }), 404, 'not_found');
  equal((await h.req(`/api/jobs/${id}`, { method: 'DELETE', role: 'operator' })).status, 204, 'delete');
  await expectError(await h.req(`/api/jobs/${id}`, { method: 'DELETE', role: 'operator' }), 404, 'not_found');
});

add('jobs: cancel sets spec.cancel (operator); retry makes a new request linked to the old', async () => {
  const h = harness();
  const id = await submitted(h);
  equal((await h.req(`/api/jobs/${id}/cancel`, { method: 'POST', role: 'operator' })).status, 202, 'cancel');
  equal((await h.kube.get('InferenceRequest', id)).spec?.cancel, true, 'spec.cancel');
  await expectError(
    await h.req(`/api/jobs/${id}/retry`, { method: 'POST', role: 'operator' }),
    409,
    'conflict',
  );
  await h.kube.patchStatus('InferenceRequest', id, { status: { phase: 'Cancelled' } });
  await expectError(
    await h.req(`/api/jobs/${id}/cancel`, { method: 'POST', role: 'operator' }),
    409,
    'already_finished',
  );
  const retry = await h.req(`/api/jobs/${id}/retry`, { method: 'POST', role: 'operator' });
  equal(retry.status, 202, 'retry');
  const newId = (await body(retry)).id as string;
  ok(newId !== id, 'new id');
  includes((await h.kube.get('InferenceRequest', newId)).spec!, {
    retryOf: id,
    cancel: false,
    caller: 'alice',
  });
});

add('jobs security: viewers read but may not cancel, retry or delete; anonymous gets 401', async () => {
  const h = harness();
  const id = await submitted(h);
  await expectError(
    await h.req(`/api/jobs/${id}/cancel`, { method: 'POST', role: 'viewer' }),
    403,
    'forbidden',
  );
  await expectError(
    await h.req(`/api/jobs/${id}/retry`, { method: 'POST', role: 'viewer' }),
    403,
    'forbidden',
  );
  await expectError(await h.req(`/api/jobs/${id}`, { method: 'DELETE', role: 'viewer' }), 403, 'forbidden');
  await expectError(await h.req(`/api/jobs/${id}`), 401, 'unauthorized');
  equal((await h.kube.get('InferenceRequest', id)).spec?.cancel, false, 'not cancelled');
});

add(
  'roles: every /api route is in the route→role table, and every protected one refuses anonymous callers',
  async () => {
    const h = harness();
    const routes = h.app.routes
      .filter((r) => r.path.startsWith('/api/') && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/\/$/, '')}`);
    const table = ROUTE_ACCESS.map((r) => `${r.method} ${r.path}`);
    equal([...new Set(routes)].sort(), [...table].sort(), 'routes vs table');
    for (const rule of ROUTE_ACCESS.filter((r) => r.access !== 'public')) {
      // role-gated and self-authenticated routes alike refuse a caller with neither key nor session
      const path = rule.path.replace(':kind', 'models').replace(/:[a-z]+/g, 'x');
      const res = await h.req(path, {
        method: rule.method,
        ...(rule.method === 'GET' ? {} : { headers: json, body: '{}' }),
      });
      equal(res.status, 401, `${rule.method} ${rule.path}`);
    }
  },
);

// ── events (SSE) ──────────────────────────────────────────────────────────────────────────────
add('events: SSE replays the log with id = seq and event = type, then ends after completed', async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  await h.ingest(token, {
    request: id,
    events: [at(1, 'started'), at(2), at(3, 'completed', { data: { outcome: 'succeeded' } })],
  });
  const res = await h.req(`/api/jobs/${id}/events`, { role: 'viewer' });
  equal(res.status, 200, 'status');
  ok(res.headers.get('content-type')?.startsWith('text/event-stream'), 'content-type');
  equal(res.headers.get('cache-control'), 'no-cache, no-transform', 'cache-control');
  equal(res.headers.get('x-content-type-options'), 'nosniff', 'nosniff on a stream');
  const evs = parseSse(await res.text());
  equal(
    evs.map((e) => [e.id, e.event]),
    [
      ['1', 'started'],
      ['2', 'message'],
      ['3', 'completed'],
      [undefined, 'end'],
    ],
  );
  equal(JSON.parse(evs[1]!.data!).seq, 2, 'data is the event');
});

add(
  "events: a request deleted and created again under its name has none of the old one's events",
  async () => {
    const h = harness();
    const idem = { 'idempotency-key': 'again-1' };
    const id = (await body(await h.submit(validSubmit, idem))).id as string;
    const oldToken = await h.ingestToken(id);
    await h.ingest(oldToken, {
      request: id,
      events: [at(1, 'message', { message: 'old' }), at(2, 'completed', { data: { outcome: 'failed' } })],
    });
    equal((await h.req(`/api/jobs/${id}`, { method: 'DELETE', role: 'operator' })).status, 204, 'delete');
    equal((await body(await h.submit(validSubmit, idem))).id, id, 'the same name again');
    const token = await h.ingestToken(id);
    equal(
      await body(await h.ingest(token, { request: id, events: [at(1, 'message', { message: 'new' })] })),
      {
        accepted: 1,
        duplicates: 0,
        lastSeq: 1,
      },
    );
    await h.ingest(token, { request: id, events: [at(2, 'completed', { data: { outcome: 'succeeded' } })] });
    const evs = parseSse(await (await h.req(`/api/jobs/${id}/events`, { role: 'viewer' })).text());
    equal(
      evs.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data!).message),
      ['new'],
      'messages',
    );
    // the deleted request's token writes nothing into the new one's log
    await expectError(await h.ingest(oldToken, { request: id, events: [at(3)] }), 403, 'forbidden');
  },
);

add("events: resuming after a seq the log never had sends nothing and ends with the log's last", async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  await h.ingest(token, {
    request: id,
    events: [at(1, 'started'), at(2), at(3, 'completed', { data: { outcome: 'succeeded' } })],
  });
  const res = await h.req(`/api/jobs/${id}/events`, {
    role: 'viewer',
    headers: { 'last-event-id': '99999' },
  });
  const evs = parseSse(await res.text());
  equal(
    evs.map((e) => e.event),
    ['end'],
    'events',
  );
  equal(JSON.parse(evs[0]!.data!).lastSeq, 3, 'lastSeq');
});

add('events: Last-Event-ID resumes after that seq, nothing repeated', async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  const events = [1, 2, 3, 4].map((s) => at(s));
  await h.ingest(token, {
    request: id,
    events: [...events, at(5, 'completed', { data: { outcome: 'succeeded' } })],
  });
  const res = await h.req(`/api/jobs/${id}/events`, { role: 'viewer', headers: { 'Last-Event-ID': '3' } });
  equal(
    parseSse(await res.text()).map((e) => e.id ?? e.event),
    ['4', '5', 'end'],
  );
  await expectError(
    await h.req(`/api/jobs/${id}/events`, { role: 'viewer', headers: { 'Last-Event-ID': 'x' } }),
    400,
    'bad_request',
  );
});

add('events: a live stream follows new batches and ends when the request is terminal', async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  await h.ingest(token, { request: id, events: [at(1, 'started')] });
  const res = await h.req(`/api/jobs/${id}/events`, { role: 'viewer' });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
  };
  await readUntil('id: 1');
  await h.ingest(token, { request: id, events: [at(2), at(3)] });
  await readUntil('id: 3');
  await h.kube.patchStatus('InferenceRequest', id, { status: { phase: 'Failed' } });
  await readUntil('event: end');
  equal(
    parseSse(text).map((e) => e.id ?? e.event),
    ['1', '2', '3', 'end'],
  );
  ok(text.includes('"phase":"Failed"'), 'end names the phase');
});

// ── resources ─────────────────────────────────────────────────────────────────────────────────
add('resources: admin creates, reads, updates and deletes each kind; viewers read', async () => {
  const h = harness();
  const specs: Record<string, unknown> = {
    models: { provider: 'anthropic', executor: 'claude', model: 'claude-sonnet-4-5' },
    agents: { role: 'developer', systemPrompt: 'Be careful.' },
    instructions: { type: 'global', content: 'Test.' },
    configs: {},
    webhooksources: { type: 'github', secretRef: { name: 'gh', key: 'secret' }, rules: [] },
  };
  for (const [kind, spec] of Object.entries(specs)) {
    const created = await h.req(`/api/resources/${kind}`, {
      method: 'POST',
      role: 'admin',
      headers: json,
      body: JSON.stringify({ metadata: { name: 'one' }, spec }),
    });
    equal(created.status, 201, `create ${kind}: ${await created.clone().text()}`);
    const list = await body(await h.req(`/api/resources/${kind}`, { role: 'viewer' }));
    equal(
      list.items.map((i: { name: string }) => i.name),
      ['one'],
      `list ${kind}`,
    );
    const got = await body(await h.req(`/api/resources/${kind}/one`, { role: 'viewer' }));
    equal(got.name, 'one', `get ${kind}`);
    const put = await h.req(`/api/resources/${kind}/one`, {
      method: 'PUT',
      role: 'admin',
      headers: json,
      body: JSON.stringify({ metadata: { name: 'one', labels: { edited: 'yes' } }, spec }),
    });
    equal(put.status, 200, `update ${kind}: ${await put.clone().text()}`);
    equal((await body(put)).metadata.labels, { edited: 'yes' }, `labels ${kind}`);
    equal(
      (await h.req(`/api/resources/${kind}/one`, { method: 'DELETE', role: 'admin' })).status,
      204,
      `delete ${kind}`,
    );
  }
});

add(
  'resources errors: invalid specs are 400 with field paths; conflicts 409; unknown kinds 404',
  async () => {
    const h = harness();
    const post = (b: unknown) =>
      h.req('/api/resources/instructions', {
        method: 'POST',
        role: 'admin',
        headers: json,
        body: JSON.stringify(b),
      });
    const putWithVersion = (resourceVersion: string) =>
      h.req('/api/resources/instructions/x', {
        method: 'PUT',
        role: 'admin',
        headers: json,
        body: JSON.stringify({
          metadata: { name: 'x', resourceVersion },
          spec: { type: 'global', content: 'c' },
        }),
      });
    const e1 = await expectError(
      await post({ metadata: { name: 'x' }, spec: { type: 'sideways' } }),
      400,
      'invalid_body',
    );
    ok(
      (e1.details as { path: string }[]).some((d) => d.path === 'spec.type'),
      'spec.type path',
    );
    // Only the apiserver's CEL rule knows this one: its 422 comes back as a 400 with the field.
    const e2 = await expectError(
      await post({ metadata: { name: 'x' }, spec: { type: 'local', content: 'c' } }),
      400,
      'invalid_body',
    );
    ok(
      (e2.details as { path: string }[]).some((d) => d.path.startsWith('spec')),
      'cel path',
    );
    equal(
      (await post({ metadata: { name: 'x' }, spec: { type: 'global', content: 'c' } })).status,
      201,
      'create',
    );
    await expectError(
      await post({ metadata: { name: 'x' }, spec: { type: 'global', content: 'c' } }),
      409,
      'conflict',
    );
    await expectError(await putWithVersion('1'), 409, 'conflict');
    // a resourceVersion that no read gave: 400 before the apiserver (which answers those 500)
    const e3 = await expectError(await putWithVersion('garbage'), 400, 'invalid_body');
    ok(
      (e3.details as { path: string }[]).some((d) => d.path === 'metadata.resourceVersion'),
      'resourceVersion path',
    );
    await expectError(await h.req('/api/resources/secrets', { role: 'admin' }), 404, 'not_found');
    await expectError(await h.req('/api/resources/instructions/nope', { role: 'admin' }), 404, 'not_found');
  },
);

add('resources security: viewers and operators may not write; preview composes for any agent', async () => {
  const h = harness();
  const b = JSON.stringify({ metadata: { name: 'x' }, spec: { type: 'global', content: 'c' } });
  await expectError(
    await h.req('/api/resources/instructions', { method: 'POST', role: 'operator', headers: json, body: b }),
    403,
    'forbidden',
  );
  await expectError(
    await h.req('/api/resources/instructions', { method: 'POST', headers: json, body: b }),
    401,
    'unauthorized',
  );
  equal(h.kube.all('AiInstruction').length, 0, 'nothing created');
  await h.kube.create('AiAgent', {
    metadata: { name: 'reviewer' },
    spec: { role: 'reviewer', systemPrompt: 'Review.' },
  });
  await h.kube.create('AiInstruction', {
    metadata: { name: 'local-reviewer' },
    spec: { type: 'local', agents: ['reviewer'], content: 'Checklist.' },
  });
  const preview = await body(await h.req('/api/resources/agents/reviewer/preview', { role: 'viewer' }));
  equal(preview.text, 'Checklist.\n\nReview.', 'text');
  equal(preview.parts, [
    { source: 'local-reviewer', kind: 'local' },
    { source: 'reviewer', kind: 'agent' },
  ]);
  await expectError(await h.req('/api/resources/agents/ghost/preview', { role: 'viewer' }), 404, 'not_found');
});

add('logs: structured JSON lines with request ids; keys, tokens and cookies never appear', async () => {
  const h = harness();
  const id = await submitted(h);
  const token = await h.ingestToken(id);
  await h.ingest(token, { request: id, events: [at(1)] });
  await h.req('/api/jobs', {
    headers: { cookie: 'auth_token=secret-cookie-value', 'x-test-user': 'u:viewer' },
  });
  h.app.services.log.info('redaction check', { apiKey: STATIC_KEY, nested: { authorization: token } });
  const all = h.logs.join('\n');
  for (const secret of [STATIC_KEY, token, 'secret-cookie-value'])
    ok(!all.includes(secret), 'secret in logs');
  for (const line of h.logs) ok(typeof JSON.parse(line).msg === 'string', 'JSON line');
  ok(
    h.logs.some((l) => JSON.parse(l).requestId),
    'request ids',
  );
});
