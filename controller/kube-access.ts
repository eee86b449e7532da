// How the controller reaches the apiserver: the server URL, one pool of kept-alive connections
// and the headers that authenticate a request. The common cases — the in-cluster ServiceAccount
// and kubeconfig files with a token, token file, client certificate or basic auth — are read here
// without loading @kubernetes/client-node (its import alone costs ~80 MB of resident memory, and
// its generated clients open a new TLS connection for every call). Kubeconfigs that need an exec
// plugin or an auth provider are handed to client-node's KubeConfig, imported only then.
import { readFileSync, statSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

export interface KubeAccess {
  /** e.g. https://10.0.0.1:443, without a trailing slash. */
  server: string;
  agent: HttpAgent;
  /** Authentication headers for the next request (token files are re-read as they rotate). */
  headers(): Record<string, string> | Promise<Record<string, string>>;
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file about once a minute; so do we. */
const TOKEN_FILE_TTL_MS = 60_000;

interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

function makeAgent(server: string, tls: TlsOptions): HttpAgent {
  const common = { keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 64 };
  return server.startsWith('https:') ? new HttpsAgent({ ...common, ...tls }) : new HttpAgent(common);
}

/** A bearer token read from a file, re-read when older than a minute. */
function tokenFileHeaders(file: string, now = Date.now): () => Record<string, string> {
  let token = '';
  let readAt = 0;
  return () => {
    if (!token || now() - readAt > TOKEN_FILE_TTL_MS) {
      token = readFileSync(file, 'utf8').trim();
      readAt = now();
    }
    return { authorization: `Bearer ${token}` };
  };
}

export function inClusterAccess(env: Record<string, string | undefined>, dir = IN_CLUSTER_DIR): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    server,
    agent: makeAgent(server, { ca: readFileSync(join(dir, 'ca.crt')) }),
    headers: tokenFileHeaders(join(dir, 'token')),
  };
}

interface NamedEntry<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}
type Fields = Record<string, unknown>;

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Reads a kubeconfig file; undefined when it needs client-node (exec plugins, auth providers). */
export function kubeconfigAccess(path: string): KubeAccess | undefined {
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as {
    'current-context'?: string;
    contexts?: NamedEntry<Fields>[];
    clusters?: NamedEntry<Fields>[];
    users?: NamedEntry<Fields>[];
  };
  const contextName = doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${path}: current context "${contextName ?? ''}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new Error(`kubeconfig ${path}: cluster "${String(context.cluster)}" not found`);
  const user = (doc.users?.find((u) => u.name === context.user)?.user ?? {}) as Fields;
  if (user.exec || user['auth-provider'] || cluster['proxy-url']) return undefined;
  const server = str(cluster.server)?.replace(/\/+$/, '');
  if (!server) throw new Error(`kubeconfig ${path}: cluster "${String(context.cluster)}" has no server`);

  const base = dirname(path);
  const file = (p: string) => readFileSync(isAbsolute(p) ? p : join(base, p));
  const material = (data: unknown, fileField: unknown): Buffer | undefined => {
    const d = str(data);
    if (d) return Buffer.from(d, 'base64');
    const f = str(fileField);
    return f ? file(f) : undefined;
  };
  const tls: TlsOptions = {};
  const ca = material(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) tls.ca = ca;
  const cert = material(user['client-certificate-data'], user['client-certificate']);
  if (cert) tls.cert = cert;
  const key = material(user['client-key-data'], user['client-key']);
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  const servername = str(cluster['tls-server-name']);
  if (servername) tls.servername = servername;

  let headers: KubeAccess['headers'] = () => ({});
  const token = str(user.token);
  const tokenFile = str(user.tokenFile) ?? str(user['token-file']);
  const username = str(user.username);
  if (token) headers = () => ({ authorization: `Bearer ${token}` });
  else if (tokenFile) headers = tokenFileHeaders(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile));
  else if (username) {
    const basic = Buffer.from(`${username}:${str(user.password) ?? ''}`).toString('base64');
    headers = () => ({ authorization: `Basic ${basic}` });
  }
  const impersonate = str(user.as);
  if (impersonate) {
    const inner = headers;
    headers = async () => ({ ...(await inner()), 'impersonate-user': impersonate });
  }
  return { server, agent: makeAgent(server, tls), headers };
}

/**
 * Access from a client-node KubeConfig (tests, and kubeconfigs with exec plugins or auth
 * providers): client-node computes the credentials, we keep the pooled connections.
 */
export async function accessFromKubeConfig(kc: KubeConfig): Promise<KubeAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const first: TlsOptions & { headers?: Record<string, string> } = {};
  await kc.applyToHTTPSOptions(first);
  const tls: TlsOptions = {};
  if (first.ca) tls.ca = first.ca;
  if (first.cert) tls.cert = first.cert;
  if (first.key) tls.key = first.key;
  if (cluster.skipTLSVerify) tls.rejectUnauthorized = false;
  if (cluster.tlsServerName) tls.servername = cluster.tlsServerName;
  return {
    server,
    agent: makeAgent(server, tls),
    async headers() {
      const o: { headers?: Record<string, string> } = {};
      await kc.applyToHTTPSOptions(o);
      return o.headers ?? {};
    },
  };
}

const exists = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/**
 * Where client-go would look: $KUBECONFIG (its first file), ~/.kube/config, then the in-cluster
 * ServiceAccount.
 */
export async function loadKubeAccess(
  env: Record<string, string | undefined> = process.env,
): Promise<KubeAccess> {
  const fromEnv = env.KUBECONFIG?.split(':').find(Boolean);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  const path = fromEnv ?? (exists(home) ? home : undefined);
  if (path) {
    const access = kubeconfigAccess(path);
    if (access) return access;
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return accessFromKubeConfig(kc);
  }
  if (env.KUBERNETES_SERVICE_HOST) return inClusterAccess(env);
  throw new Error('no Kubernetes configuration: set KUBECONFIG, create ~/.kube/config, or run in a cluster');
}
