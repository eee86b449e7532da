// kube-http against a local HTTP server standing in for the apiserver: connections are counted
// where they are accepted; credentials are re-applied after their TTL; Retry-After and Status
// bodies become KubeErrors. (kube-http.int.test.ts runs the same client against the real
// apiserver over TLS.)
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeError } from './kube.ts';
import { createKubeClient } from './kube-client.ts';
import { kubeToApiError } from './kube-errors.ts';
import { createKubeHttp } from './kube-http.ts';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  contentType?: string;
  body: string;
}

let server: Server;
let port: number;
let connections = 0;
const seen: Seen[] = [];
/** The next answers, by path; default 200 with the request echoed. */
const answers = new Map<string, { status: number; headers?: Record<string, string>; body: string }>();

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const c of req) body += c;
    seen.push({
      method: req.method!,
      url: req.url!,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
    });
    const a = answers.get(req.url!.split('?')[0]!);
    res.writeHead(a?.status ?? 200, { 'content-type': 'application/json', ...a?.headers });
    res.end(
      a?.body ?? JSON.stringify({ metadata: { name: 'x' }, echo: { method: req.method, url: req.url } }),
    );
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function kubeConfig(user: { token?: string; username?: string; password?: string }, path = '') {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${port}${path}`, skipTLSVerify: true }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'c', cluster: 'local', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

describe('kube-http', () => {
  it('reuses kept-alive connections: 50 sequential calls open at most 2, 50 at 4 at a time at most 4', async () => {
    const http = createKubeHttp(kubeConfig({ token: 't' }), { connections: 4 });
    const before = connections;
    // (undici frees a connection a tick after its answer ends, so a call made right away may open a second)
    for (let i = 0; i < 50; i++) await http.request('GET', `/api/v1/namespaces/ns/configmaps/c${i}`);
    expect(connections - before).toBeGreaterThanOrEqual(1);
    expect(connections - before).toBeLessThanOrEqual(2);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 12; i++) await http.request('GET', '/api/v1/namespaces/ns/configmaps/c');
      }),
    );
    expect(connections - before).toBeLessThanOrEqual(4);
    expect(http.pools).toBe(1);
    await http.close();
  });

  it('sends the KubeConfig’s token, re-read once its TTL has passed (a rotated token is used)', async () => {
    let t = 0;
    const kc = kubeConfig({ token: 'first' });
    const http = createKubeHttp(kc, { credentialsTtlMs: 1000, now: () => t });
    const auth = async () => {
      seen.length = 0;
      await http.request('GET', '/api/v1/namespaces/ns/secrets/s');
      return seen[0]!.authorization;
    };
    expect(await auth()).toBe('Bearer first');
    Object.assign(kc.getCurrentUser()!, { token: 'second' });
    t = 999;
    expect(await auth()).toBe('Bearer first');
    t = 1000;
    expect(await auth()).toBe('Bearer second');
    await http.close();
  });

  it('basic auth from the KubeConfig becomes an Authorization header', async () => {
    const http = createKubeHttp(kubeConfig({ username: 'admin', password: 'pw' }));
    seen.length = 0;
    await http.request('GET', '/api/v1/namespaces');
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
    await http.close();
  });

  it('a server path prefix, query parameters and merge-patch bodies reach the server as sent', async () => {
    const kc = kubeConfig({ token: 't' }, '/k8s/clusters/c-1/');
    const kube = createKubeClient(kc, 'team a', createKubeHttp(kc));
    seen.length = 0;
    await kube.list('InferenceRequest', { labelSelector: 'a=b,c in (d)', limit: 5, continue: 'tok' });
    await kube.patchStatus('InferenceRequest', 'r/1', { status: { phase: 'Running' } });
    await kube.delete('AiAgent', 'dev');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /k8s/clusters/c-1/apis/labrats.work/v1alpha1/namespaces/team%20a/inferencerequests?labelSelector=a%3Db%2Cc+in+%28d%29&limit=5&continue=tok',
      'PATCH /k8s/clusters/c-1/apis/labrats.work/v1alpha1/namespaces/team%20a/inferencerequests/r%2F1/status',
      'DELETE /k8s/clusters/c-1/apis/labrats.work/v1alpha1/namespaces/team%20a/aiagents/dev?propagationPolicy=Background',
    ]);
    expect(seen[1]!.contentType).toBe('application/merge-patch+json');
    expect(JSON.parse(seen[1]!.body)).toEqual({ status: { phase: 'Running' } });
  });

  it('a changed client certificate gets a new pool; the old one is closed', async () => {
    const kc = kubeConfig({ token: 't' });
    let t = 0;
    const http = createKubeHttp(kc, { credentialsTtlMs: 10, now: () => t });
    await http.request('GET', '/api/v1/namespaces');
    await http.request('GET', '/api/v1/namespaces');
    expect(http.pools).toBe(1);
    Object.assign(kc.getCurrentUser()!, { certData: Buffer.from('another certificate').toString('base64') });
    t = 10;
    await http.request('GET', '/api/v1/namespaces');
    expect(http.pools).toBe(2);
    t = 20;
    await http.request('GET', '/api/v1/namespaces');
    expect(http.pools).toBe(2);
    await http.close();
  });
});

describe('kube-http errors', () => {
  const http = () => createKubeHttp(kubeConfig({ token: 't' }));
  const caught = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return e as KubeError;
    }
    throw new Error('expected an error');
  };

  it('429 with a Retry-After header: KubeError with retryAfterSeconds, 503 with Retry-After in the envelope', async () => {
    answers.set('/busy', {
      status: 429,
      headers: { 'retry-after': '7' },
      body: JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }),
    });
    const err = await caught(http().request('POST', '/busy', { body: {} }));
    expect(err).toMatchObject({
      name: 'KubeError',
      status: 429,
      reason: 'TooManyRequests',
      retryAfterSeconds: 7,
    });
    const api = kubeToApiError(err);
    expect(api.status).toBe(503);
    expect(api.headers['Retry-After']).toBe('7');
  });

  it('a Status body’s retryAfterSeconds wins over the header; a non-JSON 500 keeps its text', async () => {
    answers.set('/later', {
      status: 503,
      headers: { 'retry-after': '9' },
      body: JSON.stringify({
        code: 503,
        reason: 'ServiceUnavailable',
        message: 'x',
        details: { retryAfterSeconds: 2 },
      }),
    });
    expect(await caught(http().request('GET', '/later'))).toMatchObject({
      status: 503,
      retryAfterSeconds: 2,
    });
    answers.set('/oops', { status: 500, body: 'upstream exploded' });
    expect(await caught(http().request('GET', '/oops'))).toMatchObject({
      status: 500,
      reason: 'Unknown',
      message: 'upstream exploded',
      retryAfterSeconds: undefined,
    });
  });

  it('an unreachable apiserver is a plain error: 503 upstream_unavailable with Retry-After 1', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'gone', user: 'u' }],
      currentContext: 'c',
    });
    const err = await caught(createKubeHttp(kc).request('GET', '/api'));
    expect(err.name).not.toBe('KubeError');
    const api = kubeToApiError(err);
    expect(api.status).toBe(503);
    expect(api.headers['Retry-After']).toBe('1');
  });
});
