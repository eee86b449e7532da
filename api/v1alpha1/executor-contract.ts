// What the controller gives an executor Job and what the executor promises back.

/**
 * Files the executor finds in its config directory. The Job runtime projects them from the pod's
 * own annotations (RUN_ANNOTATIONS) through a downward API volume, or, when they are too large for
 * annotations (MAX_INLINE_FILES_BYTES), from a Secret owned by the request.
 */
export const EXECUTOR_CONFIG_DIR = '/etc/ai-agents';
export const REQUEST_FILE = 'request.json'; // ExecutorRequest below
export const INSTRUCTIONS_FILE = 'instructions.md'; // composed instructions
export const WORKSPACE_MOUNT = '/workspace';
export const UPLOADS_MOUNT = '/uploads';
export const MODELS_MOUNT = '/models';

/** Environment variables set on the executor container. */
export const EXECUTOR_ENV = {
  ingestUrl: 'AI_AGENTS_INGEST_URL', // full URL of POST /api/events/ingest
  ingestToken: 'AI_AGENTS_INGEST_TOKEN', // the token itself (local process runtime, tests)
  ingestTokenFile: 'AI_AGENTS_INGEST_TOKEN_FILE', // a file holding it, re-read on every use
  request: 'AI_AGENTS_REQUEST', // request name
  namespace: 'AI_AGENTS_NAMESPACE',
  configDir: 'AI_AGENTS_CONFIG_DIR', // defaults to EXECUTOR_CONFIG_DIR
  workspace: 'AI_AGENTS_WORKSPACE', // per-request working directory
  executor: 'AI_AGENTS_EXECUTOR', // claude | codex | llama | bonsai
} as const;

/**
 * The ingest credential of an executor Job: a ServiceAccount token the kubelet projects into the
 * pod with the audience INGEST_AUDIENCE (api/v1alpha1/ingest-token.ts) and rotates before it
 * expires. Ingest checks it with a TokenReview and maps its pod to the request through the pod's
 * annotations and owner. Nothing is stored for it, and it stops working when the pod is gone.
 */
export const INGEST_TOKEN_DIR = '/var/run/secrets/ai-agents';
export const INGEST_TOKEN_PATH = 'ingest-token';

/** Annotations on an executor pod (set in its Job's template): whose run it is, and its files. */
export const RUN_ANNOTATIONS = {
  request: 'labrats.work/request',
  requestUid: 'labrats.work/request-uid',
  requestFile: 'labrats.work/request.json',
  instructionsFile: 'labrats.work/instructions.md',
} as const;
/** Request files up to this size (UTF-8, both together) travel in annotations; larger ones in a Secret. */
export const MAX_INLINE_FILES_BYTES = 128 * 1024;

/** The model-cache init program (in the llama/bonsai images) and its environment. */
export const MODEL_INIT_PROGRAM = '/app/executor/model-init/main.ts';
export const MODEL_INIT_ENV = {
  url: 'AI_AGENTS_MODEL_URL',
  file: 'AI_AGENTS_MODEL_FILE', // name under the models dir; default: the URL's last path segment
  sha256: 'AI_AGENTS_MODEL_SHA256',
  modelsDir: 'AI_AGENTS_MODELS_DIR', // default /models
  authToken: 'AI_AGENTS_MODEL_AUTH_TOKEN', // optional bearer token (gated model hubs)
} as const;

/**
 * Exit codes: 0 success; BAD_REQUEST and TIMED_OUT are never retried (pod failure policy); anything
 * else may be. TIMED_OUT: the executor stopped itself at the request's timeout, a little before the
 * Job's deadline, so that its report still got out (as `timeout(1)` exits).
 */
export const EXIT_SUCCESS = 0;
export const EXIT_BAD_REQUEST = 42;
export const EXIT_TIMED_OUT = 124;
export const EXIT_INTERRUPTED = 143;

/** The content of request.json. */
export interface ExecutorRequest {
  apiVersion: 'labrats.work/v1alpha1';
  name: string;
  namespace: string;
  uid: string;
  executor: 'claude' | 'codex' | 'llama' | 'bonsai';
  prompt: string;
  promptHash: string;
  agent: {
    name: string;
    role: string;
    maxTurns?: number;
    allowedTools?: string[];
    disallowedTools?: string[];
    permissionMode?: string;
    sandbox?: string;
    repositoryAccess: 'read' | 'write' | 'pr';
  };
  model: {
    name: string;
    provider: 'anthropic' | 'openai' | 'llamacpp';
    model: string;
    baseUrl?: string;
    modelFile?: string; // under MODELS_MOUNT, for llama/bonsai
    contextSize?: number;
    maxTokens?: number;
    temperature?: number;
    pricing?: { inputPerMillionTokensUsd: number; outputPerMillionTokensUsd: number };
  };
  repository?: { url: string; ref?: string; branch?: string; pullRequest: boolean };
  attachments?: string[];
  timeoutSeconds: number;
  /**
   * Attempts the platform makes after a retriable failure (spec.maxRetries): until the last, a
   * retriable failure is reported as an `error` event, not the request's `completed` one.
   */
  maxRetries?: number;
  labels?: Record<string, string>;
}

/** Labels on everything the platform creates. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  component: 'app.kubernetes.io/component',
  request: 'labrats.work/inference-request',
  source: 'labrats.work/webhook-source',
  caller: 'labrats.work/caller',
} as const;
export const MANAGED_BY = 'ai-agents-controller';
