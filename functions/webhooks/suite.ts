// The webhooks' behavioural suite: the same app.request() cases under Node (app.test.ts, vitest)
// and Deno (deno.run.ts). In-memory Kube; the integration tests repeat the proof against a real
// apiserver. Cases are grouped into happy path, errors and security.
import { Hono } from 'hono';
import type { InferenceRequest, WebhookSource } from '../../api/v1alpha1/index.ts';
import { errorHandler, notFoundHandler } from '../lib/errors.ts';
import { silentLogger } from '../lib/log.ts';
import { createMemoryKube, type MemoryKube } from '../lib/memory-kube.ts';
import { equal, includes, ok } from '../runtime-tests/assert.ts';
import { asUser, testRequireRole } from '../testing/auth.ts';
import { createWebhookOnlyApp, createWebhooksApp } from './app.ts';
import { example, githubDelivery, githubSource, SECRET } from './fixtures.ts';
import { createLedger } from './ledger.ts';
import { signGeneric } from './signature.ts';
import { createMemoryCore } from './store.ts';

type Case = () => Promise<void>;
export const suite: Record<string, Case> = {};
const add = (name: string, fn: Case) => {
  suite[name] = fn;
};
// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in the assertions
type Json = Record<string, any>;

const MAX_BODY = 64 * 1024;

async function harness(opts: { sources?: WebhookSource[]; now?: () => number } = {}) {
  const kube = createMemoryKube('ns');
  const core = createMemoryCore();
  const sources = opts.sources ?? [githubSource('gh')];
  for (const s of sources) {
    await kube.create('WebhookSource', s as never);
    core.secrets.set(s.spec.secretRef.name, { [s.spec.secretRef.key ?? 'secret']: SECRET });
  }
  const now = opts.now ?? Date.now;
  const ledger = createLedger({ core, log: silentLogger, now, minIntervalMs: 0 });
  const deps = { kube, core, log: silentLogger, now, ledger, sourceCacheMs: 0, maxBodyBytes: MAX_BODY };
  const api = new Hono();
  api.route('/api/webhooks', createWebhooksApp({ ...deps, requireRole: testRequireRole }));
  api.onError(errorHandler(silentLogger));
  api.notFound(notFoundHandler);
  const post = async (path: string, d: { headers: Record<string, string>; body: string }) =>
    api.request(path, { method: 'POST', headers: d.headers, body: d.body });
  const requests = () => kube.all('InferenceRequest') as unknown as InferenceRequest[];
  return { kube: kube as MemoryKube, core, api, deps, post, requests, ledger };
}

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

// ── happy path ────────────────────────────────────────────────────────────────────────────────
add('happy: issues.labeled (real payload) → 202 and one request with the rendered prompt', async () => {
  const h = await harness();
  const res = await h.post(
    '/api/webhooks/gh',
    await githubDelivery('issues', example('issues', 'labeled'), { id: 'd-1' }),
  );
  const b = await json(res);
  equal(res.status, 202, `status ${JSON.stringify(b)}`);
  equal(b.outcome, 'created', 'outcome');
  equal(b.requests.length, 1, 'requests');
  includes(b.requests[0], { rule: 'label-bug', result: 'created' });
  const [ir] = h.requests();
  ok(ir, 'request stored');
  equal(ir.metadata.name, b.requests[0].name, 'name');
  includes(ir.spec, { agent: 'developer', source: { kind: 'webhook', name: 'gh', deliveryId: 'd-1' } });
  ok(
    ir.spec.prompt.startsWith(
      'Resolve issue #1 in Codertocat/Hello-World: Spelling error in the README file',
    ),
    ir.spec.prompt,
  );
  equal(ir.spec.concurrencyKey, 'Codertocat/Hello-World#1', 'concurrencyKey');
  equal(ir.metadata.labels?.['labrats.work/source'], 'webhook', 'source label');
});

add('happy: pull_request and push fill repository url, ref and branch from the payload', async () => {
  const h = await harness();
  await h.post(
    '/api/webhooks/gh',
    await githubDelivery('pull_request', example('pull_request', 'opened'), { id: 'pr-1' }),
  );
  const push = example('push', undefined, (p) => p.ref === 'refs/heads/master');
  await h.post('/api/webhooks/gh', await githubDelivery('push', push, { id: 'push-1' }));
  const byRule = Object.fromEntries(
    h.requests().map((r) => [r.metadata.labels?.['labrats.work/webhook-rule'], r]),
  );
  includes(byRule['pr-review']?.spec, {
    model: 'claude-sonnet',
    priority: 5,
    repository: {
      url: 'https://github.com/Codertocat/Hello-World.git',
      ref: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      branch: 'changes',
      pullRequest: true,
    },
  });
  includes(byRule['push-master']?.spec, {
    repository: { url: 'https://github.com/Codertocat/Hello-World.git', branch: 'master' },
    prompt: 'Check commit 6113728f27ae82c7b1a177c8d03f9e96e0adf246 pushed to master by Codertocat',
  });
});

add('happy: a comment command matches and its arguments reach the prompt', async () => {
  const h = await harness();
  const p = example('issue_comment', 'created');
  (p.comment as Json).body = 'LGTM\n/ai review the error handling';
  const res = await h.post('/api/webhooks/gh', await githubDelivery('issue_comment', p));
  equal(res.status, 202, 'status');
  equal(h.requests()[0]?.spec.prompt, 'Review #1 as asked by Codertocat: the error handling', 'prompt');
});

add('happy: no rule matched → 200 with the reason per rule, nothing created, ledger says why', async () => {
  const h = await harness();
  const p = example('issue_comment', 'created');
  const res = await h.post('/api/webhooks/gh', await githubDelivery('issue_comment', p, { id: 'nm-1' }));
  const b = await json(res);
  equal(res.status, 200, 'status');
  equal(b.outcome, 'no_match', 'outcome');
  equal(b.message, 'no rule matched', 'message');
  ok(
    b.misses.some(
      (m: Json) => m.rule === 'comment-review' && m.reason === 'comment has no "/ai review" command',
    ),
    JSON.stringify(b.misses),
  );
  equal(h.requests().length, 0, 'requests');
  await h.ledger.flush();
  const list = await json(await h.api.request('/api/webhooks/gh/deliveries', { headers: asUser('viewer') }));
  includes(list.items[0], {
    id: 'nm-1',
    event: 'issue_comment',
    action: 'created',
    outcome: 'no_match',
    replayable: true,
  });
});

add('happy: the same delivery twice → one request, the second answer says duplicate', async () => {
  const h = await harness();
  const d = await githubDelivery('issues', example('issues', 'labeled'), { id: 'dup-1' });
  const first = await json(await h.post('/api/webhooks/gh', d));
  const second = await json(await h.post('/api/webhooks/gh', d));
  equal(first.outcome, 'created', 'first');
  equal(second.outcome, 'duplicate', 'second');
  equal(second.requests[0].name, first.requests[0].name, 'same request');
  equal(h.requests().length, 1, 'requests');
});

add('happy: cancel-previous marks the older active request with the same key cancelled', async () => {
  let t = 1_800_000_000_000;
  const h = await harness({ now: () => t });
  const pr = example('pull_request', 'synchronize');
  const a = await json(
    await h.post('/api/webhooks/gh', await githubDelivery('pull_request', pr, { id: 'sync-1' })),
  );
  t += 1000;
  const b = await json(
    await h.post('/api/webhooks/gh', await githubDelivery('pull_request', pr, { id: 'sync-2' })),
  );
  const first = h.requests().find((r) => r.metadata.name === a.requests[0].name);
  const second = h.requests().find((r) => r.metadata.name === b.requests[0].name);
  equal(first?.spec.cancel, true, 'first cancelled');
  equal(second?.spec.cancel ?? false, false, 'second not cancelled');
  equal(b.requests[0].detail, `cancelled ${a.requests[0].name}`, 'detail');
});

add('happy: skip creates nothing while a request with the key is active', async () => {
  const src = githubSource('gh');
  src.spec.rules = src.spec.rules.map((r) =>
    r.name === 'pr-review' ? { ...r, concurrencyPolicy: 'skip' } : r,
  );
  const h = await harness({ sources: [src] });
  const pr = example('pull_request', 'synchronize');
  await h.post('/api/webhooks/gh', await githubDelivery('pull_request', pr, { id: 's-1' }));
  const res = await h.post('/api/webhooks/gh', await githubDelivery('pull_request', pr, { id: 's-2' }));
  const b = await json(res);
  equal(res.status, 200, 'status');
  equal(b.outcome, 'skipped', 'outcome');
  equal(h.requests().length, 1, 'requests');
});

add('happy: replay runs a kept delivery again as new requests (operator)', async () => {
  const h = await harness();
  await h.post(
    '/api/webhooks/gh',
    await githubDelivery('issues', example('issues', 'labeled'), { id: 'r-1' }),
  );
  await h.ledger.flush();
  const res = await h.api.request('/api/webhooks/gh/deliveries/r-1/replay', {
    method: 'POST',
    headers: asUser('operator'),
  });
  const b = await json(res);
  equal(res.status, 202, `status ${JSON.stringify(b)}`);
  equal(b.outcome, 'created', 'outcome');
  ok(typeof b.replayOf === 'string', 'replayOf');
  equal(h.requests().length, 2, 'requests');
  await h.ledger.flush();
  const list = await json(await h.api.request('/api/webhooks/gh/deliveries', { headers: asUser('viewer') }));
  equal(list.items.length, 2, 'ledger entries');
  equal(list.items[0].replayOf, b.replayOf, 'newest first, marked as replay');
});

add('happy: generic source with timestamped HMAC', async () => {
  const src: WebhookSource = {
    ...githubSource('gen'),
    spec: {
      type: 'generic',
      secretRef: { name: 'gen-secret', key: 'secret' },
      signature: { header: 'X-Sig', prefix: 'sha256=', timestampHeader: 'X-Ts', toleranceSeconds: 60 },
      deliveryIdHeader: 'X-Id',
      rules: [
        {
          name: 'any',
          event: 'deploy',
          agent: 'ops',
          promptTemplate: 'Deploy {{service}}',
          concurrencyPolicy: 'queue',
        },
      ],
      replicas: 1,
      suspend: false,
    },
  };
  const now = 1_800_000_000_000;
  const h = await harness({ sources: [src], now: () => now });
  const body = JSON.stringify({ event: 'deploy', service: 'api' });
  const ts = now / 1000;
  const headers = {
    'x-sig': await signGeneric(SECRET, body, { timestamp: ts }),
    'x-ts': String(ts),
    'x-id': 'g-1',
  };
  const res = await h.post('/api/webhooks/gen', { headers, body });
  equal(res.status, 202, 'fresh');
  equal(h.requests()[0]?.spec.prompt, 'Deploy api', 'prompt');
  const old = ts - 120;
  const stale = {
    'x-sig': await signGeneric(SECRET, body, { timestamp: old }),
    'x-ts': String(old),
    'x-id': 'g-2',
  };
  equal((await h.post('/api/webhooks/gen', { headers: stale, body })).status, 401, 'stale');
  // signed, but without the timestamp the signature covers: said as such
  const untimed = await h.post('/api/webhooks/gen', {
    headers: { 'x-sig': headers['x-sig'], 'x-id': 'g-3' },
    body,
  });
  equal(untimed.status, 401, 'no timestamp');
  equal(
    ((await untimed.json()) as { error: { message: string } }).error.message,
    'signature timestamp missing (header X-Ts)',
    'no timestamp: message',
  );
  equal(h.requests().length, 1, 'nothing more created');
});

// ── errors ────────────────────────────────────────────────────────────────────────────────────
add('happy: a burst past the ledger bounds keeps the newest entries, bodies within the budget', async () => {
  const core = createMemoryCore();
  const patches: Json[] = [];
  const counted = {
    ...core,
    patchConfigMap: (name: string, patch: unknown) => {
      patches.push(patch as Json);
      return core.patchConfigMap(name, patch);
    },
  };
  // bodies gzip to ~40 base64 bytes each: a 100-byte budget keeps the newest two
  const ledger = createLedger({
    core: counted,
    log: silentLogger,
    minIntervalMs: 0,
    maxEntries: 5,
    maxPayloadBytes: 100,
  });
  const source = githubSource('gh');
  const record = (i: number) =>
    ledger.record(
      source,
      {
        id: `d-${i}`,
        receivedAt: new Date().toISOString(),
        event: 'push',
        outcome: 'created',
        matched: [],
        requests: [],
      },
      `{"n":${i}}`,
    );
  await record(0);
  await Promise.all(Array.from({ length: 12 }, (_, i) => record(i + 1)));
  await ledger.flush();
  const entries = await ledger.list('gh');
  equal(entries.map((e) => e.id).join(','), 'd-12,d-11,d-10,d-9,d-8', 'the newest five, newest first');
  equal(entries.map((e) => e.replayable).join(','), 'true,true,false,false,false', 'bodies kept');
  equal((await ledger.payload('gh', 'd-12'))?.body, '{"n":12}', 'a kept body, as received');
  equal(await ledger.payload('gh', 'd-9'), undefined, 'a body past the budget');
  // the burst's write adds only what can stay
  const burst = patches.at(-1)!;
  const added = (o: Json) => Object.values(o ?? {}).filter((v) => v !== null).length;
  equal(added(burst.data), 5, 'entries added by the burst write');
  equal(added(burst.binaryData), 2, 'bodies added by the burst write');
});

add('errors: unknown source → 404 envelope', async () => {
  const h = await harness();
  const res = await h.post(
    '/api/webhooks/nope',
    await githubDelivery('issues', example('issues', 'labeled')),
  );
  const b = await json(res);
  equal(res.status, 404, 'status');
  equal(b.error.code, 'not_found', 'code');
});

add('errors: body over the limit → 413, nothing created', async () => {
  const h = await harness();
  const p = example('issues', 'labeled');
  (p.issue as Json).body = 'x'.repeat(MAX_BODY);
  const res = await h.post('/api/webhooks/gh', await githubDelivery('issues', p));
  equal(res.status, 413, 'status');
  equal((await json(res)).error.code, 'payload_too_large', 'code');
  equal(h.requests().length, 0, 'requests');
});

add('errors: non-JSON body (correctly signed) → 400', async () => {
  const h = await harness();
  const d = await githubDelivery('issues', {});
  const body = 'payload=%7B%7D';
  const { sign } = await import('@octokit/webhooks-methods');
  const res = await h.post('/api/webhooks/gh', {
    headers: { ...d.headers, 'x-hub-signature-256': await sign(SECRET, body) },
    body,
  });
  equal(res.status, 400, 'status');
  equal((await json(res)).error.code, 'bad_request', 'code');
});

add(
  'errors: a rule whose template renders an invalid request → 200 rule_error, nothing created',
  async () => {
    const src = githubSource('gh');
    src.spec.rules = [{ ...src.spec.rules[0]!, promptTemplate: '{{{issue.title}}}' }];
    const h = await harness({ sources: [src] });
    const res = await h.post(
      '/api/webhooks/gh',
      await githubDelivery('issues', example('issues', 'labeled')),
    );
    const b = await json(res);
    equal(res.status, 200, 'status');
    equal(b.outcome, 'rule_error', 'outcome');
    ok(/unescaped tags/.test(b.requests[0].detail), b.requests[0].detail);
    equal(h.requests().length, 0, 'requests');
  },
);

// ── security ──────────────────────────────────────────────────────────────────────────────────
add(
  'security: forged, missing and wrong-secret signatures → 401, nothing created, no secret hints',
  async () => {
    const h = await harness();
    const d = await githubDelivery('issues', example('issues', 'labeled'));
    const variants: Record<string, string>[] = [
      { ...d.headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      Object.fromEntries(Object.entries(d.headers).filter(([k]) => k !== 'x-hub-signature-256')),
      (await githubDelivery('issues', example('issues', 'labeled'), { secret: 'not-the-secret' })).headers,
    ];
    for (const headers of variants) {
      const res = await h.post('/api/webhooks/gh', { headers, body: d.body });
      const text = await res.text();
      equal(res.status, 401, 'status');
      ok(!text.includes(SECRET) && !/secret/i.test(text), `no secret hints: ${text}`);
    }
    equal(h.requests().length, 0, 'requests');
    await h.ledger.flush();
    equal((await h.ledger.list('gh')).length, 0, 'unauthenticated deliveries are not recorded');
  },
);

add('security: a tampered body with a valid signature of another body → 401', async () => {
  const h = await harness();
  const d = await githubDelivery('issues', example('issues', 'labeled'));
  const res = await h.post('/api/webhooks/gh', {
    headers: d.headers,
    body: d.body.replace('Spelling', 'Spel1ing'),
  });
  equal(res.status, 401, 'status');
});

add('security: ledger routes need a role (viewer to list, operator to replay)', async () => {
  const h = await harness();
  equal((await h.api.request('/api/webhooks/gh/deliveries')).status, 401, 'anonymous list');
  const r = await h.api.request('/api/webhooks/gh/deliveries/x/replay', {
    method: 'POST',
    headers: asUser('viewer'),
  });
  equal(r.status, 403, 'viewer replay');
});

add('security: the webhook-only app serves only its source', async () => {
  const h = await harness({ sources: [githubSource('gh'), githubSource('other')] });
  const app = createWebhookOnlyApp({ ...h.deps, sourceName: 'gh', path: '/hooks/gh' });
  const d = await githubDelivery('issues', example('issues', 'labeled'), { id: 'only-1' });
  const mine = await app.request('/api/webhooks/gh', { method: 'POST', headers: d.headers, body: d.body });
  equal(mine.status, 202, 'own source');
  const other = await app.request('/api/webhooks/other', {
    method: 'POST',
    headers: d.headers,
    body: d.body,
  });
  equal(other.status, 404, 'other source');
  const d2 = await githubDelivery('issues', example('issues', 'labeled'), { id: 'only-2' });
  const viaPath = await app.request('/hooks/gh', { method: 'POST', headers: d2.headers, body: d2.body });
  equal(viaPath.status, 202, 'ingress path');
  equal((await app.request('/api/webhooks/gh/deliveries')).status, 404, 'no ledger routes on the public pod');
  equal((await app.request('/api/jobs')).status, 404, 'no other API');
  equal((await app.request('/ready')).status, 200, 'ready');
  equal(h.requests().length, 2, 'requests');
});

add('probes: the webhook pod answers /health and /ready without Kubernetes (the seed contract)', async () => {
  const h = await harness();
  const calls: string[] = [];
  const unreachable = <T extends object>(what: string, real: T): T =>
    new Proxy(real, {
      get: (target, key) => {
        const v = Reflect.get(target, key);
        if (typeof v !== 'function') return v;
        return () => {
          calls.push(`${what}.${String(key)}`);
          return Promise.reject(new Error('apiserver unreachable'));
        };
      },
    });
  const app = createWebhookOnlyApp({
    ...h.deps,
    kube: unreachable('kube', h.deps.kube),
    core: unreachable('core', h.deps.core),
    sourceName: 'gone',
  });
  for (const path of ['/health', '/ready']) {
    const res = await app.request(path);
    equal(res.status, 200, path);
    equal(JSON.stringify(await res.json()), '{"status":"ok"}', path);
  }
  equal(calls.join(), '', 'no Kubernetes call');
});

add('metrics: the webhook pod counts deliveries by source and outcome at /metrics', async () => {
  const h = await harness();
  const app = createWebhookOnlyApp({ ...h.deps, sourceName: 'gh' });
  const d = await githubDelivery('issues', example('issues', 'labeled'), { id: 'm-1' });
  equal(
    (await app.request('/api/webhooks/gh', { method: 'POST', headers: d.headers, body: d.body })).status,
    202,
    'good',
  );
  const forged = await githubDelivery('issues', example('issues', 'labeled'), { id: 'm-2', secret: 'wrong' });
  const bad = await app.request('/api/webhooks/gh', {
    method: 'POST',
    headers: forged.headers,
    body: forged.body,
  });
  equal(bad.status, 401, 'forged');
  const text = await (await app.request('/metrics')).text();
  ok(text.includes('ai_agents_webhook_deliveries_total{source="gh",outcome="created"} 1'), text);
  ok(text.includes('ai_agents_webhook_deliveries_total{source="gh",outcome="bad_signature"} 1'), text);
});

add(
  'security: a hostile payload cannot inject template tags or control characters into the prompt',
  async () => {
    const h = await harness();
    const p = example('issues', 'labeled');
    (p.issue as Json).title = '{{repository.owner.login}} \u202Egnp.exe\u001b[2J';
    (p.issue as Json).body = '{{#x}}{{/x}} {{{y}}} </prompt>';
    await h.post('/api/webhooks/gh', await githubDelivery('issues', p));
    const prompt = h.requests()[0]?.spec.prompt ?? '';
    ok(prompt.includes('{{repository.owner.login}} gnp.exe[2J'), prompt);
    ok(prompt.includes('{{#x}}{{/x}} {{{y}}} </prompt>'), prompt);
    ok(!['\u0000', '\u001b', '\u202e'].some((ch) => prompt.includes(ch)), 'no control characters');
  },
);
