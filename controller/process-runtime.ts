// The local executor runtime: the run of a request is a child process on this machine instead of a
// Kubernetes Job. It builds exactly what the Job runtime builds (job-spec.ts: the request
// files request.json + instructions.md, an ingest token, the container's env, the model-cache
// step, activeDeadlineSeconds and backoffLimit) and maps it onto folders under
// PROCESS_DATA_DIR:
//
//   runs/<namespace>/<run>/config/      the request files (AI_AGENTS_CONFIG_DIR)
//   runs/<namespace>/<run>/token        the ingest token (HS256, INGEST_TOKEN_SECRET; removed by
//                                        cleanup) where the Job has the projected one
//   runs/<namespace>/<run>/state.json   the run's state, so a restarted controller still knows it
//   runs/<namespace>/<run>/*.log        output of the model init step and of the executor
//   workspace/<WORKSPACE_SUBPATH_PREFIX>/<request>   AI_AGENTS_WORKSPACE (same layout as the PVC)
//   models/                              AI_AGENTS_MODELS_DIR, the model cache
//   uploads/                             AI_AGENTS_UPLOADS_DIR, when it exists
//
// Each executor runs in its own process group, so SIGTERM (cancel, timeout, shutdown) reaches
// the executor and everything it started; SIGKILL follows after a grace period.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EXECUTOR_CONFIG_DIR,
  EXIT_BAD_REQUEST,
  EXIT_TIMED_OUT,
  LABELS,
  MODEL_INIT_ENV,
  MODEL_INIT_PROGRAM,
  MODELS_MOUNT,
  WORKSPACE_MOUNT,
} from '../api/v1alpha1/executor-contract.ts';
import type { InferenceRequest } from '../api/v1alpha1/index.ts';
import { ingestKey, mintIngestToken } from '../api/v1alpha1/ingest-token.ts';
import type { Config } from './config.ts';
import {
  buildJob,
  CREDENTIALS_DIR,
  childNames,
  INGEST_TOKEN_FILE,
  MODEL_INIT_CONTAINER,
  MODEL_LABEL,
  requestFiles,
  tokenExpiry,
} from './job-spec.ts';
import { isNotFound, type KubeClient, RESOURCES } from './kube.ts';
import type { Logger } from './log.ts';
import type { Resolution } from './resolve.ts';
import {
  type ActiveRun,
  type EnsureResult,
  type ExecutorRuntime,
  OwnershipConflict,
  type RunObservation,
  type RunState,
} from './runtime.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** `node executor/main.ts`: the same program the executor images run. */
export const DEFAULT_EXECUTOR_COMMAND = [process.execPath, path.join(REPO_ROOT, 'executor', 'main.ts')];
/** An init container's command as a local argv: `node` is this Node, the image's program is this checkout's. */
export function localCommand(command: readonly string[]): string[] {
  return command.map((arg, i) => {
    if (i === 0 && arg === 'node') return process.execPath;
    if (arg === MODEL_INIT_PROGRAM) return path.join(REPO_ROOT, 'executor', 'model-init', 'main.ts');
    return arg;
  });
}
/** Variables of the controller's own environment handed to every executor (tuning, not secrets). */
const PASSTHROUGH = /^(PATH|LANG|LC_[A-Z]+|TZ|AI_AGENTS_LLAMA_[A-Z_]+|NODE_LLAMA_CPP_[A-Z_]+)$/;
const UPLOADS_DIR_ENV = 'AI_AGENTS_UPLOADS_DIR';
const MODELS_DIR_ENV = 'AI_AGENTS_MODELS_DIR';

export interface ProcessRuntimeOptions {
  config: Config;
  log: Logger;
  /** Reads the Secrets a Job would get (AiModel env from Secrets, claude credentials). */
  client?: KubeClient;
  now?: () => Date;
  /** argv that starts the executor (default: node executor/main.ts). */
  executorCommand?: readonly string[];
  /** argv of the model-cache step (default: the init container's command, run from this checkout). */
  modelInitCommand?: readonly string[];
  /** Between SIGTERM and SIGKILL (default 5 s, inside the controller's own 10 s shutdown limit). */
  killGraceMs?: number;
  /** Wait before a retried attempt (default 1 s). */
  retryDelayMs?: number;
  /** The environment whose PASSTHROUGH variables reach executors (default process.env). */
  env?: Record<string, string | undefined>;
}

/** What state.json holds: everything observe() and activeRuns() need, and nothing secret. */
export interface RunRecord {
  name: string;
  namespace: string;
  request: string;
  uid: string;
  caller: string;
  model: string;
  state: RunState;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  message?: string;
  exitCode?: number;
  /** Process group of the step running now (init or executor). */
  pid?: number;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface ContainerSpec {
  name: string;
  command?: string[];
  env?: EnvVar[];
}
interface JobShape {
  spec: {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: { spec: { initContainers?: ContainerSpec[]; containers: ContainerSpec[] } };
  };
}

interface Live {
  record: RunRecord;
  dir: string;
  child?: ChildProcess;
  /** Why the current step is being stopped. */
  stopping?: 'deadline' | 'delete' | 'shutdown';
  done: Promise<void>;
  deadline?: NodeJS.Timeout;
  /** Only in memory: never written to state.json or logs. */
  token: string;
  timeoutSeconds: number;
}

/** A Secret the run needs is missing: the run fails with this message (a pod would wait forever). */
class SecretProblem extends Error {}

const isActive = (s: RunState) => s === 'pending' || s === 'running';

export function observeRecord(r: RunRecord): RunObservation {
  return {
    name: r.name,
    state: r.state,
    active: isActive(r.state),
    attempts: Math.max(1, r.attempts),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.message ? { message: r.message } : {}),
    ...(r.startedAt ? { startedAt: r.startedAt } : {}),
    ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
  };
}

/** The last meaningful line of a log, without the token, for a status message. */
function lastLine(text: string, secret: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  let line = lines.at(-1) ?? '';
  // the executor logs JSON lines: prefer the message field
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; message?: unknown; error?: unknown };
    const m = parsed.error ?? parsed.message ?? parsed.msg;
    if (typeof m === 'string') line = m;
  } catch {}
  if (secret) line = line.replaceAll(secret, '[redacted]');
  return line.slice(0, 400);
}

function tail(file: string, bytes = 8192): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function createProcessRuntime(opts: ProcessRuntimeOptions): ExecutorRuntime & {
  /** Root folders (for the platform and tests). */
  dirs: { runs: string; workspace: string; models: string; uploads: string };
} {
  const { config, log } = opts;
  const now = opts.now ?? (() => new Date());
  const root = path.resolve(config.PROCESS_DATA_DIR);
  const dirs = {
    runs: path.join(root, 'runs'),
    workspace: path.join(root, 'workspace'),
    models: path.join(root, 'models'),
    uploads: path.join(root, 'uploads'),
  };
  const command = opts.executorCommand ?? DEFAULT_EXECUTOR_COMMAND;
  const graceMs = opts.killGraceMs ?? 5000;
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const parentEnv = opts.env ?? process.env;
  const key = ingestKey(config.INGEST_TOKEN_SECRET ?? ''); // loadConfig requires it for this runtime
  /** `<namespace>/<run name>` → run */
  const runs = new Map<string, Live>();
  let onChange: (requestKey: string) => void = () => {};
  let synced = false;
  let loading: Promise<void> = Promise.resolve();
  let shuttingDown = false;

  const runKey = (req: InferenceRequest) =>
    `${req.metadata.namespace ?? 'default'}/${childNames(req.metadata.name).job}`;
  const requestKey = (r: RunRecord) => `${r.namespace}/${r.request}`;
  const runDir = (namespace: string, name: string) => path.join(dirs.runs, namespace, name);
  const workspaceOf = (request: string) =>
    path.join(dirs.workspace, ...[config.WORKSPACE_SUBPATH_PREFIX, request].filter(Boolean));

  let writes = Promise.resolve();
  function persist(live: Live): Promise<void> {
    const file = path.join(live.dir, 'state.json');
    const body = `${JSON.stringify(live.record, null, 2)}\n`;
    const next = writes.then(async () => {
      await writeFile(`${file}.tmp`, body);
      await rename(`${file}.tmp`, file);
    });
    writes = next.catch((e) =>
      log.error('cannot write run state', { run: live.record.name, error: String(e) }),
    );
    return writes;
  }

  function update(live: Live, patch: Partial<RunRecord>, drop: (keyof RunRecord)[] = []) {
    Object.assign(live.record, patch);
    for (const f of drop) delete live.record[f];
    void persist(live);
    onChange(requestKey(live.record));
  }

  function finish(
    live: Live,
    state: Exclude<RunState, 'pending' | 'running'>,
    extra: Partial<RunRecord> = {},
  ) {
    if (live.deadline) clearTimeout(live.deadline);
    update(live, { state, finishedAt: now().toISOString(), ...extra }, ['pid']);
  }

  /** Runs one step (init or executor) in its own process group; resolves with its exit. */
  function step(
    live: Live,
    argv: readonly string[],
    env: Record<string, string>,
    logFile: string,
    cwd: string,
  ) {
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      // stopped between two steps: start nothing (the caller reports the stop)
      if (live.stopping) return resolve({ code: null, signal: 'SIGTERM' });
      const fd = openSync(logFile, 'a');
      let child: ChildProcess;
      try {
        child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
      live.child = child;
      child.once('error', (e) => {
        log.error('cannot start process', { run: live.record.name, command: argv[0], error: String(e) });
        resolve({ code: 127, signal: null });
      });
      child.once('exit', (code, signal) => {
        live.child = undefined;
        resolve({ code, signal });
      });
      if (child.pid) update(live, { pid: child.pid });
    });
  }

  /** Sends SIGTERM to the step's group, SIGKILL after the grace period; resolves when it exited. */
  async function terminate(live: Live, why: NonNullable<Live['stopping']>): Promise<void> {
    live.stopping ??= why;
    const child = live.child;
    if (!child) return; // between steps (a retry's back-off): nothing runs; the loop sees `stopping`
    const pid = child.pid;
    const exited = new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode) r();
      else child.once('exit', () => r());
    });
    killGroup(pid, 'SIGTERM');
    const force = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(force);
    // the executor's own children (the llama worker) share the group: make sure none is left
    killGroup(pid, 'SIGKILL');
  }

  function stoppedOutcome(live: Live): boolean {
    const why = live.stopping;
    if (!why) return false;
    if (why === 'deadline') {
      finish(live, 'timedOut', {
        reason: 'DeadlineExceeded',
        message: `the executor ran longer than its ${live.timeoutSeconds} s timeout`,
      });
    } else if (why === 'shutdown') {
      finish(live, 'failed', {
        reason: 'Interrupted',
        message: 'the local platform stopped while the executor was running',
      });
    }
    // delete: the run is removed by delete() itself
    return true;
  }

  async function drive(live: Live, job: JobShape, env: Record<string, string>) {
    const r = live.record;
    const dir = live.dir;
    const workspace = workspaceOf(r.request);
    await mkdir(workspace, { recursive: true });
    live.deadline = setTimeout(() => void terminate(live, 'deadline'), job.spec.activeDeadlineSeconds * 1000);
    live.deadline.unref();

    // the Job's model-cache init container, as a local process: same program, same env, the
    // models mount mapped onto the local cache
    const init = job.spec.template.spec.initContainers?.find((c) => c.name === MODEL_INIT_CONTAINER);
    if (init) {
      const initEnv: Record<string, string> = {
        PATH: parentEnv.PATH ?? '/usr/bin:/bin',
        HOME: path.join(dir, 'tmp'),
      };
      for (const e of init.env ?? []) if (e.value !== undefined) initEnv[e.name] = mapModelsPath(e.value);
      const argv = opts.modelInitCommand ?? localCommand(init.command ?? []);
      const initLog = path.join(dir, 'model-init.log');
      const res = await step(live, argv, initEnv, initLog, dir);
      if (stoppedOutcome(live)) return;
      if (res.code !== 0) {
        const url = initEnv[MODEL_INIT_ENV.url] ?? '(no URL)';
        finish(live, 'failed', {
          reason: 'ModelDownloadFailed',
          message: `the model could not be fetched from ${url}: ${
            lastLine(tail(initLog), live.token) || `exit ${res.code ?? res.signal}`
          }`,
        });
        return;
      }
    }

    const attempts = job.spec.backoffLimit + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      update(live, { state: 'running', attempts: attempt });
      const logFile = path.join(dir, 'executor.log');
      const res = await step(live, command, env, logFile, workspace);
      if (stoppedOutcome(live)) return;
      if (res.code === 0) {
        finish(live, 'succeeded', { exitCode: 0 });
        return;
      }
      const why = lastLine(tail(logFile), live.token);
      const exit = res.code ?? res.signal ?? 'unknown';
      if (res.code === EXIT_TIMED_OUT) {
        finish(live, 'timedOut', {
          exitCode: res.code,
          reason: 'DeadlineExceeded',
          message: `the executor reached its ${live.timeoutSeconds} s timeout and stopped (exit ${EXIT_TIMED_OUT})`,
        });
        return;
      }
      if (res.code === EXIT_BAD_REQUEST) {
        finish(live, 'failed', {
          exitCode: res.code,
          reason: 'BadRequest',
          message: `the executor refused the request (exit ${EXIT_BAD_REQUEST})${why ? `: ${why}` : ''}`,
        });
        return;
      }
      if (attempt === attempts) {
        finish(live, 'failed', {
          ...(res.code !== null ? { exitCode: res.code } : {}),
          reason: 'ExecutorFailed',
          message: `the executor exited with ${exit} after ${attempt} attempt${attempt > 1 ? 's' : ''}${why ? `: ${why}` : ''}`,
        });
        return;
      }
      log.warn('executor failed, retrying', { run: r.name, attempt, exit: String(exit) });
      await new Promise((res) => setTimeout(res, retryDelayMs));
      if (live.stopping && stoppedOutcome(live)) return;
    }
  }

  /** /models (the Job's models mount) → the local model cache. */
  function mapModelsPath(value: string): string {
    if (value === MODELS_MOUNT || value.startsWith(`${MODELS_MOUNT}/`))
      return path.join(dirs.models, value.slice(MODELS_MOUNT.length));
    return value;
  }

  /** The executor's env: the Job container's, with Secrets resolved and the mounts mapped. */
  async function executorEnv(
    req: InferenceRequest,
    r: Resolution,
    job: JobShape,
    dir: string,
  ): Promise<Record<string, string>> {
    const ns = req.metadata.namespace ?? 'default';
    const container = job.spec.template.spec.containers[0]!;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(parentEnv)) if (v !== undefined && PASSTHROUGH.test(k)) env[k] = v;
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (e.value === INGEST_TOKEN_FILE) env[e.name] = path.join(dir, 'token');
      else if (e.value !== undefined) env[e.name] = e.value;
      else if (ref) {
        const value = (await secretData(ns, ref.name))[ref.key];
        if (value === undefined)
          throw new SecretProblem(`Secret ${ns}/${ref.name} has no key ${ref.key} (env ${e.name})`);
        env[e.name] = value;
      }
    }
    // a claude model's credentials Secret, "mounted" where the Job mounts it
    const credentials = r.model.spec.executor === 'claude' ? r.model.spec.credentialsRef : undefined;
    if (credentials) {
      const data = await secretData(ns, credentials.name);
      const target = path.join(dir, 'config', CREDENTIALS_DIR.slice(EXECUTOR_CONFIG_DIR.length));
      await mkdir(target, { recursive: true, mode: 0o700 });
      for (const [k, v] of Object.entries(data)) {
        if (credentials.key && k !== credentials.key) continue;
        await writeFile(path.join(target, k), v, { mode: 0o600 });
      }
    }
    // the container's mounts → local folders
    for (const [k, v] of Object.entries(env)) {
      if (v === EXECUTOR_CONFIG_DIR || v.startsWith(`${EXECUTOR_CONFIG_DIR}/`))
        env[k] = path.join(dir, 'config', v.slice(EXECUTOR_CONFIG_DIR.length));
      else if (v === WORKSPACE_MOUNT) env[k] = workspaceOf(req.metadata.name);
    }
    env.HOME = path.join(dir, 'tmp');
    env[MODELS_DIR_ENV] = dirs.models;
    if (existsSync(dirs.uploads)) env[UPLOADS_DIR_ENV] = dirs.uploads;
    return env;
  }

  /** A Secret's decoded data (the apiserver is the source, as for a pod). */
  async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
    if (!opts.client)
      throw new SecretProblem(
        `Secret ${namespace}/${name} is needed but the runtime has no Kubernetes client`,
      );
    let secret: { data?: Record<string, string> };
    try {
      secret = await opts.client.get(RESOURCES.secrets, namespace, name);
    } catch (e) {
      if (isNotFound(e)) throw new SecretProblem(`Secret ${namespace}/${name} not found`);
      throw e;
    }
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
  }

  async function load(): Promise<void> {
    let namespaces: string[] = [];
    try {
      namespaces = readdirSync(dirs.runs);
    } catch {
      return;
    }
    for (const ns of namespaces) {
      for (const name of readdirSync(path.join(dirs.runs, ns))) {
        const dir = runDir(ns, name);
        let record: RunRecord;
        try {
          record = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as RunRecord;
        } catch {
          continue;
        }
        const live: Live = { record, dir, done: Promise.resolve(), token: '', timeoutSeconds: 0 };
        runs.set(`${ns}/${name}`, live);
        if (isActive(record.state)) {
          // a previous controller left it: its process cannot be followed any more
          if (alive(record.pid)) killGroup(record.pid, 'SIGKILL');
          Object.assign(record, {
            state: 'failed',
            reason: 'Interrupted',
            message: 'the controller restarted while the executor was running',
            finishedAt: now().toISOString(),
          });
          delete record.pid;
          await persist(live);
        }
      }
    }
  }

  return {
    kind: 'process',
    dirs,
    start(cb) {
      onChange = cb;
      loading = load().then(
        () => {
          synced = true;
          for (const live of runs.values()) onChange(requestKey(live.record));
        },
        (e) => {
          log.error('cannot read the runs folder', { dir: dirs.runs, error: String(e) });
          synced = true;
        },
      );
    },
    async waitForSync(signal) {
      await Promise.race([
        loading,
        new Promise<void>((_, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      ]);
    },
    hasSynced: () => synced,
    async stop() {
      shuttingDown = true;
      const lives = [...runs.values()].filter((l) => isActive(l.record.state));
      await Promise.all(lives.map((l) => terminate(l, 'shutdown')));
      await Promise.all(lives.map((l) => l.done));
      await writes;
    },
    observe(req) {
      const live = runs.get(runKey(req));
      if (!live || live.record.uid !== (req.metadata.uid ?? '')) return undefined;
      return observeRecord(live.record);
    },
    async exists(req) {
      const live = runs.get(runKey(req));
      return Boolean(live && live.record.uid === (req.metadata.uid ?? ''));
    },
    async ensure(req, resolution: Resolution): Promise<EnsureResult> {
      const ns = req.metadata.namespace ?? 'default';
      const names = childNames(req.metadata.name);
      const uid = req.metadata.uid ?? '';
      const k = runKey(req);
      const existing = runs.get(k);
      if (existing) {
        if (existing.record.uid === uid) return { name: names.job, created: false };
        if (isActive(existing.record.state))
          throw new OwnershipConflict(
            `run ${k} is still running for another request (uid ${existing.record.uid})`,
          );
        runs.delete(k); // a finished run of an earlier request with the same name
      }
      if (shuttingDown) throw new Error('the process runtime is stopping');

      // exactly what the Job runtime creates
      const job = buildJob(req, resolution, config) as unknown as JobShape & {
        metadata: { labels: Record<string, string> };
      };
      const token = await mintIngestToken(
        key,
        { namespace: ns, request: req.metadata.name, uid },
        tokenExpiry(now(), resolution.timeoutSeconds),
      );

      const dir = runDir(ns, names.job);
      await rm(dir, { recursive: true, force: true });
      await mkdir(path.join(dir, 'config'), { recursive: true });
      await mkdir(path.join(dir, 'tmp'), { recursive: true });
      for (const [file, content] of Object.entries(requestFiles(req, resolution))) {
        await writeFile(path.join(dir, 'config', file), content);
      }
      await writeFile(path.join(dir, 'token'), token, { mode: 0o600 });

      const record: RunRecord = {
        name: names.job,
        namespace: ns,
        request: req.metadata.name,
        uid,
        caller: job.metadata.labels[LABELS.caller] ?? 'anonymous',
        model: job.metadata.labels[MODEL_LABEL] ?? '',
        state: 'pending',
        attempts: 0,
        startedAt: now().toISOString(),
      };
      const live: Live = {
        record,
        dir,
        done: Promise.resolve(),
        token,
        timeoutSeconds: resolution.timeoutSeconds,
      };
      runs.set(k, live);
      await persist(live);

      const precheck = localModelProblem(resolution, dirs.models);
      if (precheck) {
        finish(live, 'failed', { reason: 'ModelNotConfigured', message: precheck });
        return { name: names.job, created: true };
      }
      let env: Record<string, string>;
      try {
        env = await executorEnv(req, resolution, job, dir);
      } catch (e) {
        if (!(e instanceof SecretProblem)) throw e;
        finish(live, 'failed', { reason: 'SecretNotFound', message: e.message });
        return { name: names.job, created: true };
      }
      live.done = drive(live, job, env).catch((e) => {
        log.error('run failed', { run: names.job, error: String(e) });
        if (isActive(record.state))
          finish(live, 'failed', { reason: 'RunError', message: String(e).slice(0, 1024) });
      });
      log.info('run started', { run: names.job, request: `${ns}/${req.metadata.name}` });
      return { name: names.job, created: true };
    },
    async delete(req) {
      const k = runKey(req);
      const live = runs.get(k);
      if (!live || live.record.uid !== (req.metadata.uid ?? '')) return;
      if (live.deadline) clearTimeout(live.deadline);
      if (isActive(live.record.state)) {
        await terminate(live, 'delete');
        await live.done;
      }
      runs.delete(k);
      await writes;
      await rm(live.dir, { recursive: true, force: true });
      onChange(requestKey(live.record));
    },
    requestDeleted(req) {
      return this.delete(req);
    },
    async cleanup(req) {
      const live = runs.get(runKey(req));
      if (!live) return;
      await rm(path.join(live.dir, 'token'), { force: true });
      await rm(path.join(live.dir, 'config', CREDENTIALS_DIR.slice(EXECUTOR_CONFIG_DIR.length)), {
        recursive: true,
        force: true,
      });
    },
    *activeRuns(): Iterable<ActiveRun> {
      for (const live of runs.values()) {
        if (!isActive(live.record.state)) continue;
        yield { requestKey: requestKey(live.record), caller: live.record.caller, model: live.record.model };
      }
    },
  };
}

/**
 * Why a llama run cannot start here, when it clearly cannot: no model URL is configured and the
 * GGUF is not in the local cache. The executor would fail too; this says what to do about it.
 */
export function localModelProblem(r: Resolution, modelsDir: string): string | undefined {
  if (r.executor !== 'llama' || r.modelDownload) return undefined;
  const file = /\.gguf$/i.test(r.model.spec.model) ? r.model.spec.model : undefined;
  if (file && existsSync(path.join(modelsDir, file))) return undefined;
  return (
    `AiModel ${r.model.metadata.name} has no modelUrl (nor AiConfig providers.llamacpp.modelUrl) and ` +
    `${file ? `${path.join(modelsDir, file)} is not in the model cache` : 'names no GGUF file'}: ` +
    'start the local platform with AI_AGENTS_MODEL_URL=<GGUF URL> (or --model-url) to download one'
  );
}
