// One valid, realistic example of each resource. Tests use them as a starting point; the
// local platform seeds a similar set.

import { API_VERSION } from './common.ts';
import type { AiAgent, AiConfig, AiInstruction, AiModel, InferenceRequest, WebhookSource } from './index.ts';

type Input<T extends { spec: unknown }> = Omit<T, 'spec' | 'metadata'> & {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Partial<T['spec']> & Record<string, unknown>;
};

export function exampleInferenceRequest(name = 'example-request'): Input<InferenceRequest> {
  return {
    apiVersion: API_VERSION,
    kind: 'InferenceRequest',
    metadata: { name },
    spec: {
      agent: 'developer',
      model: 'claude-sonnet',
      prompt: 'Add a health check endpoint and a test for it.',
      repository: { url: 'https://github.com/labrats-work/example.git', ref: 'main', pullRequest: true },
      timeoutSeconds: 1800,
      maxRetries: 1,
      priority: 10,
      labels: { team: 'platform' },
      source: { kind: 'api', name: 'ci' },
      callback: {
        url: 'https://hooks.example.com/ai-agents',
        secretRef: { name: 'callback-secret', key: 'hmac' },
      },
    },
  };
}

export function exampleAiModel(name = 'claude-sonnet'): Input<AiModel> {
  return {
    apiVersion: API_VERSION,
    kind: 'AiModel',
    metadata: { name },
    spec: {
      provider: 'anthropic',
      executor: 'claude',
      model: 'claude-sonnet-4-5',
      credentialsRef: { name: 'claude-credentials', key: 'credentials.json' },
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '4Gi' } },
      pricing: { inputPerMillionTokensUsd: 3, outputPerMillionTokensUsd: 15 },
    },
  };
}

export function exampleAiAgent(name = 'developer'): Input<AiAgent> {
  return {
    apiVersion: API_VERSION,
    kind: 'AiAgent',
    metadata: { name },
    spec: {
      role: 'developer',
      model: 'claude-sonnet',
      systemPrompt: 'You are a careful software developer. Make small, tested changes.',
      maxTurns: 50,
      timeoutSeconds: 3600,
      allowedTools: ['Bash', 'Read', 'Edit', 'Write'],
      repositoryAccess: 'pr',
    },
  };
}

export function exampleAiConfig(name = 'default'): Input<AiConfig> {
  return {
    apiVersion: API_VERSION,
    kind: 'AiConfig',
    metadata: { name },
    spec: {
      providers: {
        llamacpp: {
          modelUrl: 'https://models.example.com/qwen2.5-0.5b-instruct-q4_k_m.gguf',
          defaults: { maxTokens: 512, temperature: 0.2 },
        },
        anthropic: { baseUrl: 'https://api.anthropic.com' },
      },
      defaultModel: 'claude-sonnet',
      defaultTimeoutSeconds: 3600,
      concurrency: { global: 5, perModel: 3, perCaller: 2 },
      retention: { completedRequestsSeconds: 604800, workspaceSeconds: 86400 },
    },
  };
}

export function exampleAiInstruction(name = 'global-testing'): Input<AiInstruction> {
  return {
    apiVersion: API_VERSION,
    kind: 'AiInstruction',
    metadata: { name },
    spec: {
      type: 'global',
      priority: 50,
      description: 'Testing standards',
      content: 'Every change comes with a test that fails without it.',
    },
  };
}

export function exampleWebhookSource(name = 'github'): Input<WebhookSource> {
  return {
    apiVersion: API_VERSION,
    kind: 'WebhookSource',
    metadata: { name },
    spec: {
      type: 'github',
      secretRef: { name: 'github-webhook-secret', key: 'secret' },
      rules: [
        {
          name: 'label-developer',
          event: 'issues',
          actions: ['labeled'],
          filters: { labels: ['ai:developer'] },
          agent: 'developer',
          promptTemplate: 'Resolve issue #{{issue.number}}: {{issue.title}}\n\n{{issue.body}}',
          concurrencyKey: '{{repository.full_name}}#{{issue.number}}',
          concurrencyPolicy: 'cancel-previous',
        },
      ],
      ingress: { host: 'hooks.example.com', path: '/api/webhooks/github' },
    },
  };
}

export const examples = {
  InferenceRequest: exampleInferenceRequest,
  AiModel: exampleAiModel,
  AiAgent: exampleAiAgent,
  AiConfig: exampleAiConfig,
  AiInstruction: exampleAiInstruction,
  WebhookSource: exampleWebhookSource,
} as const;
