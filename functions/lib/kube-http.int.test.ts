// The functions' Kubernetes client against the real apiserver, through a TCP pass-through that
// counts the connections it is asked to open and reads the protocols each offers (TLS stays end to
// end): many calls share a few kept-alive connections, for the Kube and the webhooks' store alike,
// over HTTP/1.1; apiserver errors keep their status, reason, causes and Retry-After.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exampleInferenceRequest } from '../../api/v1alpha1/examples.ts';
import { createTestNamespace, eventually, type TestNamespace } from '../../test/kube.ts';
import { expectDenoSuitePasses } from '../testing/deno.ts';
import { functionsKubeConfig } from '../testing/service-account.ts';
import { createWebhookCore } from '../webhooks/store.ts';
import { isKubeError, type KubeError } from './kube.ts';
import { createKubeClient } from './kube-client.ts';
import { kubeToApiError } from './kube-errors.ts';
import { createKubeHttp, kubeHttpFor } from './kube-http.ts';

/** The protocols a TLS ClientHello offers by ALPN (RFC 7301); undefined until it is all there. */
function offeredProtocols(hello: Buffer): string[] | undefined {
  if (hello.length < 5 || hello.length < 5 + hello.readUInt16BE(3)) return undefined;
  // record header (5), handshake header (4), version (2), random (32)
  let at = 5 + 4 + 2 + 32;
  at += 1 + hello[at]!; // session id
  at += 2 + hello.readUInt16BE(at); // cipher suites
  at += 1 + hello[at]!; // compression methods
  const end = at + 2 + hello.readUInt16BE(at);
  for (at += 2; at + 4 <= end; at += 4 + hello.readUInt16BE(at + 2)) {
    if (hello.readUInt16BE(at) !== 16) continue; // application_layer_protocol_negotiation
    const protocols: string[] = [];
    const last = at + 4 + hello.readUInt16BE(at + 2);
    for (let p = at + 6; p < last; p += 1 + hello[p]!)
      protocols.push(hello.toString('latin1', p + 1, p + 1 + hello[p]!));
    return protocols;
  }
  return [];
}

/**
 * A TCP relay to `target` that counts the connections clients open through it and records the
 * protocols each one's TLS ClientHello offers.
 */
async function countingRelay(
  target: URL,
): Promise<{ url: string; connections: () => number; offered: string[][]; close(): void }> {
  let connections = 0;
  const offered: string[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    let hello = Buffer.alloc(0);
    const readHello = (chunk: Buffer) => {
      hello = Buffer.concat([hello, chunk]);
      const protocols = offeredProtocols(hello);
      if (!protocols) return;
      offered.push(protocols);
      client.off('data', readHello);
    };
    client.on('data', readHello);
    const upstream = tcpConnect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => connections,
    offered,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** `kc` pointed at another server address (same CA, same credentials). */
function through(kc: KubeConfig, server: string): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const user = kc.getCurrentUser()!;
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: [user],
    contexts: [{ name: 'relay', cluster: cluster.name, user: user.name }],
    currentContext: 'relay',
  });
  return out;
}

let ns: TestNamespace;
let kc: KubeConfig;
let relay: Awaited<ReturnType<typeof countingRelay>>;

beforeAll(async () => {
  ns = await createTestNamespace('kube-http');
  const functionsKc = await functionsKubeConfig(ns);
  relay = await countingRelay(new URL(functionsKc.getCurrentCluster()!.server));
  kc = through(functionsKc, relay.url);
  // freshly installed CRDs answer 429 "storage is (re)initializing" for a moment
  const probe = createKubeClient(functionsKc, ns.name, createKubeHttp(functionsKc));
  await eventually('InferenceRequest storage ready', async () =>
    (await probe.list('InferenceRequest').catch(() => undefined)) ? true : undefined,
  );
});
afterAll(async () => {
  relay?.close();
  await ns?.cleanup();
});

const ir = (name: string) => ({ ...exampleInferenceRequest(name), metadata: { name } });

describe('connection reuse', () => {
  it('200 calls, sequential and 8 at a time, open at most 8 connections', async () => {
    const kube = createKubeClient(kc, ns.name, createKubeHttp(kc, { connections: 8 }));
    const before = relay.connections();
    // (undici frees a connection a tick after its answer ends, so a call made right away may open a second)
    for (let i = 0; i < 40; i++) await kube.create('InferenceRequest', ir(`seq-${i}`));
    expect(relay.connections() - before).toBeGreaterThanOrEqual(1);
    expect(relay.connections() - before).toBeLessThanOrEqual(2);
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 20; i++) await kube.create('InferenceRequest', ir(`par-${w}-${i}`));
      }),
    );
    for (let i = 0; i < 40; i++) await kube.get('InferenceRequest', `seq-${i}`);
    expect(relay.connections() - before).toBeGreaterThanOrEqual(1);
    expect(relay.connections() - before).toBeLessThanOrEqual(8);
    expect((await kube.list('InferenceRequest')).items.length).toBe(200);
  });

  it('speaks HTTP/1.1 to the apiserver: its connections offer nothing else', async () => {
    const kube = createKubeClient(kc, ns.name, createKubeHttp(kc, { connections: 4 }));
    const before = relay.offered.length;
    await Promise.all(Array.from({ length: 4 }, (_, i) => kube.create('InferenceRequest', ir(`h1-${i}`))));
    const offered = relay.offered.slice(before);
    expect(offered.length).toBeGreaterThanOrEqual(1);
    for (const protocols of offered) expect(protocols).toEqual(['http/1.1']);
  });

  it('the Kube and the webhooks’ store of one KubeConfig share its pool', async () => {
    // (the webhooks' Role, unlike the functions', may write ConfigMaps: this one runs as admin)
    const shared = through(ns.kc, relay.url);
    const kube = createKubeClient(shared, ns.name);
    const core = createWebhookCore(shared, ns.name);
    expect(kubeHttpFor(shared)).toBe(kubeHttpFor(shared));
    const before = relay.connections();
    await core.createConfigMap({ metadata: { name: 'shared-pool' }, data: { n: '0' } });
    for (let i = 1; i <= 10; i++) {
      await kube.get('InferenceRequest', 'seq-0');
      await core.patchConfigMap('shared-pool', { data: { n: String(i) } });
    }
    expect((await core.getConfigMap('shared-pool'))?.data).toEqual({ n: '10' });
    expect(await core.getConfigMap('no-such-map')).toBeUndefined();
    expect(relay.connections() - before).toBeGreaterThanOrEqual(1);
    expect(relay.connections() - before).toBeLessThanOrEqual(2);
  });
});

describe('apiserver errors', () => {
  it('404, 409, 422 with causes, 403 keep their status and map to the API envelope', async () => {
    const kube = createKubeClient(kc, ns.name);
    const caught = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e as KubeError;
      }
      throw new Error('expected a KubeError');
    };
    const missing = await caught(kube.get('InferenceRequest', 'nope'));
    expect(isKubeError(missing, 404)).toBe(true);
    expect(missing.reason).toBe('NotFound');
    expect(kubeToApiError(missing).status).toBe(404);

    await kube.create('InferenceRequest', ir('dup'));
    const dup = await caught(kube.create('InferenceRequest', ir('dup')));
    expect(dup.status).toBe(409);
    expect(dup.reason).toBe('AlreadyExists');

    const bad = ir('bad');
    (bad.spec as Record<string, unknown>).priority = 'high';
    const invalid = await caught(kube.create('InferenceRequest', bad));
    expect(invalid.status).toBe(422);
    expect(invalid.causes.map((c) => c.field)).toContain('spec.priority');
    const envelope = kubeToApiError(invalid, 'request');
    expect(envelope.status).toBe(400);
    expect(envelope.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'spec.priority' })]),
    );

    // the functions' Role may not touch Secrets by name outside the key selector's verbs
    const forbidden = await caught(
      createKubeHttp(kc).request('DELETE', `/api/v1/namespaces/${ns.name}/secrets/anything`),
    );
    expect(forbidden.status).toBe(403);
    expect(kubeToApiError(forbidden).status).toBe(502);
  });
});

describe('on Deno', () => {
  it('the same client creates, reads and lists against the apiserver', { timeout: 180_000 }, async () => {
    await expectDenoSuitePasses('functions/lib/kube-http.deno.run.ts', 1, {
      KUBE_HTTP_KUBECONFIG: inject('kubeconfig'),
      KUBE_HTTP_NAMESPACE: ns.name,
    });
  });
});
