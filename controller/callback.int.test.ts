// Signed callbacks to a receiver on loopback; a failing receiver is retried, then given up on; a
// Secret not labelled for callbacks signs nothing, and is reported as a missing one is; nothing is
// sent where CALLBACK_ALLOWED_HOSTS does not allow.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { CALLBACK_SECRET_LABEL } from '../api/v1alpha1/index.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifySignature } from './callback.ts';
import { type KubeClient, objectPath, RESOURCES } from './kube.ts';
import type { Running } from './main.ts';
import {
  adminClient,
  createFixtures,
  createRequest,
  getRequest,
  KWOK,
  runInProcess,
  testEnv,
} from './testing.ts';

const HMAC_KEY = 'callback-signing-key-for-tests';
const OTHER_KEY = 'webhook-source-key-not-for-callbacks';
interface Received {
  path: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

let ns: TestNamespace;
let client: KubeClient;
let controller: Running;
let server: Server;
let base: string;
const received: Received[] = [];

beforeAll(async () => {
  ns = await createTestNamespace('ctrl-cb');
  client = adminClient(inject('kubeconfig'));
  await createFixtures(client, ns.name);
  await client.create(RESOURCES.secrets, ns.name, {
    metadata: { name: 'cb-key', labels: { [CALLBACK_SECRET_LABEL]: 'true' } },
    stringData: { secret: HMAC_KEY },
  });
  // a Secret that is not for callbacks (a webhook source's key, say)
  await client.create(RESOURCES.secrets, ns.name, {
    metadata: { name: 'not-for-callbacks' },
    stringData: { secret: OTHER_KEY },
  });
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body, headers: req.headers });
      res.writeHead(req.url === '/fail' ? 503 : 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  controller = await runInProcess(
    inject('kubeconfig'),
    testEnv(ns.name, {
      CALLBACK_MAX_ATTEMPTS: '3',
      CALLBACK_BACKOFF_MS: '100',
      CALLBACK_REPORT_WAIT_MS: '4000',
      CALLBACK_ALLOWED_HOSTS: '127.0.0.1',
    }),
  );
});

afterAll(async () => {
  await controller?.stop();
  server?.close();
  await ns?.cleanup();
});

it('POSTs the result with a signature the receiver can verify', async () => {
  const req = await createRequest(client, ns.name, 'cb-ok', {
    labels: KWOK.runFor('1s'),
    callback: { url: `${base}/ok`, secretRef: { name: 'cb-key' } },
  });
  const done = await eventually('callback delivered', async () => {
    const r = await getRequest(client, ns.name, 'cb-ok');
    return r.status?.callback?.deliveredAt ? r : undefined;
  });
  expect(done.status?.callback).toMatchObject({ attempts: 1, lastStatus: 204 });
  expect(done.status?.conditions?.find((c) => c.type === 'CallbackDelivered')?.status).toBe('True');
  const hits = received.filter((r) => r.path === '/ok');
  expect(hits).toHaveLength(1);
  const hit = hits[0]!;
  expect(verifySignature(hit.body, hit.headers[SIGNATURE_HEADER] as string, HMAC_KEY)).toBe(true);
  expect(verifySignature(hit.body, hit.headers[SIGNATURE_HEADER] as string, 'wrong-key')).toBe(false);
  expect(hit.headers[DELIVERY_HEADER]).toBe(req.metadata.uid);
  expect(JSON.parse(hit.body)).toMatchObject({ name: 'cb-ok', namespace: ns.name, phase: 'Succeeded' });
  // the signing key never shows up in status
  expect(JSON.stringify(done.status)).not.toContain(HMAC_KEY);
});

it('retries a failing receiver with back-off, then gives up and records it', async () => {
  await createRequest(client, ns.name, 'cb-fail', {
    labels: KWOK.fail(1),
    callback: { url: `${base}/fail`, secretRef: { name: 'cb-key' } },
  });
  const done = await eventually('callback given up', async () => {
    const r = await getRequest(client, ns.name, 'cb-fail');
    return r.status?.callback?.gaveUp ? r : undefined;
  });
  expect(done.status?.phase).toBe('Failed');
  expect(done.status?.callback).toMatchObject({ attempts: 3, lastStatus: 503, gaveUp: true });
  expect(done.status?.callback?.deliveredAt).toBeUndefined();
  expect(done.status?.conditions?.find((c) => c.type === 'CallbackDelivered')).toMatchObject({
    status: 'False',
    reason: 'GaveUp',
  });
  const hits = received.filter((r) => r.path === '/fail');
  expect(hits).toHaveLength(3);
  for (const h of hits)
    expect(verifySignature(h.body, h.headers[SIGNATURE_HEADER] as string, HMAC_KEY)).toBe(true);
});

it('signs with no Secret but one labelled for callbacks, and says the same of a missing one', async () => {
  for (const [name, secret] of [
    ['cb-unlabelled', 'not-for-callbacks'],
    ['cb-missing', 'no-such-secret'],
  ] as const) {
    await createRequest(client, ns.name, name, {
      labels: KWOK.runFor('1s'),
      callback: { url: `${base}/${name}`, secretRef: { name: secret } },
    });
    const done = await eventually(`${name}: callback given up`, async () => {
      const r = await getRequest(client, ns.name, name);
      return r.status?.callback?.gaveUp ? r : undefined;
    });
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.callback).toMatchObject({
      attempts: 3,
      gaveUp: true,
      lastError: `signing Secret ${secret} is not usable: it must exist, be labelled ${CALLBACK_SECRET_LABEL}=true and hold key "secret"`,
    });
    expect(received.filter((r) => r.path === `/${name}`)).toEqual([]);
  }
  // nothing anywhere was signed with the unlabelled Secret's key
  for (const r of received)
    expect(verifySignature(r.body, r.headers[SIGNATURE_HEADER] as string, OTHER_KEY)).toBe(false);
});

it("waits for the executor's report, so the body carries the result and usage", async () => {
  await createRequest(client, ns.name, 'cb-report', {
    labels: KWOK.runFor('1s'),
    callback: { url: `${base}/report`, secretRef: { name: 'cb-key' } },
  });
  await eventually('Succeeded', async () =>
    (await getRequest(client, ns.name, 'cb-report')).status?.phase === 'Succeeded' ? true : undefined,
  );
  // the API folds the executor's completed event into status a moment after the Job ends
  await new Promise((r) => setTimeout(r, 1500));
  expect(received.filter((r) => r.path === '/report')).toEqual([]);
  await client.request('PATCH', objectPath(RESOURCES.inferencerequests, ns.name, 'cb-report', 'status'), {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        lastEvent: { seq: 3, type: 'completed' },
        eventCount: 3,
        result: { summary: 'the report' },
        usage: { inputTokens: 5, outputTokens: 2 },
      },
    },
  });
  const hit = await eventually('callback delivered', async () => received.find((r) => r.path === '/report'));
  expect(JSON.parse(hit.body)).toMatchObject({
    phase: 'Succeeded',
    result: { summary: 'the report' },
    usage: { inputTokens: 5, outputTokens: 2 },
  });
});

it('sends nothing where CALLBACK_ALLOWED_HOSTS does not allow, and gives up at once', async () => {
  const port = new URL(base).port;
  const refused = {
    'cb-metadata': 'http://169.254.169.254/latest/meta-data/',
    'cb-v6-loopback': `http://[::1]:${port}/cb-v6-loopback`,
  };
  // a name is allowed when it resolves to an allowed address, and only that address is used
  const byName = `http://localhost:${port}/by-name`;
  const all: [string, string][] = [...Object.entries(refused), ['cb-by-name', byName]];
  for (const [name, url] of all)
    await createRequest(client, ns.name, name, {
      labels: KWOK.runFor('1s'),
      callback: { url, secretRef: { name: 'cb-key' } },
    });
  for (const [name, url] of Object.entries(refused)) {
    const done = await eventually(`${name}: callback given up`, async () => {
      const r = await getRequest(client, ns.name, name);
      return r.status?.callback?.gaveUp ? r : undefined;
    });
    expect(done.status?.callback).toMatchObject({
      attempts: 1,
      gaveUp: true,
      lastError: `callback destination ${new URL(url).hostname.replace(/^\[|\]$/g, '')} is not in CALLBACK_ALLOWED_HOSTS`,
    });
    expect(done.status?.callback?.lastStatus).toBeUndefined();
    expect(done.status?.conditions?.find((c) => c.type === 'CallbackDelivered')).toMatchObject({
      status: 'False',
      reason: 'Refused',
      message: `not sent: ${done.status?.callback?.lastError}`,
    });
  }
  expect(received.filter((r) => r.path === '/cb-v6-loopback')).toEqual([]);
  // counted apart from receivers that fail, which the alerts are about
  const metrics = await (await fetch(`http://127.0.0.1:${controller.port}/metrics`)).text();
  expect(metrics).toContain('ai_agents_controller_callbacks_total{outcome="refused"} 2');
  const named = await eventually('cb-by-name: delivered', async () => {
    const r = await getRequest(client, ns.name, 'cb-by-name');
    return r.status?.callback?.deliveredAt ? r : undefined;
  });
  expect(named.status?.callback).toMatchObject({ attempts: 1, lastStatus: 204 });
  expect(received.filter((r) => r.path === '/by-name')).toHaveLength(1);
});

it('records why a connection failed', async () => {
  // a port nothing listens on: bound, then closed
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await createRequest(client, ns.name, 'cb-refused', {
    labels: KWOK.runFor('1s'),
    callback: { url: `http://127.0.0.1:${port}/`, secretRef: { name: 'cb-key' } },
  });
  const done = await eventually('cb-refused: callback given up', async () => {
    const r = await getRequest(client, ns.name, 'cb-refused');
    return r.status?.callback?.gaveUp ? r : undefined;
  });
  expect(done.status?.callback).toMatchObject({ attempts: 3, gaveUp: true, lastError: 'ECONNREFUSED' });
});
