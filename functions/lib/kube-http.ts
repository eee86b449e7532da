// JSON over HTTP/1.1 to the apiserver through one pool of kept-alive connections per KubeConfig.
//
// client-node's generated APIs build a new undici Agent — a new TLS connection and handshake — for
// every call, which costs the apiserver about 2.5 times the CPU per object and caps a client at a
// third of the apiserver's create rate. Here the KubeConfig still decides everything (server, CA,
// client certificate, token, token file, exec or OIDC plugin): its credentials are applied to every
// request, re-read at most once per `credentialsTtlMs` (client-node itself re-reads a token file
// once a minute), and the pool is replaced when its TLS material changes (a rotated client
// certificate or CA).
import { Buffer } from 'node:buffer';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Agent, Dispatcher } from 'undici';
import { kubeErrorFromStatus } from './kube.ts';

// undici loads with the first request: importing this module (the webhooks' store does, from the
// app's static graph) stays cheap, so process start stays fast.
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => (undici ??= import('undici'));

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequestOptions {
  query?: Query;
  body?: unknown;
  /** Default application/json when there is a body. */
  contentType?: string;
}

export interface KubeHttp {
  /** Sends one request; a 4xx/5xx answer throws a KubeError (Retry-After kept). */
  request<T>(method: string, path: string, opts?: KubeRequestOptions): Promise<T>;
  /** Connection pools built so far (one, unless the TLS material changed). */
  readonly pools: number;
  /** Closes the pool once in-flight requests are done; later requests open a new one. */
  close(): Promise<void>;
}

export interface KubeHttpOptions {
  /** Most connections kept to the apiserver (default 32). */
  connections?: number;
  /** Time to the response headers, and between body chunks (default 30 s). */
  timeoutMs?: number;
  /** How long the KubeConfig's credentials are reused before being applied again (default 1 s). */
  credentialsTtlMs?: number;
  now?: () => number;
}

interface TlsMaterial {
  ca?: Uint8Array | string | (Uint8Array | string)[];
  cert?: Uint8Array | string | (Uint8Array | string)[];
  key?: Uint8Array | string | (Uint8Array | string)[];
  pfx?: unknown;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

interface Credentials {
  headers: Record<string, string>;
  tls: TlsMaterial;
  at: number;
}

const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

const sameTls = (a: TlsMaterial, b: TlsMaterial) => TLS_KEYS.every((k) => sameValue(a[k], b[k]));

/** The pooled client of a KubeConfig: every caller with the same KubeConfig shares one pool. */
const shared = new WeakMap<KubeConfig, KubeHttp>();

export function kubeHttpFor(kc: KubeConfig): KubeHttp {
  let http = shared.get(kc);
  if (!http) {
    http = createKubeHttp(kc);
    shared.set(kc, http);
  }
  return http;
}

export function createKubeHttp(kc: KubeConfig, opts: KubeHttpOptions = {}): KubeHttp {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  if (cluster.proxyUrl?.startsWith('socks')) {
    throw new Error('a SOCKS proxy in the kubeconfig is not supported; use an HTTP proxy');
  }
  const server = new URL(cluster.server);
  const origin = server.origin;
  const basePath = server.pathname.replace(/\/+$/, '');
  const connections = opts.connections ?? 32;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ttlMs = opts.credentialsTtlMs ?? 1000;
  const now = opts.now ?? Date.now;

  let creds: Credentials | undefined;
  let refreshing: Promise<Credentials> | undefined;
  let pool: { dispatcher: Dispatcher; tls: TlsMaterial } | undefined;
  let pools = 0;

  async function readCredentials(): Promise<Credentials> {
    const o: TlsMaterial & { headers?: Record<string, unknown>; auth?: string } = {};
    await kc.applyToHTTPSOptions(o as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    // user + password: as client-node does it, a token header (if any) wins
    if (o.auth && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
      headers.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    }
    const tls: TlsMaterial = {};
    for (const k of TLS_KEYS)
      if (o[k] !== undefined && o[k] !== null) (tls as Record<string, unknown>)[k] = o[k];
    return { headers, tls, at: now() };
  }

  function credentials(): Credentials | Promise<Credentials> {
    if (creds && now() - creds.at < ttlMs) return creds;
    refreshing ??= readCredentials().then(
      (c) => {
        creds = c;
        refreshing = undefined;
        return c;
      },
      (err) => {
        refreshing = undefined;
        throw err;
      },
    );
    return refreshing;
  }

  function pooled(tls: TlsMaterial): Dispatcher | undefined {
    if (pool && (pool.tls === tls || sameTls(pool.tls, tls))) {
      pool.tls = tls; // the next request with these credentials matches by identity
      return pool.dispatcher;
    }
    return undefined;
  }

  async function dispatcherFor(tls: TlsMaterial): Promise<Dispatcher> {
    const { Agent, ProxyAgent } = await loadUndici();
    const existing = pooled(tls); // another request may have built it meanwhile
    if (existing) return existing;
    const old = pool?.dispatcher;
    // HTTP/1.1, one request per connection at a time, not HTTP/2 (undici's default when the server
    // offers it, as the apiserver does): submitting against the real apiserver, a create cost this
    // process 2-13 % less CPU that way, the apiserver less in 3 runs of 4, and the rate was higher
    // in all 4
    const connect = {
      ...tls,
      keepAlive: true,
      keepAliveInitialDelay: 30_000,
      allowH2: false,
    } as Agent.Options['connect'];
    const common = { connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
    const dispatcher = cluster!.proxyUrl
      ? new ProxyAgent({ uri: cluster!.proxyUrl, requestTls: connect as never, ...common })
      : new Agent({ connect, ...common });
    pool = { dispatcher, tls };
    pools++;
    // requests already sent on the old pool finish there
    old?.close().catch(() => {});
    return dispatcher;
  }

  async function request<T>(method: string, path: string, o: KubeRequestOptions = {}): Promise<T> {
    const c = await credentials();
    let full = basePath + path;
    if (o.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) full += `?${s}`;
    }
    const headers: Record<string, string> = {
      ...c.headers,
      accept: 'application/json',
      'user-agent': 'ai-agents-functions',
    };
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    const dispatcher = pooled(c.tls) ?? (await dispatcherFor(c.tls));
    const res = await dispatcher.request({
      origin,
      path: full,
      method: method as Dispatcher.HttpMethod,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      const err = kubeErrorFromStatus(res.statusCode, text);
      const header = res.headers['retry-after'];
      const retryAfter = Number(Array.isArray(header) ? header[0] : header);
      if (err.retryAfterSeconds === undefined && header !== undefined && Number.isFinite(retryAfter)) {
        Object.assign(err, { retryAfterSeconds: retryAfter });
      }
      throw err;
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    request,
    get pools() {
      return pools;
    },
    async close() {
      const p = pool;
      pool = undefined;
      await p?.dispatcher.close();
    },
  };
}
