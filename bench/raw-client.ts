// The "raw" side of every ratio: plain JSON POSTs to the apiserver over one pool of kept-alive
// connections — the best a client can do, so ratios against it are honest. (client-node's
// generated APIs open a new TLS connection for every call; bench/apiserver.bench.ts reports
// that rate too, for information.)
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';

export interface RawClient {
  /** POST `body` to a collection path such as `/api/v1/namespaces/x/secrets`. */
  create(collectionPath: string, body: unknown): Promise<void>;
  close(): Promise<void>;
}

export async function rawClient(kc: KubeConfig, connections = 32): Promise<RawClient> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const opts: { headers?: Record<string, string>; ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  await kc.applyToHTTPSOptions(opts);
  const agent = new Agent({
    connections,
    connect: {
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      rejectUnauthorized: !cluster.skipTLSVerify,
    },
  });
  const headers = { ...opts.headers, 'content-type': 'application/json', accept: 'application/json' };
  return {
    async create(path, body) {
      const res = await fetch(cluster.server + path, {
        method: 'POST',
        headers,
        dispatcher: agent,
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 300)}`);
    },
    close: () => agent.close(),
  };
}

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: { labels?: object; annotations?: object };
  spec: object;
}

/** `create(i)` makes a copy of a stored object (kind, labels, annotations, spec) named `raw-<i>`. */
export function copies(raw: RawClient, collectionPath: string, stored: StoredObject) {
  return (i: number) =>
    raw.create(collectionPath, {
      apiVersion: stored.apiVersion,
      kind: stored.kind,
      metadata: {
        name: `raw-${i}`,
        labels: stored.metadata.labels,
        annotations: stored.metadata.annotations,
      },
      spec: stored.spec,
    });
}
