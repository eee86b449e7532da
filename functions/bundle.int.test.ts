// The production bundle (functions/build.ts) as the API image runs it: built into a directory with
// no node_modules anywhere above it, started from its startup snapshot as its own process against
// the real apiserver. Right after the first /ready answer, the first request of every area that
// loads its modules on first use (the Kubernetes client, openid-client, file-type) must be answered
// correctly — a lazily loaded area that fails to load, or loads the wrong thing, fails here. What
// was evaluated into the snapshot must not carry the build's state into the process: its
// environment, its clock, its random numbers. No timings: speed is the benchmark's business
// (bench/functions.bench.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { ACCOUNTS } from './auth/testing/fixtures.ts';
import { startTestProvider, type TestProvider } from './auth/testing/provider.ts';
import { buildFunctions, COMPILE_CACHE_DIR, LAZY_AREA_PROBES, SNAPSHOT_FILE, startArgs } from './build.ts';
import { functionsKubeConfig } from './testing/service-account.ts';

const KEY = 'bundle-key-0123456789abcdef';
const SECRET = 'bundle-test-secret-0123456789abcdef-0123456789';
const GROUP = { group: 'labrats.work', version: 'v1alpha1' };

let ns: TestNamespace;
let provider: TestProvider;
let scratch: string;
let dist: string;
let env: Record<string, string | undefined>;
let child: ChildProcess | undefined;
let base: string;
let stderr = () => '';
let spawnedAtMs: number;

const freePort = async () => {
  const { createServer } = await import('node:net');
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
};

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ai-agents-bundle-'));
  dist = await buildFunctions(join(scratch, 'dist'));
  const builtAtMs = Date.now();
  ns = await createTestNamespace('bundle');
  await eventually(
    'InferenceRequest storage ready',
    async () =>
      (await ns.custom
        .listNamespacedCustomObject({ ...GROUP, namespace: ns.name, plural: 'inferencerequests' })
        .then(() => true)
        .catch(() => undefined)) as true | undefined,
  );
  const kc = await functionsKubeConfig(ns);
  const kubeconfig = join(scratch, 'kubeconfig');
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startTestProvider({
    redirectUri: `${base}/api/auth/callback`,
    postLogoutRedirectUri: `${base}/`,
    accounts: ACCOUNTS,
  });
  env = {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    KUBECONFIG: kubeconfig,
    NAMESPACE: ns.name,
    SUBMIT_API_KEYS: `bundle:${KEY}`,
    INGEST_TOKEN_SECRET: SECRET,
    JWT_SECRET: SECRET,
    WORKSPACE_DIR: join(scratch, 'workspace'),
    UPLOADS_DIR: join(scratch, 'uploads'),
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: provider.clientId,
    OIDC_CLIENT_SECRET: provider.clientSecret,
    OIDC_REDIRECT_URI: `${base}/api/auth/callback`,
    LOG_LEVEL: 'warn',
  };
  // the process starts whole seconds after its snapshot was made, so that the build's clock read
  // into the snapshot cannot pass for the process's
  await new Promise((r) => setTimeout(r, Math.max(0, builtAtMs + 2500 - Date.now())));
  spawnedAtMs = Date.now();
  ({ child, stderr } = await startApi(port));
});

/** Starts the API as the image does, from another directory; resolves at its first /ready answer. */
async function startApi(port: number) {
  const proc = spawn(process.execPath, startArgs(dist), {
    cwd: scratch,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c) => {
    err += c;
  });
  // wait for the first /ready answer, and nothing else, before the requests that follow
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the API exited: ${err}`);
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child: proc, stderr: () => err };
}

async function stopApi(proc: ChildProcess) {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

afterAll(async () => {
  if (child) await stopApi(child);
  await provider?.close();
  await ns?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the production bundle', () => {
  it('is self-contained and ships the snapshot and the cache its build made', () => {
    // nothing to resolve packages from above the bundle's directory
    for (let d = dist; d !== dirname(d); d = dirname(d)) {
      expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);
    }
    expect(existsSync(join(dist, SNAPSHOT_FILE))).toBe(true);
    const compiled = readdirSync(join(dist, COMPILE_CACHE_DIR), { recursive: true });
    expect(compiled.length).toBeGreaterThan(0);
  });

  it('serves the first request of every lazily loaded area right after /ready', async () => {
    // all at once, as the first requests after /ready: each area loads on this request
    const body = JSON.stringify({ agent: 'developer', prompt: 'bundle test' });
    const form = new FormData();
    form.set('file', new Blob(['%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n']), 'notes.pdf');
    const [submit, webhook, login, upload] = await Promise.all([
      fetch(`${base}/api/jobs/submit`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body,
      }),
      fetch(`${base}/api/webhooks/no-such-source`, { method: 'POST', body: '{}' }),
      fetch(`${base}/api/auth/login`, { redirect: 'manual' }),
      fetch(`${base}/api/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
        body: form,
      }),
    ]);
    // the Kubernetes client: the request was created in the apiserver
    expect(submit.status, stderr()).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const created = (await ns.custom.getNamespacedCustomObject({
      ...GROUP,
      namespace: ns.name,
      plural: 'inferencerequests',
      name: id,
    })) as { spec: { prompt: string } };
    expect(created.spec.prompt).toBe('bundle test');
    // webhooks look the source up in the apiserver
    expect(webhook.status).toBe(404);
    expect(((await webhook.json()) as { error: { code: string } }).error.code).toBe('not_found');
    // openid-client: discovery at the provider, then the redirect to its authorization endpoint
    expect(login.status).toBe(302);
    const location = new URL(login.headers.get('location')!);
    expect(location.origin).toBe(provider.issuer);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    // file-type: the upload was recognised by its bytes
    expect(upload.status).toBe(201);
    expect(((await upload.json()) as { kind: string }).kind).toBe('pdf');
  });

  it('answers the probes the build warms the cache with', async () => {
    for (const probe of LAZY_AREA_PROBES) {
      const res = await fetch(`${base}${probe.path}`, { ...probe.init, redirect: 'manual' });
      expect(res.status, `${probe.area}: ${stderr()}`).toBeLessThan(500);
    }
  });

  it("reports its own start, not the build's, in the process metrics", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^ai_agents_functions_process_start_time_seconds (\d+)$/m.exec(text);
    expect(m, text.slice(0, 500)).not.toBeNull();
    // whole seconds, rounded
    expect(Number(m![1])).toBeGreaterThanOrEqual(Math.floor(spawnedAtMs / 1000) - 1);
    // the event loop and GC collectors run in this process
    expect(text).toMatch(/^ai_agents_functions_nodejs_eventloop_lag_seconds \d/m);
  });

  it('draws its own random numbers: two processes from the same snapshot make different ids', async () => {
    const ports = [await freePort(), await freePort()];
    const procs = await Promise.all(ports.map((p) => startApi(p)));
    try {
      // each process's first request id (crypto.randomUUID) and request name (getRandomValues)
      const [a, b] = await Promise.all(
        ports.map((p) =>
          fetch(`http://127.0.0.1:${p}/api/jobs/submit`, {
            method: 'POST',
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ agent: 'developer', prompt: 'random test' }),
          }),
        ),
      );
      expect(a!.status, procs[0]!.stderr()).toBe(202);
      expect(b!.status, procs[1]!.stderr()).toBe(202);
      expect(a!.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(a!.headers.get('x-request-id')).not.toBe(b!.headers.get('x-request-id'));
      const ids = [((await a!.json()) as { id: string }).id, ((await b!.json()) as { id: string }).id];
      // ir-<time>-<random>: the random parts differ
      expect(ids[0]!.split('-').at(-1)).not.toBe(ids[1]!.split('-').at(-1));
    } finally {
      await Promise.all(procs.map((p) => stopApi(p.child)));
    }
  });

  it('stops at start with the reason when the configuration is bad', async () => {
    const proc = spawn(process.execPath, startArgs(dist), {
      cwd: scratch,
      env: { ...env, PORT: String(await freePort()), INGEST_TOKEN_SECRET: 'short' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (c) => {
      err += c;
    });
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/invalid configuration:\n {2}- INGEST_TOKEN_SECRET must be at least 32 bytes/);
  });
});
