// A real Kubernetes control plane on loopback: etcd + kube-apiserver, and in full mode
// kube-controller-manager, kube-scheduler and kwok with one fake node so that Jobs run.
// Binaries come from scripts/build-k8s.sh (built once per machine, cached by version).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

export interface ControlPlaneOptions {
  /** Add kube-controller-manager, kube-scheduler and kwok with a fake node. */
  full?: boolean;
  /** Keep the data directory here instead of a fresh temporary one (reused across starts). */
  dataDir?: string;
  /** Fixed apiserver port (default: a free one). */
  apiserverPort?: number;
  log?: (line: string) => void;
}

export interface ControlPlane {
  server: string;
  token: string;
  kubeconfigPath: string;
  dataDir: string;
  binDir: string;
  full: boolean;
  /** Stop and start kube-apiserver on the same port and storage (for recovery tests). */
  restartApiserver(): Promise<void>;
  kubectl(args: string[], input?: string): string;
  stop(): Promise<void>;
}

export const FAKE_NODE_NAME = 'kwok-node-0';

export function binDirectory(): string {
  const out = execFileSync('bash', [join(repoRoot, 'scripts', 'build-k8s.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1]!;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function httpsStatus(url: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      url,
      {
        rejectUnauthorized: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  procs: Map<string, ChildProcess>,
  logDir: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const [name, p] of procs) {
      if (p.exitCode !== null || p.signalCode) {
        await new Promise((r) => setTimeout(r, 200)); // let the log stream flush
        throw new Error(
          `${what}: ${name} exited (${p.exitCode ?? p.signalCode}):\n${logTail(join(logDir, `${name}.log`))}`,
        );
      }
    }
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = binDirectory();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'ai-agents-cp-'));
  const procs = new Map<string, ChildProcess>();
  try {
    return await start(opts, binDir, dataDir, procs);
  } catch (e) {
    for (const p of procs.values()) p.kill('SIGKILL');
    throw e;
  }
}

async function start(
  opts: ControlPlaneOptions,
  binDir: string,
  dataDir: string,
  procs: Map<string, ChildProcess>,
): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const run = (name: string, args: string[]) => {
    const out = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    const child = spawn(join(binDir, name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    procs.set(name, child);
    // never leave a control plane behind, even when the parent dies without cleaning up
    process.once('exit', () => child.kill('SIGKILL'));
    log(`started ${name} (pid ${child.pid})`);
    return child;
  };

  // etcd
  const etcdPort = await freePort();
  const etcdPeerPort = await freePort();
  run('etcd', [
    `--data-dir=${join(dataDir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
    '--unsafe-no-fsync=true',
    '--quota-backend-bytes=4294967296',
  ]);
  await waitFor(
    'etcd',
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok;
      } catch {
        return false;
      }
    },
    30_000,
    procs,
    logDir,
  );

  // credentials: a static admin token and the service-account signing key
  const pki = join(dataDir, 'pki');
  mkdirSync(pki, { recursive: true });
  const tokenFile = join(pki, 'tokens.csv');
  let token: string;
  if (existsSync(tokenFile)) {
    token = readFileSync(tokenFile, 'utf8').split(',')[0]!;
  } else {
    token = randomBytes(24).toString('hex');
    writeFileSync(tokenFile, `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(pki, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(pki, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  }

  const port = opts.apiserverPort ?? (await freePort());
  const server = `https://127.0.0.1:${port}`;
  const apiserverArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--cert-dir=${join(dataDir, 'apiserver-certs')}`,
    `--secure-port=${port}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    `--token-auth-file=${tokenFile}`,
    `--service-account-issuer=${server}/`,
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    '--disable-admission-plugins=ServiceAccount',
    '--max-requests-inflight=2000',
    '--max-mutating-requests-inflight=1000',
    '--enable-priority-and-fairness=false',
    '--watch-cache=true',
  ];
  const startApiserver = async () => {
    run('kube-apiserver', apiserverArgs);
    await waitFor(
      'kube-apiserver',
      async () => (await httpsStatus(`${server}/readyz`, token)) === 200,
      90_000,
      procs,
      logDir,
    );
  };
  await startApiserver();

  const kubeconfigPath = join(dataDir, 'admin.kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: local\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: admin\n  user:\n    token: ${token}`,
      'contexts:',
      '- name: local\n  context:\n    cluster: local\n    user: admin\n    namespace: default',
      'current-context: local',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const kubectl = (args: string[], input?: string) =>
    execFileSync(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfigPath}`, ...args], {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

  if (opts.full) {
    const kcmPort = await freePort();
    run('kube-controller-manager', [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(dataDir, 'apiserver-certs', 'apiserver.crt')}`,
      // node-lifecycle would evict pods from the fake node, which sends no kubelet heartbeats
      '--controllers=*,-node-lifecycle-controller,-cloud-node-lifecycle-controller,-node-ipam-controller,-node-route-controller,-service-lb-controller',
      '--concurrent-job-syncs=20',
      '--kube-api-qps=500',
      '--kube-api-burst=1000',
    ]);
    const schedPort = await freePort();
    run('kube-scheduler', [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      '--leader-elect=false',
    ]);
    kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: FAKE_NODE_NAME,
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': FAKE_NODE_NAME, 'kubernetes.io/os': 'linux' },
        },
        spec: {},
      }),
    );
    const kwokPort = await freePort();
    run('kwok', [
      `--kubeconfig=${kubeconfigPath}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--config=${join(here, 'kwok-stages.yaml')}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      '--node-ip=10.0.1.1',
      '--cidr=10.0.2.0/24',
    ]);
    await waitFor(
      'fake node Ready',
      async () => {
        try {
          const out = kubectl([
            'get',
            'node',
            FAKE_NODE_NAME,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ]);
          return out.trim() === 'True';
        } catch {
          return false;
        }
      },
      60_000,
      procs,
      logDir,
    );
    // the node-lifecycle controller (disabled above) would lift the taint that admission puts on new nodes
    kubectl(['taint', 'node', FAKE_NODE_NAME, 'node.kubernetes.io/not-ready:NoSchedule-']);
    // the default ServiceAccount must exist before pods can be created in a namespace
    await waitFor(
      'serviceaccount controller',
      async () => {
        try {
          kubectl(['get', 'serviceaccount', 'default', '-n', 'default']);
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      procs,
      logDir,
    );
  }

  const stopProc = async (name: string) => {
    const p = procs.get(name);
    if (!p || p.exitCode !== null || p.signalCode) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const name of ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await stopProc(name);
    }
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  return {
    server,
    token,
    kubeconfigPath,
    dataDir,
    binDir,
    full: Boolean(opts.full),
    kubectl,
    stop,
    async restartApiserver() {
      await stopProc('kube-apiserver');
      await startApiserver();
    },
  };
}

/** Applies the generated CRDs and waits until all are Established. */
export async function installCrds(cp: ControlPlane): Promise<void> {
  const infra = join(repoRoot, 'k8s', 'infra');
  const files = readdirSync(infra).filter((f) => /^crd-.*\.yaml$/.test(f));
  cp.kubectl(['apply', '--server-side', ...files.flatMap((f) => ['-f', join(infra, f)])]);
  cp.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd',
    '-l',
    'app.kubernetes.io/part-of=ai-agents',
  ]);
}
