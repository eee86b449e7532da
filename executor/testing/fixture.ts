// A throw-away executor environment outside a container: config dir with request.json and
// instructions.md, workspace, uploads, models and state dirs, and the env that points at them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutorRequest } from '../../api/v1alpha1/executor-contract.ts';

export interface Fixture {
  root: string;
  configDir: string;
  workspace: string;
  uploadsDir: string;
  modelsDir: string;
  stateDir: string;
  env: Record<string, string | undefined>;
  writeRequest(request: unknown): Promise<void>;
  cleanup(): Promise<void>;
}

export function baseRequest(overrides: Partial<ExecutorRequest> = {}): ExecutorRequest {
  return {
    apiVersion: 'labrats.work/v1alpha1',
    name: 'req-1',
    namespace: 'default',
    uid: '00000000-0000-4000-8000-000000000001',
    executor: 'llama',
    prompt: 'Say hello.',
    promptHash: 'sha256:test',
    agent: { name: 'developer', role: 'developer', repositoryAccess: 'read' },
    model: { name: 'tiny', provider: 'llamacpp', model: 'tiny.gguf', modelFile: 'tiny.gguf' },
    timeoutSeconds: 600,
    ...overrides,
  };
}

export async function createFixture(options: {
  request?: unknown;
  instructions?: string;
  ingestUrl: string;
  ingestToken: string;
  requestName?: string;
  env?: Record<string, string | undefined>;
}): Promise<Fixture> {
  const root = await mkdtemp(path.join(tmpdir(), 'ai-agents-executor-'));
  const dirs = {
    configDir: path.join(root, 'config'),
    workspace: path.join(root, 'workspace'),
    uploadsDir: path.join(root, 'uploads'),
    modelsDir: path.join(root, 'models'),
    stateDir: path.join(root, 'state'),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  const writeRequest = async (request: unknown) => {
    await writeFile(
      path.join(dirs.configDir, 'request.json'),
      typeof request === 'string' ? request : JSON.stringify(request, null, 2),
    );
  };
  await writeRequest(options.request ?? baseRequest());
  await writeFile(
    path.join(dirs.configDir, 'instructions.md'),
    options.instructions ?? 'You are a test agent.',
  );
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: path.join(root, 'home'),
    AI_AGENTS_INGEST_URL: options.ingestUrl,
    AI_AGENTS_INGEST_TOKEN: options.ingestToken,
    AI_AGENTS_REQUEST: options.requestName ?? 'req-1',
    AI_AGENTS_NAMESPACE: 'default',
    AI_AGENTS_CONFIG_DIR: dirs.configDir,
    AI_AGENTS_WORKSPACE: dirs.workspace,
    AI_AGENTS_UPLOADS_DIR: dirs.uploadsDir,
    AI_AGENTS_MODELS_DIR: dirs.modelsDir,
    AI_AGENTS_STATE_DIR: dirs.stateDir,
    AI_AGENTS_BATCH_MS: '20',
    AI_AGENTS_MAX_RETRY_DELAY_MS: '200',
    AI_AGENTS_FLUSH_TIMEOUT_MS: '20000',
    ...options.env,
  };
  await mkdir(env.HOME!, { recursive: true });
  return {
    root,
    ...dirs,
    env,
    writeRequest,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
