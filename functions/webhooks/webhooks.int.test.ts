// The webhook receiver against the real apiserver: real GitHub payloads, real signatures, real
// InferenceRequests, the ledger ConfigMap, and a real webhook-only process (WEBHOOK_SOURCE_NAME).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type InferenceRequest, VERSION, type WebhookSource } from '../../api/v1alpha1/index.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../../test/kube.ts';
import { errorHandler, notFoundHandler } from '../lib/errors.ts';
import { createKubeClient } from '../lib/kube-client.ts';
import { silentLogger } from '../lib/log.ts';
import { asUser, testRequireRole } from '../testing/auth.ts';
import { createWebhooksApp } from './app.ts';
import { buildWebhook, webhookStartArgs } from './build.ts';
import { example, githubDelivery, githubSource, SECRET } from './fixtures.ts';
import { createLedger, type Ledger, ledgerName } from './ledger.ts';
import { signGeneric } from './signature.ts';
import { createWebhookCore } from './store.ts';

let ns: TestNamespace;
let api: Hono;
let ledger: Ledger;
const MAX_BODY = 256 * 1024;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

const ir = { group: GROUP, version: VERSION, plural: 'inferencerequests' };
async function listRequests(): Promise<InferenceRequest[]> {
  const res = (await ns.custom.listNamespacedCustomObject({ ...ir, namespace: ns.name })) as {
    items: InferenceRequest[];
  };
  return res.items;
}
const byDelivery = async (id: string) =>
  (await listRequests()).filter((r) => r.spec.source?.deliveryId === id);
const post = (path: string, d: { headers: Record<string, string>; body: string }) =>
  api.request(path, { method: 'POST', headers: d.headers, body: d.body });

const genericSource: WebhookSource = {
  apiVersion: 'labrats.work/v1alpha1',
  kind: 'WebhookSource',
  metadata: { name: 'gen' },
  spec: {
    type: 'generic',
    secretRef: { name: 'gh-secret', key: 'secret' },
    signature: {
      header: 'X-Signature',
      prefix: 'sha256=',
      timestampHeader: 'X-Timestamp',
      toleranceSeconds: 300,
    },
    deliveryIdHeader: 'X-Delivery',
    eventHeader: 'X-Event',
    rules: [
      {
        name: 'deploy',
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

beforeAll(async () => {
  ns = await createTestNamespace('webhooks');
  await ns.core.createNamespacedSecret({
    namespace: ns.name,
    body: { metadata: { name: 'gh-secret' }, stringData: { secret: SECRET } },
  });
  for (const s of [githubSource('gh'), genericSource]) {
    await ns.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns.name,
      plural: 'webhooksources',
      body: { ...s, spec: { ...s.spec, secretRef: { name: 'gh-secret', key: 'secret' } } },
    });
  }
  const kube = createKubeClient(ns.kc, ns.name);
  const core = createWebhookCore(ns.kc, ns.name);
  ledger = createLedger({ core, log: silentLogger, minIntervalMs: 0 });
  api = new Hono();
  api.route(
    '/api/webhooks',
    createWebhooksApp({
      kube,
      core,
      log: silentLogger,
      ledger,
      maxBodyBytes: MAX_BODY,
      requireRole: testRequireRole,
    }),
  );
  api.onError(errorHandler(silentLogger));
  api.notFound(notFoundHandler);
});

afterAll(async () => {
  await ns?.cleanup();
});

describe('webhooks against the real apiserver', () => {
  it('real payloads (issues labeled, issue_comment, pull_request, push) create the expected requests', async () => {
    const comment = example('issue_comment', 'created');
    (comment.comment as Record<string, unknown>).body = '/ai review the README please';
    const push = example('push', undefined, (p) => p.ref === 'refs/heads/master');
    const deliveries = [
      ['issues', example('issues', 'labeled'), 'real-issues'],
      ['issue_comment', comment, 'real-comment'],
      ['pull_request', example('pull_request', 'opened'), 'real-pr'],
      ['push', push, 'real-push'],
    ] as const;
    for (const [event, payload, id] of deliveries) {
      const res = await post('/api/webhooks/gh', await githubDelivery(event, payload, { id }));
      expect(res.status, await res.clone().text()).toBe(202);
    }
    const [issue] = await byDelivery('real-issues');
    expect(issue?.spec).toMatchObject({
      agent: 'developer',
      prompt: expect.stringContaining(
        'Resolve issue #1 in Codertocat/Hello-World: Spelling error in the README file',
      ),
      concurrencyKey: 'Codertocat/Hello-World#1',
      source: { kind: 'webhook', name: 'gh', deliveryId: 'real-issues' },
      caller: 'webhook-gh',
    });
    const [review] = await byDelivery('real-comment');
    expect(review?.spec).toMatchObject({
      agent: 'reviewer',
      prompt: 'Review #1 as asked by Codertocat: the README please',
    });
    const [pr] = await byDelivery('real-pr');
    expect(pr?.spec).toMatchObject({
      agent: 'reviewer',
      model: 'claude-sonnet',
      priority: 5,
      repository: {
        url: 'https://github.com/Codertocat/Hello-World.git',
        ref: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
        branch: 'changes',
        pullRequest: true,
      },
    });
    const [pushed] = await byDelivery('real-push');
    expect(pushed?.spec).toMatchObject({
      agent: 'developer',
      repository: { url: 'https://github.com/Codertocat/Hello-World.git', branch: 'master' },
    });
    expect(pushed?.metadata.labels).toMatchObject({
      'labrats.work/source': 'webhook',
      'labrats.work/webhook-source': 'gh',
      'labrats.work/webhook-rule': 'push-master',
    });
  });

  it('the same delivery sent 20 times concurrently makes one request', async () => {
    const d = await githubDelivery('issues', example('issues', 'labeled'), { id: 'twenty' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/api/webhooks/gh', d)));
    const bodies = await Promise.all(answers.map((r) => r.json() as Promise<{ outcome: string }>));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(bodies.filter((b) => b.outcome === 'created')).toHaveLength(1);
    expect(bodies.filter((b) => b.outcome === 'duplicate')).toHaveLength(19);
    expect(await byDelivery('twenty')).toHaveLength(1);
  });

  it('forged, missing and stale signatures get 401 and create nothing', async () => {
    const d = await githubDelivery('issues', example('issues', 'labeled'), { id: 'forged' });
    const forged = await post('/api/webhooks/gh', {
      headers: { ...d.headers, 'x-hub-signature-256': `sha256=${'ab'.repeat(32)}` },
      body: d.body,
    });
    const missing = await post('/api/webhooks/gh', {
      headers: Object.fromEntries(Object.entries(d.headers).filter(([k]) => k !== 'x-hub-signature-256')),
      body: d.body,
    });
    const body = JSON.stringify({ service: 'api' });
    const old = Math.floor(Date.now() / 1000) - 3600;
    const stale = await post('/api/webhooks/gen', {
      headers: {
        'x-signature': await signGeneric(SECRET, body, { timestamp: old }),
        'x-timestamp': String(old),
        'x-delivery': 'stale',
        'x-event': 'deploy',
      },
      body,
    });
    for (const res of [forged, missing, stale]) {
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(SECRET);
    }
    expect(await byDelivery('forged')).toHaveLength(0);
    expect(await byDelivery('stale')).toHaveLength(0);
    // the same generic delivery, fresh, is accepted
    const now = Math.floor(Date.now() / 1000);
    const fresh = await post('/api/webhooks/gen', {
      headers: {
        'x-signature': await signGeneric(SECRET, body, { timestamp: now }),
        'x-timestamp': String(now),
        'x-delivery': 'fresh',
        'x-event': 'deploy',
      },
      body,
    });
    expect(fresh.status).toBe(202);
    expect(await byDelivery('fresh')).toHaveLength(1);
  });

  it('unknown source 404, body over the limit 413, non-JSON 400 — nothing created', async () => {
    const before = (await listRequests()).length;
    const d = await githubDelivery('issues', example('issues', 'labeled'));
    expect((await post('/api/webhooks/no-such-source', d)).status).toBe(404);
    const big = example('issues', 'labeled');
    (big.issue as Record<string, unknown>).body = 'x'.repeat(MAX_BODY + 1);
    expect((await post('/api/webhooks/gh', await githubDelivery('issues', big))).status).toBe(413);
    const { sign } = await import('@octokit/webhooks-methods');
    const text = 'this is not json';
    const nonJson = await post('/api/webhooks/gh', {
      headers: { ...d.headers, 'x-hub-signature-256': await sign(SECRET, text) },
      body: text,
    });
    expect(nonJson.status).toBe(400);
    expect((await listRequests()).length).toBe(before);
  });

  it('cancel-previous: a second push to the same PR cancels the first request', async () => {
    const pr = example('pull_request', 'synchronize');
    const first = await post('/api/webhooks/gh', await githubDelivery('pull_request', pr, { id: 'sync-a' }));
    expect(first.status).toBe(202);
    const second = await post('/api/webhooks/gh', await githubDelivery('pull_request', pr, { id: 'sync-b' }));
    expect(second.status).toBe(202);
    const [a] = await byDelivery('sync-a');
    const [b] = await byDelivery('sync-b');
    expect(a?.spec.cancel).toBe(true);
    expect(b?.spec.cancel).toBe(false);
    expect(a?.spec.concurrencyKey).toBe('Codertocat/Hello-World#2');
  });

  it('keeps a ledger per source in an owned ConfigMap, listed and replayed through the API', async () => {
    await ledger.flush();
    const cm = await ns.core.readNamespacedConfigMap({ name: ledgerName('gh'), namespace: ns.name });
    expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'WebhookSource', name: 'gh' });
    const res = await api.request('/api/webhooks/gh/deliveries?limit=100', { headers: asUser('viewer') });
    const { items } = (await res.json()) as { items: { id: string; outcome: string; requests: unknown[] }[] };
    expect(items.find((e) => e.id === 'real-issues')).toMatchObject({ outcome: 'created', event: 'issues' });
    expect(
      items
        .filter((e) => e.id === 'twenty')
        .map((e) => e.outcome)
        .sort(),
    ).toEqual(['created', ...Array(19).fill('duplicate')]);
    expect(items.some((e) => e.id === 'forged')).toBe(false);
    const replay = await api.request('/api/webhooks/gh/deliveries/real-push/replay', {
      method: 'POST',
      headers: asUser('operator'),
    });
    expect(replay.status).toBe(202);
    await ledger.flush();
    expect(await byDelivery('real-push')).toHaveLength(2);
  });
});

describe('the webhook-only process (WEBHOOK_SOURCE_NAME)', () => {
  const root = join(import.meta.dirname, '..', '..');
  const children: ChildProcess[] = [];
  let bundleDir: string;
  beforeAll(async () => {
    bundleDir = await buildWebhook(await mkdtemp(join(tmpdir(), 'ai-agents-webhook-')));
  });
  afterAll(async () => {
    for (const child of children) if (child.pid && child.exitCode === null) child.kill('SIGTERM');
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  });

  // the sources (development) and the bundle the webhook image runs, from its startup snapshot
  // (functions/webhooks/build.ts); the bundle runs where no node_modules can be found, as in the image
  it.each([
    {
      what: 'the TypeScript sources',
      id: 'process-sources',
      args: () => [join(root, 'functions/webhooks/main.node.ts')],
      cwd: () => root,
    },
    {
      what: 'the bundle',
      id: 'process-bundle',
      args: () => webhookStartArgs(bundleDir),
      cwd: () => bundleDir,
    },
  ])('serves only its source: $what', async ({ id, args, cwd }) => {
    const child = spawn(process.execPath, args(), {
      cwd: cwd(),
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: inject('kubeconfig'),
        WEBHOOK_SOURCE_NAME: 'gh',
        NAMESPACE: ns.name,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const port = await eventually('the webhook process to listen', () => {
      if (child.exitCode !== null) throw new Error(`webhook process exited: ${out}`);
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      const m = line ? /"port":(\d+)/.exec(line) : null;
      return m ? Number(m[1]) : undefined;
    });
    const base = `http://127.0.0.1:${port}`;
    const d = await githubDelivery('issues', example('issues', 'labeled'), { id });
    const mine = await fetch(`${base}/api/webhooks/gh`, { method: 'POST', headers: d.headers, body: d.body });
    expect(mine.status, await mine.clone().text()).toBe(202);
    const other = await fetch(`${base}/api/webhooks/gen`, {
      method: 'POST',
      headers: d.headers,
      body: d.body,
    });
    expect(other.status).toBe(404);
    expect((await fetch(`${base}/api/jobs`)).status).toBe(404);
    expect((await fetch(`${base}/api/webhooks/gh/deliveries`)).status).toBe(404);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    expect(await byDelivery(id)).toHaveLength(1);
    // SIGTERM: the ledger is flushed and the process exits cleanly
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited, out).toBe(0);
  });

  it('the bundle stops at start with the reason when its configuration is bad', async () => {
    const child = spawn(process.execPath, webhookStartArgs(bundleDir), {
      cwd: bundleDir,
      // no WEBHOOK_SOURCE_NAME
      env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code, err).toBe(1);
    expect(err).toContain('WEBHOOK_SOURCE_NAME is required');
  });
});
