// The process runtime with real child processes: a small stub executor (a Node script that does
// what the request's prompt says) stands in for `node executor/main.ts`; the model-cache step runs
// the real executor/model-init against a loopback HTTP server.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTOR_ENV, INSTRUCTIONS_FILE, REQUEST_FILE } from '../api/v1alpha1/executor-contract.ts';
import type { AiAgent, AiModel, InferenceRequest } from '../api/v1alpha1/index.ts';
import { ingestKey, verifyIngestToken } from '../api/v1alpha1/ingest-token.ts';
import { loadConfig } from './config.ts';
import { childNames, requestFiles } from './job-spec.ts';
import { type KubeClient, KubeError } from './kube.ts';
import { createLogger } from './log.ts';
import { createProcessRuntime } from './process-runtime.ts';
import type { Resolution } from './resolve.ts';
import type { RunObservation } from './runtime.ts';

const SECRET = 's'.repeat(40);
const STUB = `
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
const req = JSON.parse(readFileSync(join(process.env.AI_AGENTS_CONFIG_DIR, 'request.json'), 'utf8'));
const ws = process.env.AI_AGENTS_WORKSPACE;
appendFileSync(join(ws, 'attempts'), 'x');
writeFileSync(join(ws, 'env.json'), JSON.stringify(process.env));
const [cmd, arg] = req.prompt.split(':');
if (arg === 'stubborn') process.on('SIGTERM', () => appendFileSync(join(ws, 'signals'), 'TERM\\n'));
else process.on('SIGTERM', () => { appendFileSync(join(ws, 'signals'), 'TERM\\n'); process.exit(143); });
if (cmd === 'exit') { console.error(JSON.stringify({ msg: 'stub exits ' + arg })); process.exit(Number(arg)); }
if (cmd === 'sleep') {
  const grandchild = spawn('sleep', ['1000'], { stdio: 'ignore' });
  writeFileSync(join(ws, 'pids'), JSON.stringify([process.pid, grandchild.pid]));
  setInterval(() => {}, 1000);
}
`;

let root: string;
let stub: string;
let model: Server;
let modelUrl: string;
const GGUF = Buffer.from('GGUF fake model bytes for the download step');

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'process-runtime-'));
  stub = path.join(root, 'stub-executor.mjs');
  writeFileSync(stub, STUB);
  model = createServer((req, res) => {
    if (req.url === '/tiny.gguf') res.writeHead(200, { 'content-length': GGUF.length }).end(GGUF);
    else res.writeHead(404).end('no such model');
  });
  await new Promise<void>((r) => model.listen(0, '127.0.0.1', r));
  const addr = model.address();
  modelUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await new Promise((r) => model.close(r));
  rmSync(root, { recursive: true, force: true });
});

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});

let counter = 0;
function setup(dataDir = mkdtempSync(path.join(root, 'data-')), client?: KubeClient) {
  const config = loadConfig({
    INGEST_TOKEN_SECRET: SECRET,
    INGEST_URL: 'http://127.0.0.1:9/api/events/ingest',
    EXECUTOR_RUNTIME: 'process',
    PROCESS_DATA_DIR: dataDir,
  });
  const changes: string[] = [];
  const listeners = new Set<() => void>();
  const runtime = createProcessRuntime({
    config,
    log: createLogger('error'),
    executorCommand: [process.execPath, stub],
    killGraceMs: 300,
    retryDelayMs: 10,
    env: { PATH: process.env.PATH, AI_AGENTS_LLAMA_THREADS: '1', SECRET_OF_THE_CONTROLLER: 'no' },
    ...(client ? { client } : {}),
  });
  runtime.start((key) => {
    changes.push(key);
    for (const l of listeners) l();
  });
  stops.push(() => runtime.stop());
  /** Resolves once the run's observation satisfies `ok` (woken by the runtime's onChange). */
  const until = (req: InferenceRequest, ok: (o: RunObservation | undefined) => boolean) =>
    new Promise<RunObservation | undefined>((resolve) => {
      const check = () => {
        const o = runtime.observe(req);
        if (ok(o)) {
          listeners.delete(check);
          resolve(o);
        }
      };
      listeners.add(check);
      check();
    });
  return { runtime, config, changes, until, dataDir };
}

function request(prompt: string, extra: Partial<InferenceRequest['spec']> = {}): InferenceRequest {
  counter += 1;
  return {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'InferenceRequest',
    metadata: { name: `req-${counter}`, namespace: 'team-a', uid: `uid-${counter}`, generation: 1 },
    spec: { agent: 'dev', prompt, priority: 0, cancel: false, caller: 'ci', ...extra },
  } as InferenceRequest;
}

function resolution(
  overrides: Partial<Resolution> = {},
  modelSpec: Partial<AiModel['spec']> = {},
): Resolution {
  return {
    agent: { metadata: { name: 'dev' }, spec: { role: 'developer', repositoryAccess: 'read' } } as AiAgent,
    model: {
      metadata: { name: 'stub' },
      spec: { provider: 'anthropic', executor: 'claude', model: 'x', ...modelSpec },
    } as AiModel,
    config: undefined,
    executor: 'claude',
    timeoutSeconds: 300,
    prompt: { text: 'Be brief.', hash: 'sha256:abc' },
    ...overrides,
  };
}

/** Waits until the stub has written a file (it does so after it started). */
async function fileAppears(file: string): Promise<string> {
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
  return readFileSync(file, 'utf8');
}

const terminal = (o: RunObservation | undefined) => Boolean(o && !o.active);
const workspace = (dataDir: string, req: InferenceRequest) =>
  path.join(dataDir, 'workspace', 'jobs', req.metadata.name);
/** Dead: no such process, or a zombie waiting for whoever inherited it to reap it. */
const dead = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};
/** Waits until every pid is dead (SIGKILL is delivered asynchronously). */
async function allDead(pids: number[]): Promise<boolean> {
  while (!pids.every(dead)) await new Promise((r) => setTimeout(r, 20));
  return true;
}

describe('process runtime', () => {
  it('runs the executor with the request files, the minted ingest token and the contract env; exit 0 → succeeded', async () => {
    const { runtime, config, until, dataDir } = setup();
    await runtime.waitForSync();
    const req = request('exit:0');
    const r = resolution();
    const ensured = await runtime.ensure(req, r);
    expect(ensured).toEqual({ name: childNames(req.metadata.name).job, created: true });
    expect(await runtime.ensure(req, r)).toEqual({ name: ensured.name, created: false });
    expect(await runtime.exists(req)).toBe(true);
    expect([...runtime.activeRuns()]).toEqual([{ requestKey: 'team-a/req-1', caller: 'ci', model: 'stub' }]);

    const done = await until(req, terminal);
    expect(done).toMatchObject({ name: ensured.name, state: 'succeeded', active: false, attempts: 1 });
    expect(done?.finishedAt).toBeDefined();

    const env = JSON.parse(readFileSync(path.join(workspace(dataDir, req), 'env.json'), 'utf8'));
    const configDir = env[EXECUTOR_ENV.configDir];
    expect(configDir).toBe(path.join(dataDir, 'runs', 'team-a', ensured.name, 'config'));
    const files = requestFiles(req, r);
    expect(readFileSync(path.join(configDir, REQUEST_FILE), 'utf8')).toBe(files[REQUEST_FILE]);
    expect(readFileSync(path.join(configDir, INSTRUCTIONS_FILE), 'utf8')).toBe('Be brief.');
    expect(env).toMatchObject({
      [EXECUTOR_ENV.ingestUrl]: config.INGEST_URL,
      [EXECUTOR_ENV.request]: req.metadata.name,
      [EXECUTOR_ENV.namespace]: 'team-a',
      [EXECUTOR_ENV.executor]: 'claude',
      [EXECUTOR_ENV.workspace]: workspace(dataDir, req),
      AI_AGENTS_MODELS_DIR: path.join(dataDir, 'models'),
      AI_AGENTS_LLAMA_THREADS: '1',
    });
    expect(env.SECRET_OF_THE_CONTROLLER).toBeUndefined();
    // where the Job has its projected token file, the run has a file with a token minted for it
    const runDir = path.join(dataDir, 'runs', 'team-a', ensured.name);
    expect(env[EXECUTOR_ENV.ingestTokenFile]).toBe(path.join(runDir, 'token'));
    expect(env[EXECUTOR_ENV.ingestToken]).toBeUndefined();
    const token = readFileSync(path.join(runDir, 'token'), 'utf8');
    const claims = await verifyIngestToken(ingestKey(SECRET), token);
    expect(claims).toEqual({ namespace: 'team-a', request: req.metadata.name, uid: req.metadata.uid });

    // the token file is private and gone after cleanup; the state file never holds it
    expect(statSync(path.join(runDir, 'token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(runDir, 'state.json'), 'utf8')).not.toContain(token);
    await runtime.cleanup(req);
    expect(existsSync(path.join(runDir, 'token'))).toBe(false);
    expect([...runtime.activeRuns()]).toEqual([]);
  });

  it('exit 42 fails at once as BadRequest; other exits are retried up to maxRetries', async () => {
    const { runtime, until, dataDir } = setup();
    const bad = request('exit:42', { maxRetries: 3 });
    await runtime.ensure(bad, resolution());
    expect(await until(bad, terminal)).toMatchObject({ state: 'failed', reason: 'BadRequest', attempts: 1 });
    expect(runtime.observe(bad)?.message).toContain('stub exits 42');

    // the executor stopped itself at the request's timeout: TimedOut, not retried either
    const late = request('exit:124', { maxRetries: 3 });
    await runtime.ensure(late, resolution());
    expect(await until(late, terminal)).toMatchObject({
      state: 'timedOut',
      reason: 'DeadlineExceeded',
      attempts: 1,
    });

    const flaky = request('exit:3', { maxRetries: 2 });
    await runtime.ensure(flaky, resolution());
    const failed = await until(flaky, terminal);
    expect(failed).toMatchObject({ state: 'failed', reason: 'ExecutorFailed', attempts: 3 });
    expect(failed?.message).toBe('the executor exited with 3 after 3 attempts: stub exits 3');
    expect(readFileSync(path.join(workspace(dataDir, flaky), 'attempts'), 'utf8')).toBe('xxx');
  });

  it('delete sends SIGTERM to the process group, waits for it and removes the run', async () => {
    const { runtime, until, dataDir } = setup();
    const req = request('sleep');
    await runtime.ensure(req, resolution());
    await until(req, (o) => o?.state === 'running');
    const pids = JSON.parse(await fileAppears(path.join(workspace(dataDir, req), 'pids'))) as number[];
    await runtime.delete(req);
    expect(readFileSync(path.join(workspace(dataDir, req), 'signals'), 'utf8')).toBe('TERM\n');
    expect(await allDead(pids)).toBe(true);
    expect(runtime.observe(req)).toBeUndefined();
    expect(await runtime.exists(req)).toBe(false);
    await runtime.delete(req); // absent is fine
  });

  it('a run past its timeout is terminated (SIGKILL when SIGTERM is ignored) and ends timedOut', async () => {
    const { runtime, until, dataDir } = setup();
    const req = request('sleep:stubborn');
    await runtime.ensure(req, resolution({ timeoutSeconds: 1 }));
    await until(req, (o) => o?.state === 'running');
    const pids = JSON.parse(await fileAppears(path.join(workspace(dataDir, req), 'pids'))) as number[];
    const done = await until(req, terminal);
    expect(done).toMatchObject({
      state: 'timedOut',
      reason: 'DeadlineExceeded',
      message: 'the executor ran longer than its 1 s timeout',
    });
    expect(readFileSync(path.join(workspace(dataDir, req), 'signals'), 'utf8')).toBe('TERM\n');
    expect(await allDead(pids)).toBe(true);
  });

  it('stop interrupts running executors; a new runtime on the same folder still knows every run', async () => {
    const first = setup();
    const finished = request('exit:0');
    await first.runtime.ensure(finished, resolution());
    await first.until(finished, terminal);
    const running = request('sleep');
    await first.runtime.ensure(running, resolution());
    await first.until(running, (o) => o?.state === 'running');
    await fileAppears(path.join(workspace(first.dataDir, running), 'pids'));
    await first.runtime.stop();
    expect(first.runtime.observe(running)).toMatchObject({ state: 'failed', reason: 'Interrupted' });

    const second = setup(first.dataDir);
    await second.runtime.waitForSync();
    expect(second.runtime.hasSynced()).toBe(true);
    expect(second.runtime.observe(finished)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(second.runtime.observe(running)).toMatchObject({ state: 'failed', reason: 'Interrupted' });
    expect(second.changes).toEqual(expect.arrayContaining([`team-a/${finished.metadata.name}`]));
    // another request with the same name (new uid) is not this run
    expect(
      second.runtime.observe({ ...finished, metadata: { ...finished.metadata, uid: 'other' } }),
    ).toBeUndefined();
  });

  it('fetches the model with executor/model-init into the models folder before the executor starts', async () => {
    const { runtime, until, dataDir } = setup();
    const sha256 = createHash('sha256').update(GGUF).digest('hex');
    const r = resolution(
      { executor: 'claude', modelDownload: { url: `${modelUrl}/tiny.gguf`, file: 'tiny.gguf', sha256 } },
      { provider: 'llamacpp' },
    );
    const req = request('exit:0');
    await runtime.ensure(req, r);
    expect(await until(req, terminal)).toMatchObject({ state: 'succeeded' });
    expect(readFileSync(path.join(dataDir, 'models', 'tiny.gguf'))).toEqual(GGUF);

    const missing = request('exit:0');
    await runtime.ensure(
      missing,
      resolution({ modelDownload: { url: `${modelUrl}/absent.gguf`, file: 'absent.gguf' } }),
    );
    const failed = await until(missing, terminal);
    expect(failed).toMatchObject({ state: 'failed', reason: 'ModelDownloadFailed' });
    expect(failed?.message).toContain(`${modelUrl}/absent.gguf`);
    expect(existsSync(path.join(dataDir, 'models', 'absent.gguf'))).toBe(false);
  });

  it('a llama model with no URL and no cached file fails with what to do', async () => {
    const { runtime, until } = setup();
    const req = request('exit:0');
    await runtime.ensure(
      req,
      resolution({ executor: 'llama' }, { provider: 'llamacpp', executor: 'llama', model: 'local.gguf' }),
    );
    const failed = await until(req, terminal);
    expect(failed).toMatchObject({ state: 'failed', reason: 'ModelNotConfigured' });
    expect(failed?.message).toContain('AI_AGENTS_MODEL_URL');
  });

  it("writes a claude model's credentials Secret where the Job mounts it, and removes it on cleanup", async () => {
    const secrets: Record<string, Record<string, string>> = {
      'team-a/claude-credentials': { 'credentials.json': Buffer.from('{"token":"t"}').toString('base64') },
    };
    // a unit-test stand-in for the apiserver's Secret read
    const client = {
      async get(_r: unknown, ns: string, name: string) {
        const data = secrets[`${ns}/${name}`];
        if (!data) throw new KubeError(404, `secrets "${name}" not found`, 'NotFound');
        return { data };
      },
    } as unknown as KubeClient;
    const { runtime, until, dataDir } = setup(undefined, client);
    const claude = (secret: string) =>
      resolution({}, { credentialsRef: { name: secret, key: 'credentials.json' } });
    const req = request('exit:0');
    await runtime.ensure(req, claude('claude-credentials'));
    expect(await until(req, terminal)).toMatchObject({ state: 'succeeded' });
    const env = JSON.parse(readFileSync(path.join(workspace(dataDir, req), 'env.json'), 'utf8'));
    const file = path.join(env.AI_AGENTS_CREDENTIALS_DIR, 'credentials.json');
    expect(readFileSync(file, 'utf8')).toBe('{"token":"t"}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await runtime.cleanup(req);
    expect(existsSync(file)).toBe(false);

    const missing = request('exit:0');
    await runtime.ensure(missing, claude('absent'));
    expect(await until(missing, terminal)).toMatchObject({
      state: 'failed',
      reason: 'SecretNotFound',
      message: 'Secret team-a/absent not found',
    });
  });
});
