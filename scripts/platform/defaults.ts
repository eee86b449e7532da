// The default set the local platform installs (server-side apply, so every start converges to it):
// the namespace, AiConfig `default`, the local llama AiModel, one AiAgent per shipped role and the
// shipped AiInstructions from k8s/instructions/.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { SHIPPED_ROLES } from '../../api/v1alpha1/aiagent.ts';
import { API_VERSION } from '../../api/v1alpha1/common.ts';
import type { AiModel } from '../../api/v1alpha1/index.ts';
import { modelFileName } from '../../controller/resolve.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const INSTRUCTIONS_DIR = path.join(REPO_ROOT, 'k8s', 'instructions');
export const LOCAL_MODEL = 'local-llama';
/** The GGUF file name when no URL names one. */
export const UNCONFIGURED_MODEL_FILE = 'local-model.gguf';

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface DefaultsOptions {
  namespace: string;
  /** GGUF for the local llama model; undefined: none configured. */
  modelUrl?: string;
  modelSha256?: string;
  /** Context size for the local model (undefined: the executor's default). */
  contextSize?: number;
  maxTokens?: number;
}

const LABELS = {
  'app.kubernetes.io/part-of': 'ai-agents',
  'app.kubernetes.io/managed-by': 'ai-agents-local',
};

const ROLES: Record<
  (typeof SHIPPED_ROLES)[number],
  { description: string; systemPrompt: string; repositoryAccess: 'read' | 'write' | 'pr'; extra?: object }
> = {
  developer: {
    description: 'Implements changes and opens a pull request',
    systemPrompt: 'You are a careful software developer. Make small, tested changes and explain them.',
    repositoryAccess: 'pr',
    extra: { maxTurns: 50, permissionMode: 'acceptEdits' },
  },
  'codex-developer': {
    description: 'Implements changes with the Codex CLI and opens a pull request',
    systemPrompt: 'You are a careful software developer. Make small, tested changes and explain them.',
    repositoryAccess: 'pr',
    extra: { sandbox: 'workspace-write' },
  },
  reviewer: {
    description: 'Reviews a change and reports findings',
    systemPrompt: 'You review code changes. Report concrete problems with file and line, most severe first.',
    repositoryAccess: 'read',
    extra: { permissionMode: 'plan' },
  },
  'codex-reviewer': {
    description: 'Reviews a change with the Codex CLI',
    systemPrompt: 'You review code changes. Report concrete problems with file and line, most severe first.',
    repositoryAccess: 'read',
    extra: { sandbox: 'read-only' },
  },
  docs: {
    description: 'Writes and updates documentation',
    systemPrompt: 'You write clear, accurate documentation for the people who use and run this code.',
    repositoryAccess: 'pr',
  },
  architect: {
    description: 'Designs changes and writes design notes',
    systemPrompt: 'You are a software architect. Propose the simplest design that meets the need.',
    repositoryAccess: 'read',
  },
  ops: {
    description: 'Operations: deployments, incidents, runbooks',
    systemPrompt: 'You are an operations engineer. Prefer safe, reversible steps and say how to verify them.',
    repositoryAccess: 'read',
  },
  security: {
    description: 'Security review and audits',
    systemPrompt: 'You are a security engineer. Find exploitable problems and rank them by impact.',
    repositoryAccess: 'read',
  },
  triage: {
    description: 'Classifies and routes new issues',
    systemPrompt: 'You triage issues: classify, find duplicates and ask for what is missing.',
    repositoryAccess: 'read',
  },
  testing: {
    description: 'Writes and improves tests',
    systemPrompt: 'You write tests that fail without the change they cover and pass with it.',
    repositoryAccess: 'pr',
  },
};

/** The shipped AiInstructions, in the order k8s/instructions/kustomization.yaml lists them. */
export function shippedInstructions(namespace: string): KubeManifest[] {
  const kustomization = parse(readFileSync(path.join(INSTRUCTIONS_DIR, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
  };
  const out: KubeManifest[] = [];
  for (const file of kustomization.resources) {
    for (const doc of parseAllDocuments(readFileSync(path.join(INSTRUCTIONS_DIR, file), 'utf8'))) {
      const obj = doc.toJS() as KubeManifest | null;
      if (!obj) continue;
      out.push({ ...obj, metadata: { ...obj.metadata, namespace } });
    }
  }
  return out;
}

/** The GGUF file name under the models folder: the controller's own choice for this URL. */
export function localModelFile(modelUrl: string | undefined): string {
  if (!modelUrl) return UNCONFIGURED_MODEL_FILE;
  return modelFileName({ spec: { model: '' } } as unknown as AiModel, modelUrl);
}

export function defaultResources(opts: DefaultsOptions): KubeManifest[] {
  const ns = opts.namespace;
  const meta = (name: string) => ({ name, namespace: ns, labels: LABELS });
  const namespace: KubeManifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: LABELS },
  };
  const config: KubeManifest = {
    apiVersion: API_VERSION,
    kind: 'AiConfig',
    metadata: meta('default'),
    spec: {
      defaultModel: LOCAL_MODEL,
      defaultTimeoutSeconds: 1800,
      concurrency: { global: 2, perModel: 2 },
      providers: {
        llamacpp: { defaults: { maxTokens: opts.maxTokens ?? 512, temperature: 0.2 } },
      },
    },
  };
  const model: KubeManifest = {
    apiVersion: API_VERSION,
    kind: 'AiModel',
    metadata: meta(LOCAL_MODEL),
    spec: {
      provider: 'llamacpp',
      executor: 'llama',
      model: localModelFile(opts.modelUrl),
      displayName: 'Local llama.cpp model',
      ...(opts.modelUrl ? { modelUrl: opts.modelUrl } : {}),
      ...(opts.modelSha256 ? { modelSha256: opts.modelSha256 } : {}),
      ...(opts.contextSize ? { contextSize: opts.contextSize } : {}),
      pricing: { inputPerMillionTokensUsd: 0, outputPerMillionTokensUsd: 0 },
    },
  };
  const agents: KubeManifest[] = SHIPPED_ROLES.map((role) => {
    const r = ROLES[role];
    return {
      apiVersion: API_VERSION,
      kind: 'AiAgent',
      metadata: meta(role),
      spec: {
        role,
        description: r.description,
        systemPrompt: r.systemPrompt,
        repositoryAccess: r.repositoryAccess,
        timeoutSeconds: 1800,
        ...r.extra,
      },
    };
  });
  return [namespace, config, model, ...agents, ...shippedInstructions(ns)];
}
