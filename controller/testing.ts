// Helpers for the controller's integration tests: fixtures, and the controller run in-process or
// as a child process (`node controller/main.ts`) against the test control plane.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceRequest, InferenceRequestSpecInput } from '../api/v1alpha1/index.ts';
import { loadConfig } from './config.ts';
import { createKubeClient, type KubeClient, RESOURCES } from './kube.ts';
import { type KubeAccess, kubeconfigAccess } from './kube-access.ts';
import { createLogger } from './log.ts';
import { type Running, startController } from './main.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const TEST_INGEST_SECRET = 'test-ingest-secret-0123456789abcdef0123456789';

export function testEnv(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NAMESPACE: namespace,
    PORT: '0',
    LOG_LEVEL: process.env.AI_AGENTS_TEST_VERBOSE ? 'debug' : 'warn',
    INGEST_TOKEN_SECRET: TEST_INGEST_SECRET,
    INGEST_URL: 'http://127.0.0.1:9/api/events/ingest',
    EXECUTOR_IMAGE: 'example.invalid/executor-{executor}:test',
    LEADER_ELECTION: 'false',
    RESYNC_SECONDS: '30',
    ...extra,
  };
}

/** `kubeconfig`: a file the tests wrote, or the access itself (e.g. as a ServiceAccount). */
export async function runInProcess(
  kubeconfig: string | KubeAccess,
  env: Record<string, string>,
): Promise<Running> {
  const config = loadConfig(env);
  const file = process.env.AI_AGENTS_TEST_LOG_FILE;
  const write = file ? (l: string) => appendFileSync(file, `${l}\n`) : undefined;
  return startController(
    config,
    createLogger(file ? 'debug' : config.LOG_LEVEL, { test: true }, write),
    typeof kubeconfig === 'string' ? kubeAccess(kubeconfig) : kubeconfig,
  );
}

export interface ChildController {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `node <entry>` (default: controller/main.ts; the image runs the bundle, see build.ts). */
export function spawnController(
  kubeconfig: string,
  env: Record<string, string>,
  entry = join(here, 'main.ts'),
): ChildController {
  let out = '';
  const proc = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    if (process.env.AI_AGENTS_TEST_VERBOSE) process.stderr.write(b);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    output: () => out,
    exited,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode) return;
      proc.kill(signal);
      await exited;
    },
  };
}

/** Access through a kubeconfig file the tests write (a token: no client-node needed). */
export function kubeAccess(kubeconfig: string): KubeAccess {
  const access = kubeconfigAccess(kubeconfig);
  if (!access) throw new Error(`${kubeconfig}: needs an exec plugin or auth provider`);
  return access;
}

export function adminClient(kubeconfig: string): KubeClient {
  return createKubeClient(kubeAccess(kubeconfig));
}

export async function createFixtures(client: KubeClient, namespace: string, opts: { agent?: boolean } = {}) {
  await client.create(RESOURCES.aimodels, namespace, {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'AiModel',
    metadata: { name: 'sonnet' },
    spec: { provider: 'anthropic', executor: 'claude', model: 'claude-sonnet-4-5' },
  });
  if (opts.agent !== false) await createAgent(client, namespace, 'developer');
  await client.create(RESOURCES.aiinstructions, namespace, {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'AiInstruction',
    metadata: { name: 'global-code-quality' },
    spec: { type: 'global', priority: 10, content: 'Write clean code.' },
  });
}

export async function createAgent(client: KubeClient, namespace: string, name: string) {
  await client.create(RESOURCES.aiagents, namespace, {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'AiAgent',
    metadata: { name },
    spec: { role: 'developer', model: 'sonnet', systemPrompt: 'You are a developer.' },
  });
}

export async function createRequest(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Partial<InferenceRequestSpecInput> = {},
): Promise<InferenceRequest> {
  return client.create<InferenceRequest>(RESOURCES.inferencerequests, namespace, {
    apiVersion: 'labrats.work/v1alpha1',
    kind: 'InferenceRequest',
    metadata: { name },
    spec: { agent: 'developer', prompt: `do ${name}`, ...spec },
  });
}

export async function getRequest(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<InferenceRequest> {
  return client.get<InferenceRequest>(RESOURCES.inferencerequests, namespace, name);
}

/** kwok pod labels that decide how the fake kubelet runs the executor. */
export const KWOK = {
  hold: { 'kwok.labrats.work/outcome': 'hold' },
  fail: (code = 1) => ({ 'kwok.labrats.work/outcome': 'fail', 'kwok.labrats.work/exit-code': String(code) }),
  runFor: (d: string) => ({ 'kwok.labrats.work/run-duration': d }),
};
