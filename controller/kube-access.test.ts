import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createKubeClient } from './kube.ts';
import { inClusterAccess, type KubeAccess, kubeconfigAccess, loadKubeAccess } from './kube-access.ts';

type TlsOptions = { rejectUnauthorized?: boolean; ca: Buffer; cert: Buffer; key: Buffer };
function agentOptions(access: KubeAccess | undefined): TlsOptions {
  if (!access) throw new Error('no access');
  return (access.agent as unknown as { options: TlsOptions }).options;
}

const dir = mkdtempSync(join(tmpdir(), 'kube-access-'));

function kubeconfig(name: string, cluster: object, user: object): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

describe('kubeconfigAccess', () => {
  it('reads the server, a token and insecure-skip-tls-verify', async () => {
    const access = kubeconfigAccess(
      kubeconfig(
        'token',
        { server: 'https://127.0.0.1:6443/', 'insecure-skip-tls-verify': true },
        { token: 't0k' },
      ),
    );
    expect(access?.server).toBe('https://127.0.0.1:6443');
    expect(await access?.headers()).toEqual({ authorization: 'Bearer t0k' });
    expect(agentOptions(access).rejectUnauthorized).toBe(false);
  });

  it('reads CA, client certificate and key from data or from files relative to the kubeconfig', () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA-FILE');
    const access = kubeconfigAccess(
      kubeconfig(
        'certs',
        { server: 'https://k:443', 'certificate-authority': 'ca.pem' },
        {
          'client-certificate-data': Buffer.from('CERT').toString('base64'),
          'client-key-data': Buffer.from('KEY').toString('base64'),
        },
      ),
    );
    const opts = agentOptions(access);
    expect(opts.ca.toString()).toBe('CA-FILE');
    expect(opts.cert.toString()).toBe('CERT');
    expect(opts.key.toString()).toBe('KEY');
  });

  it('basic auth and impersonation become headers', async () => {
    const access = kubeconfigAccess(
      kubeconfig('basic', { server: 'https://k' }, { username: 'ann', password: 'pw', as: 'bob' }),
    );
    expect(await access?.headers()).toEqual({
      authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}`,
      'impersonate-user': 'bob',
    });
  });

  it('leaves exec plugins and auth providers to client-node', () => {
    expect(
      kubeconfigAccess(kubeconfig('exec', { server: 'https://k' }, { exec: { command: 'x' } })),
    ).toBeUndefined();
    expect(
      kubeconfigAccess(kubeconfig('oidc', { server: 'https://k' }, { 'auth-provider': { name: 'oidc' } })),
    ).toBeUndefined();
  });

  it('says which part of a broken kubeconfig is missing', () => {
    const path = join(dir, 'broken');
    writeFileSync(path, stringify({ 'current-context': 'nope', contexts: [] }));
    expect(() => kubeconfigAccess(path)).toThrow(/current context "nope" not found/);
  });
});

describe('loadKubeAccess', () => {
  it('uses the first file of KUBECONFIG', async () => {
    const path = kubeconfig('first', { server: 'https://first' }, { token: 'a' });
    const access = await loadKubeAccess({ KUBECONFIG: `${path}:/does/not/exist`, HOME: dir });
    expect(access.server).toBe('https://first');
  });

  it('falls back to the in-cluster ServiceAccount, and says so when there is none', async () => {
    await expect(loadKubeAccess({ HOME: dir })).rejects.toThrow(/no Kubernetes configuration/);
    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    writeFileSync(join(sa, 'token'), 'sa-token\n');
    const access = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    expect(access.server).toBe('https://10.0.0.1:443');
    expect(await access.headers()).toEqual({ authorization: 'Bearer sa-token' });
  });
});

describe('createKubeClient over the pooled connections', () => {
  const seen: { url: string; headers: IncomingHttpHeaders; port: number }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, port: req.socket.remotePort ?? 0 });
    if (req.url?.startsWith('/missing')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'nope' }));
    } else if (req.url?.includes('watch=true')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
      setTimeout(() => res.end('IFIED","object":{"metadata":{"name":"a"}}}\n'), 20);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }
  });
  let path = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    path = kubeconfig('local', { server: `http://127.0.0.1:${port}` }, { token: 'abc' });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reuses one connection for sequential calls and sends the token', async () => {
    const access = kubeconfigAccess(path)!;
    const client = createKubeClient(access);
    seen.length = 0;
    for (let i = 0; i < 5; i++) await client.request('GET', '/ok');
    expect(seen.map((s) => s.headers.authorization)).toEqual(Array(5).fill('Bearer abc'));
    expect(new Set(seen.map((s) => s.port)).size).toBe(1);
    access.agent.destroy();
  });

  it('maps an error Status to a KubeError with code and reason', async () => {
    const access = kubeconfigAccess(path)!;
    await expect(createKubeClient(access).request('GET', '/missing')).rejects.toMatchObject({
      code: 404,
      reason: 'NotFound',
    });
    access.agent.destroy();
  });

  it('streams watch events split across chunks, then resolves when the server ends', async () => {
    const access = kubeconfigAccess(path)!;
    const events: string[] = [];
    await createKubeClient(access).watch(
      '/w',
      {},
      (e) => events.push(e.type),
      new AbortController().signal,
      5000,
    );
    expect(events).toEqual(['ADDED', 'MODIFIED']);
    access.agent.destroy();
  });

  it('ends a watch with the error its handler throws', async () => {
    const access = kubeconfigAccess(path)!;
    const watching = createKubeClient(access).watch(
      '/w',
      {},
      () => {
        throw new Error('refused');
      },
      new AbortController().signal,
      5000,
    );
    await expect(watching).rejects.toThrow('refused');
    access.agent.destroy();
  });
});
