// Resolution: request → agent → model (the request's, else the agent's default, else AiConfig's)
// → executor kind, provider settings, timeout. Missing pieces are reported, not failures.

import { composeInstructions } from '../api/v1alpha1/compose.ts';
import type { AiAgent, AiConfig, AiInstruction, AiModel, InferenceRequest } from '../api/v1alpha1/index.ts';

export interface ResolveLookup {
  agent(namespace: string, name: string): AiAgent | undefined;
  model(namespace: string, name: string): AiModel | undefined;
  /** The namespace's AiConfig: the one named `default`, else the first by name. */
  config(namespace: string): AiConfig | undefined;
  instructions(namespace: string): AiInstruction[];
}

export interface Resolution {
  agent: AiAgent;
  model: AiModel;
  config: AiConfig | undefined;
  executor: AiModel['spec']['executor'];
  timeoutSeconds: number;
  prompt: { text: string; hash: string };
  /** GGUF to cache under /models, with the file name the executor will find. */
  modelDownload?: { url: string; file: string; sha256?: string };
  baseUrl?: string;
}

export type ResolveOutcome =
  | { ok: true; resolution: Resolution }
  | { ok: false; reason: 'AgentNotFound' | 'ModelNotFound' | 'NoModel'; message: string };

export function resolveRequest(
  req: InferenceRequest,
  lookup: ResolveLookup,
  defaultTimeoutSeconds: number,
): ResolveOutcome {
  const ns = req.metadata.namespace ?? 'default';
  const agent = lookup.agent(ns, req.spec.agent);
  if (!agent) {
    return { ok: false, reason: 'AgentNotFound', message: `AiAgent "${req.spec.agent}" not found in ${ns}` };
  }
  const config = lookup.config(ns);
  const modelName = req.spec.model ?? agent.spec.model ?? config?.spec.defaultModel;
  if (!modelName) {
    return {
      ok: false,
      reason: 'NoModel',
      message: `no model: the request, AiAgent "${agent.metadata.name}" and AiConfig name none`,
    };
  }
  const model = lookup.model(ns, modelName);
  if (!model)
    return { ok: false, reason: 'ModelNotFound', message: `AiModel "${modelName}" not found in ${ns}` };
  const provider = config?.spec.providers?.[model.spec.provider];
  const timeoutSeconds =
    req.spec.timeoutSeconds ??
    agent.spec.timeoutSeconds ??
    config?.spec.defaultTimeoutSeconds ??
    defaultTimeoutSeconds;
  const composed = composeInstructions(agent, lookup.instructions(ns));
  const url = model.spec.modelUrl ?? provider?.modelUrl;
  const sha256 = model.spec.modelSha256 ?? provider?.modelSha256;
  const resolution: Resolution = {
    agent,
    model,
    config,
    executor: model.spec.executor,
    timeoutSeconds,
    prompt: { text: composed.text, hash: composed.hash },
    ...(provider?.baseUrl ? { baseUrl: provider.baseUrl } : {}),
  };
  if (
    url &&
    (model.spec.executor === 'llama' ||
      model.spec.executor === 'bonsai' ||
      model.spec.provider === 'llamacpp')
  ) {
    resolution.modelDownload = { url, file: modelFileName(model, url), ...(sha256 ? { sha256 } : {}) };
  }
  return { ok: true, resolution };
}

/** The GGUF file under /models: the model id when it names a .gguf file, else the URL's last segment. */
export function modelFileName(model: AiModel, url: string): string {
  if (/^[A-Za-z0-9._-]+\.gguf$/i.test(model.spec.model)) return model.spec.model;
  const last = new URL(url).pathname.split('/').filter(Boolean).pop() ?? 'model.gguf';
  return last.replace(/[^A-Za-z0-9._-]/g, '_') || 'model.gguf';
}
