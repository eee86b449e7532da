// The whole product on loopback for the dashboard's end-to-end test: the real OpenID provider
// (functions/auth/testing/provider.ts), the functions (`node functions/main.node.ts`), the
// controller (`node controller/main.ts`) against the test apiserver, and Debian's nginx serving the
// production build with the chart's config (ui/nginx.conf). In front of it, a second nginx server
// plays the Ingress: /api/* to the functions (unbuffered, for Server-Sent Events), the rest to the
// App server. Every child is started here and stopped by `stop()`; nothing is left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { TEST_INGEST_SECRET, testEnv } from '../../controller/testing.ts';
import { ACCOUNTS, JWT_SECRET, ROLE_ENV } from '../../functions/auth/testing/fixtures.ts';
import { startTestProvider, type TestProvider } from '../../functions/auth/testing/provider.ts';

const ROOT = resolve(import.meta.dirname, '../..');
export const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
/** The API key the "CI" caller submits with (POST /api/jobs/submit). */
export const SUBMIT_KEY = 'e2e-dashboard-submit-key-0123456789';
export const SUBMIT_CALLER = 'ci-bot';

export interface Child {
  name: string;
  proc: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

export interface Stack {
  /** The browser's origin: the Ingress-like nginx server. */
  origin: string;
  /** The functions' own origin (the Service the controller gives executors as INGEST_URL). */
  api: string;
  provider: TestProvider;
  children: Child[];
  /** Last lines of every child's output, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// Whatever happens to the test process, no child outlives it.
process.once('exit', () => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function startChild(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Child {
  let out = '';
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    if (process.env.AI_AGENTS_TEST_VERBOSE) process.stderr.write(`[${name}] ${b.toString()}`);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      live.delete(proc);
      r();
    }),
  );
  return { name, proc, output: () => out, exited };
}

async function stopChild(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill(signal);
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
  await c.exited;
  clearTimeout(timer);
}

/** Waits until `url` answers 200, or the child died, or the time is up. */
async function ready(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null)
      throw new Error(`${child.name} exited before it was ready:\n${child.output().slice(-3000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${child.name} not ready at ${url}:\n${child.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The chart's nginx config made runnable on loopback by an unprivileged test: its own prefix for
 * the pid and temp files, the given root and port. Everything else — headers, caching, SPA
 * fallback, the /api answer — is the chart's, unchanged. Then the Ingress server in front.
 */
export async function nginxConfig(opts: {
  prefix: string;
  root: string;
  appPort: number;
  publicPort: number;
  api: string;
}): Promise<string> {
  let conf = await readFile(join(ROOT, 'ui', 'nginx.conf'), 'utf8');
  const swap = (from: string | RegExp, to: string) => {
    const next = conf.replace(from, to);
    if (next === conf) throw new Error(`ui/nginx.conf no longer contains ${String(from)}`);
    conf = next;
  };
  swap('worker_processes auto;', 'worker_processes 1;');
  swap('pid /tmp/nginx.pid;', `pid ${opts.prefix}/nginx.pid;`);
  swap(/\/tmp\/(client_body|proxy|fastcgi|uwsgi|scgi);/g, `${opts.prefix}/$1;`);
  // Node's stdio pipes are sockets, which /dev/stderr and /dev/stdout cannot be opened on
  swap('error_log /dev/stderr warn;', 'error_log stderr warn;');
  swap('access_log /dev/stdout main;', `access_log ${opts.prefix}/access.log main;`);
  swap(/listen 3000;\n\s*listen \[::\]:3000;/, `listen 127.0.0.1:${opts.appPort};`);
  swap('root /usr/share/nginx/html;', `root ${opts.root};`);
  const ingress = `
  # --- test only: the ai-agents-protected Ingress (Traefik in the cluster) ---
  server {
    listen 127.0.0.1:${opts.publicPort};
    server_name _;
    location /api/ {
      proxy_pass ${opts.api};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 1h;
      gzip off;
    }
    location / {
      proxy_pass http://127.0.0.1:${opts.appPort};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`;
  const end = conf.lastIndexOf('}');
  conf = `${conf.slice(0, end)}${ingress}`;
  return conf;
}

export interface StackOptions {
  namespace: string;
  kubeconfig: string;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const work = await mkdtemp(join(tmpdir(), 'ui-e2e-'));
  const children: Child[] = [];
  let provider: TestProvider | undefined;
  const stop = async () => {
    // the Ingress first (no new requests), then the API, the controller, the provider
    for (const c of [...children].reverse()) await stopChild(c, c.name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    await provider?.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    // nginx's workers run as nobody when the test runs as root: the tree they read is world-readable
    await chmod(work, 0o755);
    const dist = join(work, 'dist');
    const prefix = join(work, 'nginx');
    await mkdir(prefix, { recursive: true });
    await build({
      configFile: join(ROOT, 'vite.config.ts'),
      root: join(ROOT, 'ui'),
      logLevel: 'warn',
      build: { outDir: dist, emptyOutDir: true },
    });

    const [publicPort, appPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const origin = `http://127.0.0.1:${publicPort}`;
    const api = `http://127.0.0.1:${apiPort}`;

    provider = await startTestProvider({
      redirectUri: `${origin}/api/auth/callback`,
      postLogoutRedirectUri: `${origin}/`,
      accounts: ACCOUNTS,
    });

    const functions = startChild('functions', process.execPath, [join(ROOT, 'functions', 'main.node.ts')], {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: opts.kubeconfig,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      NAMESPACE: opts.namespace,
      LOG_LEVEL: process.env.AI_AGENTS_TEST_VERBOSE ? 'info' : 'warn',
      WORKSPACE_DIR: join(work, 'events'),
      INGEST_TOKEN_SECRET: TEST_INGEST_SECRET,
      SUBMIT_API_KEYS: `${SUBMIT_CALLER}:${SUBMIT_KEY}`,
      STATUS_FLUSH_INTERVAL_MS: '200',
      JWT_SECRET,
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret,
      OIDC_REDIRECT_URI: `${origin}/api/auth/callback`,
      OIDC_POST_LOGOUT_REDIRECT_URI: `${origin}/`,
      COOKIE_SECURE: 'false',
      ...ROLE_ENV,
    });
    children.push(functions);
    await ready(`${api}/ready`, functions);

    const controllerPort = await freePort();
    const controller = startChild('controller', process.execPath, [join(ROOT, 'controller', 'main.ts')], {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: opts.kubeconfig,
      ...testEnv(opts.namespace, {
        PORT: String(controllerPort),
        INGEST_URL: `${api}/api/events/ingest`,
        QUEUE_POSITION_REFRESH_MS: '500',
      }),
    });
    children.push(controller);
    await ready(`http://127.0.0.1:${controllerPort}/ready`, controller);

    await chmod(dist, 0o755);
    await writeFile(
      join(prefix, 'nginx.conf'),
      await nginxConfig({ prefix, root: dist, appPort, publicPort, api }),
    );
    const nginx = startChild(
      'nginx',
      NGINX,
      ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'],
      { PATH: process.env.PATH ?? '' },
    );
    children.push(nginx);
    await ready(`${origin}/index.html`, nginx);

    return {
      origin,
      api,
      provider,
      children,
      logs: () =>
        children.map((c) => `--- ${c.name} ---\n${c.output().slice(-4000)}`).join('\n') +
        `\n--- nginx access log: ${join(prefix, 'access.log')}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
