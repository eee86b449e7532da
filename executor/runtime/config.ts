// Everything the executor reads from its environment: the contract's paths (each overridable by env so
// tests run outside a container), the ingest endpoint, and request.json validated before anything runs.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  EXECUTOR_CONFIG_DIR,
  EXECUTOR_ENV,
  type ExecutorRequest,
  INSTRUCTIONS_FILE,
  MODELS_MOUNT,
  REQUEST_FILE,
  UPLOADS_MOUNT,
  WORKSPACE_MOUNT,
} from '../../api/v1alpha1/executor-contract.ts';
import { BadRequestError } from './errors.ts';

/** Extra variables the executor understands besides the contract's EXECUTOR_ENV. */
export const RUNTIME_ENV = {
  uploadsDir: 'AI_AGENTS_UPLOADS_DIR', // default /uploads
  modelsDir: 'AI_AGENTS_MODELS_DIR', // default /models
  stateDir: 'AI_AGENTS_STATE_DIR', // spool and run state; default <workspace>/.ai-agents
  heartbeatMs: 'AI_AGENTS_HEARTBEAT_MS', // default 15000
  batchMs: 'AI_AGENTS_BATCH_MS', // how long events gather before a batch is sent; default 250
  flushTimeoutMs: 'AI_AGENTS_FLUSH_TIMEOUT_MS', // how long the final flush may take; default 20000
  stopGraceMs: 'AI_AGENTS_STOP_GRACE_MS', // how long a stopped backend may take to end; default 7000
  maxRetryDelayMs: 'AI_AGENTS_MAX_RETRY_DELAY_MS', // cap of the ingest retry back-off; default 5000
} as const;

const nonEmpty = z.string().min(1);

/** request.json as the controller writes it; unknown extra fields are ignored (newer controllers). */
export const executorRequestSchema = z.object({
  apiVersion: z.literal('labrats.work/v1alpha1'),
  name: nonEmpty.max(253),
  namespace: nonEmpty.max(63),
  uid: nonEmpty.max(128),
  executor: z.enum(['claude', 'codex', 'llama', 'bonsai']),
  prompt: nonEmpty,
  promptHash: z.string(),
  agent: z.object({
    name: nonEmpty,
    role: nonEmpty,
    maxTurns: z.int().min(1).optional(),
    allowedTools: z.array(nonEmpty).optional(),
    disallowedTools: z.array(nonEmpty).optional(),
    permissionMode: nonEmpty.optional(),
    sandbox: nonEmpty.optional(),
    repositoryAccess: z.enum(['read', 'write', 'pr']),
  }),
  model: z.object({
    name: nonEmpty,
    provider: z.enum(['anthropic', 'openai', 'llamacpp']),
    model: nonEmpty,
    baseUrl: z.string().optional(),
    modelFile: nonEmpty.optional(),
    contextSize: z.int().min(16).optional(),
    maxTokens: z.int().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    pricing: z
      .object({ inputPerMillionTokensUsd: z.number().min(0), outputPerMillionTokensUsd: z.number().min(0) })
      .optional(),
  }),
  repository: z
    .object({
      url: nonEmpty,
      ref: nonEmpty.optional(),
      branch: nonEmpty.optional(),
      pullRequest: z.boolean(),
    })
    .optional(),
  attachments: z.array(nonEmpty).optional(),
  timeoutSeconds: z.int().min(1),
  maxRetries: z.int().min(0).optional(),
  labels: z.record(z.string(), z.string()).optional(),
}) satisfies z.ZodType<ExecutorRequest>;

export interface ExecutorPaths {
  configDir: string;
  workspace: string;
  uploadsDir: string;
  modelsDir: string;
  stateDir: string;
}

export interface IngestConfig {
  url: string;
  /** The bearer token for the next POST (a projected token file is re-read: the kubelet rotates it). */
  token(): string;
  request: string;
}

export interface RuntimeTimings {
  heartbeatMs: number;
  batchMs: number;
  flushTimeoutMs: number;
  maxRetryDelayMs: number;
  /**
   * How long a stopped run waits for its backend to end before it reports anyway (an agent CLI's
   * process group gets SIGTERM, then SIGKILL after 5 s: runtime/child.ts).
   */
  stopGraceMs: number;
}

export interface ExecutorConfig {
  paths: ExecutorPaths;
  ingest: IngestConfig;
  timings: RuntimeTimings;
  request: ExecutorRequest;
  instructions: string;
}

type Env = Record<string, string | undefined>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new BadRequestError(`${name} must be a positive integer`);
  return value;
}

export function resolvePaths(env: Env = process.env): ExecutorPaths {
  const workspace = path.resolve(env[EXECUTOR_ENV.workspace] || WORKSPACE_MOUNT);
  return {
    configDir: path.resolve(env[EXECUTOR_ENV.configDir] || EXECUTOR_CONFIG_DIR),
    workspace,
    uploadsDir: path.resolve(env[RUNTIME_ENV.uploadsDir] || UPLOADS_MOUNT),
    modelsDir: path.resolve(env[RUNTIME_ENV.modelsDir] || MODELS_MOUNT),
    stateDir: path.resolve(env[RUNTIME_ENV.stateDir] || path.join(workspace, '.ai-agents')),
  };
}

export function resolveTimings(env: Env = process.env): RuntimeTimings {
  return {
    heartbeatMs: positiveInt(env, RUNTIME_ENV.heartbeatMs, 15_000),
    batchMs: positiveInt(env, RUNTIME_ENV.batchMs, 250),
    flushTimeoutMs: positiveInt(env, RUNTIME_ENV.flushTimeoutMs, 20_000),
    maxRetryDelayMs: positiveInt(env, RUNTIME_ENV.maxRetryDelayMs, 5_000),
    stopGraceMs: positiveInt(env, RUNTIME_ENV.stopGraceMs, 7_000),
  };
}

/**
 * The ingest token: AI_AGENTS_INGEST_TOKEN itself, or the file AI_AGENTS_INGEST_TOKEN_FILE names
 * (the Job's projected ServiceAccount token), read now and again before every use; a read that fails
 * later (the kubelet swapping it) keeps the last token read.
 */
function ingestToken(env: Env): (() => string) | undefined {
  const fixed = env[EXECUTOR_ENV.ingestToken];
  if (fixed) return () => fixed;
  const file = env[EXECUTOR_ENV.ingestTokenFile];
  if (!file) return undefined;
  const read = () => readFileSync(file, 'utf8').trim();
  let last: string;
  try {
    last = read();
  } catch (error) {
    throw new BadRequestError(
      `${EXECUTOR_ENV.ingestTokenFile}: cannot read ${file} (${(error as Error).message})`,
    );
  }
  if (!last) throw new BadRequestError(`${EXECUTOR_ENV.ingestTokenFile}: ${file} is empty`);
  return () => {
    try {
      last = read() || last;
    } catch {
      // keep the last one
    }
    return last;
  };
}

export function resolveIngest(env: Env = process.env): IngestConfig {
  const url = env[EXECUTOR_ENV.ingestUrl];
  const token = ingestToken(env);
  const request = env[EXECUTOR_ENV.request];
  const missing = [
    [EXECUTOR_ENV.ingestUrl, url],
    [`${EXECUTOR_ENV.ingestToken} or ${EXECUTOR_ENV.ingestTokenFile}`, token],
    [EXECUTOR_ENV.request, request],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0) throw new BadRequestError(`missing environment: ${missing.join(', ')}`);
  try {
    new URL(url!);
  } catch {
    throw new BadRequestError(`${EXECUTOR_ENV.ingestUrl} is not a URL`);
  }
  return { url: url!, token: token!, request: request! };
}

/** Parses request.json text; any problem is a BadRequestError naming the field. */
export function parseRequest(text: string, env: Env = process.env): ExecutorRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`${REQUEST_FILE} is not JSON: ${(error as Error).message}`);
  }
  const parsed = executorRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new BadRequestError(`${REQUEST_FILE} is invalid: ${issues.join('; ')}`);
  }
  const request = parsed.data as ExecutorRequest;
  const expected = env[EXECUTOR_ENV.executor];
  if (expected && expected !== request.executor) {
    throw new BadRequestError(
      `this image runs the ${expected} executor, the request wants ${request.executor}`,
    );
  }
  const name = env[EXECUTOR_ENV.request];
  if (name && name !== request.name) {
    throw new BadRequestError(`${REQUEST_FILE} is for ${request.name}, the job for ${name}`);
  }
  return request;
}

/** Reads and validates the mounted configuration. Throws BadRequestError for anything unusable. */
export async function loadConfig(env: Env = process.env): Promise<ExecutorConfig> {
  const paths = resolvePaths(env);
  const ingest = resolveIngest(env);
  const timings = resolveTimings(env);
  const requestPath = path.join(paths.configDir, REQUEST_FILE);
  let text: string;
  try {
    text = await readFile(requestPath, 'utf8');
  } catch (error) {
    throw new BadRequestError(
      `cannot read ${requestPath}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const request = parseRequest(text, env);
  let instructions = '';
  try {
    instructions = await readFile(path.join(paths.configDir, INSTRUCTIONS_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { paths, ingest, timings, request, instructions };
}
