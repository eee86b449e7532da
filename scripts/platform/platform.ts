// The local platform: a Kubernetes API (the project's own control plane on loopback, or a cluster
// from a kubeconfig), the CRDs and a default set of resources, then the controller (process
// runtime: executors run as local child processes), the functions (the API) and the dashboard on
// one local origin. Everything it keeps lives under the data folder, so a second start reuses it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { MODEL_INIT_ENV, MODEL_INIT_PROGRAM } from '../../api/v1alpha1/executor-contract.ts';
import { localCommand } from '../../controller/process-runtime.ts';
import { type ControlPlane, freePort, startControlPlane } from '../controlplane/index.ts';
import { defaultResources, LOCAL_MODEL, localModelFile } from './defaults.ts';
import { forgetChildren, recordChildren, stopLeftovers } from './leftovers.ts';
import { logTail, type Service, startService } from './services.ts';
import { loadState, type PlatformState, saveState, statePath } from './state.ts';
import { createWebServer, LOCAL_ADMIN_GROUP } from './web.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIELD_MANAGER = 'ai-agents-local';
/** Variables of the user's environment that the services may see (no cluster or app settings). */
const PASSTHROUGH =
  /^(PATH|HOME|USER|LANG|LC_[A-Z]+|TZ|TMPDIR|NODE_EXTRA_CA_CERTS|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy|CALLBACK_ALLOWED_HOSTS|AI_AGENTS_LLAMA_[A-Z_]+|NODE_LLAMA_CPP_[A-Z_]+)$/;

/** Short-lived helpers (model download, dashboard build): killed if the platform exits mid-start. */
const helpers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of helpers) c.kill('SIGKILL');
});
const track = (c: ChildProcess) => {
  helpers.add(c);
  c.once('exit', () => helpers.delete(c));
  return c;
};

export interface PlatformOptions {
  dataDir: string;
  /** Use this cluster instead of starting a control plane. */
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** GGUF URL for the local llama model (kept for later starts). */
  modelUrl?: string;
  modelSha256?: string;
  contextSize?: number;
  /** Default completion length of the local model (AiConfig providers.llamacpp.defaults.maxTokens). */
  maxTokens?: number;
  /** The dashboard + API origin (default 3000) and the functions (default 3001); taken → a free port. */
  port?: number;
  apiPort?: number;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export type ModelStatus =
  | { state: 'ready'; url: string; file: string }
  | { state: 'unconfigured' }
  | { state: 'unavailable'; url: string; file: string; reason: string };

export interface Platform {
  url: string;
  apiUrl: string;
  loginUrl: string;
  apiKey: string;
  namespace: string;
  kubeconfigPath: string;
  /** A kubectl that fits the cluster (the control plane's own, or the one on PATH). */
  kubectl: string;
  cluster: 'local' | 'kubeconfig';
  model: ModelStatus;
  dataDir: string;
  logsDir: string;
  services: Service[];
  /** Rejects when a service dies on its own. */
  failed: Promise<never>;
  stop(): Promise<void>;
}

async function portOr(preferred: number): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const srv = createNetServer();
    srv.once('error', () => resolve(false));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

function run(bin: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(`${path.basename(bin)} ${args.slice(0, 3).join(' ')}: ${stderr.trim() || err.message}`),
          );
        else resolve(stdout);
      },
    );
    track(child);
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function waitReady(url: string, service: Service, what: string): Promise<void> {
  for (;;) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(`${what} exited during start:\n${logTail(service.logFile)}`);
    }
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The newest modification time among the dashboard's sources (decides whether to rebuild). */
function uiSourceStamp(): string {
  let newest = 0;
  const visit = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) if (e !== 'node_modules' && e !== 'dist') visit(path.join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['ui/src', 'ui/index.html', 'vite.config.ts', 'package-lock.json']) {
    const abs = path.join(REPO_ROOT, p);
    if (existsSync(abs)) visit(abs);
  }
  return String(newest);
}

/** Builds the dashboard into <data>/ui unless that build is current. Resolves to the folder or undefined. */
async function buildUi(
  dataDir: string,
  logsDir: string,
  log: (l: string) => void,
): Promise<string | undefined> {
  const out = path.join(dataDir, 'ui');
  const stampFile = path.join(dataDir, 'ui.stamp');
  const stamp = uiSourceStamp();
  if (
    existsSync(path.join(out, 'index.html')) &&
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8') === stamp
  ) {
    return out;
  }
  log('building the dashboard (vite)…');
  const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        [vite, 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'],
        { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${stderr}\n${stdout}`.trim() || err.message)) : resolve(stdout),
      );
      track(child);
    });
    writeFileSync(path.join(logsDir, 'ui-build.log'), output);
    writeFileSync(stampFile, stamp);
    return out;
  } catch (e) {
    writeFileSync(path.join(logsDir, 'ui-build.log'), String(e));
    log(`the dashboard did not build (the API works without it): see ${path.join(logsDir, 'ui-build.log')}`);
    return existsSync(path.join(out, 'index.html')) ? out : undefined;
  }
}

/** Downloads the model with the init container's program (executor/model-init), showing its progress. */
async function fetchModel(
  url: string,
  file: string,
  sha256: string | undefined,
  modelsDir: string,
  env: Record<string, string>,
  log: (l: string) => void,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const [bin, ...args] = localCommand(['node', MODEL_INIT_PROGRAM]);
  const child = spawn(bin!, args, {
    env: {
      ...env,
      [MODEL_INIT_ENV.url]: url,
      [MODEL_INIT_ENV.file]: file,
      [MODEL_INIT_ENV.modelsDir]: modelsDir,
      ...(sha256 ? { [MODEL_INIT_ENV.sha256]: sha256 } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let last = '';
  const lines = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      last = line.trim();
      log(last);
    }
  };
  child.stdout.on('data', lines);
  child.stderr.on('data', lines);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return code === 0
    ? { ok: true }
    : { ok: false, reason: last.replace(/^\[model-init\]\s*/, '') || `exit ${code}` };
}

export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[platform] ${l}\n`));
  const userEnv = opts.env ?? process.env;
  const dataDir = path.resolve(opts.dataDir);
  const logsDir = path.join(dataDir, 'logs');
  const modelsDir = path.join(dataDir, 'models');
  mkdirSync(logsDir, { recursive: true });
  mkdirSync(modelsDir, { recursive: true });
  mkdirSync(path.join(dataDir, 'uploads'), { recursive: true });
  const namespace = opts.namespace ?? 'ai-agents';

  const leftovers = stopLeftovers(dataDir);
  if (leftovers)
    log(`stopped ${leftovers} processes that an earlier start which did not stop cleanly left running`);

  const state: PlatformState = loadState(dataDir);
  if (opts.modelUrl !== undefined) {
    state.modelUrl = opts.modelUrl || undefined;
    state.modelSha256 = opts.modelSha256;
  }
  if (opts.contextSize !== undefined) state.contextSize = opts.contextSize;
  if (opts.maxTokens !== undefined) state.maxTokens = opts.maxTokens;
  saveState(dataDir, state);

  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(userEnv)) if (v !== undefined && PASSTHROUGH.test(k)) baseEnv[k] = v;

  const cleanups: (() => Promise<void>)[] = [];
  const services: Service[] = [];
  let cp: ControlPlane | undefined;
  const stopAll = async () => {
    while (cleanups.length) {
      try {
        await cleanups.pop()!();
      } catch (e) {
        log(`while stopping: ${String(e)}`);
      }
    }
  };

  try {
    // 1. the Kubernetes API
    let kubeconfigPath: string;
    let kubectl: string;
    if (opts.kubeconfig) {
      const kc = new KubeConfig();
      kc.loadFromFile(path.resolve(opts.kubeconfig));
      if (opts.context) {
        if (!kc.getContextObject(opts.context))
          throw new Error(`context ${opts.context} is not in ${opts.kubeconfig}`);
        kc.setCurrentContext(opts.context);
      }
      kubeconfigPath = path.join(dataDir, 'kubeconfig');
      writeFileSync(kubeconfigPath, kc.exportConfig(), { mode: 0o600 });
      kubectl = userEnv.KUBE_BIN_DIR ? path.join(userEnv.KUBE_BIN_DIR, 'kubectl') : 'kubectl';
      try {
        await run(kubectl, [
          `--kubeconfig=${kubeconfigPath}`,
          '--request-timeout=10s',
          'get',
          '--raw=/readyz',
        ]);
      } catch (e) {
        throw new Error(
          `the cluster of context ${kc.getCurrentContext()} is not reachable: ${(e as Error).message}`,
        );
      }
      log(`using the cluster of context ${kc.getCurrentContext()}`);
    } else {
      log(`starting the local Kubernetes control plane (data in ${path.join(dataDir, 'controlplane')})…`);
      const started = await startControlPlane({
        dataDir: path.join(dataDir, 'controlplane'),
        log: (l) => log(`controlplane: ${l}`),
      });
      cp = started;
      cleanups.push(() => started.stop());
      kubeconfigPath = started.kubeconfigPath;
      kubectl = path.join(started.binDir, 'kubectl');
    }
    const k = (args: string[], input?: string) =>
      run(kubectl, [`--kubeconfig=${kubeconfigPath}`, ...args], input);

    // 2. CRDs and the default set, idempotently (server-side apply)
    const infra = path.join(REPO_ROOT, 'k8s', 'infra');
    const crds = readdirSync(infra).filter((f) => /^crd-.*\.yaml$/.test(f));
    await k([
      'apply',
      '--server-side',
      `--field-manager=${FIELD_MANAGER}`,
      '--force-conflicts',
      ...crds.flatMap((f) => ['-f', path.join(infra, f)]),
    ]);
    await k([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '-l',
      'app.kubernetes.io/part-of=ai-agents',
    ]);
    const resources = defaultResources({
      namespace,
      ...(state.modelUrl ? { modelUrl: state.modelUrl } : {}),
      ...(state.modelSha256 ? { modelSha256: state.modelSha256 } : {}),
      ...(state.contextSize ? { contextSize: state.contextSize } : {}),
      ...(state.maxTokens ? { maxTokens: state.maxTokens } : {}),
    });
    const [ns, ...rest] = resources;
    await k(
      ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-'],
      JSON.stringify(ns),
    );
    await k(
      ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rest }),
    );
    const count = (kind: string) => rest.filter((r) => r.kind === kind).length;
    log(
      `installed the CRDs, AiConfig default, AiModel ${LOCAL_MODEL}, ${count('AiAgent')} AiAgents and ${count('AiInstruction')} AiInstructions in namespace ${namespace}`,
    );

    // 3. the local model, downloaded once by the init container's program
    let model: ModelStatus = { state: 'unconfigured' };
    if (state.modelUrl) {
      const file = localModelFile(state.modelUrl);
      const fetched = await fetchModel(state.modelUrl, file, state.modelSha256, modelsDir, baseEnv, (l) =>
        log(`model: ${l.replace(/^\[model-init\]\s*/, '')}`),
      );
      model = fetched.ok
        ? { state: 'ready', url: state.modelUrl, file: path.join(modelsDir, file) }
        : {
            state: 'unavailable',
            url: state.modelUrl,
            file: path.join(modelsDir, file),
            reason: fetched.reason,
          };
    }

    // 4. the services
    const apiPort = await portOr(opts.apiPort ?? 3001);
    const port = await portOr(opts.port ?? 3000);
    const controllerPort = await freePort();
    const uiBuild = buildUi(dataDir, logsDir, log);
    let reportFailure: (e: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      reportFailure = reject;
    });
    failed.catch(() => {});
    const onUnexpectedExit = (s: Service, code: number | null, signal: NodeJS.Signals | null) =>
      reportFailure(new Error(`${s.name} exited (${signal ?? code}):\n${logTail(s.logFile)}`));
    const common = {
      KUBECONFIG: kubeconfigPath,
      LOG_LEVEL: 'info',
      INGEST_TOKEN_SECRET: state.ingestTokenSecret,
    };

    const functions = startService({
      name: 'functions',
      argv: [process.execPath, path.join(REPO_ROOT, 'functions', 'main.node.ts')],
      cwd: REPO_ROOT,
      logFile: path.join(logsDir, 'functions.log'),
      env: {
        ...baseEnv,
        ...common,
        PORT: String(apiPort),
        HOST: '127.0.0.1',
        NAMESPACE: namespace,
        APP_VERSION: 'local',
        WORKSPACE_DIR: path.join(dataDir, 'workspace', 'jobs'),
        // the process runtime hands the same folder to executors (AI_AGENTS_UPLOADS_DIR)
        UPLOADS_DIR: path.join(dataDir, 'uploads'),
        SUBMIT_API_KEYS: `local:${state.apiKey}`,
        JWT_SECRET: state.jwtSecret,
        AUTH_ADMIN_GROUPS: LOCAL_ADMIN_GROUP,
      },
      onUnexpectedExit,
    });
    services.push(functions);
    cleanups.push(() => functions.stop());

    const controller = startService({
      name: 'controller',
      argv: [process.execPath, path.join(REPO_ROOT, 'controller', 'main.ts')],
      cwd: REPO_ROOT,
      logFile: path.join(logsDir, 'controller.log'),
      env: {
        ...baseEnv,
        ...common,
        PORT: String(controllerPort),
        NAMESPACE: namespace,
        LEADER_ELECTION: 'false',
        EXECUTOR_RUNTIME: 'process',
        PROCESS_DATA_DIR: dataDir,
        INGEST_URL: `http://127.0.0.1:${apiPort}/api/events/ingest`,
        WORKER_CONCURRENCY: '2',
      },
      onUnexpectedExit,
    });
    services.push(controller);
    cleanups.push(async () => {
      await controller.stop();
      killLeftoverRuns(path.join(dataDir, 'runs'));
    });

    await Promise.all([
      waitReady(`http://127.0.0.1:${apiPort}/ready`, functions, 'the functions (API)'),
      waitReady(`http://127.0.0.1:${controllerPort}/ready`, controller, 'the controller'),
    ]);

    const uiDir = await uiBuild;
    const web = createWebServer({
      uiDir,
      apiPort,
      jwtSecret: state.jwtSecret,
      loginCode: state.loginCode,
      stateFile: statePath(dataDir),
    });
    await new Promise<void>((resolve, reject) => {
      web.once('error', reject);
      web.listen(port, '127.0.0.1', () => resolve());
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          web.closeAllConnections();
          web.close(() => resolve());
        }),
    );

    recordChildren(dataDir);
    cleanups.unshift(async () => forgetChildren(dataDir)); // runs last: everything is stopped by then

    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      loginUrl: `${url}/local-login?code=${state.loginCode}`,
      apiKey: state.apiKey,
      namespace,
      kubeconfigPath,
      kubectl,
      cluster: cp ? 'local' : 'kubeconfig',
      model,
      dataDir,
      logsDir,
      services,
      failed,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** After the controller stopped: no executor it started may outlive it (a SIGKILLed controller cannot clean up). */
function killLeftoverRuns(runsDir: string): void {
  if (!existsSync(runsDir)) return;
  for (const ns of readdirSync(runsDir)) {
    for (const run of readdirSync(path.join(runsDir, ns))) {
      try {
        const rec = JSON.parse(readFileSync(path.join(runsDir, ns, run, 'state.json'), 'utf8')) as {
          pid?: number;
        };
        if (rec.pid) process.kill(-rec.pid, 'SIGKILL');
      } catch {
        // no state, or the group is gone
      }
    }
  }
}
